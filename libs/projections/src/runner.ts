// Runs checkpointed subscribers of the global log: each resumes after its checkpoint, catches up,
// then follows live. A handler that throws stops its processor with the error kept for readiness
// checks: an event is never skipped silently. With several instances a processor runs in the one
// that holds its lease, and resumes from the shared checkpoint in another when that one dies.
import type { EventStore, RecordedEvent, Subscription } from '#event-store';
import type { CheckpointStore } from './checkpoints.js';
import { type Coordination, LeaseHolder, SoleInstance } from './coordination.js';
import { PositionWaiters } from './position-waiters.js';
import { isTransient } from './read-models.js';

export interface EventProcessor {
  /** Unique and stable: the checkpoint's key. */
  readonly name: string;
  /**
   * Handles one event. Delivery is at least once (a crash between the handler and the checkpoint
   * replays the event), so a handler must be idempotent.
   */
  handle(event: RecordedEvent): Promise<void>;
  /**
   * The events it acts on (default: all). Its checkpoint is written right after each of those; past
   * the others it moves only every so often (CHECKPOINT_EVERY events, or when the log goes quiet),
   * since replaying an event it ignores costs nothing. Most of the log is not a processor's
   * business: this keeps a disk sync per event off the write path.
   */
  handles?(event: RecordedEvent): boolean;
}

/** Events passed over (not handled) before the checkpoint follows them anyway. */
export const CHECKPOINT_EVERY = 500;
/** How soon after the log goes quiet the checkpoint follows the events passed over. */
export const CHECKPOINT_IDLE_MS = 250;

/** `standby`: another instance runs it. */
export type ProcessorState = 'starting' | 'running' | 'standby' | 'failed' | 'stopped';

export interface ProcessorStatus {
  readonly name: string;
  readonly state: ProcessorState;
  readonly position: number;
  readonly error?: string;
}

interface Running {
  processor: EventProcessor;
  state: ProcessorState;
  position: number;
  error?: string;
  subscription?: Subscription;
  lease?: LeaseHolder;
  /** A resubscription after a transient failure, and how many came in a row. */
  retry?: NodeJS.Timeout;
  retries: number;
  /** Number of the current subscription run (see subscribe). */
  run: number;
  waiters: PositionWaiters;
  /** The position last written as its checkpoint, and a pending write of a later one. */
  saved: number;
  flush?: NodeJS.Timeout;
}

/** A processor's own failure (its handler or its checkpoint), told apart from the log's. */
class HandlerFailure extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

