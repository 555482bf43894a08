// Public API of the event store library: the ports (events, snapshots) and their adapters. Test
// helpers (the contract suites, an event factory) live in ./testing/index.js so that production
// code can't pull in Vitest.
export * from './port.js';
export { InMemoryEventStore, type InMemoryEventStoreOptions } from './memory/memory-event-store.js';
export { SqliteEventStore, type SqliteEventStoreOptions } from './sqlite/sqlite-event-store.js';
export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres/postgres-event-store.js';
export {
  EventStoreDbEventStore,
  type EventStoreDbEventStoreOptions,
} from './eventstoredb/eventstoredb-event-store.js';
export type { Snapshot, SnapshotStore } from './snapshots/port.js';
export { InMemorySnapshotStore } from './memory/memory-snapshot-store.js';
export { SqliteSnapshotStore } from './sqlite/sqlite-snapshot-store.js';
export { PostgresSnapshotStore } from './postgres/postgres-snapshot-store.js';
