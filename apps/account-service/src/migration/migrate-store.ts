// Moves a store of the one-stream layout (layout 1) to per-object streams (layout 2), with the
// service stopped. Each tenant's stream is read once; its objects get streams of their own, each
// opened with an image (UserMigrated, SeatsMigrated, DomainUseMigrated), guests get the address
// claims that layout never had, invitation claims pass from the tenant to their guest, and the
// tenant stream is closed with a TenantMigrated image (its commit point: a tenant without one is
// migrated again, skipping whatever a run before already wrote). Nothing is rewritten: the history
// stays as it was, and the images are bookkeeping no read model or audit record is made from.
import { v7 as uuidv7 } from 'uuid';
import {
  CURRENT_STORE_LAYOUT,
  evolveTenant,
  initialTenantState,
  isLegacyTenantEvent,
  legacyTenantImage,
  streams,
  tenantCodec,
  tenantIdOfStream,
  toDirectoryEvent,
  type ClaimKind,
  type DirectoryEvent,
  type LegacyTenantImage,
} from '#domain';
import type { EventStore, NewEvent, SnapshotStore, StreamAppend } from '#event-store';
import type { StreamNames } from '../command-pipeline/stream-names.js';
import { markStoreLayout, storeLayout } from './store-layout.js';

export interface MigrationProgress {
  /** Called after each tenant: how many are done of how many. */
  tenant?(done: number, total: number): void;
}

export interface MigrationResult {
  /** The layout the store was in before. */
  readonly from: number | undefined;
  readonly tenants: number;
  /** Tenants migrated by this run (the others were done already). */
  readonly migrated: number;
  readonly users: number;
  /** Events this run appended. */
  readonly events: number;
}

const MIGRATION_APP = 'account-service-migration';
/** Streams per append: one transaction (one sync) each, small enough for any store's limits. */
const STREAMS_PER_APPEND = 500;
const PAGE = 5000;

export async function migrateStore(
  store: EventStore,
  snapshots: SnapshotStore,
  names: StreamNames,
  progress: MigrationProgress = {},
): Promise<MigrationResult> {
  const from = await storeLayout(store);
  if (from === undefined || from >= CURRENT_STORE_LAYOUT) {
    if (from === undefined) await markStoreLayout(store);
    return { from, tenants: 0, migrated: 0, users: 0, events: 0 };
  }
  const tenantIds = await legacyTenants(store);
  const correlationId = uuidv7();
  let migrated = 0;
  let users = 0;
  let events = 0;
  for (const [index, tenantId] of tenantIds.entries()) {
    const done = await migrateTenant(store, snapshots, names, tenantId, correlationId);
    if (done !== undefined) {
      migrated += 1;
      users += done.users;
      events += done.events;
    }
    progress.tenant?.(index + 1, tenantIds.length);
  }
  await markStoreLayout(store);
  return { from, tenants: tenantIds.length, migrated, users, events };
}

/** Every tenant of the log, in the order created: one pass over the log, page by page. */
async function legacyTenants(store: EventStore): Promise<string[]> {
  const ids: string[] = [];
  for (let after = 0; ;) {
    const page = await store.readAll(after, PAGE);
    if (page.length === 0) return ids;
    for (const event of page) {
      const tenantId = tenantIdOfStream(event.streamId);
      if (event.type === 'TenantCreated' && tenantId !== undefined) ids.push(tenantId);
    }
    after = page[page.length - 1]?.globalPosition ?? after;
  }
}

