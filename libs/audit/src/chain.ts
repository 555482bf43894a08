// Tamper evidence: every record carries the hash of its chain predecessor, so editing, removing,
// inserting or reordering a stored record breaks the chain at a point `verifyChain` names.
//
// The hash is sha256 over the record's canonical JSON (keys sorted by UTF-16 code unit at every
// depth, no whitespace, properties whose value is undefined left out, array order kept), covering
// every field except `hash` itself: previousHash, sequence, globalPosition and tenantId included.
// PostgreSQL jsonb reorders keys and drops insignificant whitespace; canonical JSON makes a
// record re-read from it hash the same. (jsonb cannot store U+0000 in a string: a store that keeps
// records in jsonb must refuse or escape such a value before it is hashed, not after.)

import { createHash } from 'node:crypto';

import { GENESIS_HASH, type AuditRecord, type AuditRecordDraft } from './record.js';

/** Deterministic JSON: sorted keys, no whitespace. Throws on values JSON cannot represent. */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item: unknown) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
      }
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
  }
}

/** sha256 hex of the canonical JSON of the record without its `hash` field. */
export function hashRecord(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  const { hash: _ignored, ...rest } = record as AuditRecord;
  return createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
}

/** Where a chain stands: its last sequence (0 for an empty chain) and last hash. */
export interface ChainState {
  readonly sequence: number;
  readonly lastHash: string;
}

export const EMPTY_CHAIN: ChainState = { sequence: 0, lastHash: GENESIS_HASH };

/** Places a draft after `state` in its chain. Pure: the caller stores the record and the new state. */
export function appendToChain(draft: AuditRecordDraft, state: ChainState = EMPTY_CHAIN): AuditRecord {
  const unsigned = { ...draft, sequence: state.sequence + 1, previousHash: state.lastHash };
  return { ...unsigned, hash: hashRecord(unsigned) };
}

export const stateAfter = (record: AuditRecord): ChainState => ({
  sequence: record.sequence,
  lastHash: record.hash,
});

/**
 * In-memory chains keyed by tenant ('' = the service chain). The projection seeds it with the
 * stored states it reads and appends drafts in global order.
 */
export class Chain {
  private readonly states = new Map<string, ChainState>();

  constructor(initial: Iterable<readonly [string, ChainState]> = []) {
    for (const [tenantId, state] of initial) this.states.set(tenantId, state);
  }

  state(tenantId: string): ChainState {
    return this.states.get(tenantId) ?? EMPTY_CHAIN;
  }

  append(draft: AuditRecordDraft): AuditRecord {
    const record = appendToChain(draft, this.state(draft.tenantId));
    this.states.set(draft.tenantId, stateAfter(record));
    return record;
  }
}

export type ChainBreak =
  /** The stored hash is not the hash of the record's content: the record was edited. */
  | 'hash_mismatch'
  /** previousHash is not the predecessor's hash: a record was replaced, inserted or reordered. */
  | 'previous_hash_mismatch'
  /** A sequence number is missing: a record was removed. */
  | 'sequence_gap'
  /** A sequence number repeats or goes back. */
  | 'sequence_duplicate'
  /** The global cursor does not increase along the chain. */
  | 'position_not_increasing'
  /** A record of another chain is mixed in. */
  | 'tenant_mismatch';

export interface VerifyResult {
  readonly ok: boolean;
  /** Records read before the first break (all of them when ok). */
  readonly checked: number;
  /** The sequence at which the chain first breaks (for a gap: the first missing sequence). */
  readonly firstBrokenSequence?: number;
  readonly reason?: ChainBreak;
  /** The id of the record at which the break was seen. */
  readonly recordId?: string;
  /** Where the verified segment ends, to continue verification from (ok only). */
  readonly state?: ChainState;
}

export interface VerifyOptions {
  /** Verify a segment that continues from this state (default: the chain's start). */
  readonly from?: ChainState;
  /** The chain being verified; default: the first record's tenantId. */
  readonly tenantId?: string;
}

/** Walks one tenant's records in sequence order and names the first broken link. */
export function verifyChain(records: Iterable<AuditRecord>, options: VerifyOptions = {}): VerifyResult {
  let state = options.from ?? EMPTY_CHAIN;
  let tenantId = options.tenantId;
  let lastPosition = -Infinity;
  let checked = 0;
  const broken = (firstBrokenSequence: number, reason: ChainBreak, record: AuditRecord): VerifyResult => ({
    ok: false,
    checked,
    firstBrokenSequence,
    reason,
    recordId: record.id,
  });

  for (const record of records) {
    const expected = state.sequence + 1;
    tenantId ??= record.tenantId;
    if (record.tenantId !== tenantId) return broken(expected, 'tenant_mismatch', record);
    if (record.sequence > expected) return broken(expected, 'sequence_gap', record);
    if (record.sequence < expected) return broken(record.sequence, 'sequence_duplicate', record);
    if (hashRecord(record) !== record.hash) return broken(record.sequence, 'hash_mismatch', record);
    if (record.previousHash !== state.lastHash)
      return broken(record.sequence, 'previous_hash_mismatch', record);
    if (!(record.globalPosition > lastPosition))
      return broken(record.sequence, 'position_not_increasing', record);
    lastPosition = record.globalPosition;
    state = stateAfter(record);
    checked++;
  }
  return { ok: true, checked, state };
}
