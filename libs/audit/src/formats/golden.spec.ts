// Golden files: every formatter's output for the sample log (hostile values included), compared
// byte for byte with test/fixtures/audit/. The files were written once by this spec with
// UPDATE_GOLDEN=1 and checked by hand against the specs; rewrite them only for an intended change
// of format, and review the diff.

import { Buffer } from 'node:buffer';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { canonicalJson } from '../chain.js';
import { sampleRecords } from '../testing/samples.js';
import { toCef } from './cef.js';
import { toNdjson } from './ndjson.js';
import { toOcsf } from './ocsf.js';
import { frameOctetCounted, toSyslog } from './syslog.js';

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/audit/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const records = sampleRecords();
const HOSTILE_PRODUCT = {
  vendorName: 'Fab|rik\\am',
  productName: 'Account | Lifecycle = Service \\',
  productVersion: '1.0\\|2',
};

const outputs: Record<string, () => string> = {
  'records.ndjson': () => toNdjson(records),
  'ocsf.ndjson': () => records.map((r) => `${canonicalJson(toOcsf(r))}\n`).join(''),
  'cef.log': () => records.map((r) => `${toCef(r)}\n`).join(''),
  'cef-hostile-product.log': () =>
    records
      .filter((r) => ['TenantCreated', 'MemberCreated', 'SignInFailed'].includes(r.activityType))
      .map((r) => `${toCef(r, HOSTILE_PRODUCT)}\n`)
      .join(''),
  'syslog-octet-counted.bin': () =>
    records
      .map((r) => frameOctetCounted(toSyslog(r, { hostname: 'audit-1.example', procId: '4711' })))
      .join(''),
};

describe('golden files (test/fixtures/audit)', () => {
  if (UPDATE) mkdirSync(FIXTURES, { recursive: true });
  it.each(Object.keys(outputs))('%s matches byte for byte', (name) => {
    const actual = Buffer.from(outputs[name]!(), 'utf8');
    const path = `${FIXTURES}${name}`;
    if (UPDATE || !existsSync(path)) {
      expect(UPDATE, `${path} is missing: run with UPDATE_GOLDEN=1 once`).toBe(true);
      writeFileSync(path, actual);
    }
    const golden = readFileSync(path);
    expect(actual.equals(golden), `${name} differs from the golden file`).toBe(true);
  });
});
