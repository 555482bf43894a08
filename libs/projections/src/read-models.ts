// Read models in SQL (SQLite for the embedded default, PostgreSQL shared by several instances).
// Each projection owns tables under a generation prefix; a rebuild fills the next generation beside
// the live one while reads keep using the live one, then switches in one transaction. A batch of
// events and the projection's checkpoint commit in one transaction.
//
// With several instances on one database each projection runs in the one instance that holds its
// lease (see coordination.ts); the others follow its checkpoint row, serve reads from the tables it
// writes, and take the lease over when it dies. Exactly once per generation rests on the checkpoint
// check every batch makes under the state row's lock, not on the lease.
import { createHash } from 'node:crypto';
import type { EventStore, RecordedEvent } from '#event-store';
import { type Coordination, SoleInstance } from './coordination.js';
import { PositionWaiters } from './position-waiters.js';
import type { ReadModelDatabase, SqlDdl, SqlSession } from './sql.js';

export interface ReadModelProjection {
  /** Stable name: the key of its checkpoint and lease, and the stem of its tables. */
  readonly name: string;
  /** Bump when tables or logic change: the projection is then rebuilt from zero. */
  readonly version: number;
  /** Table names (without prefix) this projection owns, for digests and dropping. */
  readonly tables: readonly string[];
  /** Creates the tables under `prefix` (e.g. `rm_users_g2_`). */
  setup(tx: SqlSession, prefix: string, ddl: SqlDdl): Promise<void>;
  /** Applies one event inside the runner's transaction. Throwing stops the projection. */
  apply(event: RecordedEvent, tx: SqlSession, prefix: string): Promise<void>;
  /**
   * Optional: applies a whole batch (in order, in the runner's transaction) when fewer statements
   * do it than one event at a time, which counts on PostgreSQL, where each is a round trip. Must
   * leave the tables exactly as `apply` on each event would. Throw a ProjectionEventError to name
   * the event that failed.
   */
  applyBatch?(events: readonly RecordedEvent[], tx: SqlSession, prefix: string): Promise<void>;
  /** Told whenever the live position advanced, by this instance or (seen later) by another. */
  changed?(position: number): void;
}

export interface ReadModelStatus {
  readonly name: string;
  /** `standby`: another instance runs it; this one follows its checkpoint. */
  readonly state: 'catching_up' | 'live' | 'standby' | 'rebuilding' | 'failed' | 'stopped';
  readonly position: number;
  readonly generation: number;
  /** Whether this instance holds the projection's lease. */
  readonly runsHere: boolean;
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
  /** When this instance last tried to take the lease (it retries every `leaseRetryMs`). */
  triedLeaseAt: number;
  /** Failed in the instance that runs it (seen in the state row): followed still, for the recovery. */
  remoteFailure?: boolean;
  /** After a transient failure (the database away): not before this time, and how many in a row. */
  retryAt?: number;
  retries: number;
  waiters: PositionWaiters;
}

export interface RebuildProgress {
  readonly position: number;
  readonly head: number;
}

export interface ReadModelDigest {
  readonly digest: string;
  /** Last event the digested generation applied. */
  readonly position: number;
  readonly generation: number;
}

export interface ReadModelRunnerOptions {
  readonly batchSize?: number;
  readonly onFailure?: (name: string, error: unknown) => void;
  /** A transient failure (the database unreachable, a connection cut): retried after a pause. */
  readonly onRetry?: (name: string, error: unknown, inMs: number) => void;
  /** Several instances on one database: who runs which projection. Default: this one runs all. */
  readonly coordination?: Coordination;
  /** How often a follower tries to take a projection's lease over. Default 1000 ms. */
  readonly leaseRetryMs?: number;
}

/** The lease (and progress announcements) of a read model among the instances. */
const leaseOf = (name: string): string => `read-model/${name}`;

export const readModelPrefix = (name: string, generation: number): string =>
  `rm_${name.replace(/[^a-z0-9_]/g, '_')}_g${generation}_`;

export class ProjectionLaggingError extends Error {}

