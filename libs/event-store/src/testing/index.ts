// Test helpers for event store adapters and their users. Imports Vitest: never from production code.
export { eventStoreContract, type EventStoreFactory } from './contract.js';
export { newEvent } from './events.js';
export { snapshotStoreContract, type SnapshotStoreFactory } from './snapshot-contract.js';
