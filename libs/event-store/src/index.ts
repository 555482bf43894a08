// Public API of the event store library: the port and its adapters. Test helpers (the contract
// suite, an event factory) live in ./testing/index.js so that production code can't pull in Vitest.
export * from './port.js';
export { InMemoryEventStore, type InMemoryEventStoreOptions } from './memory/memory-event-store.js';
export { SqliteEventStore, type SqliteEventStoreOptions } from './sqlite/sqlite-event-store.js';
export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres/postgres-event-store.js';
export {
  EventStoreDbEventStore,
  type EventStoreDbEventStoreOptions,
} from './eventstoredb/eventstoredb-event-store.js';
