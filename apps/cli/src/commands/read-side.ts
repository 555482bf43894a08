// Opens the event store and the read-model database exactly as the service does (same files, same
// pragmas, same projections), without starting the app: what the operator commands work on.
import type Database from 'better-sqlite3';
import type { EventStore } from '#event-store';
import { ReadModelRunner } from '#projections';
import { openStorage } from '../../../account-service/src/bootstrap.js';
import type { AppConfig } from '../../../account-service/src/config/config.js';
import { readModelProjections } from '../../../account-service/src/read-side/registry.js';
import { CliError } from '../errors.js';

export interface ReadSide {
  readonly store: EventStore;
  readonly runner: ReadModelRunner;
  /** Registered projection names, in registry order. */
  readonly names: readonly string[];
  close(): Promise<void>;
}

/**
 * The store and a runner with every projection registered, not started: nothing follows the log
 * here, so a service running on the same file stays the only one that moves the live generations.
 */
export async function openReadSide(
  config: AppConfig,
  options: { readonly requireBuilt?: boolean } = {},
): Promise<ReadSide> {
  if (config.eventStore === 'memory') {
    throw new CliError(
      'EVENT_STORE=memory keeps nothing between processes: point the CLI at a durable store',
    );
  }
  const storage = await openStorage(config);
  const runner = new ReadModelRunner(storage.store, storage.readModels);
  const names: string[] = [];
  try {
    const projections = readModelProjections();
    // Registering a projection that is missing or at another version sets up a fresh generation
    // (and drops the old one): fine for rebuild and replay, not for a command that only reads.
    if (options.requireBuilt) assertBuilt(storage.readModels, projections);
    for (const projection of projections) {
      runner.register(projection);
      names.push(projection.name);
    }
  } catch (error) {
    await storage.store.close();
    storage.readModels.close();
    throw error;
  }
  return {
    store: storage.store,
    runner,
    names,
    async close() {
      await storage.store.close();
      storage.readModels.close();
    },
  };
}

function assertBuilt(
  db: Database.Database,
  projections: readonly { readonly name: string; readonly version: number }[],
): void {
  const hasState = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'read_model_state'")
    .get();
  const rows = hasState
    ? (db.prepare('SELECT name, version FROM read_model_state').all() as { name: string; version: number }[])
    : [];
  for (const { name, version } of projections) {
    const row = rows.find((r) => r.name === name);
    if (!row)
      throw new CliError(`read model ${name} has never been built here: start the service or run rebuild`);
    if (row.version !== version) {
      throw new CliError(
        `read model ${name} is at version ${row.version} here, this build has ${version}: run rebuild ${name}`,
      );
    }
  }
}

/** `all` (or nothing) means every registered projection; otherwise the one named, which must exist. */
export function selectProjections(readSide: Pick<ReadSide, 'names'>, which: string | undefined): string[] {
  if (which === undefined || which === 'all') return [...readSide.names];
  if (!readSide.names.includes(which)) {
    const known = readSide.names.length > 0 ? readSide.names.join(', ') : 'none registered';
    throw new CliError(`no read model "${which}" (known: ${known})`);
  }
  return [which];
}
