// Read models on SQLite (the events' file for the embedded default, an in-memory database for the
// memory store). Each projection owns tables under a generation prefix; a rebuild fills the next
// generation beside the live one while reads keep using the live one, then switches in one
// transaction. A batch of events and the projection's checkpoint commit in one transaction.
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { EventStore, RecordedEvent } from '#event-store';

export interface ReadModelProjection {
  /** Stable name: the key of its checkpoint and the stem of its tables. */
  readonly name: string;
  /** Bump when tables or logic change: the projection is then rebuilt from zero. */
  readonly version: number;
  /** Table names (without prefix) this projection owns, for digests and dropping. */
  readonly tables: readonly string[];
  /** Creates the tables under `prefix` (e.g. `rm_users_g2_`). */
  setup(db: Database.Database, prefix: string): void;
  /** Applies one event inside the runner's transaction. Throwing stops the projection. */
  apply(event: RecordedEvent, db: Database.Database, prefix: string): void;
  /** Called after a batch committed (in-memory indexes follow the tables here). */
  afterCommit?(events: readonly RecordedEvent[], db: Database.Database, prefix: string): void;
  /** Called when a generation becomes the live one (in-memory indexes reload here). */
  activated?(db: Database.Database, prefix: string): void;
}

export interface ReadModelStatus {
  readonly name: string;
  readonly state: 'catching_up' | 'live' | 'rebuilding' | 'failed' | 'stopped';
  readonly position: number;
  readonly generation: number;
  readonly error?: string;
  /** While rebuilding: how far the next generation got. */
  readonly rebuild?: { readonly position: number; readonly head: number };
}

interface Entry {
  projection: ReadModelProjection;
  state: Exclude<ReadModelStatus['state'], 'rebuilding'>;
  generation: number;
  position: number;
  error?: string;
  rebuild?: { position: number; head: number };
  waiters: Array<{ position: number; resolve: () => void; reject: (e: Error) => void }>;
}

export interface RebuildProgress {
  readonly position: number;
  readonly head: number;
}

const prefixOf = (name: string, generation: number): string =>
  `rm_${name.replace(/[^a-z0-9_]/g, '_')}_g${generation}_`;

export class ProjectionLaggingError extends Error {}

