import { describe, expect, it } from 'vitest';

import { appendToChain, canonicalJson, Chain, EMPTY_CHAIN, hashRecord, verifyChain } from './chain.js';
import { GENESIS_HASH, SERVICE_CHAIN, type AuditRecord } from './record.js';
import { sampleRecords, TENANT_ID } from './testing/samples.js';

const all = sampleRecords();
const tenantChain = all.filter((r) => r.tenantId === TENANT_ID);
const serviceChain = all.filter((r) => r.tenantId === SERVICE_CHAIN);

/** The same JSON with every object's keys in reverse order, as jsonb may hand them back. */
function reorderKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reorderKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reorderKeys(v)]),
    );
  }
  return value;
}

const edit = (records: AuditRecord[], index: number, change: Partial<AuditRecord>): AuditRecord[] =>
  records.map((r, i) => (i === index ? { ...r, ...change } : r));

describe('canonicalJson', () => {
  it('sorts keys at every depth, drops undefined properties and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: true, e: null }], c: 'x' }, z: undefined })).toBe(
      '{"a":{"c":"x","d":[2,{"e":null,"f":true}]},"b":1}',
    );
  });

  it('escapes strings as JSON does and keeps non-ASCII', () => {
    expect(canonicalJson({ s: 'Zoë "q" \\ \r\n 🎉' })).toBe('{"s":"Zoë \\"q\\" \\\\ \\r\\n 🎉"}');
  });

  it('refuses values JSON cannot hold', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError);
  });
});

describe('the chain', () => {
  it('numbers each tenant 1, 2, 3, … and links every record to its predecessor', () => {
    expect(tenantChain.map((r) => r.sequence)).toEqual(tenantChain.map((_, i) => i + 1));
    expect(serviceChain.map((r) => r.sequence)).toEqual(serviceChain.map((_, i) => i + 1));
    expect(tenantChain[0]!.previousHash).toBe(GENESIS_HASH);
    expect(serviceChain[0]!.previousHash).toBe(GENESIS_HASH);
    for (let i = 1; i < tenantChain.length; i++) {
      expect(tenantChain[i]!.previousHash).toBe(tenantChain[i - 1]!.hash);
    }
    expect(GENESIS_HASH).toMatch(/^0{64}$/);
  });

  it('hashes every field but the hash itself', () => {
    const record = tenantChain[3]!;
    expect(record.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRecord(record)).toBe(record.hash);
    for (const change of [
      { sequence: record.sequence + 1 },
      { previousHash: 'f'.repeat(64) },
      { globalPosition: record.globalPosition + 1 },
      { tenantId: 'other' },
      { result: 'failure' as const },
      { activityDateTime: '2026-01-02T09:00:00.001Z' },
    ]) {
      expect(hashRecord({ ...record, ...change })).not.toBe(record.hash);
    }
  });

  it('appends from a stored state the same as in one go', () => {
    const { sequence: _s, previousHash: _p, hash: _h, ...draft } = tenantChain[2]!;
    const again = appendToChain(draft, { sequence: 2, lastHash: tenantChain[1]!.hash });
    expect(again).toEqual(tenantChain[2]);
    expect(appendToChain(draft, EMPTY_CHAIN).sequence).toBe(1);
  });

  it('continues from seeded states', () => {
    const chain = new Chain([[TENANT_ID, { sequence: 41, lastHash: 'a'.repeat(64) }]]);
    const record = chain.append(tenantChain[0]!);
    expect(record).toMatchObject({ sequence: 42, previousHash: 'a'.repeat(64) });
    expect(chain.state(TENANT_ID)).toEqual({ sequence: 42, lastHash: record.hash });
    expect(chain.state('unknown')).toEqual(EMPTY_CHAIN);
  });
});

