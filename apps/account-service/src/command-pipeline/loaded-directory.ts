// The directory view a decision gets in the app: the tenant's stream, and the user objects, ledgers
// and claims the decider's needs name, read through the attempt (cached state, checked by the
// append). Loading follows the needs until they name nothing new; reading anything else throws.
import {
  aggregateOf,
  directoryDecider,
  NotInNeedsError,
  streams,
  type ClaimHolder,
  type ClaimKind,
  type DirectoryAggregate,
  type DirectoryEvent,
  type DirectoryNeeds,
  type DirectoryView,
  type TenantCommand,
  type TenantState,
  type UserState,
  type UserStreamState,
} from '#domain';
import type { ClaimState, DomainUseState, SeatLedgerState } from '#domain';
import { claimFold, domainUseFold, seatLedgerFold, tenantFold, userFold } from './folds.js';
import type { StreamFold } from './stream-loader.js';
import type { StreamNames } from './stream-names.js';
import type { StreamReads } from './stream-reads.js';

const MAX_NEED_ROUNDS = 5;

export class LoadedDirectory implements DirectoryView {
  private readonly tenantStream: string;

  constructor(
    readonly tenantId: string,
    private readonly reads: StreamReads,
    private readonly names: StreamNames,
  ) {
    this.tenantStream = streams.tenant(tenantId);
  }

  /** Reads the tenant's stream (every decision needs it). */
  async loadTenant(): Promise<TenantState> {
    return this.reads.get(this.tenantStream, tenantFold);
  }

  get tenant(): TenantState {
    const tenant = this.reads.peek<TenantState>(this.tenantStream);
    if (tenant === undefined) throw new NotInNeedsError('the tenant');
    return tenant;
  }

  /** The tenant stream's version with this attempt's events: the ETag of tenant-level resources. */
  get tenantVersion(): number {
    return this.reads.versionOf(this.tenantStream);
  }

  /** The stream of one of this tenant's aggregates. */
  streamOf(aggregate: DirectoryAggregate): string {
    return this.names.directory(this.tenantId, aggregate);
  }

  /** The stream a decided event goes to; a new object's stream is created (expected: none yet). */
  streamFor(event: DirectoryEvent): string {
    const aggregate = aggregateOf(event);
    const streamId = this.streamOf(aggregate);
    if (!this.reads.has(streamId)) this.reads.create(streamId, foldOf(aggregate));
    return streamId;
  }

  /** Reads what the command needs, following the needs until they name nothing new. */
  async loadNeeds(command: TenantCommand): Promise<void> {
    const lenient = this.lenient();
    for (let round = 0; round < MAX_NEED_ROUNDS; round++) {
      const missing = this.missing(directoryDecider.needs(command, lenient));
      if (missing.length === 0) return;
      await Promise.all(missing.map(([streamId, fold]) => this.reads.get(streamId, fold)));
    }
    throw new Error(`the needs of ${command.type} kept growing`);
  }

  user(userId: string): UserState | undefined {
    return this.userIn(this.streamOf({ kind: 'user', userId }), true);
  }

  seatsAssigned(subscriptionId: string): number {
    return (
      this.loaded<SeatLedgerState>(this.streamOf({ kind: 'seats', subscriptionId }), true)?.assigned ?? 0
    );
  }

  domainAccounts(domain: string): number {
    return this.loaded<DomainUseState>(this.streamOf({ kind: 'domainUse', domain }), true)?.accounts ?? 0;
  }

  holder(kind: ClaimKind, value: string): ClaimHolder | undefined {
    return this.holderIn(this.names.claim(kind, value), true);
  }

  /** The same view, reading what is not loaded as absent: what the needs are computed on. */
  lenient(): DirectoryView {
    return {
      tenant: this.tenant,
      user: (userId) => this.userIn(this.streamOf({ kind: 'user', userId }), false),
      seatsAssigned: (id) =>
        this.loaded<SeatLedgerState>(this.streamOf({ kind: 'seats', subscriptionId: id }), false)?.assigned ??
        0,
      domainAccounts: (domain) =>
        this.loaded<DomainUseState>(this.streamOf({ kind: 'domainUse', domain }), false)?.accounts ?? 0,
      holder: (kind, value) => this.holderIn(this.names.claim(kind, value), false),
    };
  }

  private loaded<S>(streamId: string, strict: boolean): S | undefined {
    if (!this.reads.has(streamId)) {
      if (strict) throw new NotInNeedsError(streamId);
      return undefined;
    }
    return this.reads.peek<S>(streamId);
  }

  /** A user object, if it is one of this tenant's: a user id never reaches into another tenant. */
  private userIn(streamId: string, strict: boolean): UserState | undefined {
    const user = this.loaded<UserStreamState>(streamId, strict);
    if (user === undefined) return undefined;
    const owner = this.reads.tenantOf(streamId);
    return owner === undefined || owner === this.tenantId ? user : undefined;
  }

  private holderIn(streamId: string, strict: boolean): ClaimHolder | undefined {
    const claim = this.loaded<ClaimState>(streamId, strict);
    if (claim?.holder === undefined) return undefined;
    const tenantId = this.reads.tenantOf(streamId);
    return { ownerId: claim.holder, ...(tenantId === undefined ? {} : { tenantId }) };
  }

  private missing(needs: DirectoryNeeds): Array<[string, StreamFold<unknown, DirectoryEvent>]> {
    const wanted: Array<[string, StreamFold<unknown, DirectoryEvent>]> = [
      ...needs.users.map((userId): [string, StreamFold<unknown, DirectoryEvent>] => [
        this.streamOf({ kind: 'user', userId }),
        userFold as StreamFold<unknown, DirectoryEvent>,
      ]),
      ...needs.seats.map((subscriptionId): [string, StreamFold<unknown, DirectoryEvent>] => [
        this.streamOf({ kind: 'seats', subscriptionId }),
        seatLedgerFold as StreamFold<unknown, DirectoryEvent>,
      ]),
      ...needs.domains.map((domain): [string, StreamFold<unknown, DirectoryEvent>] => [
        this.streamOf({ kind: 'domainUse', domain }),
        domainUseFold as StreamFold<unknown, DirectoryEvent>,
      ]),
      ...needs.claims.map(({ kind, value }): [string, StreamFold<unknown, DirectoryEvent>] => [
        this.names.claim(kind, value),
        claimFold as unknown as StreamFold<unknown, DirectoryEvent>,
      ]),
    ];
    return wanted.filter(([streamId]) => !this.reads.has(streamId));
  }
}

function foldOf(aggregate: DirectoryAggregate): StreamFold<unknown, DirectoryEvent> {
  switch (aggregate.kind) {
    case 'tenant':
      return tenantFold as StreamFold<unknown, DirectoryEvent>;
    case 'user':
      return userFold as StreamFold<unknown, DirectoryEvent>;
    case 'seats':
      return seatLedgerFold as StreamFold<unknown, DirectoryEvent>;
    case 'domainUse':
      return domainUseFold as StreamFold<unknown, DirectoryEvent>;
  }
}
