// Reads that must see streams themselves, not a read model: what a command route checks before
// deciding (e.g. which domains to look up in DNS), what a sign-in is evaluated on, and personal
// accounts. Each reads one stream, current as of the call (a cached state is caught up with the
// events after it), optionally after waiting (bounded) for a global position. GET routes of the
// directory read the read models (../read-side/read-side.ts).
import { Inject, Injectable } from '@nestjs/common';
import { streams, type PersonalAccountState, type TenantState, type UserState } from '#domain';
import type { EventStore } from '#event-store';
import { APP_CONFIG, AppConfig } from '../config/config.js';
import { ProblemException } from '../common/problem.js';
import { personalAccountFold, tenantFold, userFold } from '../command-pipeline/folds.js';
import { StreamLoader } from '../command-pipeline/stream-loader.js';
import { EVENT_STORE } from '../command-pipeline/tokens.js';

@Injectable()
export class DirectoryReader {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(StreamLoader) private readonly loader: StreamLoader,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async waitFor(minPosition: number | undefined): Promise<void> {
    if (minPosition === undefined) return;
    const deadline = Date.now() + this.config.readWaitMs;
    while ((await this.store.headPosition()) < minPosition) {
      if (Date.now() >= deadline) {
        throw ProblemException.of(
          503,
          'projection_lagging',
          `Position ${minPosition} was not reached in time; retry later.`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** The tenant's state and stream version; 404 when there is no such tenant. */
  async tenant(tenantId: string, minPosition?: number): Promise<{ state: TenantState; version: number }> {
    await this.waitFor(minPosition);
    const { state, version } = await this.tenantIfAny(tenantId);
    if (!state.exists) throw ProblemException.of(404, 'not_found', `Tenant ${tenantId} does not exist.`);
    return { state, version };
  }

  /** The tenant's state (not `exists` when there is none). */
  async tenantIfAny(tenantId: string): Promise<{ state: TenantState; version: number }> {
    const { state, version } = await this.loader.load(streams.tenant(tenantId), tenantFold, true);
    return { state, version };
  }

  /** A user object of that tenant; undefined when there is none (or it is another tenant's). */
  async user(tenantId: string, userId: string): Promise<UserState | undefined> {
    const loaded = await this.loader.load(streams.user(userId), userFold, true);
    return loaded.tenantId === tenantId ? loaded.state : undefined;
  }

  /** A personal account's state and stream version (not `exists` when there is none). */
  async personalAccount(
    accountId: string,
    minPosition?: number,
  ): Promise<{ state: PersonalAccountState; version: number }> {
    await this.waitFor(minPosition);
    const { state, version } = await this.loader.load(
      streams.personalAccount(accountId),
      personalAccountFold,
      true,
    );
    return { state, version };
  }
}
