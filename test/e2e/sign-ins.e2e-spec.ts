// Sign-in evaluation over HTTP: one row per decision the contract names, each recorded as
// SignInSucceeded or SignInFailed in its own stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, Harness, startHarness } from '../support/harness.js';

const auth = { Authorization: `Bearer ${ADMIN_KEY}` };

describe('sign-in evaluation', () => {
  let h: Harness;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    h = await startHarness();
    const post = async (url: string, body: unknown, actingUser?: string) => {
      const req = h.http().post(url).set(auth);
      if (actingUser) req.set('X-Acting-User', actingUser);
      const res = await req.send(body as object);
      if (res.status >= 300) throw new Error(`${url}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };
    const signUp = (prefix: string) =>
      post('/v1/tenants', {
        displayName: prefix,
        kind: 'business',
        domainPrefix: prefix,
        admin: { displayName: 'A', userName: 'admin' },
      });
    // A personal account registered before its domain became a tenant's: both kinds for one login.
    await post('/v1/personal-accounts', { email: 'dual@contoso.com', displayName: 'Dual' });
    const a = await signUp('contoso');
    const b = await signUp('fabrikam');
    const c = await signUp('strict');
    Object.assign(ids, { a: a.tenantId, b: b.tenantId, c: c.tenantId, adminA: a.adminUserId });
    const added = await post(`/v1/tenants/${a.tenantId}/domains`, { name: 'contoso.com' }, a.adminUserId);
    h.dns.setTxt('contoso.com', [added.verificationRecord.value]);
    await post(`/v1/tenants/${a.tenantId}/domains/contoso.com/verify`, undefined, a.adminUserId);
    await post(
      `/v1/tenants/${a.tenantId}/users`,
      { userPrincipalName: 'alice@contoso.com', displayName: 'Alice' },
      a.adminUserId,
    );
    await post(
      `/v1/tenants/${a.tenantId}/users`,
      { userPrincipalName: 'dual@contoso.com', displayName: 'Dual' },
      a.adminUserId,
    );
    const blocked = await post(
      `/v1/tenants/${a.tenantId}/users`,
      { userPrincipalName: 'blocked@contoso.com', displayName: 'B' },
      a.adminUserId,
    );
    await post(`/v1/tenants/${a.tenantId}/users/${blocked.userId}/block`, undefined, a.adminUserId);
    const gone = await post(
      `/v1/tenants/${a.tenantId}/users`,
      { userPrincipalName: 'gone@contoso.com', displayName: 'G' },
      a.adminUserId,
    );
    const del = await h
      .http()
      .delete(`/v1/tenants/${a.tenantId}/users/${gone.userId}`)
      .set(auth)
      .set('X-Acting-User', a.adminUserId);
    expect(del.status).toBe(204);
    await post('/v1/personal-accounts', { email: 'bob@gmail.example', displayName: 'Bob' });
    await post('/v1/personal-accounts', { email: 'pat@gmail.example', displayName: 'Pat' });
    const bob = await post(
      `/v1/tenants/${a.tenantId}/invitations`,
      { email: 'bob@gmail.example' },
      a.adminUserId,
    );
    await post(`/v1/invitations/${bob.invitationId}/redeem`, {
      redeemCode: bob.redeemCode,
      identity: { kind: 'personal', email: 'bob@gmail.example' },
    });
    await post(`/v1/tenants/${a.tenantId}/invitations`, { email: 'pending@gmail.example' }, a.adminUserId);
    const put = await h
      .http()
      .put(`/v1/tenants/${c.tenantId}/policies/mfa`)
      .set(auth)
      .set('X-Acting-User', c.adminUserId)
      .send({ required: true });
    expect(put.status).toBe(200);
  });
  afterAll(async () => {
    await h?.close();
  });

  const consumer = { kind: 'consumer' };
  const business = (tenant: string) => ({ kind: 'business', tenantId: ids[tenant] ?? tenant });
  const rows: Array<[string, string, () => object, boolean, string, string?]> = [
    ['personal account at the consumer service', 'pat@gmail.example', () => consumer, false, 'allowed'],
    [
      'work account at the consumer service',
      'alice@contoso.com',
      () => consumer,
      false,
      'denied',
      'wrong_realm',
    ],
    [
      'unknown login at the consumer service',
      'nobody@nowhere.example',
      () => consumer,
      false,
      'denied',
      'unknown_account',
    ],
    ['member at its tenant', 'ALICE@Contoso.com', () => business('a'), false, 'allowed'],
    ['blocked member', 'blocked@contoso.com', () => business('a'), false, 'denied', 'account_blocked'],
    ['deleted member', 'gone@contoso.com', () => business('a'), false, 'denied', 'unknown_account'],
    [
      'personal account at a business service where it is no guest',
      'pat@gmail.example',
      () => business('a'),
      false,
      'denied',
      'personal_account_not_allowed',
    ],
    ['guest still pending', 'pending@gmail.example', () => business('a'), false, 'denied', 'guest_pending'],
    ['accepted guest with a personal account', 'bob@gmail.example', () => business('a'), false, 'allowed'],
    [
      'MFA required but not performed',
      'admin@strict.onmicrosoft.com',
      () => business('c'),
      false,
      'denied',
      'mfa_required',
    ],
    ['MFA required and performed', 'admin@strict.onmicrosoft.com', () => business('c'), true, 'allowed'],
    [
      'work account of another tenant',
      'alice@contoso.com',
      () => business('b'),
      false,
      'denied',
      'unknown_account',
    ],
    [
      'unknown tenant',
      'alice@contoso.com',
      () => business('00000000-0000-4000-8000-000000000000'),
      false,
      'denied',
      'unknown_account',
    ],
    ['both kinds for one login, consumer service', 'dual@contoso.com', () => consumer, false, 'allowed'],
    [
      'both kinds for one login, its business service',
      'dual@contoso.com',
      () => business('a'),
      false,
      'allowed',
    ],
  ];

  it.each(
    rows.map(([name, login, service, mfaPerformed, decision, code]) => ({
      name,
      login,
      service,
      mfaPerformed,
      decision,
      code,
    })),
  )('$name → $decision $code', async ({ login, service, mfaPerformed, decision, code }) => {
    const res = await h.http().post('/v1/sign-ins').set(auth).send({
      login,
      service: service(),
      mfaPerformed,
      ipAddress: '203.0.113.7',
      userAgent: 'test-agent/1.0',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.decision).toBe(decision);
    expect(res.body.code).toBe(code);
    const stream = await h.store.readStream(`sign-in-${res.body.signInId}`);
    expect(stream.events).toHaveLength(1);
    expect(stream.events[0]!.type).toBe(decision === 'allowed' ? 'SignInSucceeded' : 'SignInFailed');
    expect(stream.events[0]!.globalPosition).toBe(Number(res.body.position));
  });

  it('covers every sign-in code of the contract', () => {
    const codes = new Set(rows.map((r) => r[5]).filter(Boolean));
    expect([...codes].sort()).toEqual([
      'account_blocked',
      'guest_pending',
      'mfa_required',
      'personal_account_not_allowed',
      'unknown_account',
      'wrong_realm',
    ]);
  });

  it('refuses malformed reports and writes nothing', async () => {
    const head = await h.store.headPosition();
    const base = {
      login: 'a@b.example',
      service: { kind: 'consumer' },
      mfaPerformed: false,
      ipAddress: '203.0.113.7',
      userAgent: 'x',
    };
    const bad = [
      { ...base, login: 'not-a-login' },
      { ...base, service: { kind: 'business' } },
      { ...base, service: { kind: 'consumer', tenantId: ids['a'] } },
      { ...base, service: { kind: 'enterprise' } },
      { ...base, ipAddress: '999.1.1.1' },
      { ...base, mfaPerformed: 'no' },
      { ...base, userAgent: 'x'.repeat(600) },
      { ...base, password: 'secret' },
    ];
    for (const body of bad) {
      const res = await h.http().post('/v1/sign-ins').set(auth).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    }
    expect(await h.store.headPosition()).toBe(head);
  });
});
