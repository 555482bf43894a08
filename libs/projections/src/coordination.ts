// Who runs what when several instances share one database. Each projection, processor and relay is
// a named lease: one instance holds it and does the work, the others follow (they read what it
// writes, and take the lease over when its holder dies).
//
// On PostgreSQL a lease is a session-level advisory lock on a connection of its own: PostgreSQL
// frees it the moment that connection ends, which a killed process's connection does at once, so
// another instance's next attempt (every `retryMs`) takes it over. The same connection LISTENs for
// the progress other instances announce (pg_notify inside their batch transaction, delivered on
// commit), so followers learn at once that a projection moved.
//
// A lease alone is not a fence: an instance that lost its connection may not have noticed yet. The
// read-model runner therefore also checks, under a row lock in every batch transaction, that the
// checkpoint is where it left it; a lease only decides who does the work, never whether work is
// applied twice.
import pg from 'pg';
import type { SqlSession } from './sql.js';

export interface Coordination {
  /** This instance's name in logs and status (host and pid). */
  readonly instance: string;
  /** Whether this instance holds `name` now, taking it if free. Cheap when already held. */
  acquire(name: string): Promise<boolean>;
  /** Whether this instance believes it holds `name` (no round trip). */
  holds(name: string): boolean;
  release(name: string): Promise<void>;
  /** Inside a batch transaction: tells the other instances (on commit) that `name` moved. */
  announce(tx: SqlSession, name: string): Promise<void>;
  /** Calls `listener` when another instance announced progress or when a lease was lost. */
  onChange(listener: (name: string | undefined) => void): () => void;
  close(): Promise<void>;
}

const instanceName = (): string => `${process.env.HOSTNAME ?? 'local'}:${process.pid}`;

/** One instance owns the database (SQLite, memory, KurrentDB with local read models): it holds every lease. */
export class SoleInstance implements Coordination {
  readonly instance = instanceName();

  async acquire(): Promise<boolean> {
    return true;
  }

  holds(): boolean {
    return true;
  }

  async release(): Promise<void> {}

  async announce(): Promise<void> {}

  onChange(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {}
}

const CHANNEL = 'read_model_progress';

/**
 * Leases as advisory locks keyed by the schema and the lease's name, on one dedicated connection
 * that reconnects after a loss (and then holds nothing until it acquires again).
 */
export class PostgresCoordination implements Coordination {
  readonly instance: string;
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private readonly held = new Set<string>();
  private readonly listeners = new Set<(name: string | undefined) => void>();
  private closed = false;

  constructor(
    private readonly connectionString: string,
    /** Leases are per schema: two deployments in one database don't exclude each other. */
    private readonly schema: string,
    /** Where lease changes are told (the service's logger). */
    private readonly log: (level: 'log' | 'warn', message: string) => void = () => undefined,
    /** This instance's name in logs and on its lease connection. Default: host and pid. */
    instance?: string,
  ) {
    this.instance = instance ?? instanceName();
  }

  async acquire(name: string): Promise<boolean> {
    if (this.held.has(name)) return true;
    if (this.closed) return false;
    let client: pg.Client;
    try {
      client = await this.connection();
    } catch {
      return false; // the database is unreachable: nobody new can take a lease either
    }
    let rows: Array<{ ok: boolean }>;
    try {
      ({ rows } = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok',
        [this.key(name)],
      ));
    } catch {
      return false; // the connection broke under the query: 'lost' has dropped it, the next try reconnects
    }
    // The connection was lost (or closed) while the query ran: whatever it took went with it.
    if (this.client !== client || this.closed) return false;
    if (rows[0]?.ok === true) {
      this.held.add(name);
      this.log('log', `${this.instance} now runs ${name}`);
      return true;
    }
    return false;
  }

  holds(name: string): boolean {
    return this.held.has(name);
  }

