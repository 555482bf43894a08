// Runs checkpointed subscribers of the global log: each resumes after its checkpoint, catches up,
// then follows live. A handler that throws stops its processor with the error kept for readiness
// checks: an event is never skipped silently. With several instances a processor runs in the one
// that holds its lease, and resumes from the shared checkpoint in another when that one dies.
import type { EventStore, RecordedEvent, Subscription } from '#event-store';
import type { CheckpointStore } from './checkpoints.js';
import { type Coordination, LeaseHolder, SoleInstance } from './coordination.js';
import { isTransient } from './read-models.js';

export interface EventProcessor {
  /** Unique and stable: the checkpoint's key. */
  readonly name: string;
  /**
   * Handles one event. Delivery is at least once (a crash between the handler and the checkpoint
   * replays the event), so a handler must be idempotent.
   */
  handle(event: RecordedEvent): Promise<void>;
}

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
  waiters: Array<{ position: number; resolve: () => void }>;
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
    const entry: Running = { processor, state: 'standby', position: 0, retries: 0, waiters: [] };
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

  private async subscribe(entry: Running): Promise<void> {
    const { processor } = entry;
    entry.state = 'starting';
    entry.error = undefined;
    entry.position = await this.checkpoints.get(processor.name);
    entry.state = 'running';
    entry.subscription = this.store.subscribe({
      after: entry.position,
      handler: async (event) => {
        await processor.handle(event);
        await this.checkpoints.set(processor.name, event.globalPosition);
        entry.position = event.globalPosition;
        entry.retries = 0;
        entry.error = undefined;
        this.release(entry);
      },
      onError: (error) => {
        entry.subscription = undefined;
        entry.error = error instanceof Error ? error.message : String(error);
        if (!isTransient(error)) {
          entry.state = 'failed';
          this.onFailure(processor.name, error);
          return;
        }
        // The database was away: resume from the checkpoint after a pause (the event whose
        // handling was cut is handled again: handlers are idempotent).
        entry.state = 'starting';
        entry.error = `retrying: ${entry.error}`;
        entry.retries += 1;
        const pause = Math.min(250 * 2 ** Math.min(entry.retries - 1, 6), 10_000);
        entry.retry = setTimeout(() => {
          entry.retry = undefined;
          if (entry.lease?.active && entry.subscription === undefined)
            this.subscribe(entry).catch((failure: unknown) => this.onFailure(processor.name, failure));
        }, pause);
      },
    });
  }

  /** The lease moved on: another instance resumes from the shared checkpoint. */
  private async unsubscribe(entry: Running): Promise<void> {
    clearTimeout(entry.retry);
    entry.retry = undefined;
    const subscription = entry.subscription;
    entry.subscription = undefined;
    await subscription?.close();
    if (entry.state !== 'failed') entry.state = 'standby';
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
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} did not reach ${position} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      entry.waiters.push({
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  async stopAll(): Promise<void> {
    for (const entry of this.running.values()) {
      await entry.lease?.stop();
      if (entry.state !== 'failed') entry.state = 'stopped';
    }
    this.running.clear();
  }

  private release(entry: Running): void {
    const ready = entry.waiters.filter((w) => w.position <= entry.position);
    entry.waiters = entry.waiters.filter((w) => w.position > entry.position);
    ready.forEach((w) => w.resolve());
  }
}
