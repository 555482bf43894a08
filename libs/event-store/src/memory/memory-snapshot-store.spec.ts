import { snapshotStoreContract } from '../testing/snapshot-contract.js';
import { InMemorySnapshotStore } from './memory-snapshot-store.js';

snapshotStoreContract('in-memory', async () => ({ store: new InMemorySnapshotStore() }));
