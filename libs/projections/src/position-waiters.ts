// Callers waiting until something that follows the log (a read model, a processor, a relay) has
// reached a position: released as it moves, rejected after their bound or all at once when it stops.
export class PositionWaiters {
  private waiters: Array<{ position: number; resolve: () => void; reject: (error: Error) => void }> = [];

  /** Resolves once `release` reaches `position`; rejects with `timedOut()` (built then) after the bound. */
  wait(position: number, timeoutMs: number, timedOut: () => Error): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(timedOut());
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Resolves every waiter at or below `reached`. */
  release(reached: number): void {
    const ready = this.waiters.filter((w) => w.position <= reached);
    this.waiters = this.waiters.filter((w) => w.position > reached);
    ready.forEach((w) => w.resolve());
  }

  /** Rejects every waiter (the follower stopped). */
  rejectAll(error: Error): void {
    const all = this.waiters;
    this.waiters = [];
    all.forEach((w) => w.reject(error));
  }
}
