// The audit feed over HTTP, in process on SQLite: real commands become records in per-tenant hash
// chains; every route and format returns them (OCSF validated, CEF parsed strictly, syslog frames
// counted in bytes); a key limited to tenant A never sees tenant B; the event stream resumes with
// Last-Event-ID without gap or duplicate while commands keep arriving; and a record edited behind
// the service's back is named by GET /v1/audit/verify and by the CLI's audit verify.
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, type AuditRecord } from '#audit';
import { auditTablePrefix } from '#projections';
import { parseCefStrict } from '../../libs/audit/src/testing/cef-strict.js';
import { validateOcsf } from '../../libs/audit/src/testing/ocsf-validator.js';
import { auditVerify } from '../../apps/cli/src/commands/audit-verify.js';
import {
  ANALYST_KEY,
  AUDIT_ADMIN_KEY,
  AUDITOR_KEY,
  commands,
  listen,
  parseRfc5424,
  readOctetCounted,
  runScenario,
  setAuditKeys,
  SseClient,
  type Scenario,
} from '../../apps/account-service/src/audit/testing/audit-scenario.js';
import { Harness, startHarness } from '../support/harness.js';

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const FORMATS = ['json', 'ndjson', 'ocsf', 'cef', 'syslog'] as const;

describe('audit feed over HTTP', () => {
  let h: Harness;
  let s: Scenario;

  beforeAll(async () => {
    h = await startHarness();
    setAuditKeys(h.app);
    s = await runScenario(h.http, h.dns, 'aud');
    // The analyst's key is limited to tenant A.
    setAuditKeys(h.app, [s.tenantA.tenantId]);
  });
  afterAll(async () => {
    await h?.close();
  });

  /** The whole body as bytes, whatever the content type. */
  const raw = async (url: string, key: string) => {
    const res = await h
      .http()
      .get(url)
      .set(bearer(key))
      .buffer(true)
      .parse((response, callback) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
        response.on('end', () => callback(null, Buffer.concat(chunks)));
      });
    return { status: res.status, type: String(res.headers['content-type']), body: res.body as Buffer };
  };

  /** Every record the key can read, through JSON pages of `limit`. */
  const allRecords = async (key: string, query = '', limit = 1000): Promise<AuditRecord[]> => {
    const out: AuditRecord[] = [];
    let after = '0';
    for (;;) {
      const res = await h
        .http()
        .get(`/v1/audit/records?after=${after}&limit=${limit}${query}`)
        .set(bearer(key));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      out.push(...(res.body.value as AuditRecord[]));
      if (res.body.nextCursor === undefined) return out;
      after = res.body.nextCursor as string;
    }
  };

  const lines = (body: Buffer) =>
    body
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '');

  it('records every command of the scenario, refusals and failed sign-ins included, in gap-free chains', async () => {
    const records = await allRecords(AUDITOR_KEY, `&minPosition=${s.position}`);
    const a = records.filter((r) => r.tenantId === s.tenantA.tenantId);
    expect(a.map((r) => r.activityType)).toEqual(
      expect.arrayContaining([
        'TenantCreated',
        'DomainAdded',
        'DomainVerified',
        'MemberCreated',
        'RoleRemoved',
        'SignInFailed',
        'SignInSucceeded',
      ]),
    );
    expect(a.map((r) => r.sequence)).toEqual(a.map((_, i) => i + 1));
    const refused = a.find((r) => r.activityType === 'RoleRemoved')!;
    expect(refused).toMatchObject({ result: 'failure', activityDisplayName: 'Remove member from role' });
    expect(refused.resultReason).toMatch(/^last_global_admin: /);
    const member = a.find(
      (r) => r.activityType === 'MemberCreated' && r.targetResources[0]?.id === s.memberA.userId,
    )!;
    expect(member.targetResources[0]).toMatchObject({
      id: s.memberA.userId,
      displayName: s.memberA.displayName,
      userPrincipalName: s.memberA.upn,
    });
    const failed = a.find((r) => r.activityType === 'SignInFailed')!;
    expect(failed).toMatchObject({ recordType: 'signIn', category: 'SignInLogs', result: 'failure' });
    expect(failed.status?.failureReason).toBe('unknown_account');
    // The service chain: the consumer sign-in and the personal account.
    const service = records.filter((r) => r.tenantId === '');
    expect(service.map((r) => r.activityType)).toEqual(
      expect.arrayContaining(['SignInFailed', 'PersonalAccountRegistered']),
    );
    // Global order, one record per cursor.
    const positions = records.map((r) => r.globalPosition);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    expect(new Set(positions).size).toBe(positions.length);
  });

  it('pages with nextCursor, and filters by category and time', async () => {
    const all = await allRecords(AUDITOR_KEY);
    expect(await allRecords(AUDITOR_KEY, '', 3)).toEqual(all);
    const first = await h.http().get('/v1/audit/records').set(bearer(AUDITOR_KEY));
    expect(first.body.value).toEqual(all.slice(0, 100));
    const signIns = await allRecords(AUDITOR_KEY, '&category=SignInLogs');
    expect(signIns.map((r) => r.id)).toEqual(all.filter((r) => r.category === 'SignInLogs').map((r) => r.id));
    const from = all[2]!.activityDateTime;
    const to = all[5]!.activityDateTime;
    const window = await allRecords(AUDITOR_KEY, `&from=${from}&to=${to}`);
    expect(window.map((r) => r.id)).toEqual(
      all.filter((r) => r.activityDateTime >= from && r.activityDateTime <= to).map((r) => r.id),
    );
  });

  it('refuses bad queries and keys without audit:read', async () => {
    for (const query of [
      'limit=0',
      'limit=1001',
      'format=xml',
      'after=-1',
      'category=Nope',
      'from=yesterday',
      'x=1',
      'tenantId=nope',
    ]) {
      const res = await h.http().get(`/v1/audit/records?${query}`).set(bearer(AUDITOR_KEY));
      expect(res.status, query).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    for (const route of ['/v1/audit/records', '/v1/audit/stream', '/v1/audit/verify']) {
      const res = await h.http().get(route).set(bearer(AUDIT_ADMIN_KEY));
      expect(res.status, route).toBe(403);
      expect(res.body.code).toBe('insufficient_scope');
      expect((await h.http().get(route)).status).toBe(401);
    }
  });

  it('exports NDJSON: the records as canonical JSON lines', async () => {
    const all = await allRecords(AUDITOR_KEY);
    const res = await raw('/v1/audit/records?format=ndjson', AUDITOR_KEY);
    expect(res.status).toBe(200);
    expect(res.type).toBe('application/x-ndjson; charset=utf-8');
    expect(lines(res.body)).toEqual(all.map((r) => canonicalJson(r)));
    const limited = await raw('/v1/audit/records?format=ndjson&limit=2&after=1', AUDITOR_KEY);
    expect(lines(limited.body).map((l) => JSON.parse(l).id)).toEqual(
      all
        .filter((r) => r.globalPosition > 1)
        .slice(0, 2)
        .map((r) => r.id),
    );
  });

  it('exports OCSF 1.8.0 events that validate', async () => {
    const all = await allRecords(AUDITOR_KEY);
    const res = await raw('/v1/audit/records?format=ocsf', AUDITOR_KEY);
    expect(res.type).toBe('application/x-ndjson; charset=utf-8');
    const events = lines(res.body).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toHaveLength(all.length);
    events.forEach((event, i) => {
      expect(validateOcsf(event), JSON.stringify(event)).toEqual([]);
      expect((event.metadata as { uid: string }).uid).toBe(all[i]!.id);
    });
    const classes = new Set(events.map((e) => e.class_uid));
    expect([...classes].sort()).toEqual(expect.arrayContaining([3001, 3002, 3004, 3005]));
  });

  it('exports CEF lines that a strict parser reads back to the records’ values', async () => {
    const all = await allRecords(AUDITOR_KEY);
    const res = await raw('/v1/audit/records?format=cef', AUDITOR_KEY);
    expect(res.type).toBe('text/plain; charset=utf-8');
    const parsed = lines(res.body).map((l) => parseCefStrict(l));
    expect(parsed).toHaveLength(all.length);
    parsed.forEach((cef, i) => {
      const record = all[i]!;
      expect(cef.extension.externalId).toBe(record.id);
      expect(cef.extension.cs1 ?? '').toBe(record.tenantId);
      expect(cef.extension.cn2).toBe(String(record.globalPosition));
      expect(cef.name).toBe(record.activityDisplayName);
    });
    const member = parsed.find((c) => c.extension.duid === s.memberA.userId && c.name === 'Add user')!;
    expect(member.extension.duser).toBe(s.memberA.upn);
    expect(JSON.parse(member.extension.cs3!)).toContainEqual({
      displayName: 'DisplayName',
      oldValue: null,
      newValue: s.memberA.displayName,
    });
  });

  it('exports syslog: RFC 5424 messages in octet-counted frames', async () => {
    const all = await allRecords(AUDITOR_KEY);
    const res = await raw('/v1/audit/records?format=syslog', AUDITOR_KEY);
    expect(res.type).toBe('application/octet-stream');
    const messages = readOctetCounted(res.body).map(parseRfc5424);
    expect(messages).toHaveLength(all.length);
    messages.forEach((m, i) => {
      const record = all[i]!;
      expect(m.msgId).toBe(record.activityType);
      expect(m.params.recordId).toBe(record.id);
      expect(m.params.hash).toBe(record.hash);
      expect(m.params.tenantId ?? '').toBe(record.tenantId);
      expect(parseCefStrict(m.msg).extension.externalId).toBe(record.id);
    });
    const member = messages.find(
      (m) => m.params.targetId === s.memberA.userId && m.msgId === 'MemberCreated',
    )!;
    expect(member.params.target).toBe(s.memberA.upn);
  });

  it('keeps a key limited to tenant A inside tenant A on every route and format', async () => {
    const a = s.tenantA.tenantId;
    const b = s.tenantB.tenantId;
    const mine = (await allRecords(AUDITOR_KEY)).filter((r) => r.tenantId === a);
    // json, with and without tenantId
    expect(await allRecords(ANALYST_KEY)).toEqual(mine);
    expect(await allRecords(ANALYST_KEY, `&tenantId=${a}`)).toEqual(mine);
    // every export format
    const ndjson = await raw('/v1/audit/records?format=ndjson', ANALYST_KEY);
    expect(lines(ndjson.body).map((l) => JSON.parse(l).tenantId)).toEqual(mine.map(() => a));
    const ocsf = await raw('/v1/audit/records?format=ocsf', ANALYST_KEY);
    expect(lines(ocsf.body).map((l) => JSON.parse(l).metadata.tenant_uid)).toEqual(mine.map(() => a));
    const cef = await raw('/v1/audit/records?format=cef', ANALYST_KEY);
    expect(lines(cef.body).map((l) => parseCefStrict(l).extension.cs1)).toEqual(mine.map(() => a));
    const syslog = await raw('/v1/audit/records?format=syslog', ANALYST_KEY);
    expect(readOctetCounted(syslog.body).map((m) => parseRfc5424(m).params.tenantId)).toEqual(
      mine.map(() => a),
    );
    for (const body of [ndjson.body, ocsf.body, cef.body, syslog.body]) {
      expect(body.toString('utf8')).not.toContain(b);
      expect(body.toString('utf8')).not.toContain(s.memberB.displayName);
    }
    // tenant B and the service chain are refused, in every format
    for (const format of FORMATS) {
      for (const tenantId of [b, 'service']) {
        const res = await h
          .http()
          .get(`/v1/audit/records?format=${format}&tenantId=${tenantId}`)
          .set(bearer(ANALYST_KEY));
        expect(res.status, `${format} ${tenantId}`).toBe(403);
        expect(res.body.code).toBe('insufficient_scope');
      }
    }
    // verify
    const verifyB = await h.http().get(`/v1/audit/verify?tenantId=${b}`).set(bearer(ANALYST_KEY));
    expect(verifyB.status).toBe(403);
    const verifyAll = await h.http().get('/v1/audit/verify').set(bearer(ANALYST_KEY));
    expect(verifyAll.status).toBe(200);
    expect(verifyAll.body.chains.map((c: { tenantId: string }) => c.tenantId)).toEqual([a]);
    expect(verifyAll.body.checked).toBe(mine.length);
    // stream: B refused, and without tenantId only A's records arrive
    const base = await listen(h.app);
    const refused = await SseClient.open(`${base}/v1/audit/stream?tenantId=${b}`, bearer(ANALYST_KEY));
    await refused.until(() => refused.ended);
    expect(refused.status).toBe(403);
    const sse = await SseClient.open(`${base}/v1/audit/stream?after=0`, bearer(ANALYST_KEY));
    try {
      await sse.until((events) => events.length >= mine.length);
      // A record of B arriving now must not show up either.
      const c = commands(h.http);
      await c.signIn(`nobody-else@audb.onmicrosoft.com`, b);
      const last = await c.signIn(s.memberA.upn, a);
      await sse.until((events) => events.some((e) => Number(e.id) === Number(last.position)));
      expect(sse.events.every((e) => JSON.parse(e.data).tenantId === a)).toBe(true);
      expect(sse.events.slice(0, mine.length).map((e) => JSON.parse(e.data))).toEqual(mine);
    } finally {
      sse.close();
    }
  });

  it('tails as server-sent events and resumes after Last-Event-ID with no gap and no duplicate', async () => {
    const base = await listen(h.app);
    const c = commands(h.http);
    const a = s.tenantA.tenantId;
    // Commands keep arriving during the whole test.
    let running = true;
    let issued = 0;
    const traffic = (async () => {
      while (running) {
        await c.signIn(
          issued % 2 === 0 ? s.memberA.upn : `ghost${issued}@nowhere.example`,
          issued % 2 === 0 ? a : undefined,
        );
        issued += 1;
      }
    })();
    const received: Array<{ id: number; event: string; record: AuditRecord }> = [];
    const collect = (client: SseClient, from: number) =>
      client.events.slice(from).map((e) => ({
        id: Number(e.id),
        event: e.event ?? '',
        record: JSON.parse(e.data) as AuditRecord,
      }));
    try {
      const first = await SseClient.open(`${base}/v1/audit/stream?after=0`, bearer(AUDITOR_KEY));
      expect(first.status).toBe(200);
      expect(first.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      await first.until((events) => events.length >= 25);
      first.close();
      received.push(...collect(first, 0));
      const lastId = received.at(-1)!.id;
      const startedWith = issued;
      // Reconnect as a browser would: Last-Event-ID wins over ?after.
      const second = await SseClient.open(`${base}/v1/audit/stream?after=0`, {
        ...bearer(AUDITOR_KEY),
        'Last-Event-ID': String(lastId),
      });
      await second.until(() => issued >= startedWith + 10);
      const target = Number((await c.signIn(s.memberA.upn, a)).position);
      await second.until((events) => events.some((e) => Number(e.id) >= target));
      second.close();
      received.push(...collect(second, 0));
    } finally {
      running = false;
      await traffic;
    }
    const ids = received.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    // Exactly the feed, from the first record up to the last one received.
    const feed = (await allRecords(AUDITOR_KEY)).filter((r) => r.globalPosition <= ids.at(-1)!);
    expect(ids).toEqual(feed.map((r) => r.globalPosition));
    expect(received.map((r) => r.record)).toEqual(feed);
    expect(received.every((r) => r.event === r.record.recordType)).toBe(true);
    expect(received.map((r) => r.event)).toEqual(expect.arrayContaining(['directoryAudit', 'signIn']));
  });

  it('verifies every chain', async () => {
    const res = await h.http().get('/v1/audit/verify').set(bearer(AUDITOR_KEY));
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(true);
    expect(res.body.chains.map((c: { tenantId: string }) => c.tenantId).sort()).toEqual(
      ['', s.tenantA.tenantId, s.tenantB.tenantId].sort(),
    );
    const one = await h
      .http()
      .get(`/v1/audit/verify?tenantId=${s.tenantB.tenantId}`)
      .set(bearer(AUDITOR_KEY));
    expect(one.body).toMatchObject({ ok: true, tenantId: s.tenantB.tenantId });
    expect(one.body.checked).toBeGreaterThan(0);
    const service = await h.http().get('/v1/audit/verify?tenantId=service').set(bearer(AUDITOR_KEY));
    expect(service.body).toMatchObject({ ok: true, tenantId: '' });
    const out: string[] = [];
    const code = await auditVerify(['--data-dir', h.config.dataDir], {
      stdout: (l) => out.push(l),
      stderr: (l) => out.push(l),
    });
    expect(code, out.join('\n')).toBe(0);
    expect(out).toHaveLength(3);
  });

  it('names the record edited behind the service’s back, over HTTP and in the CLI', async () => {
    const a = s.tenantA.tenantId;
    const member = (await allRecords(AUDITOR_KEY, `&tenantId=${a}`)).find(
      (r) => r.activityType === 'MemberCreated' && r.targetResources[0]?.id === s.memberA.userId,
    )!;
    const file = path.join(h.config.dataDir, 'read-models.db');
    const db = new Database(file, { timeout: 5000 });
    try {
      const generation = db
        .prepare("SELECT generation FROM read_model_state WHERE name = 'audit'")
        .pluck()
        .get() as number;
      const table = `${auditTablePrefix(generation)}records`;
      const changed = db
        .prepare(`UPDATE ${table} SET json = replace(json, ?, ?) WHERE chain = ? AND sequence = ?`)
        .run('Zoë', 'Zoe', a, member.sequence);
      expect(changed.changes).toBe(1);
    } finally {
      db.close();
    }
    const res = await h.http().get(`/v1/audit/verify?tenantId=${a}`).set(bearer(AUDITOR_KEY));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      ok: false,
      checked: member.sequence - 1,
      firstBrokenSequence: member.sequence,
      reason: 'hash_mismatch',
      recordId: member.id,
      tenantId: a,
    });
    // The analyst of A sees it too; B's chain still holds.
    const analyst = await h.http().get('/v1/audit/verify').set(bearer(ANALYST_KEY));
    expect(analyst.body).toMatchObject({ ok: false, tenantId: a, firstBrokenSequence: member.sequence });
    const b = await h.http().get(`/v1/audit/verify?tenantId=${s.tenantB.tenantId}`).set(bearer(AUDITOR_KEY));
    expect(b.body.ok).toBe(true);

    const out: string[] = [];
    const io = { stdout: (l: string) => out.push(l), stderr: (l: string) => out.push(l) };
    expect(await auditVerify(['--data-dir', h.config.dataDir, '--tenant', a], io)).toBe(1);
    expect(out.at(-1)).toContain(
      `tenant ${a}: BROKEN at sequence ${member.sequence} (hash_mismatch, record ${member.id})`,
    );
    expect(await auditVerify(['--data-dir', h.config.dataDir, '--tenant', s.tenantB.tenantId], io)).toBe(0);
    expect(await auditVerify(['--data-dir', h.config.dataDir, '--service'], io)).toBe(0);
    expect(await auditVerify(['--data-dir', h.config.dataDir], io)).toBe(1);
    out.length = 0;
    expect(await auditVerify(['--data-dir', h.config.dataDir, '--json'], io)).toBe(1);
    expect(JSON.parse(out[0]!)).toMatchObject({ ok: false });
    expect(await auditVerify(['--tenant', a, '--service'], io)).toBe(2);
    expect(await auditVerify(['verify-everything'], io)).toBe(2);
    expect(await auditVerify(['--data-dir', path.join(h.config.dataDir, 'nothing-here')], io)).toBe(1);
  });
});

describe('audit event stream at shutdown', () => {
  it('ends open streams so that the service can close', async () => {
    const h = await startHarness();
    setAuditKeys(h.app);
    const base = await listen(h.app);
    const sse = await SseClient.open(`${base}/v1/audit/stream`, bearer(AUDITOR_KEY));
    expect(sse.status).toBe(200);
    const started = Date.now();
    await h.close();
    expect(Date.now() - started).toBeLessThan(5000);
    await sse.until(() => sse.ended, 2000);
  });
});
