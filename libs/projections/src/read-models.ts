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

interface StateRow {
  readonly version: number;
  readonly generation: number;
  readonly position: number;
}

export class ReadModelRunner {
  private readonly entries = new Map<string, Entry>();
  private stopped = false;
  /** Set by notify(): an append landed while the loop was busy, so it must not go to sleep. */
  private signalled = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private saveStatement: Database.Statement | undefined;
  private stateStatement: Database.Statement | undefined;

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
    const row = this.readState(projection.name);
    const entry: Entry = { projection, state: 'catching_up', generation: 1, position: 0, waiters: [] };
    if (row && row.version === projection.version) {
      entry.generation = row.generation;
      entry.position = row.position;
    } else {
      // New, or its code changed: start a fresh generation from zero.
      entry.generation = (row?.generation ?? 0) + 1;
      this.transaction(() => {
        if (row) this.dropTables(projection, prefixOf(projection.name, row.generation));
        this.dropTables(projection, prefixOf(projection.name, entry.generation));
        projection.setup(this.db, prefixOf(projection.name, entry.generation));
        this.saveState(projection, entry.generation, 0);
      });
    }
    // The entry first: activated() may ask the runner for the prefix.
    this.entries.set(projection.name, entry);
    projection.activated?.(this.db, prefixOf(projection.name, entry.generation));
  }

  /** The registered projection object (e.g. to reach an in-memory index it maintains). */
  projection<P extends ReadModelProjection = ReadModelProjection>(name: string): P {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no projection ${name}`);
    return entry.projection as P;
  }

  /** The live table prefix of a projection (following a switch another process made). */
  prefix(name: string): string {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no projection ${name}`);
    this.follow(entry);
    return prefixOf(name, entry.generation);
  }

  start(): void {
    this.stopped = false;
    this.loop = this.run();
  }

  /** Wakes the loop; call after appends (the SQLite store's own subscriptions see other processes). */
  notify(): void {
    this.signalled = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.unsubscribe?.();
    for (const entry of this.entries.values()) {
      if (entry.state !== 'failed') entry.state = 'stopped';
      entry.waiters.forEach((w) =>
        w.reject(new ProjectionLaggingError(`${entry.projection.name} stopped with the service`)),
      );
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
    // Checked before touching any table: the next generation's tables belong to the running rebuild.
    if (entry.rebuild) throw new Error(`${name} is already being rebuilt`);
    const { projection } = entry;
    // Past any generation another process (the CLI) may have switched to.
    const next = Math.max(entry.generation, this.readState(name)?.generation ?? 0) + 1;
    const prefix = prefixOf(name, next);
    let position = 0;
    entry.rebuild = { position, head: 0 };
    let switched = false;
    try {
      this.transaction(() => {
        this.dropTables(projection, prefix);
        projection.setup(this.db, prefix);
      });
      entry.rebuild = { position, head: await this.store.headPosition() };
      for (;;) {
        if (this.stopped) throw new Error(`rebuild of ${name} interrupted: read models stopped`);
        const events = await this.store.readAll(position, this.options.batchSize ?? 1000);
        if (events.length === 0) {
          // Caught up with the head: switch in one transaction, then let the loop follow from here.
          this.transaction(() => {
            // The checkpoint row is the truth across processes: the live generation may be followed
            // by another process's runner (the service, while the CLI rebuilds).
            const live = this.readState(name);
            if (live !== undefined && live.generation >= next)
              throw new Error(`${name} was switched to generation ${live.generation} by another rebuild`);
            if (position < Math.max(entry.position, live?.position ?? 0)) return; // one more round
            this.saveState(projection, next, position);
            this.dropTables(projection, prefixOf(name, entry.generation));
            if (live !== undefined && live.generation !== entry.generation)
              this.dropTables(projection, prefixOf(name, live.generation));
            switched = true;
          });
          if (switched) {
            entry.generation = next;
            entry.position = position;
            if (entry.state === 'failed') entry.state = 'catching_up';
            entry.error = undefined;
            projection.activated?.(this.db, prefix);
            this.release(entry);
            this.notify();
            break;
          }
          continue;
        }
        this.transaction(() => {
          for (const event of events) this.applyOne(projection, event, prefix);
        });
        position = events[events.length - 1]?.globalPosition ?? position;
        entry.rebuild = { position, head: Math.max(entry.rebuild?.head ?? 0, position) };
        onProgress?.(entry.rebuild);
      }
    } finally {
      entry.rebuild = undefined;
      // A failed or interrupted rebuild leaves no half-built generation behind.
      if (!switched) {
        try {
          // Unless another process's rebuild made that generation the live one meanwhile.
          this.transaction(() => {
            if (this.readState(name)?.generation !== next) this.dropTables(projection, prefix);
          });
        } catch {
          // The database is gone (closed with the service): nothing left to tidy.
        }
      }
    }
  }

  /** sha256 over every row of the projection's live tables, in a stable order. */
  digest(name: string): string {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no projection ${name}`);
    const hash = createHash('sha256');
    for (const table of [...entry.projection.tables].sort()) {
      const qualified = `${prefixOf(name, entry.generation)}${table}`;
      // Columns in name order, rows ordered by every column: a stable order without holding the
      // table in memory (the audit table of a 1M-event log is gigabytes as one string).
      const columns = (
        this.db.prepare(`SELECT * FROM ${qualified} LIMIT 0`).columns() as Array<{ name: string }>
      )
        .map((c) => c.name)
        .sort();
      const list = columns.map((c) => `"${c}"`).join(', ');
      hash.update(`${table}\n${JSON.stringify(columns)}\n`);
      const rows = this.db.prepare(`SELECT ${list} FROM ${qualified} ORDER BY ${list}`).raw(true).iterate();
      for (const row of rows) hash.update(`${JSON.stringify(row)}\n`);
    }
    return hash.digest('hex');
  }

  private async run(): Promise<void> {
    const subscription = this.store.subscribe({
      after: await this.store.headPosition(),
      handler: () => this.notify(),
    });
    this.unsubscribe = () => subscription.close();
    while (!this.stopped) {
      this.signalled = false;
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
            w.reject(
              new ProjectionLaggingError(`${entry.projection.name} has stopped: ${entry.error ?? ''}`),
            ),
          );
          entry.waiters = [];
          this.options.onFailure?.(entry.projection.name, error);
        }
      }
      if (!progressed && !this.stopped && !this.signalled) {
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
      this.follow(entry);
      entry.state = 'live';
      return false;
    }
    const { projection } = entry;
    const prefix = prefixOf(projection.name, generation);
    const last = events[events.length - 1]?.globalPosition ?? position;
    let moved: StateRow | undefined;
    this.transaction(() => {
      // Checked under the write lock: if another process switched generations (a rebuild) or applied
      // this batch already (a second runner on the file), applying it here would write to dropped
      // tables or twice. Exactly once per generation rests on this check and the checkpoint sharing
      // the batch's transaction.
      const row = this.readState(projection.name);
      if (row !== undefined && (row.generation !== generation || row.position !== position)) {
        moved = row;
        return;
      }
      for (const event of events) this.applyOne(projection, event, prefix);
      this.saveState(projection, generation, last);
    });
    if (moved !== undefined) {
      this.adopt(entry, moved);
      return true;
    }
    entry.position = last;
    // Before the waiters resume: a reader that waited for `last` must find the index in step.
    projection.afterCommit?.(events, this.db, prefix);
    this.release(entry);
    entry.state = events.length < (this.options.batchSize ?? 500) ? 'live' : 'catching_up';
    return true;
  }

  /** Adopts what another process wrote to the checkpoint row, if it differs from what we hold. */
  private follow(entry: Entry): void {
    if (entry.rebuild !== undefined) return; // our own rebuild is about to switch; it knows
    const row = this.readState(entry.projection.name);
    if (row !== undefined && (row.generation !== entry.generation || row.position !== entry.position))
      this.adopt(entry, row);
  }

  private adopt(entry: Entry, row: StateRow): void {
    const { projection } = entry;
    if (row.version !== projection.version) {
      // A newer (or older) build of the projection owns the tables now: this code must not write them.
      entry.state = 'failed';
      entry.error = `${projection.name}: the database holds version ${row.version}, this code is version ${projection.version}; restart to rebuild`;
      entry.waiters.forEach((w) => w.reject(new ProjectionLaggingError(entry.error)));
      entry.waiters = [];
      return;
    }
    // A new generation was built from zero: a failure of the old one is behind us.
    if (row.generation !== entry.generation && entry.state === 'failed') {
      entry.state = 'catching_up';
      entry.error = undefined;
    }
    entry.generation = row.generation;
    entry.position = row.position;
    // Another process wrote the tables: in-memory indexes reload from them.
    projection.activated?.(this.db, prefixOf(projection.name, row.generation));
    this.release(entry);
  }

  private readState(name: string): StateRow | undefined {
    this.stateStatement ??= this.db.prepare(
      'SELECT version, generation, position FROM read_model_state WHERE name = ?',
    );
    return this.stateStatement.get(name) as StateRow | undefined;
  }

  /**
   * BEGIN IMMEDIATE: the write lock is taken up front (waiting out the busy timeout), so a batch that
   * reads before it writes can't fail with SQLITE_BUSY when another connection (the event store,
   * another process) committed in between. A throw rolls everything back.
   */
  private transaction(fn: () => void): void {
    this.db.transaction(fn).immediate();
  }

  /** Applies one event; an error names the event so that /readyz says where the projection stopped. */
  private applyOne(projection: ReadModelProjection, event: RecordedEvent, prefix: string): void {
    try {
      projection.apply(event, this.db, prefix);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `${projection.name} failed on event ${event.globalPosition} (${event.type} in ${event.streamId}): ${reason}`,
        { cause: error },
      );
    }
  }

  private release(entry: Entry): void {
    const ready = entry.waiters.filter((w) => w.position <= entry.position);
    entry.waiters = entry.waiters.filter((w) => w.position > entry.position);
    ready.forEach((w) => w.resolve());
  }

  private saveState(projection: ReadModelProjection, generation: number, position: number): void {
    this.saveStatement ??= this.db.prepare(
      `INSERT INTO read_model_state (name, version, generation, position) VALUES (?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET version = excluded.version, generation = excluded.generation, position = excluded.position`,
    );
    this.saveStatement.run(projection.name, projection.version, generation, position);
  }

  private dropTables(projection: ReadModelProjection, prefix: string): void {
    for (const table of projection.tables) this.db.exec(`DROP TABLE IF EXISTS ${prefix}${table}`);
  }
}
