// Runs the read-model projections with the app, and serves reads from them: each read first waits
// (bounded) for the position it must reflect, then queries the live generation.
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { EventStore } from '#event-store';
import {
  ProjectionLaggingError,
  ReadModelRunner,
  ReadModelStatus,
  type RealmLookup,
  type RealmProjection,
  type TenantOverview,
  type TenantsProjection,
  type UserPage,
  type UserRecord,
  type UsersProjection,
  type UserType,
} from '#projections';
import { APP_CONFIG, AppConfig } from '../config/config.js';
import { ProblemException } from '../common/problem.js';
import { EVENT_STORE } from '../command-pipeline/tokens.js';
import { REALM, TENANTS, USERS } from './registry.js';

export const READ_MODEL_RUNNER = Symbol('READ_MODEL_RUNNER');

/** What the sign-in lookup reads from the realm read model. */
export interface RealmReads {
  /** What exists for a normalised login. */
  lookup(login: string): Promise<RealmLookup>;
  tenantExists(tenantId: string): Promise<boolean>;
}

@Injectable()
export class ReadSide implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(READ_MODEL_RUNNER) readonly runner: ReadModelRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  onApplicationBootstrap(): void {
    this.runner.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.stop();
  }

  status(): ReadModelStatus[] {
    return this.runner.status();
  }

  /** Read-your-writes: wait (bounded) until `projection` has applied `minPosition`. */
  async waitFor(projection: string, minPosition: number | undefined): Promise<void> {
    if (minPosition === undefined) return;
    try {
      await this.runner.waitFor(projection, minPosition, this.config.readWaitMs);
    } catch (error) {
      if (error instanceof ProjectionLaggingError) {
        throw ProblemException.of(503, 'projection_lagging', `${error.message}; retry later.`);
      }
      throw error;
    }
  }

  /**
   * The wait every read makes before it queries: for `minPosition` when the client sent one, else
   * for the log's head as it is when the request arrives. Without a position a read is therefore
   * never older than any write acknowledged before it began (what reads that folded the stream
   * gave), at the price of one head query, and no wait at all while the projection is live.
   * `minPosition=0` opts out: the read model as it is, however far behind.
   */
  async catchUp(projection: string, minPosition: number | undefined): Promise<void> {
    await this.waitFor(projection, minPosition ?? (await this.store.headPosition()));
  }

  async tenant(tenantId: string, minPosition?: number): Promise<TenantOverview | undefined> {
    await this.catchUp(TENANTS, minPosition);
    const projection = this.runner.projection<TenantsProjection>(TENANTS);
    const prefix = await this.runner.prefix(TENANTS);
    // Three queries: one snapshot, so the version (the ETag) is that of the domains and
    // subscriptions sent with it even while another batch commits.
    return this.runner.db.snapshot((s) => projection.get(s, prefix, tenantId));
  }

  /** Undefined when the tenant doesn't exist. */
  async users(
    tenantId: string,
    options: { readonly userType?: UserType; readonly afterUserId?: string; readonly limit: number },
    minPosition?: number,
  ): Promise<UserPage | 'unknown_cursor' | undefined> {
    await this.catchUp(USERS, minPosition);
    const projection = this.runner.projection<UsersProjection>(USERS);
    const prefix = await this.runner.prefix(USERS);
    // No snapshot needed: tenants never go away, and a user keeps its place (the cursor's seq).
    if (!(await projection.tenantExists(this.runner.db, prefix, tenantId))) return undefined;
    return projection.list(this.runner.db, prefix, tenantId, options);
  }

  /** 'no_tenant' or 'no_user' when either is missing. */
  async user(
    tenantId: string,
    userId: string,
    minPosition?: number,
  ): Promise<UserRecord | 'no_tenant' | 'no_user'> {
    await this.catchUp(USERS, minPosition);
    const projection = this.runner.projection<UsersProjection>(USERS);
    const prefix = await this.runner.prefix(USERS);
    if (!(await projection.tenantExists(this.runner.db, prefix, tenantId))) return 'no_tenant';
    return (await projection.get(this.runner.db, prefix, tenantId, userId)) ?? 'no_user';
  }

  /** The realm's reads on its live tables, once it has reached the position the look-up must reflect. */
  async realm(minPosition?: number): Promise<RealmReads> {
    await this.catchUp(REALM, minPosition);
    const projection = this.runner.projection<RealmProjection>(REALM);
    // The generation live now, following a rebuild another process or instance switched to.
    const prefix = await this.runner.prefix(REALM);
    const db = this.runner.db;
    return {
      lookup: (login) => projection.lookup(db, prefix, login),
      tenantExists: (tenantId) => projection.tenantExists(db, prefix, tenantId),
    };
  }
}
