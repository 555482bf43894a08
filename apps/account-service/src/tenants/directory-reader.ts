// Reads that must see the tenant stream itself, not a read model: what a command route checks
// before deciding (e.g. which domains to look up in DNS), and personal-account reads. Folds the
// stream, after waiting (bounded) for a requested global position. GET routes of the directory read
// the read models (../read-side/read-side.ts).
import { Inject, Injectable } from '@nestjs/common';
import { tenantDecider, type TenantState } from '#domain';
import type { EventStore } from '#event-store';
import { APP_CONFIG, AppConfig } from '../config/config.js';
import { ProblemException } from '../common/problem.js';
import { CommandPipeline } from '../command-pipeline/command-pipeline.js';
import { tenantStreamId } from '../command-pipeline/tenant-command.js';
import { EVENT_STORE } from '../command-pipeline/tokens.js';

@Injectable()
export class DirectoryReader {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CommandPipeline) private readonly pipeline: CommandPipeline,
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
    const { state, stream } = await this.pipeline.load(tenantDecider, tenantStreamId(tenantId));
    if (!state.exists) throw ProblemException.of(404, 'not_found', `Tenant ${tenantId} does not exist.`);
    return { state, version: stream.version };
  }
}
