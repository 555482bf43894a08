// Relays the audit feed to a message broker: a checkpointed loop (not the in-memory EventBus) that
// reads the feed after its checkpoint a page at a time, publishes each page as one batch and moves
// the checkpoint only once the broker has acknowledged the whole batch. A failed page is retried,
// with a capped back-off, for as long as it takes: nothing is ever skipped. Delivery is at least
// once (a crash or a lost acknowledgement between publish and checkpoint re-sends the page), so
// every message carries the record's stable id for consumers to de-duplicate on.
import { setTimeout as wait } from 'node:timers/promises';
import type { AuditRecord } from '#audit';
import type { OutgoingMessage, RecordPublisher } from '#messaging';
import { type CheckpointStore, PositionWaiters } from '#projections';
import { type AuditFeed, lagBehind } from './audit-feed.js';

/** The relay's checkpoint key in the CheckpointStore. */
export const AUDIT_KAFKA_RELAY = 'audit-kafka-relay';

/** The message key of the service chain (records without a tenant). */
export const SERVICE_KEY = 'service';

/** `standby`: another instance holds the relay's lease and runs it. */
export type RelayState = 'starting' | 'running' | 'retrying' | 'stopped' | 'standby';

export interface RelayStatus {
  readonly name: string;
  readonly state: RelayState;
  /** Global position of the last record the broker acknowledged (the checkpoint). */
  readonly position: number;
  /** The feed's head when asked; undefined if the feed did not answer. */
  readonly head?: number;
  /** head - position: how far behind the topic is, in global positions. */
  readonly lag?: number;
  /** Failed attempts since the last success. */
  readonly failures: number;
  /** The last failure while retrying (cleared by a success). */
  readonly lastError?: string;
  /** When the current run of failures began (RFC 3339). */
  readonly failingSince?: string;
  /** Records acknowledged since start (re-sends included). */
  readonly published: number;
}

export interface RelayOptions {
  readonly name?: string;
  /** Records per page, each published as one batch. */
  readonly pageSize?: number;
  /** Back-off after a failure: doubles from `initialBackoffMs` up to `maxBackoffMs`. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How long one wait for new records lasts before the loop looks again. */
  readonly idleWaitMs?: number;
  readonly log?: RelayLog;
}

export interface RelayLog {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const silent: RelayLog = { log: () => undefined, warn: () => undefined, error: () => undefined };

/** The message for one record: keyed by its chain, so each tenant's records stay in order. */
export function toMessage(record: AuditRecord): OutgoingMessage {
  return {
    key: record.tenantId ? record.tenantId : SERVICE_KEY,
    value: JSON.stringify(record),
    headers: {
      'record-id': record.id,
      sequence: String(record.sequence),
      'global-position': String(record.globalPosition),
    },
  };
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export class AuditRelay {
  readonly name: string;
  private readonly pageSize: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly idleWaitMs: number;
  private readonly logger: RelayLog;

  private state: RelayState = 'stopped';
  private position = 0;
  private failures = 0;
  private lastError?: string;
  private failingSince?: Date;
  private published = 0;
  private loop?: Promise<void>;
  private stopping?: AbortController;
  private readonly waiters = new PositionWaiters();

  constructor(
    private readonly feed: AuditFeed,
    private readonly checkpoints: CheckpointStore,
    private readonly publisher: RecordPublisher,
    options: RelayOptions = {},
  ) {
    this.name = options.name ?? AUDIT_KAFKA_RELAY;
    this.pageSize = options.pageSize ?? 500;
    this.initialBackoffMs = options.initialBackoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.idleWaitMs = options.idleWaitMs ?? 5000;
    this.logger = options.log ?? silent;
  }

  /** Starts the loop in the background; resolves at once (a broker that is down delays nothing). */
  start(): void {
    if (this.loop) throw new Error(`relay ${this.name} is already running`);
    this.stopping = new AbortController();
    this.state = 'starting';
    this.loop = this.run(this.stopping.signal).finally(() => {
      this.state = 'stopped';
    });
  }

  /**
   * Stops the loop: waits up to `graceMs` for a batch in flight to be acknowledged and
   * checkpointed, then closes the publisher (which fails that batch: it is re-sent after restart).
   */
  async stop(graceMs = 5000): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    this.stopping?.abort();
    await within(loop, graceMs);
    await this.publisher.close();
    await within(loop, graceMs);
    this.loop = undefined;
  }

  async status(): Promise<RelayStatus> {
    const behind = await lagBehind(this.feed, this.position);
    return {
      name: this.name,
      state: this.state,
      position: this.position,
      ...behind,
      failures: this.failures,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.failingSince ? { failingSince: this.failingSince.toISOString() } : {}),
      published: this.published,
    };
  }

