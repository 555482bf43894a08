// NDJSON: one record per line, as canonical JSON (sorted keys, no whitespace), each line ended by
// '\n'. JSON escapes CR and LF inside strings, so a record never spans lines; non-ASCII stays
// UTF-8 as is. Canonical JSON makes the line byte-identical to what the chain hash covers (plus
// the hash). Pure.

import { canonicalJson } from '../chain.js';
import type { AuditRecord } from '../record.js';

export const toNdjsonLine = (record: AuditRecord): string => `${canonicalJson(record)}\n`;

export const toNdjson = (records: Iterable<AuditRecord>): string => {
  let out = '';
  for (const record of records) out += toNdjsonLine(record);
  return out;
};

/** Reads NDJSON back (blank lines skipped). No validation: the caller verifies the chain. */
export const parseNdjson = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
