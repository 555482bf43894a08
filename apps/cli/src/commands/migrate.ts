// `migrate`: brings a store written by an earlier version to today's stream layout, with the
// service stopped (the service refuses to start on an older layout and names this command).
// Resumable: run it again after an interruption and it carries on where it stopped.
import {
  migrateStore,
  type MigrationProgress,
  type MigrationResult,
} from '../../../account-service/src/migration/migrate-store.js';
import { StreamNames } from '../../../account-service/src/command-pipeline/stream-names.js';
import type { ReadSide } from './read-side.js';

export async function migrate(
  readSide: Pick<ReadSide, 'store' | 'snapshots'>,
  progress: MigrationProgress = {},
): Promise<MigrationResult> {
  const names = await StreamNames.load(readSide.store);
  return migrateStore(readSide.store, readSide.snapshots, names, progress);
}

export function formatMigrationResult(result: MigrationResult): string {
  if (result.from === undefined) return 'the store was empty: marked as the current layout';
  if (result.tenants === 0 && result.migrated === 0 && result.events === 0)
    return `the store is already in the current layout (layout ${result.from})`;
  return `migrated ${result.migrated} of ${result.tenants} tenants (${result.users} users), appending ${result.events} events`;
}