/** Reading the log failed: never the projection's fault, so always worth another try. */
export class LogUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`reading the log: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Thrown by `applyBatch` to say which event of the batch could not be applied. */
export class ProjectionEventError extends Error {
  constructor(
    readonly event: RecordedEvent,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

interface StateRow {
  readonly version: number;
  readonly generation: number;
  readonly position: number;
  /** Why the instance that runs it stopped it (an event it can't apply); null while it runs. */
  readonly error: string | null;
}

const STATE_SQL = 'SELECT version, generation, position, error FROM read_model_state WHERE name = ?';

const IDLE_MS = 250;

/** Connection-level PostgreSQL and SQLite codes: the database was away, not the event unreadable. */
const TRANSIENT_CODES = new Set([
  ...['08000', '08001', '08003', '08004', '08006'], // connection exceptions
  ...['57P01', '57P02', '57P03', '53300'], // server shutting down or starting, too many connections
  ...['40001', '40P01'], // serialisation failure, deadlock
  ...['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH'],
  ...['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT'],
]);

/** Whether an error (or one of its causes) says the database was unreachable, so a retry may do. */
export function isTransient(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e instanceof LogUnavailableError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (TRANSIENT_CODES.has(code) || code.startsWith('SQLITE_BUSY')))
      return true;
    if (
      /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(
        e.message,
      )
    )
      return true;
  }
  return false;
}

export class ReadModelRunner {
  private readonly entries = new Map<string, Entry>();
  private readonly coordination: Coordination;
  private stopped = false;
  /** Set by notify(): an append landed while the loop was busy, so it must not go to sleep. */
  private signalled = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private stopListening: (() => void) | undefined;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly store: EventStore,
    readonly db: ReadModelDatabase,
    private readonly options: ReadModelRunnerOptions = {},
  ) {
    this.coordination = options.coordination ?? new SoleInstance();
  }

  async register(projection: ReadModelProjection): Promise<void> {
    if (this.entries.has(projection.name)) throw new Error(`projection ${projection.name} registered twice`);
    await this.createStateTable();
    const entry: Entry = {
      projection,
      state: 'catching_up',
      generation: 1,
      position: 0,
      triedLeaseAt: 0,
      retries: 0,
      waiters: new PositionWaiters(),
    };
    this.entries.set(projection.name, entry);
    try {
      await this.db.transaction(async (tx) => {
        const row = await this.lockState(tx, projection.name);
        if (row && row.version >= projection.version) {
          entry.generation = row.generation;
          entry.position = row.position;
          // A newer build owns the tables (a rollout under way, or this one rolled back): leave
          // them alone. `rebuild` with this build takes the projection back deliberately.
          if (row.version > projection.version) {
            entry.state = 'failed';
            entry.error = `${projection.name}: the database holds version ${row.version}, newer than this build's ${projection.version}; run rebuild ${projection.name} with this build to take it back`;
          }
          return;
        }
        // New, or its code is newer: start a fresh generation from zero (once, whichever instance
        // registers first: the others find the row at this version under the lock).
        entry.generation = (row?.generation ?? 0) + 1;
        entry.position = 0;
        // The old build's live generation stays until the next switch (its readers may be mid-query).
        if (row) await this.dropGenerationsBelow(tx, projection, row.generation);
        const prefix = readModelPrefix(projection.name, entry.generation);
        await this.dropTables(tx, projection, prefix);
        await projection.setup(tx, prefix, this.db.ddl);
        await this.saveState(tx, projection, entry.generation, 0);
      });
    } catch (error) {
      this.entries.delete(projection.name);
      throw error;
    }
  }

  /** The registered projection object. */
  projection<P extends ReadModelProjection = ReadModelProjection>(name: string): P {
    return this.entry(name).projection as P;
  }

  /** The live table prefix of a projection (following a switch another process or instance made). */
  async prefix(name: string): Promise<string> {
    const entry = this.entry(name);
    await this.follow(entry);
    return readModelPrefix(name, entry.generation);
  }

  start(): void {
    this.stopped = false;
    this.stopListening = this.coordination.onChange(() => this.notify());
    this.loop = this.run();
  }

  /** Wakes the loop; call after appends (the stores' own subscriptions see other processes). */
  notify(): void {
    this.signalled = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    this.stopListening?.();
    await this.unsubscribe?.();
    for (const entry of this.entries.values()) {
      // Handed over at once on a clean stop, rather than when the connection closes.
      await this.coordination.release(leaseOf(entry.projection.name));
      if (entry.state !== 'failed') entry.state = 'stopped';
      entry.waiters.rejectAll(
        new ProjectionLaggingError(`${entry.projection.name} stopped with the service`),
      );
    }
  }

  status(): ReadModelStatus[] {
    return [...this.entries.values()].map((e) => ({
      name: e.projection.name,
      state: e.rebuild && e.state !== 'failed' ? 'rebuilding' : e.state,
      position: e.position,
      generation: e.generation,
      runsHere: this.coordination.holds(leaseOf(e.projection.name)),
      ...(e.error ? { error: e.error } : {}),
      ...(e.rebuild ? { rebuild: { ...e.rebuild } } : {}),
    }));
  }

  /** Waits until the projection has applied `position`; ProjectionLaggingError after the bound. */
  async waitFor(name: string, position: number, timeoutMs: number): Promise<void> {
    const entry = this.entry(name);
    if (entry.position >= position) return;
    // A stop seen in the row may be over (a rebuild elsewhere): look again before answering with it.
    if (entry.remoteFailure) await this.follow(entry);
    if (entry.position >= position) return;
    if (entry.state === 'failed')
      throw new ProjectionLaggingError(`${name} has stopped: ${entry.error ?? ''}`);
    const waiting = entry.waiters.wait(
      position,
      timeoutMs,
      () => new ProjectionLaggingError(`${name} is at ${entry.position}, not yet at ${position}`),
    );
    // A follower learns of another instance's progress on its next round: have one now.
    this.notify();
    await waiting;
  }

  /**
   * Rebuilds a projection from zero into the next generation while the live one keeps serving and
   * following the log, then switches to it once it has caught up.
   */
  async rebuild(name: string, onProgress?: (progress: RebuildProgress) => void): Promise<void> {
    const entry = this.entry(name);
    // Checked before touching any table: the next generation's tables belong to the running rebuild.
    if (entry.rebuild) throw new Error(`${name} is already being rebuilt`);
    const { projection } = entry;
    entry.rebuild = { position: 0, head: 0 };
    let next = 0;
    let position = 0;
    let switched = false;
    try {
      await this.db.transaction(async (tx) => {
        // Past any generation another process (the CLI, another instance) may have switched to.
        next = Math.max(entry.generation, (await this.lockState(tx, name))?.generation ?? 0) + 1;
        const prefix = readModelPrefix(name, next);
        await this.dropTables(tx, projection, prefix);
        await projection.setup(tx, prefix, this.db.ddl);
      });
      const prefix = readModelPrefix(name, next);
      entry.rebuild = { position, head: await this.store.headPosition() };
      for (;;) {
        if (this.stopped) throw new Error(`rebuild of ${name} interrupted: read models stopped`);
        const events = await this.store.readAll(position, this.options.batchSize ?? 1000);
        if (events.length === 0) {
          // Caught up with the head: switch in one transaction, then let the loop follow from here.
          await this.db.transaction(async (tx) => {
            // The checkpoint row is the truth across processes: the live generation may be run by
            // another process (the service, while the CLI rebuilds) or another instance.
            const live = await this.lockState(tx, name);
            if (live !== undefined && live.generation >= next)
              throw new Error(`${name} was switched to generation ${live.generation} by another rebuild`);
            if (position < Math.max(entry.position, live?.position ?? 0)) return; // one more round
            await this.saveState(tx, projection, next, position);
            // The generation just replaced stays until the next switch: a read that took its prefix
            // a moment ago (in this process or another instance) may still be querying it. Older
            // ones go now.
            await this.dropGenerationsBelow(tx, projection, live?.generation ?? entry.generation);
            await this.coordination.announce(tx, leaseOf(name));
            switched = true;
          });
          if (switched) {
            entry.generation = next;
            entry.position = position;
            if (entry.state === 'failed') entry.state = 'catching_up';
            entry.error = undefined;
            projection.changed?.(position);
            this.release(entry);
            this.notify();
            break;
          }
          continue;
        }
        await this.db.transaction((tx) => this.applyEvents(projection, events, tx, prefix));
        position = events[events.length - 1]?.globalPosition ?? position;
        entry.rebuild = { position, head: Math.max(entry.rebuild?.head ?? 0, position) };
        onProgress?.(entry.rebuild);
      }
    } finally {
      entry.rebuild = undefined;
      // A failed or interrupted rebuild leaves no half-built generation behind.
      if (!switched && next > 0) {
        try {
          // Unless another process's rebuild made that generation the live one meanwhile.
          await this.db.transaction(async (tx) => {
            if ((await this.lockState(tx, name))?.generation !== next)
              await this.dropTables(tx, projection, readModelPrefix(name, next));
          });
        } catch {
          // The database is gone (closed with the service): nothing left to tidy.
        }
      }
    }
  }

  /** sha256 over every row of the projection's live tables, in a stable order. */
  async digest(name: string): Promise<string> {
    return (await this.digestAt(name)).digest;
  }

  /** The digest with the position and generation it reflects, read in one snapshot. */
  async digestAt(name: string): Promise<ReadModelDigest> {
    const { projection } = this.entry(name);
    return this.db.snapshot(async (s) => {
      const row = await s.get<StateRow>(STATE_SQL, [name]);
      if (row === undefined) throw new Error(`${name} has never been built here`);
      const hash = createHash('sha256');
      for (const table of [...projection.tables].sort()) {
        const qualified = `${readModelPrefix(name, row.generation)}${table}`;
        // Columns in name order, rows ordered by every column: a stable order without holding the
        // table in memory (the audit table of a 1M-event log is gigabytes as one string).
        const columns = (await s.columns(qualified)).sort();
        const list = columns.map((c) => `"${c}"`).join(', ');
        hash.update(`${table}\n${JSON.stringify(columns)}\n`);
        for await (const rows of s.stream(`SELECT ${list} FROM ${qualified} ORDER BY ${list}`)) {
          for (const values of rows) hash.update(`${JSON.stringify(values)}\n`);
        }
      }
      return { digest: hash.digest('hex'), position: row.position, generation: row.generation };
    });
  }

  private entry(name: string): Entry {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no projection ${name}`);
    return entry;
  }

  private createStateTable(): Promise<void> {
    this.ready ??= this.db.transaction(async (tx) => {
      // Instances starting together: one creates, the others wait on the lock and find it there.
      await this.lockKey(tx, 'read_model_state');
      const { int, text, tableOptions } = this.db.ddl;
      await tx.exec(`CREATE TABLE IF NOT EXISTS read_model_state (
        name ${text} PRIMARY KEY,
        version ${int} NOT NULL,
        generation ${int} NOT NULL,
        position ${int} NOT NULL,
        error ${text}
      )${tableOptions}`);
    });
    return this.ready;
  }

  private async run(): Promise<void> {
    // Appends wake the loop at once; without the subscription (the store away at start) it polls.
    try {
      const subscription = this.store.subscribe({
        after: await this.store.headPosition(),
        handler: () => this.notify(),
        onError: () => undefined,
      });
      this.unsubscribe = () => subscription.close();
    } catch {
      this.unsubscribe = undefined;
    }
    while (!this.stopped) {
      this.signalled = false;
      let progressed = false;
      for (const entry of this.entries.values()) {
        // The live generation keeps following the log during a rebuild; only a failure stops it.
        if (this.stopped) continue;
        if (entry.state === 'failed' && !entry.remoteFailure) {
          // Stopped here; a rebuild elsewhere (the CLI, another instance) brings it back.
          await this.follow(entry).catch(() => undefined);
          continue;
        }
        if (entry.retryAt !== undefined && Date.now() < entry.retryAt) continue;
        try {
          progressed = (await this.round(entry)) || progressed;
          if (entry.retryAt !== undefined) {
            entry.retryAt = undefined;
            entry.retries = 0;
            entry.error = undefined;
          }
        } catch (error) {
          if (!isTransient(error)) {
            this.fail(entry, error);
            await this.shareFailure(entry);
            continue;
          }
          // Nothing was applied (the transaction rolled back): the same batch is tried again.
          entry.retries += 1;
          const pause = Math.min(250 * 2 ** Math.min(entry.retries - 1, 6), 10_000);
          entry.retryAt = Date.now() + pause;
          entry.error = `retrying: ${error instanceof Error ? error.message : String(error)}`;
          this.options.onRetry?.(entry.projection.name, error, pause);
        }
      }
      if (!progressed && !this.stopped && !this.signalled) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, IDLE_MS);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** Runs a batch if this instance holds the lease, else follows whoever does. True on progress. */
  private async round(entry: Entry): Promise<boolean> {
    const name = leaseOf(entry.projection.name);
    if (!this.coordination.holds(name)) {
      const now = Date.now();
      if (now - entry.triedLeaseAt >= (this.options.leaseRetryMs ?? 1000)) {
        entry.triedLeaseAt = now;
        await this.coordination.acquire(name);
      }
    }
    if (!this.coordination.holds(name)) {
      // Waiters are released as the holder's checkpoint shows up here; nothing to do until then.
      await this.follow(entry);
      if (entry.state !== 'failed') entry.state = 'standby';
      return false;
    }
    if (entry.remoteFailure) {
      // The instance that stopped on it is gone and this one runs it now: it tries for itself.
      entry.remoteFailure = false;
      entry.state = 'catching_up';
      entry.error = undefined;
    }
    return this.step(entry);
  }

  /** One batch for one projection; true when it applied something. */
  private async step(entry: Entry): Promise<boolean> {
    const { generation, position } = entry;
    const batchSize = this.options.batchSize ?? 500;
    const events = await this.store.readAll(position, batchSize).catch((error: unknown) => {
      throw new LogUnavailableError(error);
    });
    // A rebuild switched generations while we read: this batch belongs to the old one.
    if (entry.generation !== generation || entry.position !== position) return true;
    if (events.length === 0) {
      await this.follow(entry);
      if (entry.state !== 'failed') entry.state = 'live';
      return false;
    }
    const { projection } = entry;
    const prefix = readModelPrefix(projection.name, generation);
    const last = events[events.length - 1]?.globalPosition ?? position;
    const moved = await this.db.transaction(async (tx) => {
      // Checked under the state row's lock: if another process switched generations (a rebuild)
      // or applied this batch already (another instance that held the lease until just now),
      // applying it here would write to dropped tables or twice.
      const row = await this.lockState(tx, projection.name);
      if (row !== undefined && (row.generation !== generation || row.position !== position)) return row;
      await this.applyEvents(projection, events, tx, prefix);
      await this.saveState(tx, projection, generation, last);
      await this.coordination.announce(tx, leaseOf(projection.name));
      return undefined;
    });
    if (moved !== undefined) {
      this.adopt(entry, moved);
      return true;
    }
    entry.position = last;
    projection.changed?.(last);
    this.release(entry);
    entry.state = events.length < batchSize ? 'live' : 'catching_up';
    return true;
  }

  private fail(entry: Entry, error: unknown): void {
    entry.state = 'failed';
    entry.error = error instanceof Error ? error.message : String(error);
    entry.waiters.rejectAll(
      new ProjectionLaggingError(`${entry.projection.name} has stopped: ${entry.error ?? ''}`),
    );
    this.options.onFailure?.(entry.projection.name, error);
  }

  /** Adopts what another process wrote to the checkpoint row, if it differs from what we hold. */
  private async follow(entry: Entry): Promise<void> {
    if (entry.rebuild !== undefined) return; // our own rebuild is about to switch; it knows
    const row = await this.db.get<StateRow>(STATE_SQL, [entry.projection.name]);
    if (row === undefined) return;
    // Only a follower takes a stop from the row: the holder knows its own.
    const stoppedElsewhere = row.error !== null && !this.coordination.holds(leaseOf(entry.projection.name));
    if (
      row.generation !== entry.generation ||
      row.position !== entry.position ||
      stoppedElsewhere !== (entry.remoteFailure === true)
    )
      this.adopt(entry, row);
  }

  /**
   * Writes why this instance stopped the projection into its state row, so that every instance
   * reports it (readiness, reads) rather than waiting on a checkpoint that won't move. Best effort.
   */
  private async shareFailure(entry: Entry): Promise<void> {
    if (!this.coordination.holds(leaseOf(entry.projection.name))) return;
    try {
      await this.db.run('UPDATE read_model_state SET error = ? WHERE name = ? AND generation = ?', [
        entry.error ?? 'stopped',
        entry.projection.name,
        entry.generation,
      ]);
    } catch {
      // The database is away: the others see no progress, and the reason in this one's /readyz.
    }
  }

  private adopt(entry: Entry, row: StateRow): void {
    const { projection } = entry;
    if (row.version !== projection.version) {
      // A newer (or older) build of the projection owns the tables now: this code must not write
      // them, and lets an instance running that build have the lease (a rolling upgrade).
      entry.state = 'failed';
      void this.coordination.release(leaseOf(projection.name));
      entry.error = `${projection.name}: the database holds version ${row.version}, this code is version ${projection.version}; restart to rebuild`;
      entry.waiters.rejectAll(new ProjectionLaggingError(entry.error));
      return;
    }
    if (row.error !== null && !this.coordination.holds(leaseOf(projection.name))) {
      entry.state = 'failed';
      entry.remoteFailure = true;
      entry.error = `${row.error} (stopped in the instance that runs it)`;
      entry.generation = row.generation;
      entry.position = row.position;
      entry.waiters.rejectAll(
        new ProjectionLaggingError(`${projection.name} has stopped: ${entry.error ?? ''}`),
      );
      return;
    }
    // A new generation was built from zero (or the instance that runs it recovered): a failure of
    // the old one is behind us.
    if ((row.generation !== entry.generation || entry.remoteFailure) && entry.state === 'failed') {
      entry.state = 'catching_up';
      entry.error = undefined;
    }
    entry.remoteFailure = false;
    entry.generation = row.generation;
    entry.position = row.position;
    projection.changed?.(row.position);
    this.release(entry);
  }

  /** Serialises every writer of one projection's state (and tables) across connections and instances. */
  private async lockState(tx: SqlSession, name: string): Promise<StateRow | undefined> {
    await this.lockKey(tx, `read-model/${name}`);
    return tx.get<StateRow>(STATE_SQL, [name]);
  }

  /**
   * SQLite: the transaction took the database's write lock at BEGIN IMMEDIATE already. PostgreSQL:
   * an advisory lock held until the transaction ends (a row lock can't cover a row not yet there).
   */
  private async lockKey(tx: SqlSession, key: string): Promise<void> {
    if (tx.dialect === 'postgres')
      await tx.get("SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/' || ?, 0))", [key]);
  }

  /** Applies a batch; an error names the event, so that /readyz says where the projection stopped. */
  private async applyEvents(
    projection: ReadModelProjection,
    events: readonly RecordedEvent[],
    tx: SqlSession,
    prefix: string,
  ): Promise<void> {
    let current: RecordedEvent | undefined;
    try {
      if (projection.applyBatch) {
        await projection.applyBatch(events, tx, prefix);
        return;
      }
      for (const event of events) {
        current = event;
        await projection.apply(event, tx, prefix);
      }
    } catch (error) {
      const event = error instanceof ProjectionEventError ? error.event : current;
      const reason = error instanceof Error ? error.message : String(error);
      const where =
        event === undefined
          ? `a batch of positions ${events[0]?.globalPosition ?? '?'}..${events.at(-1)?.globalPosition ?? '?'}`
          : `event ${event.globalPosition} (${event.type} in ${event.streamId})`;
      throw new Error(`${projection.name} failed on ${where}: ${reason}`, { cause: error });
    }
  }

  private release(entry: Entry): void {
    entry.waiters.release(entry.position);
  }

  private async saveState(
    tx: SqlSession,
    projection: ReadModelProjection,
    generation: number,
    position: number,
  ): Promise<void> {
    await tx.run(
      `INSERT INTO read_model_state (name, version, generation, position, error) VALUES (?, ?, ?, ?, NULL)
       ON CONFLICT (name) DO UPDATE SET version = excluded.version, generation = excluded.generation,
         position = excluded.position, error = NULL`,
      [projection.name, projection.version, generation, position],
    );
  }

  /**
   * Drops the projection's tables of every generation below `keep`, as the catalog lists them. Only
   * tables it names (another projection's name may start like this one's).
   */
  private async dropGenerationsBelow(
    tx: SqlSession,
    projection: ReadModelProjection,
    keep: number,
  ): Promise<void> {
    const stem = readModelPrefix(projection.name, 0).replace(/0_$/, '');
    const tables =
      tx.dialect === 'sqlite'
        ? await tx.all<{ name: string }>(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ?",
            [stem.length, stem],
          )
        : await tx.all<{ name: string }>(
            `SELECT table_name AS name FROM information_schema.tables
             WHERE table_schema = current_schema() AND substr(table_name, 1, CAST(? AS INTEGER)) = CAST(? AS TEXT)`,
            [stem.length, stem],
          );
    for (const { name: table } of tables) {
      const match = /^(\d+)_(.+)$/.exec(table.slice(stem.length));
      if (match && Number(match[1]) < keep && projection.tables.includes(match[2] ?? ''))
        await tx.exec(`DROP TABLE IF EXISTS ${table}`);
    }
  }

  private async dropTables(tx: SqlSession, projection: ReadModelProjection, prefix: string): Promise<void> {
    for (const table of projection.tables) await tx.exec(`DROP TABLE IF EXISTS ${prefix}${table}`);
  }
}