  async release(name: string): Promise<void> {
    if (!this.held.delete(name)) return;
    await this.client
      ?.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [this.key(name)])
      .catch(() => undefined);
  }

  async announce(tx: SqlSession, name: string): Promise<void> {
    await tx.run('SELECT pg_notify(?, ?)', [CHANNEL, `${this.schema}\n${name}`]);
  }

  onChange(listener: (name: string | undefined) => void): () => void {
    this.listeners.add(listener);
    // Listening starts with the first follower: connect now so no announcement is missed.
    void this.connection().catch(() => undefined);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.held.clear();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private key(name: string): string {
    return `${this.schema}/lease/${name}`;
  }

  private connection(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client({
        connectionString: this.connectionString,
        // A holder's host that vanishes without closing the connection must not keep its leases
        // for the operating system's default two hours: probes on both ends within seconds.
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
        // Operators find (and tests cut) an instance's lease connection by this name.
        application_name: `account-service leases ${this.instance}`,
      });
      client.on('error', (error) => this.lost(client, error));
      client.on('end', () => this.lost(client, undefined));
      client.on('notification', (message) => {
        if (message.channel !== CHANNEL || message.payload === undefined) return;
        const [schema, name] = message.payload.split('\n');
        if (schema === this.schema && name !== undefined) this.emit(name);
      });
      try {
        await client.connect();
        await client.query(
          'SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3; SET tcp_user_timeout = 30000',
        );
        await client.query(`LISTEN ${CHANNEL}`);
        if (this.closed) throw new Error('coordination closed while connecting');
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      }
      this.client = client;
      return client;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** The connection ended: every lease it held is gone (PostgreSQL released them). */
  private lost(client: pg.Client, error: Error | undefined): void {
    if (this.client !== client) return;
    this.client = undefined;
    const names = [...this.held];
    this.held.clear();
    if (!this.closed && names.length > 0) {
      this.log(
        'warn',
        `lost the coordination connection${error ? ` (${error.message})` : ''}: no longer running ${names.join(', ')}`,
      );
    }
    void client.end().catch(() => undefined);
    this.emit(undefined);
  }

  private emit(name: string | undefined): void {
    for (const listener of this.listeners) listener(name);
  }
}

export interface LeasedWork {
  /** Called when this instance took the lease: begin the work. */
  start(): Promise<void> | void;
  /** Called when the lease was lost or the holder stops: end the work (it resumes elsewhere). */
  stop(): Promise<void> | void;
}

/**
 * Runs a piece of work (a processor, a relay) only while this instance holds its lease: tries to
 * take it every `retryMs`, starts the work when it gets it, stops it when the lease is lost.
 */
export class LeaseHolder {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = true;
  private turn: Promise<void> = Promise.resolve();
  private unlisten: (() => void) | undefined;
  private queued = false;

  constructor(
    private readonly coordination: Coordination,
    readonly name: string,
    private readonly work: LeasedWork,
    private readonly retryMs = 1000,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /** Whether the work runs in this instance now. */
  get active(): boolean {
    return this.running;
  }

  start(): Promise<void> {
    this.stopped = false;
    // Only a lost connection (undefined) or news of this lease matter; one check queued at most.
    this.unlisten = this.coordination.onChange((name) => {
      if ((name === undefined || name === this.name) && !this.queued) {
        this.queued = true;
        void this.check().finally(() => (this.queued = false));
      }
    });
    return this.check();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unlisten?.();
    await this.serial(async () => {
      if (this.running) {
        this.running = false;
        await this.work.stop();
      }
      await this.coordination.release(this.name);
    });
  }

  private check(): Promise<void> {
    return this.serial(async () => {
      if (this.stopped) return;
      clearTimeout(this.timer);
      try {
        if (this.running && !this.coordination.holds(this.name)) {
          this.running = false;
          await this.work.stop();
        }
        if (!this.running && (await this.coordination.acquire(this.name))) {
          this.running = true;
          try {
            await this.work.start();
          } catch (error) {
            // Not running after all: let go, so that this or another instance tries again.
            this.running = false;
            await this.coordination.release(this.name);
            throw error;
          }
        }
      } catch (error) {
        this.onError(error);
      }
      if (!this.stopped) this.timer = setTimeout(() => void this.check(), this.retryMs);
    });
  }

  /** One check at a time: a lease change mid-start waits for the start to finish. */
  private serial(fn: () => Promise<void>): Promise<void> {
    this.turn = this.turn.then(fn, fn);
    return this.turn;
  }
}