async function migrateTenant(
  store: EventStore,
  snapshots: SnapshotStore,
  names: StreamNames,
  tenantId: string,
  correlationId: string,
): Promise<{ users: number; events: number } | undefined> {
  const tenantStream = streams.tenant(tenantId);
  const stream = await store.readStream(tenantStream);
  const history = stream.events.map(toDirectoryEvent);
  if (history.some((event) => event.type === 'TenantMigrated') || !history.some(isLegacyTenantEvent)) {
    return undefined;
  }
  const image = legacyTenantImage(history);
  const envelope = (event: DirectoryEvent | { type: string; data: object }): NewEvent => ({
    eventId: uuidv7(),
    type: event.type,
    schemaVersion: 1,
    data: event.data as Record<string, unknown>,
    occurredAt: new Date().toISOString(),
    tenantId,
    correlationId,
    actor: { appId: MIGRATION_APP },
  });
  const opened = (streamId: string, event: DirectoryEvent): StreamAppend => ({
    streamId,
    expectedVersion: 'no_stream',
    events: [envelope(event)],
  });

  const openings: StreamAppend[] = [
    ...image.users.map((user) => opened(streams.user(user.userId), { type: 'UserMigrated', data: { user } })),
    ...image.seats.map(({ subscriptionId, assigned }) =>
      opened(streams.seats(subscriptionId), { type: 'SeatsMigrated', data: { subscriptionId, assigned } }),
    ),
    ...image.domainUse.map(({ domain, accounts }) =>
      opened(names.directory(tenantId, { kind: 'domainUse', domain }), {
        type: 'DomainUseMigrated',
        data: { domain, accounts },
      }),
    ),
  ];
  let events = await appendMissing(store, openings);
  events += await appendMissing(store, await claimChanges(store, names, image, tenantId, envelope));

  const closing = { type: 'TenantMigrated', data: { tenant: image.tenant } } as const;
  const result = await store.append([
    { streamId: tenantStream, expectedVersion: stream.version, events: [envelope(closing)] },
  ]);
  events += 1;
  // The tenant's first read after the migration starts from here, not from its whole history.
  const version = result.streams[0]?.nextExpectedVersion ?? stream.version + 1;
  await snapshots.save({
    streamId: tenantStream,
    version,
    schema: tenantCodec.schema,
    state: tenantCodec.encode(evolveTenant(initialTenantState, closing)),
  });
  return { users: image.users.length, events };
}

/** Appends the openings whose stream does not exist yet (an earlier run may have written some). */
async function appendMissing(store: EventStore, appends: readonly StreamAppend[]): Promise<number> {
  let written = 0;
  for (let i = 0; i < appends.length; i += STREAMS_PER_APPEND) {
    const chunk = appends.slice(i, i + STREAMS_PER_APPEND);
    // Past any stream's end: the version alone, no events.
    const versions = await Promise.all(
      chunk.map((append) => store.readStream(append.streamId, { fromVersion: Number.MAX_SAFE_INTEGER })),
    );
    const missing = chunk.filter((append, j) => {
      const version = versions[j]?.version ?? -1;
      return append.expectedVersion === 'no_stream' ? version < 0 : version === append.expectedVersion;
    });
    if (missing.length === 0) continue;
    await store.append(missing);
    written += missing.reduce((sum, append) => sum + append.events.length, 0);
  }
  return written;
}

/**
 * The claims the layout lacked or gave to the tenant: each live guest's address, and each
 * invitation id (claimed by the tenant then; by its guest now, which is how an id leads to it).
 */
async function claimChanges(
  store: EventStore,
  names: StreamNames,
  image: LegacyTenantImage,
  tenantId: string,
  envelope: (event: { type: string; data: object }) => NewEvent,
): Promise<StreamAppend[]> {
  const claimed = (kind: ClaimKind, ownerId: string) =>
    envelope({ type: 'UniquenessClaimed', data: { kind, ownerId } });
  const appends: StreamAppend[] = image.guestClaims.map(({ value, userId }) => ({
    streamId: names.claim('guest', value),
    expectedVersion: 'no_stream',
    events: [claimed('guest', userId)],
  }));
  for (const { invitationId, userId } of image.invitations) {
    const streamId = names.claim('invitation', invitationId);
    const { events, version } = await store.readStream(streamId);
    const last = events.at(-1);
    if (last?.type !== 'UniquenessClaimed' || last.data['ownerId'] !== tenantId) continue;
    appends.push({
      streamId,
      expectedVersion: version,
      events: [
        envelope({ type: 'UniquenessReleased', data: { kind: 'invitation', ownerId: tenantId } }),
        claimed('invitation', userId),
      ],
    });
  }
  return appends;
}
