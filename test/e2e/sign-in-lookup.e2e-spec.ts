// The sign-in lookup over HTTP: GET /v1/sign-in/realm and /v1/sign-in/route for every acceptance
// case, each asked right after the write that changes the answer, with that write's position as
// minPosition (read-your-writes through the realm projection's index).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, Harness, READER_KEY, startHarness } from '../support/harness.js';

const auth = { Authorization: `Bearer ${ADMIN_KEY}` };
const lookupAuth = { Authorization: `Bearer ${READER_KEY}` };
const MAILBOX = 'https://outlook.office.com/mail/';

describe('sign-in lookup', () => {
  let h: Harness;
  const t: Record<'a' | 'b', { tenantId: string; adminUserId: string }> = {
    a: { tenantId: '', adminUserId: '' },
    b: { tenantId: '', adminUserId: '' },
  };

  /** A command; answers its body and the position it reached (body or Event-Position header). */
  const send = async (
    method: 'post' | 'delete',
    url: string,
    body?: object,
    actingUser?: string,
  ): Promise<{ body: Record<string, string>; position: string }> => {
    const req = h.http()[method](url).set(auth);
    if (actingUser) req.set('X-Acting-User', actingUser);
    const res = await (body === undefined ? req : req.send(body));
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
    const position = (res.body?.position as string | undefined) ?? String(res.headers['event-position']);
    expect(position).toMatch(/^\d+$/);
    return { body: res.body as Record<string, string>, position };
  };
  const asAdminOf = (tenant: 'a' | 'b') => t[tenant].adminUserId;

  const realm = async (login: string, minPosition?: string) => {
    const res = await h
      .http()
      .get('/v1/sign-in/realm')
      .query({ login, ...(minPosition === undefined ? {} : { minPosition }) })
      .set(lookupAuth);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const route = async (login: string, service: 'consumer' | 'a' | 'b', minPosition?: string) => {
    const res = await h
      .http()
      .get('/v1/sign-in/route')
      .query({
        login,
        service: service === 'consumer' ? 'consumer' : 'business',
        ...(service === 'consumer' ? {} : { tenantId: t[service].tenantId }),
        ...(minPosition === undefined ? {} : { minPosition }),
      })
      .set(lookupAuth);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const member = (tenant: 'a' | 'b', domain: string, state = 'active') => ({
    kind: 'work_or_school',
    userType: 'Member',
    tenantId: t[tenant].tenantId,
    domain,
    state,
  });
  const guestOf = (tenant: 'a' | 'b', state: string) => ({
    kind: 'work_or_school',
    userType: 'Guest',
    tenantId: t[tenant].tenantId,
    state,
  });
  const PERSONAL = { kind: 'personal', state: 'active' };
  const redirect = (login: string) => ({
    action: 'redirect',
    target: `${MAILBOX}?login_hint=${encodeURIComponent(login)}`,
  });
  const fail = (code: string, errorCode?: number) => ({
    action: 'error',
    code,
    ...(errorCode === undefined ? {} : { errorCode }),
  });
  const SIGN_IN = { action: 'sign_in' };

  /** Adds a domain and publishes its TXT record; answers the normalised name. */
  const addDomain = async (tenant: 'a' | 'b', name: string) => {
    const { body } = await send(
      'post',
      `/v1/tenants/${t[tenant].tenantId}/domains`,
      { name },
      asAdminOf(tenant),
    );
    const verificationRecord = body.verificationRecord as unknown as { value: string };
    h.dns.setTxt(body.name, [verificationRecord.value]);
    return body.name;
  };
  const verify = (tenant: 'a' | 'b', name: string) =>
    send(
      'post',
      `/v1/tenants/${t[tenant].tenantId}/domains/${encodeURIComponent(name)}/verify`,
      undefined,
      asAdminOf(tenant),
    );
  const createMember = (tenant: 'a' | 'b', userPrincipalName: string) =>
    send(
      'post',
      `/v1/tenants/${t[tenant].tenantId}/users`,
      { userPrincipalName, displayName: 'Someone' },
      asAdminOf(tenant),
    );

  beforeAll(async () => {
    h = await startHarness();
    for (const [key, prefix] of [
      ['a', 'contoso'],
      ['b', 'fabrikam'],
    ] as const) {
      const { body } = await send('post', '/v1/tenants', {
        displayName: prefix,
        kind: 'business',
        domainPrefix: prefix,
        admin: { displayName: 'Admin', userName: 'admin' },
      });
      t[key] = { tenantId: body.tenantId as string, adminUserId: body.adminUserId as string };
    }
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a member on the initial domain: Managed, redirected from the consumer service', async () => {
    const login = 'admin@contoso.onmicrosoft.com';
    expect(await realm(login)).toEqual({
      login,
      namespaceType: 'Managed',
      accounts: [member('a', 'contoso.onmicrosoft.com')],
    });
    expect(await route(login, 'consumer')).toEqual(redirect(login));
    expect(await route(login, 'a')).toEqual(SIGN_IN);
    expect(await route(login, 'b')).toEqual(fail('unknown_account', 50034));
  });

  it('an unverified domain: Unknown; a personal account there is allowed and routed as personal', async () => {
    const added = await send(
      'post',
      `/v1/tenants/${t.a.tenantId}/domains`,
      { name: 'contoso.example' },
      asAdminOf('a'),
    );
    h.dns.setTxt('contoso.example', [(added.body.verificationRecord as unknown as { value: string }).value]);
    expect(await realm('someone@contoso.example', added.position)).toEqual({
      login: 'someone@contoso.example',
      namespaceType: 'Unknown',
      accounts: [],
    });
    expect(await route('someone@contoso.example', 'consumer')).toEqual(fail('unknown_account', 50034));

    const dual = await send('post', '/v1/personal-accounts', {
      email: 'dual@contoso.example',
      displayName: 'Dual',
    });
    expect(await realm('dual@contoso.example', dual.position)).toEqual({
      login: 'dual@contoso.example',
      namespaceType: 'Unknown',
      accounts: [PERSONAL],
    });
    expect(await route('dual@contoso.example', 'consumer', dual.position)).toEqual(SIGN_IN);
    expect(await route('dual@contoso.example', 'a', dual.position)).toEqual(
      fail('personal_account_not_allowed', 50020),
    );
  });

  it('the domain verified: Managed at once; a member of it is redirected from the consumer service', async () => {
    const verified = await verify('a', 'contoso.example');
    expect((await realm('someone@contoso.example', verified.position)).namespaceType).toBe('Managed');
    // A sub-domain of a verified domain is managed too.
    expect((await realm('someone@mail.contoso.example', verified.position)).namespaceType).toBe('Managed');

    const alice = await createMember('a', 'alice@contoso.example');
    expect(await realm('alice@contoso.example', alice.position)).toEqual({
      login: 'alice@contoso.example',
      namespaceType: 'Managed',
      accounts: [member('a', 'contoso.example')],
    });
    expect(await route('alice@contoso.example', 'consumer', alice.position)).toEqual(
      redirect('alice@contoso.example'),
    );
    expect(await route('alice@contoso.example', 'a', alice.position)).toEqual(SIGN_IN);
    expect(await route('alice@contoso.example', 'b', alice.position)).toEqual(fail('unknown_account', 50034));
  });

  it('mixed case and a trailing dot find the same account', async () => {
    const answer = await realm('ALICE@Contoso.Example.');
    expect(answer).toEqual({
      login: 'alice@contoso.example',
      namespaceType: 'Managed',
      accounts: [member('a', 'contoso.example')],
    });
    expect(await route('Alice@CONTOSO.example.', 'consumer')).toEqual(redirect('alice@contoso.example'));
    expect(await route('ALICE@contoso.EXAMPLE', 'a')).toEqual(SIGN_IN);
  });

  it('a personal account and a work account for one address: pick_account at the consumer service', async () => {
    const dual = await createMember('a', 'Dual@contoso.example');
    expect(await realm('dual@contoso.example', dual.position)).toEqual({
      login: 'dual@contoso.example',
      namespaceType: 'Managed',
      accounts: [PERSONAL, member('a', 'contoso.example')],
    });
    expect(await route('dual@contoso.example', 'consumer', dual.position)).toEqual({
      action: 'pick_account',
    });
    // At the work account's tenant the member signs in (as POST /v1/sign-ins decides).
    expect(await route('dual@contoso.example', 'a', dual.position)).toEqual(SIGN_IN);
    expect(await route('dual@contoso.example', 'b', dual.position)).toEqual(fail('unknown_account', 50034));

    // Deleted users don't exist for the lookup: the personal account is left.
    const deleted = await send(
      'delete',
      `/v1/tenants/${t.a.tenantId}/users/${dual.body.userId}`,
      undefined,
      asAdminOf('a'),
    );
    expect((await realm('dual@contoso.example', deleted.position)).accounts).toEqual([PERSONAL]);
    expect(await route('dual@contoso.example', 'consumer', deleted.position)).toEqual(SIGN_IN);
  });

  it('a blocked member: account_blocked at its tenant, right after the block', async () => {
    const created = await createMember('a', 'blocky@contoso.example');
    const blocked = await send(
      'post',
      `/v1/tenants/${t.a.tenantId}/users/${created.body.userId}/block`,
      undefined,
      asAdminOf('a'),
    );
    expect((await realm('blocky@contoso.example', blocked.position)).accounts).toEqual([
      member('a', 'contoso.example', 'blocked'),
    ]);
    expect(await route('blocky@contoso.example', 'a', blocked.position)).toEqual(
      fail('account_blocked', 50057),
    );
  });

  it('a domain removed: Unknown again at once', async () => {
    const name = await addDomain('b', 'fabrikam.example');
    const verified = await verify('b', name);
    expect((await realm('x@fabrikam.example', verified.position)).namespaceType).toBe('Managed');
    const removed = await send(
      'delete',
      `/v1/tenants/${t.b.tenantId}/domains/fabrikam.example`,
      undefined,
      asAdminOf('b'),
    );
    expect(await realm('x@fabrikam.example', removed.position)).toEqual({
      login: 'x@fabrikam.example',
      namespaceType: 'Unknown',
      accounts: [],
    });
  });

  it('a guest of two tenants: pending at both, then signs in where it redeemed, as soon as it did', async () => {
    const login = 'guest@gmail.example';
    await send('post', '/v1/personal-accounts', { email: 'Guest@Gmail.example', displayName: 'G' });
    const invitations = {
      a: await send('post', `/v1/tenants/${t.a.tenantId}/invitations`, { email: login }, asAdminOf('a')),
      b: await send('post', `/v1/tenants/${t.b.tenantId}/invitations`, { email: login }, asAdminOf('b')),
    };
    const guests = [guestOf('a', 'PendingAcceptance'), guestOf('b', 'PendingAcceptance')].sort((x, y) =>
      x.tenantId.localeCompare(y.tenantId),
    );
    expect(await realm(login, invitations.b.position)).toEqual({
      login,
      namespaceType: 'Unknown',
      accounts: [PERSONAL, ...guests],
    });
    expect(await route(login, 'a')).toEqual(fail('guest_pending'));
    expect(await route(login, 'b')).toEqual(fail('guest_pending'));
    expect(await route(login, 'consumer')).toEqual(SIGN_IN);

    const redeem = (tenant: 'a' | 'b') =>
      send('post', `/v1/invitations/${invitations[tenant].body.invitationId}/redeem`, {
        redeemCode: invitations[tenant].body.redeemCode,
        identity: { kind: 'personal', email: login },
      });
    const redeemedA = await redeem('a');
    expect(await route(login, 'a', redeemedA.position)).toEqual(SIGN_IN);
    expect(await route(login, 'b', redeemedA.position)).toEqual(fail('guest_pending'));
    const redeemedB = await redeem('b');
    expect(await route(login, 'b', redeemedB.position)).toEqual(SIGN_IN);
    expect((await realm(login, redeemedB.position)).accounts).toEqual([
      PERSONAL,
      ...[guestOf('a', 'Accepted'), guestOf('b', 'Accepted')].sort((x, y) =>
        x.tenantId.localeCompare(y.tenantId),
      ),
    ]);
  });

  it('a personal account only, at a business service where it is no guest: personal_account_not_allowed', async () => {
    const pat = await send('post', '/v1/personal-accounts', {
      email: 'pat@gmail.example',
      displayName: 'Pat',
    });
    expect(await realm('pat@gmail.example', pat.position)).toEqual({
      login: 'pat@gmail.example',
      namespaceType: 'Unknown',
      accounts: [PERSONAL],
    });
    expect(await route('pat@gmail.example', 'consumer', pat.position)).toEqual(SIGN_IN);
    expect(await route('pat@gmail.example', 'a', pat.position)).toEqual(
      fail('personal_account_not_allowed', 50020),
    );
    expect(await route('nobody@gmail.example', 'consumer')).toEqual(fail('unknown_account', 50034));
    expect(await route('nobody@gmail.example', 'b')).toEqual(fail('unknown_account', 50034));
  });

  it('an IDN domain answers the same for its Unicode and punycode spellings', async () => {
    const name = await addDomain('a', 'Bücher.example');
    expect(name).toBe('xn--bcher-kva.example');
    await verify('a', 'bücher.example');
    const anna = await createMember('a', 'anna@bücher.example');
    const expected = {
      login: 'anna@xn--bcher-kva.example',
      namespaceType: 'Managed',
      accounts: [member('a', 'xn--bcher-kva.example')],
    };
    expect(await realm('anna@bücher.example', anna.position)).toEqual(expected);
    expect(await realm('ANNA@XN--BCHER-KVA.EXAMPLE.')).toEqual(expected);
    expect(await realm('Anna@BÜCHER.example')).toEqual(expected);
    expect(await route('anna@bücher.example', 'consumer')).toEqual(redirect('anna@xn--bcher-kva.example'));
    expect(await route('anna@xn--bcher-kva.example', 'a')).toEqual(SIGN_IN);
  });

  it('refuses what is not a login, a business route without a tenant, and keys without lookup:read', async () => {
    const problem = async (url: string, query: Record<string, string>, status: number, code: string) => {
      const res = await h.http().get(url).query(query).set(lookupAuth);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe(code);
      return res.body;
    };
    const notALogin = await problem('/v1/sign-in/realm', { login: 'not-a-login' }, 400, 'validation_failed');
    expect(notALogin.errors).toEqual([{ field: 'login', rule: 'login' }]);
    await problem('/v1/sign-in/realm', {}, 400, 'validation_failed');
    await problem('/v1/sign-in/realm', { login: 'a@b.example', extra: '1' }, 400, 'validation_failed');
    await problem('/v1/sign-in/realm', { login: 'a@b.example', minPosition: '-1' }, 400, 'validation_failed');
    const noTenant = await problem(
      '/v1/sign-in/route',
      { login: 'a@b.example', service: 'business' },
      400,
      'validation_failed',
    );
    expect(noTenant.errors).toEqual([{ field: 'tenantId', rule: 'required_for_business' }]);
    await problem(
      '/v1/sign-in/route',
      { login: 'a@b.example', service: 'mailbox' },
      400,
      'validation_failed',
    );
    const admin = await h.http().get('/v1/sign-in/realm').query({ login: 'a@b.example' }).set(auth);
    expect(admin.status).toBe(403);
    expect(admin.body.code).toBe('insufficient_scope');
    expect((await h.http().get('/v1/sign-in/realm').query({ login: 'a@b.example' })).status).toBe(401);
    const doc = await h.http().get('/docs/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/v1/sign-in/realm', '/v1/sign-in/route']),
    );
  });

  it('waits for minPosition and answers 503 projection_lagging past the bound', async () => {
    const head = await h.store.headPosition();
    expect((await realm('alice@contoso.example', String(head))).accounts).toHaveLength(1);
    const res = await h
      .http()
      .get('/v1/sign-in/route')
      .query({ login: 'alice@contoso.example', service: 'consumer', minPosition: String(head + 1000) })
      .set(lookupAuth);
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('projection_lagging');
  });
});