  /** Resolves once everything up to `position` is acknowledged and checkpointed. */
  async caughtUp(position: number, timeoutMs = 10_000): Promise<void> {
    if (this.position >= position) return;
    await this.waiters.wait(
      position,
      timeoutMs,
      () => new Error(`${this.name} did not reach ${position} in ${timeoutMs} ms (at ${this.position})`),
    );
  }

  private async run(signal: AbortSignal): Promise<void> {
    let backoff = this.initialBackoffMs;
    let loaded = false;
    let connected = false;
    while (!signal.aborted) {
      let doing = 'reading the checkpoint';
      try {
        if (!loaded) {
          this.position = await this.checkpoints.get(this.name);
          loaded = true;
          this.logger.log(`relaying the audit feed after position ${this.position}`);
        }
        // Up front, so that a broker that is away shows in /readyz even with nothing to send yet.
        doing = 'connecting to the broker';
        if (!connected && this.publisher.connect) await this.publisher.connect();
        connected = true;
        doing = 'reading the audit feed';
        const page = await this.feed.after({ after: this.position, limit: this.pageSize });
        if (page.length === 0) {
          this.recovered();
          await abortable(this.feed.waitForMore(this.position, this.idleWaitMs), signal);
          continue;
        }
        const first = page[0];
        const final = page.at(-1);
        // A feed that answered with what the cursor already covers would make the loop spin (or
        // re-send history): refuse it loudly instead.
        if (
          !first ||
          !final ||
          first.globalPosition <= this.position ||
          final.globalPosition < first.globalPosition
        ) {
          throw new Error(
            `the feed answered after=${this.position} with positions ${first?.globalPosition}..${final?.globalPosition}`,
          );
        }
        doing = `publishing ${page.length} records after position ${this.position}`;
        await this.publisher.publish(page.map(toMessage));
        doing = `writing the checkpoint ${final.globalPosition} (the batch will be sent again)`;
        await this.checkpoints.set(this.name, final.globalPosition);
        this.position = final.globalPosition;
        this.published += page.length;
        this.recovered();
        this.release();
        backoff = this.initialBackoffMs;
      } catch (error) {
        // Closing the publisher on stop fails the batch in flight: expected, not news.
        if (signal.aborted) return;
        this.failed(error, doing, backoff);
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, this.maxBackoffMs);
      }
    }
  }

  private failed(error: unknown, doing: string, backoff: number): void {
    this.failures += 1;
    this.lastError = message(error);
    this.failingSince ??= new Date();
    this.state = 'retrying';
    // The first failure of a run is news; the rest repeat it at a lower level until it recovers.
    const line = `${doing} failed (attempt ${this.failures}): ${this.lastError}; retrying in ${backoff} ms`;
    if (this.failures === 1) this.logger.error(line);
    else this.logger.warn(line);
  }

  private recovered(): void {
    if (this.failures > 0 && this.failingSince) {
      const seconds = ((Date.now() - this.failingSince.getTime()) / 1000).toFixed(1);
      this.logger.log(
        `recovered after ${this.failures} failed attempts (${seconds} s); at position ${this.position}`,
      );
    }
    this.failures = 0;
    this.lastError = undefined;
    this.failingSince = undefined;
    this.state = 'running';
  }

  private release(): void {
    this.waiters.release(this.position);
  }
}

/** Settles with `promise` or after `ms`, whichever comes first. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Sleeps `ms`, or less if the signal aborts. */
async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await wait(ms, undefined, { signal });
  } catch {
    // aborted: the loop checks the signal
  }
}

/** Settles with `promise`, or as soon as the signal aborts (the promise then runs on, ignored). */
function abortable(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
