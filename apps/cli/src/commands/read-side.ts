// Opens the event store and the read-model database exactly as the service does (same files, same
// pragmas, same projections), without starting the app: what the operator commands work on.
import type { EventStore, SnapshotStore } from '#event-store';
import { type ReadModelDatabase, ReadModelRunner } from '#projections';
import { openStorage } from '../../../account-service/src/bootstrap.js';
import type { AppConfig } from '../../../account-service/src/config/config.js';
import { readModelProjections } from '../../../account-service/src/read-side/registry.js';
import { CliError } from '../errors.js';

export interface ReadSide {
  readonly store: EventStore;
  /** Folded state of the streams that grow long (the migration writes the tenants' first). */
  readonly snapshots: SnapshotStore;
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
  // No coordination: the CLI never runs the loop, so it takes no lease; its rebuild switches
  // generations under the same row locks the instances use.
  const runner = new ReadModelRunner(storage.store, storage.readModels);
  const names: string[] = [];
  const close = async () => {
    await storage.coordination.close();
    await storage.store.close();
    await storage.readModels.close();
  };
  try {
    const projections = readModelProjections();
    // Registering a projection that is missing or at another version sets up a fresh generation
    // (and drops the old one): fine for rebuild and replay, not for a command that only reads.
    if (options.requireBuilt) await assertBuilt(storage.readModels, projections);
    for (const projection of projections) {
      await runner.register(projection);
      names.push(projection.name);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { store: storage.store, snapshots: storage.snapshots, runner, names, close };
}

/** The rows of read_model_state, or none when the table doesn't exist yet (never built). */
export async function readModelStates(
  db: ReadModelDatabase,
): Promise<Array<{ name: string; version: number; generation: number; position: number }>> {
  try {
    return await db.all('SELECT name, version, generation, position FROM read_model_state');
  } catch (error) {
    // SQLite: "no such table"; PostgreSQL: undefined_table (42P01).
    const message = error instanceof Error ? error.message : '';
    if (/no such table/.test(message) || (error as { code?: string }).code === '42P01') return [];
    throw error;
  }
}

async function assertBuilt(
  db: ReadModelDatabase,
  projections: readonly { readonly name: string; readonly version: number }[],
): Promise<void> {
  const rows = await readModelStates(db);
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
