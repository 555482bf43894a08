// The live subscription that wakes idle readers: resubscribes from where it was after a drop.
import { describe, expect, it } from 'vitest';
import { defaultRetryDelayMs, LiveWatcher, type LiveFeed } from './live-watcher.js';

/** A fake subscription: the test pushes positions, drops it, or lets it confirm. */
class FakeFeed implements LiveFeed<number> {
  private readonly queue: (number | Error | 'end')[] = [];
  private wake: (() => void) | undefined;
  stopped = false;

  constructor(
    readonly from: number | undefined,
    readonly confirm: () => void,
  ) {}

  push(item: number | Error | 'end'): void {
    this.queue.push(item);
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.push('end');
  }

  get events(): AsyncIterable<number | undefined> {
    const next = async (): Promise<IteratorResult<number | undefined>> => {
      while (this.queue.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
      const item = this.queue.shift();
      if (item === 'end') return { done: true, value: undefined };
      if (item instanceof Error) throw item;
      return { done: false, value: item };
    };
    return { [Symbol.asyncIterator]: () => ({ next }) };
  }
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function watcher(): { live: LiveWatcher<number>; feeds: FakeFeed[]; changes: () => number } {
  const feeds: FakeFeed[] = [];
  let changes = 0;
  const live = new LiveWatcher<number>(
    (from, confirm) => {
      const feed = new FakeFeed(from, confirm);
      feeds.push(feed);
      return feed;
    },
    () => {
      changes += 1;
    },
    { retryDelayMs: () => 0 },
  );
  return { live, feeds, changes: () => changes };
}

describe('LiveWatcher', () => {
  it('signals every event, and resubscribes from the last position after a drop', async () => {
    const { live, feeds, changes } = watcher();
    live.start();
    await until(() => feeds.length === 1);
    expect(feeds[0]!.from).toBeUndefined();
    feeds[0]!.confirm();
    feeds[0]!.push(10);
    feeds[0]!.push(20);
    await until(() => changes() === 3);
    feeds[0]!.push(new Error('connection lost'));
    await until(() => feeds.length === 2);
    expect(feeds[1]!.from).toBe(20);
    // A drop is a change too: what was appended meanwhile is found by reading again.
    expect(changes()).toBeGreaterThanOrEqual(4);
    // The server ending the subscription is a drop as well.
    feeds[1]!.push(30);
    feeds[1]!.push('end');
    await until(() => feeds.length === 3);
    expect(feeds[2]!.from).toBe(30);
    expect(live.opened).toBe(3);
    await live.stop();
    expect(feeds[2]!.stopped).toBe(true);
    expect(live.running).toBe(false);
  });

  it('restart() drops the subscription and resubscribes from where it was', async () => {
    const { live, feeds } = watcher();
    live.start();
    await until(() => feeds.length === 1);
    feeds[0]!.push(5);
    await until(() => live.lastPosition === 5);
    live.restart();
    await until(() => feeds.length === 2);
    expect(feeds[0]!.stopped).toBe(true);
    expect(feeds[1]!.from).toBe(5);
    await live.stop();
  });

  it('stops even while resubscribing keeps failing, and opens nothing after stop()', async () => {
    const feeds: FakeFeed[] = [];
    const live = new LiveWatcher<number>(
      (from, confirm) => {
        const feed = new FakeFeed(from, confirm);
        feeds.push(feed);
        feed.push(new Error('refused'));
        return feed;
      },
      () => undefined,
      { retryDelayMs: (attempt) => (attempt < 3 ? 0 : 60_000) },
    );
    live.start();
    await until(() => feeds.length === 3);
    // Now waiting 60 s before the next attempt: stop() must not wait for that.
    const started = Date.now();
    await live.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(feeds).toHaveLength(3);
    live.start();
    await until(() => feeds.length === 4);
    await live.stop();
  });

  it('backs off from an immediate first retry to at most 5 s', () => {
    expect([1, 2, 3, 4, 10, 100].map(defaultRetryDelayMs)).toEqual([0, 100, 200, 400, 5000, 5000]);
  });
});
