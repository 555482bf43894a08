// A RecordPublisher for unit tests: keeps what it was given, can be told to fail, to stall until
// released, or to "lose" the acknowledgement of a batch it did keep (the broker wrote it, the
// answer never came back).
import type { OutgoingMessage, RecordPublisher } from '../record-publisher.js';

export class MemoryRecordPublisher implements RecordPublisher {
  /** Every message kept, in publish order, re-sends included. */
  readonly messages: OutgoingMessage[] = [];
  /** Sizes of the batches that were attempted (failed ones included). */
  readonly attempts: number[] = [];
  closed = false;
  /** Calls of connect() that are still to fail, and how many were made. */
  failConnects = 0;
  connects = 0;
  /** What the next publishes do, in order; empty: succeed. */
  private script: Array<{ error?: Error; keep: boolean }> = [];
  private gate?: { promise: Promise<void>; open: () => void };

  /** The next `times` publishes reject; with `keep`, after keeping the messages (a lost ack). */
  failNext(times = 1, error = new Error('broker unavailable'), keep = false): void {
    for (let i = 0; i < times; i += 1) this.script.push({ error, keep });
  }

  /** The next `times` publishes succeed (to place failures after them). */
  succeedNext(times = 1): void {
    for (let i = 0; i < times; i += 1) this.script.push({ keep: true });
  }

  /** Publishes wait until `release()`. */
  hold(): void {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.gate = { promise, open };
  }

  release(): void {
    this.gate?.open();
    this.gate = undefined;
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new Error('publisher is closed');
    this.attempts.push(messages.length);
    if (this.gate) await this.gate.promise;
    const next = this.script.shift();
    if (next?.error && !next.keep) throw next.error;
    this.messages.push(...messages);
    if (next?.error) throw next.error;
  }

  async connect(): Promise<void> {
    this.connects += 1;
    if (this.closed) throw new Error('publisher is closed');
    if (this.failConnects > 0) {
      this.failConnects -= 1;
      throw new Error('Connection error: connect ECONNREFUSED');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
