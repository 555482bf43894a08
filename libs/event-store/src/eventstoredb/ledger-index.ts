// Finds ledger entries by global position. The ledger stream has one entry per stored batch,
// entry r holding positions firstPosition..lastPosition, consecutive across entries (entry r+1
// starts at entry r's lastPosition + 1). Entries never change once written, so every entry read
// stays valid forever and is cached (up to a bound).
import type { LedgerEntry } from './mapping.js';

export interface LedgerReader {
  /** The entry at ledger revision `revision` (which exists). */
  entryAt(revision: number): Promise<LedgerEntry>;
}

export class LedgerIndex {
  private readonly cache = new Map<number, LedgerEntry>();
  /** The entry the last lookup found: readers mostly move forward from there. */
  private hint = -1;

  constructor(
    private readonly reader: LedgerReader,
    private readonly maxCached = 10_000,
  ) {}

  remember(entry: LedgerEntry): void {
    if (this.cache.has(entry.revision)) return;
    if (this.cache.size >= this.maxCached) {
      // Entries are immutable: dropping any is only a lost shortcut. The oldest inserted goes.
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(entry.revision, entry);
  }

  async entryAt(revision: number): Promise<LedgerEntry> {
    const cached = this.cache.get(revision);
    if (cached !== undefined) return cached;
    const entry = await this.reader.entryAt(revision);
    if (entry.revision !== revision)
      throw new Error(`ledger read for revision ${revision} gave ${entry.revision}`);
    this.remember(entry);
    return entry;
  }

  /**
   * The entry of the batch holding `position`, given the current head entry (which must hold
   * `position` or a later one). O(1) reads when the position is in or right after the batch the
   * previous lookup found (a reader going forward), O(log batches) reads otherwise.
   */
  async batchContaining(position: number, head: LedgerEntry): Promise<LedgerEntry> {
    if (!Number.isSafeInteger(position) || position < 1 || position > head.lastPosition) {
      throw new RangeError(`position ${position} is not in the log (head ${head.lastPosition})`);
    }
    this.remember(head);
    for (const guess of [this.hint, this.hint + 1]) {
      if (guess < 0 || guess > head.revision) continue;
      const entry = await this.entryAt(guess);
      if (entry.firstPosition <= position && position <= entry.lastPosition) {
        this.hint = entry.revision;
        return entry;
      }
    }
    // Every batch holds at least one event, so batch r starts at position r + 1 or later: the
    // batch holding `position` has a revision below `position`.
    let low = 0;
    let high = Math.min(head.revision, position - 1);
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      const entry = await this.entryAt(middle);
      if (entry.lastPosition < position) low = middle + 1;
      else high = middle;
    }
    const found = await this.entryAt(low);
    if (found.firstPosition > position || found.lastPosition < position) {
      throw new Error(
        `the ledger has a gap: no batch holds position ${position} (found ${found.firstPosition}..${found.lastPosition})`,
      );
    }
    this.hint = found.revision;
    return found;
  }
}
