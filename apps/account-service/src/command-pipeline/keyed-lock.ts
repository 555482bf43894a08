// Serialises work per key inside one process, so concurrent commands on one stream queue up
// instead of burning their optimistic-concurrency retries against each other. Other processes
// are still kept out by the store's expected-version check. A command that writes several hot
// streams takes every key, always in the same (sorted) order, so two commands can't wait on each
// other.
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(keys: string | readonly string[], work: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(typeof keys === 'string' ? [keys] : keys)].sort();
    const take = (index: number): Promise<T> => {
      const key = sorted[index];
      return key === undefined ? work() : this.one(key, () => take(index + 1));
    };
    return take(0);
  }

  private async one<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
