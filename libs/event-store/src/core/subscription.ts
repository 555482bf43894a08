// Catch-up-then-live subscription shared by the adapters. Catch-up and live are the same loop
// ("read the next page after the last delivered position"), so there is no seam at which an event
// could be skipped or delivered twice; being live only means waiting for a change signal when a
// page comes back short.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RecordedEvent, SubscribeOptions, Subscription } from '../port.js';

/**
 * Wakes idle subscriptions when the log may have grown. A counter rather than a bare event: a
 * subscriber notes the counter before it reads, so a change that lands between its read and its
 * wait is not lost (the wait returns at once).
 */
export class ChangeSignal {
  private count = 0;
  private readonly waiters = new Set<() => void>();

  get current(): number {
    return this.count;
  }

  notify(): void {
    this.count += 1;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Resolves once notify() ran after `seen` was read, or when `abort` fires. */
  waitForChange(seen: number, abort: AbortSignal): Promise<void> {
    if (this.count !== seen || abort.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        this.waiters.delete(wake);
        abort.removeEventListener('abort', wake);
        resolve();
      };
      this.waiters.add(wake);
      abort.addEventListener('abort', wake, { once: true });
    });
  }
}

export interface SubscriptionSource {
  readAll(after: number, limit: number): Promise<readonly RecordedEvent[]>;
  readonly changes: ChangeSignal;
}

// Which subscription's handler is running in the current async context: a handler that closes its
// own subscription must not wait for itself to return (that would never happen).
const runningHandler = new AsyncLocalStorage<PollingSubscription>();

export class PollingSubscription implements Subscription {
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;

  constructor(
    private readonly source: SubscriptionSource,
    private readonly options: SubscribeOptions,
    private readonly pageSize: number,
    onEnded: (subscription: PollingSubscription) => void,
  ) {
    this.done = this.run().finally(() => onEnded(this));
  }

  async close(): Promise<void> {
    this.abort.abort();
    if (runningHandler.getStore() === this) return;
    await this.done;
  }

  private async run(): Promise<void> {
    let after = this.options.after;
    try {
      // Start on a later tick so that subscribe() returns before the first handler call.
      await Promise.resolve();
      while (!this.abort.signal.aborted) {
        const seen = this.source.changes.current;
        const page = await this.source.readAll(after, this.pageSize);
        for (const event of page) {
          if (this.abort.signal.aborted) return;
          await runningHandler.run(this, () => this.options.handler(event));
          after = event.globalPosition;
        }
        if (page.length < this.pageSize) await this.source.changes.waitForChange(seen, this.abort.signal);
      }
    } catch (error) {
      this.abort.abort();
      report(this.options, error);
    }
  }
}

function report(options: SubscribeOptions, error: unknown): void {
  try {
    if (options.onError) {
      options.onError(error);
      return;
    }
  } catch (onErrorFailure) {
    error = onErrorFailure;
  }
  // A stopped subscription that nobody hears about is a silently stale read model; say it somewhere.
  console.error('event store subscription stopped', error);
}
