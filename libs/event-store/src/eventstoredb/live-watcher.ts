// Keeps one live subscription open and turns what it delivers into change signals, resubscribing
// from the last position it saw whenever the subscription drops (error, server end, restart()).
// The subscription itself is injected (`open`): the adapter gives a filtered $all subscription, the
// unit tests a fake one.

/** One open live subscription. */
export interface LiveFeed<P> {
  /** A position per delivered event (undefined when the event has none); ends or throws on a drop. */
  readonly events: AsyncIterable<P | undefined>;
  /** Ends the subscription; `events` then ends (or throws) soon after. */
  stop(): Promise<void>;
}

/**
 * Opens a subscription delivering what comes after `from` (from now on when undefined).
 * `onConfirmed` is called when the server confirms it: from then on nothing is missed.
 */
export type OpenLiveFeed<P> = (from: P | undefined, onConfirmed: () => void) => LiveFeed<P>;

export interface LiveWatcherOptions {
  /** Delay before the n-th consecutive resubscription (n from 1). Default: 0, then 100 ms doubling to 5 s. */
  readonly retryDelayMs?: (attempt: number) => number;
}

export function defaultRetryDelayMs(attempt: number): number {
  return attempt <= 1 ? 0 : Math.min(100 * 2 ** (attempt - 2), 5000);
}

function delay(ms: number, abort: AbortSignal): Promise<void> {
  if (ms <= 0 || abort.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      abort.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    abort.addEventListener('abort', done, { once: true });
  });
}

export class LiveWatcher<P> {
  private abort: AbortController | undefined;
  private task: Promise<void> | undefined;
  private current: LiveFeed<P> | undefined;
  private last: P | undefined;
  private subscriptions = 0;
  private readonly retryDelayMs: (attempt: number) => number;

  constructor(
    private readonly open: OpenLiveFeed<P>,
    /** Called on every delivered event, on confirmation, and after every drop. */
    private readonly onChange: () => void,
    options: LiveWatcherOptions = {},
  ) {
    this.retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
  }

  /** How many subscriptions were opened so far (the first, and one per resubscription). */
  get opened(): number {
    return this.subscriptions;
  }

  /** The position of the last event delivered, from which a resubscription starts. */
  get lastPosition(): P | undefined {
    return this.last;
  }

  get running(): boolean {
    return this.task !== undefined;
  }

  start(): void {
    if (this.task !== undefined) return;
    const abort = new AbortController();
    this.abort = abort;
    this.task = this.run(abort.signal).finally(() => {
      if (this.abort === abort) {
        this.task = undefined;
        this.abort = undefined;
      }
    });
  }

  /** Ends the subscription and resolves once the watcher has stopped. */
  async stop(): Promise<void> {
    const task = this.task;
    this.abort?.abort();
    await this.current?.stop().catch(() => undefined);
    await task;
  }

  /** Drops the current subscription; the watcher resubscribes from the last position it saw. */
  restart(): void {
    void this.current?.stop().catch(() => undefined);
  }

  private async run(abort: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!abort.aborted) {
      let feed: LiveFeed<P> | undefined;
      try {
        feed = this.open(this.last, () => {
          attempt = 0;
          this.onChange();
        });
        this.current = feed;
        this.subscriptions += 1;
        // stop() may have come between open() and here, before it could see the feed.
        if (abort.aborted) break;
        for await (const position of feed.events) {
          attempt = 0;
          if (position !== undefined) this.last = position;
          this.onChange();
          if (abort.aborted) break;
        }
      } catch {
        // A drop: resubscribe below. What it was is of no use here: readers that fail report it.
      } finally {
        this.current = undefined;
        await feed?.stop().catch(() => undefined);
      }
      if (abort.aborted) break;
      // Whatever was appended while there was no subscription is found by reading again.
      this.onChange();
      attempt += 1;
      await delay(this.retryDelayMs(attempt), abort);
    }
  }
}
