// Finding the batch that holds a global position, over a ledger of batches of varying sizes.
import { describe, expect, it } from 'vitest';
import { LedgerIndex } from './ledger-index.js';
import type { LedgerEntry } from './mapping.js';

function ledgerOf(sizes: readonly number[]): LedgerEntry[] {
  let next = 1;
  return sizes.map((size, revision) => {
    const entry = {
      revision,
      firstPosition: next,
      lastPosition: next + size - 1,
      logPosition: { commit: BigInt(revision * 1000), prepare: BigInt(revision * 1000) },
    };
    next += size;
    return entry;
  });
}

function indexOver(
  entries: readonly LedgerEntry[],
  maxCached?: number,
): { index: LedgerIndex; reads: number[] } {
  const reads: number[] = [];
  const index = new LedgerIndex(
    {
      entryAt: async (revision) => {
        reads.push(revision);
        const entry = entries[revision];
        if (entry === undefined) throw new Error(`no entry ${revision}`);
        return entry;
      },
    },
    maxCached,
  );
  return { index, reads };
}

describe('LedgerIndex', () => {
  const entries = ledgerOf([1, 3, 1, 1, 5, 2, 1, 4, 1, 1, 1, 7]);
  const head = entries.at(-1)!;

  it('finds the batch of every position', async () => {
    for (let position = 1; position <= head.lastPosition; position += 1) {
      const { index } = indexOver(entries);
      const found = await index.batchContaining(position, head);
      expect(found.firstPosition <= position && position <= found.lastPosition).toBe(true);
    }
  });

  it('reads O(log n) entries cold, none warm, and at most two moving forward', async () => {
    const { index, reads } = indexOver(entries);
    await index.batchContaining(9, head);
    expect(reads.length).toBeLessThanOrEqual(Math.ceil(Math.log2(entries.length)) + 1);
    reads.length = 0;
    await index.batchContaining(9, head);
    expect(reads).toEqual([]);
    // Moving forward from the last batch found: that batch and the next one are checked first.
    const { index: forward, reads: forwardReads } = indexOver(entries, 2);
    for (let position = 1; position <= head.lastPosition; position += 1) {
      forwardReads.length = 0;
      await forward.batchContaining(position, head);
      expect(forwardReads.length).toBeLessThanOrEqual(2);
    }
  });

  it('refuses positions outside the log and reports a gap', async () => {
    const { index } = indexOver(entries);
    await expect(index.batchContaining(0, head)).rejects.toThrow(RangeError);
    await expect(index.batchContaining(head.lastPosition + 1, head)).rejects.toThrow(RangeError);
    const gappy = ledgerOf([2, 2]);
    gappy[1] = { ...gappy[1]!, firstPosition: 4, lastPosition: 5 };
    const { index: broken } = indexOver(gappy);
    await expect(broken.batchContaining(3, gappy[1]!)).rejects.toThrow(/gap/);
  });

  it('keeps at most maxCached entries', async () => {
    const { index, reads } = indexOver(entries, 3);
    for (let position = 1; position <= head.lastPosition; position += 1)
      await index.batchContaining(position, head);
    reads.length = 0;
    await index.batchContaining(1, head);
    expect(reads.length).toBeGreaterThan(0);
  });
});