export class ReadModelRunner {
  private readonly entries = new Map<string, Entry>();
  private stopped = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(
    private readonly store: EventStore,
    readonly db: Database.Database,
    private readonly options: { batchSize?: number; onFailure?: (name: string, error: unknown) => void } = {},
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS read_model_state (
      name TEXT PRIMARY KEY,
      version INTEGER NOT NULL,
      generation INTEGER NOT NULL,
      position INTEGER NOT NULL
    ) STRICT`);
  }

  register(projection: ReadModelProjection): void {
    if (this.entries.has(projection.name)) throw new Error(`projection ${projection.name} registered twice`);
    const row = this.db.prepare('SELECT * FROM read_model_state WHERE name = ?').get(projection.name) as
      { version: number; generation: number; position: number } | undefined;
    const entry: Entry = { projection, state: 'catching_up', generation: 1, position: 0, waiters: [] };
    if (row && row.version === projection.version) {
      entry.generation = row.generation;
      entry.position = row.position;
    } else {
      // New, or its code changed: start a fresh generation from zero.
      entry.generation = (row?.generation ?? 0) + 1;
      this.db.transaction(() => {
        if (row) this.dropTables(projection, prefixOf(projection.name, row.generation));
        this.dropTables(projection, prefixOf(projection.name, entry.generation));
        projection.setup(this.db, prefixOf(projection.name, entry.generation));
        this.saveState(projection, entry.generation, 0);
      })();
    }
    projection.activated?.(this.db, this.prefix(projection.name));
    this.entries.set(projection.name, entry);
  }

  /** The live table prefix of a projection. */
  prefix(name: string): string {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no projection ${name}`);
    return prefixOf(name, entry.generation);
  }

  start(): void {
    this.stopped = false;
    this.loop = this.run();
  }

  /** Wakes the loop; call after appends (the SQLite store's own subscriptions see other processes). */
  notify(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.unsubscribe?.();
    for (const entry of this.entries.values()) {
      if (entry.state !== 'failed') entry.state = 'stopped';
      entry.waiters.forEach((w) => w.reject(new Error('read models stopped')));
      entry.waiters = [];
    }
  }

  status(): ReadModelStatus[] {
    return [...this.entries.values()].map((e) => ({
      name: e.projection.name,
      state: e.rebuild && e.state !== 'failed' ? 'rebuilding' : e.state,
      position: e.position,
      generation: e.generation,
      ...(e.error ? { error: e.error } : {}),
      ...(e.rebuild ? { rebuild: { ...e.rebuild } } : {}),
    }));
  }

  /** Waits until the projection has applied `position`; ProjectionLaggingError after the bound. */
  async waitFor(name: string, position: number, timeoutMs: number): Promise<void> {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no projection ${name}`);
    if (entry.position >= position) return;
    if (entry.state === 'failed')
      throw new ProjectionLaggingError(`${name} has stopped: ${entry.error ?? ''}`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        entry.waiters = entry.waiters.filter((w) => w !== waiter);
        reject(new ProjectionLaggingError(`${name} is at ${entry.position}, not yet at ${position}`));
      }, timeoutMs);
      const waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      entry.waiters.push(waiter);
    });
  }

  /**
   * Rebuilds a projection from zero into the next generation while the live one keeps serving and
   * following the log, then switches to it once it has caught up.
   */
  async rebuild(name: string, onProgress?: (progress: RebuildProgress) => void): Promise<void> {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no projection ${name}`);
    const { projection } = entry;
    const next = entry.generation + 1;
    const prefix = prefixOf(name, next);
    this.db.transaction(() => {
      this.dropTables(projection, prefix);
      projection.setup(this.db, prefix);
    })();
    if (entry.rebuild) throw new Error(`${name} is already being rebuilt`);
    let position = 0;
    entry.rebuild = { position, head: await this.store.headPosition() };
    try {
      for (;;) {
        const events = await this.store.readAll(position, this.options.batchSize ?? 1000);
        if (events.length === 0) {
          // Caught up with the head: switch in one transaction, then let the loop follow from here.
          let switched = false;
          this.db.transaction(() => {
            if (position < entry.position) return; // the live one moved on: one more round
            this.saveState(projection, next, position);
            this.dropTables(projection, prefixOf(name, entry.generation));
            switched = true;
          })();
          if (switched) {
            entry.generation = next;
            entry.position = position;
            if (entry.state === 'failed') entry.state = 'catching_up';
            entry.error = undefined;
            projection.activated?.(this.db, prefix);
            break;
          }
          continue;
        }
        this.db.transaction(() => {
          for (const event of events) projection.apply(event, this.db, prefix);
        })();
        position = events[events.length - 1]?.globalPosition ?? position;
        entry.rebuild = { position, head: Math.max(entry.rebuild?.head ?? 0, position) };
        onProgress?.(entry.rebuild);
      }
    } finally {
      entry.rebuild = undefined;
    }
  }

  /** sha256 over every row of the projection's live tables, in a stable order. */
  digest(name: string): string {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no projection ${name}`);
    const hash = createHash('sha256');
    for (const table of [...entry.projection.tables].sort()) {
      const rows = this.db
        .prepare(`SELECT * FROM ${prefixOf(name, entry.generation)}${table}`)
        .all() as Array<Record<string, unknown>>;
      const lines = rows
        .map((r) =>
          JSON.stringify(
            Object.keys(r)
              .sort()
              .map((k) => [k, r[k]]),
          ),
        )
        .sort();
      hash.update(`${table}\n${lines.join('\n')}\n`);
    }
    return hash.digest('hex');
  }

  private async run(): Promise<void> {
    const subscription = this.store.subscribe({
      after: await this.store.headPosition(),
      handler: () => this.wake?.(),
    });
    this.unsubscribe = () => subscription.close();
    while (!this.stopped) {
      let progressed = false;
      for (const entry of this.entries.values()) {
        // The live generation keeps following the log during a rebuild; only a failure stops it.
        if (entry.state === 'failed') continue;
        try {
          progressed = (await this.step(entry)) || progressed;
        } catch (error) {
          entry.state = 'failed';
          entry.error = error instanceof Error ? error.message : String(error);
          entry.waiters.forEach((w) =>
            w.reject(new ProjectionLaggingError(`${entry.projection.name} has stopped`)),
          );
          entry.waiters = [];
          this.options.onFailure?.(entry.projection.name, error);
        }
      }
      if (!progressed && !this.stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 250);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** One batch for one projection; true when it applied something. */
  private async step(entry: Entry): Promise<boolean> {
    const { generation, position } = entry;
    const events = await this.store.readAll(position, this.options.batchSize ?? 500);
    // A rebuild switched generations while we read: this batch belongs to the old one.
    if (entry.generation !== generation || entry.position !== position) return true;
    if (events.length === 0) {
      entry.state = 'live';
      return false;
    }
    const { projection } = entry;
    const prefix = prefixOf(projection.name, generation);
    const last = events[events.length - 1]?.globalPosition ?? position;
    this.db.transaction(() => {
      for (const event of events) projection.apply(event, this.db, prefix);
      this.saveState(projection, generation, last);
    })();
    entry.position = last;
    projection.afterCommit?.(events, this.db, prefix);
    const ready = entry.waiters.filter((w) => w.position <= last);
    entry.waiters = entry.waiters.filter((w) => w.position > last);
    ready.forEach((w) => w.resolve());
    entry.state = events.length < (this.options.batchSize ?? 500) ? 'live' : 'catching_up';
    return true;
  }

  private saveState(projection: ReadModelProjection, generation: number, position: number): void {
    this.db
      .prepare(
        `INSERT INTO read_model_state (name, version, generation, position) VALUES (?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET version = excluded.version, generation = excluded.generation, position = excluded.position`,
      )
      .run(projection.name, projection.version, generation, position);
  }

  private dropTables(projection: ReadModelProjection, prefix: string): void {
    for (const table of projection.tables) this.db.exec(`DROP TABLE IF EXISTS ${prefix}${table}`);
  }
}