describe('verifyChain', () => {
  it('accepts a good chain', () => {
    expect(verifyChain(tenantChain)).toEqual({
      ok: true,
      checked: tenantChain.length,
      state: { sequence: tenantChain.length, lastHash: tenantChain.at(-1)!.hash },
    });
    expect(verifyChain(serviceChain)).toMatchObject({ ok: true, checked: serviceChain.length });
    expect(verifyChain([])).toMatchObject({ ok: true, checked: 0 });
  });

  it.each([1, 5, 17])('names record %i when one of its fields was edited', (k) => {
    const tampered = edit(tenantChain, k - 1, { activityDisplayName: 'Nothing happened' });
    expect(verifyChain(tampered)).toEqual({
      ok: false,
      checked: k - 1,
      firstBrokenSequence: k,
      reason: 'hash_mismatch',
      recordId: tenantChain[k - 1]!.id,
    });
  });

  it('names the next record when an edited record was re-hashed', () => {
    const k = 6;
    const { hash: _old, ...rest } = { ...tenantChain[k - 1]!, resultReason: 'rewritten' };
    const rehashed = { ...rest, hash: hashRecord(rest) };
    const tampered = tenantChain.map((r, i) => (i === k - 1 ? rehashed : r));
    expect(verifyChain(tampered)).toMatchObject({
      ok: false,
      firstBrokenSequence: k + 1,
      reason: 'previous_hash_mismatch',
    });
  });

  it('names the gap when a record was removed', () => {
    const k = 8;
    const removed = tenantChain.filter((_, i) => i !== k - 1);
    expect(verifyChain(removed)).toMatchObject({
      ok: false,
      checked: k - 1,
      firstBrokenSequence: k,
      reason: 'sequence_gap',
      recordId: tenantChain[k]!.id,
    });
  });

  it('names a duplicate and a swap', () => {
    const duplicated = [...tenantChain.slice(0, 4), tenantChain[3]!, ...tenantChain.slice(4)];
    expect(verifyChain(duplicated)).toMatchObject({
      ok: false,
      firstBrokenSequence: 4,
      reason: 'sequence_duplicate',
    });
    const swapped = [...tenantChain];
    [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
    expect(verifyChain(swapped)).toMatchObject({ ok: false, firstBrokenSequence: 3, reason: 'sequence_gap' });
  });

  it('names a renumbered insertion by its broken link', () => {
    // Records re-numbered after a forged record was slipped in at 3: sequences are consecutive again,
    // but record 3's previousHash can't be the real record 2's hash without the forger re-hashing.
    const forged = appendToChain(
      { ...tenantChain[2]!, resultReason: 'forged' },
      { sequence: 2, lastHash: 'e'.repeat(64) },
    );
    const chain = [tenantChain[0]!, tenantChain[1]!, forged];
    expect(verifyChain(chain)).toMatchObject({
      ok: false,
      firstBrokenSequence: 3,
      reason: 'previous_hash_mismatch',
    });
  });

  it('refuses a record of another chain', () => {
    expect(verifyChain([tenantChain[0]!, { ...serviceChain[1]! }])).toMatchObject({
      ok: false,
      firstBrokenSequence: 2,
      reason: 'tenant_mismatch',
    });
  });

  it('still verifies records whose JSON came back with keys in another order (jsonb)', () => {
    const reread = JSON.parse(JSON.stringify(reorderKeys(tenantChain))) as AuditRecord[];
    expect(Object.keys(reread[0]!)[0]).not.toBe(Object.keys(tenantChain[0]!)[0]);
    expect(verifyChain(reread)).toMatchObject({ ok: true, checked: tenantChain.length });
  });

  it('verifies a segment from a known state', () => {
    const from = { sequence: 10, lastHash: tenantChain[9]!.hash };
    expect(verifyChain(tenantChain.slice(10), { from })).toMatchObject({
      ok: true,
      checked: tenantChain.length - 10,
    });
    expect(verifyChain(tenantChain.slice(11), { from })).toMatchObject({
      ok: false,
      firstBrokenSequence: 11,
    });
  });
});