export class ProcessorRunner {
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly store: EventStore,
    private readonly checkpoints: CheckpointStore,
    private readonly onFailure: (name: string, error: unknown) => void = () => undefined,
    private readonly coordination: Coordination = new SoleInstance(),
    private readonly leaseRetryMs = 1000,
  ) {}

  async start(processor: EventProcessor): Promise<void> {
    if (this.running.has(processor.name)) throw new Error(`processor ${processor.name} is already running`);
    const entry: Running = {
      processor,
      state: 'standby',
      position: 0,
      retries: 0,
      run: 0,
      waiters: new PositionWaiters(),
      saved: 0,
    };
    this.running.set(processor.name, entry);
    entry.lease = new LeaseHolder(
      this.coordination,
      `processor/${processor.name}`,
      { start: () => this.subscribe(entry), stop: () => this.unsubscribe(entry) },
      this.leaseRetryMs,
      (error) => this.onFailure(processor.name, error),
    );
    await entry.lease.start();
  }

  /**
   * Subscribes from the checkpoint. Each run has a number: a run the lease outlived (lost while it
   * read the checkpoint, or replaced by a later one) gives up instead of subscribing twice.
   */
  private async subscribe(entry: Running): Promise<void> {
    const { processor } = entry;
    const run = ++entry.run;
    await this.closeSubscription(entry);
    entry.state = 'starting';
    let position: number;
    try {
      position = await this.checkpoints.get(processor.name);
    } catch (error) {
      this.retryLater(entry, run, error);
      return;
    }
    if (run !== entry.run || !entry.lease?.active) return;
    entry.position = position;
    entry.saved = position;
    entry.state = 'running';
    entry.subscription = this.store.subscribe({
      after: position,
      handler: async (event) => {
        try {
          const acts = processor.handles?.(event) ?? true;
          if (acts) await processor.handle(event);
          if (acts || event.globalPosition - entry.saved >= CHECKPOINT_EVERY) {
            await this.save(entry, event.globalPosition);
          } else {
            this.saveSoon(entry, run);
          }
        } catch (error) {
          throw new HandlerFailure(error);
        }
        entry.position = event.globalPosition;
        entry.retries = 0;
        entry.error = undefined;
        this.release(entry);
      },
      onError: (error) => {
        if (run !== entry.run) return;
        entry.subscription = undefined;
        // Reading the log failing is never the processor's fault; its own failures may be transient.
        const cause = error instanceof HandlerFailure ? error.cause : error;
        if (error instanceof HandlerFailure && !isTransient(cause)) {
          entry.state = 'failed';
          entry.error = cause instanceof Error ? cause.message : String(cause);
          this.onFailure(processor.name, cause);
          return;
        }
        this.retryLater(entry, run, cause);
      },
    });
  }

  /**
   * The database or the log was away: resume from the checkpoint after a growing pause, for as long
   * as this run holds the lease (the event whose handling was cut is handled again: handlers are
   * idempotent).
   */
  private retryLater(entry: Running, run: number, error: unknown): void {
    if (run !== entry.run) return;
    entry.state = 'starting';
    entry.error = `retrying: ${error instanceof Error ? error.message : String(error)}`;
    entry.retries += 1;
    const pause = Math.min(250 * 2 ** Math.min(entry.retries - 1, 6), 10_000);
    clearTimeout(entry.retry);
    entry.retry = setTimeout(() => {
      entry.retry = undefined;
      if (run === entry.run && entry.lease?.active) void this.subscribe(entry);
    }, pause);
  }

  private async save(entry: Running, position: number): Promise<void> {
    clearTimeout(entry.flush);
    entry.flush = undefined;
    await this.checkpoints.set(entry.processor.name, position);
    entry.saved = Math.max(entry.saved, position);
  }

  /** Moves the checkpoint past the events passed over once the log has been quiet a moment. */
  private saveSoon(entry: Running, run: number): void {
    clearTimeout(entry.flush);
    entry.flush = setTimeout(() => {
      entry.flush = undefined;
      // Only the run that passed them over, and only forward: a failure costs a replay, no more.
      if (run === entry.run && entry.position > entry.saved) {
        this.save(entry, entry.position).catch(() => undefined);
      }
    }, CHECKPOINT_IDLE_MS);
  }

  /** The lease moved on: another instance resumes from the shared checkpoint. */
  private async unsubscribe(entry: Running): Promise<void> {
    entry.run += 1; // whatever run is in flight gives up
    await this.closeSubscription(entry);
    if (entry.state !== 'failed') entry.state = 'standby';
  }

  private async closeSubscription(entry: Running): Promise<void> {
    clearTimeout(entry.retry);
    entry.retry = undefined;
    const subscription = entry.subscription;
    entry.subscription = undefined;
    await subscription?.close();
    // What it passed over before closing needs no replay by whoever resumes.
    if (entry.flush !== undefined && entry.position > entry.saved) {
      await this.save(entry, entry.position).catch(() => undefined);
    }
    clearTimeout(entry.flush);
    entry.flush = undefined;
  }

  status(): ProcessorStatus[] {
    return [...this.running.values()].map((r) => ({
      name: r.processor.name,
      state: r.state,
      position: r.position,
      ...(r.error ? { error: r.error } : {}),
    }));
  }

  /** Resolves once the processor has handled everything up to `position` (or the log's head). */
  async caughtUp(name: string, position: number, timeoutMs = 10_000): Promise<void> {
    const entry = this.running.get(name);
    if (!entry) throw new Error(`no processor ${name}`);
    if (entry.position >= position) return;
    await entry.waiters.wait(
      position,
      timeoutMs,
      () => new Error(`${name} did not reach ${position} in ${timeoutMs} ms`),
    );
  }

  async stopAll(): Promise<void> {
    for (const entry of this.running.values()) {
      await entry.lease?.stop();
      if (entry.state !== 'failed') entry.state = 'stopped';
    }
    this.running.clear();
  }

  private release(entry: Running): void {
    entry.waiters.release(entry.position);
  }
}
