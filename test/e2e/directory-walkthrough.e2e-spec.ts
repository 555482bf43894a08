// The README's walk-through over HTTP: sign-up, a custom domain verified against a real DNS
// server on loopback, members, cross-tenant uniqueness, and the last Global Administrator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, Harness, startHarness } from '../support/harness.js';

const stores = ['sqlite', 'postgres', ...(process.env.EVENTSTORE_CONNECTION_STRING ? ['eventstoredb'] : [])];
if (!process.env.EVENTSTORE_CONNECTION_STRING) {
  console.warn('directory walk-through on KurrentDB SKIPPED: EVENTSTORE_CONNECTION_STRING is not set');
}

describe.each(stores)('directory walk-through over HTTP (%s)', (eventStore) => {
  let h: Harness;
  const auth = { Authorization: `Bearer ${ADMIN_KEY}` };
  let tenantA: { tenantId: string; adminUserId: string };
  let tenantB: { tenantId: string; adminUserId: string };
  let txtValue: string;

  beforeAll(async () => {
    h = await startHarness({ EVENT_STORE: eventStore });
  });
  afterAll(async () => {
    await h?.close();
  });

  const signUp = async (prefix: string) => {
    const res = await h
      .http()
      .post('/v1/tenants')
      .set(auth)
      .send({
        displayName: `${prefix} Ltd`,
        kind: 'business',
        domainPrefix: prefix,
        admin: { displayName: 'Admin', userName: 'admin' },
      });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as {
      tenantId: string;
      adminUserId: string;
      initialDomain: string;
      adminUserPrincipalName: string;
      position: string;
    };
  };

  it('signs up a tenant with its initial domain and a Global Administrator', async () => {
    const body = await signUp('contoso');
    expect(body.initialDomain).toBe('contoso.onmicrosoft.com');
    expect(body.adminUserPrincipalName).toBe('admin@contoso.onmicrosoft.com');
    expect(Number(body.position)).toBeGreaterThan(0);
    tenantA = body;
    const tenant = await h.http().get(`/v1/tenants/${body.tenantId}`).set(auth);
    expect(tenant.status).toBe(200);
    expect(tenant.headers['etag']).toMatch(/^"\d+"$/);
    expect(tenant.body.domains).toEqual([
      { name: 'contoso.onmicrosoft.com', isInitial: true, isPrimary: true, isVerified: true },
    ]);
    const admin = await h.http().get(`/v1/tenants/${body.tenantId}/users/${body.adminUserId}`).set(auth);
    expect(admin.body.roles).toEqual(['GlobalAdministrator']);
  });

  it('refuses a second tenant with the same prefix', async () => {
    const res = await h
      .http()
      .post('/v1/tenants')
      .set(auth)
      .send({
        displayName: 'Other',
        kind: 'education',
        domainPrefix: 'Contoso',
        admin: { displayName: 'X', userName: 'x' },
      });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('tenant_prefix_taken');
  });

  it('adds contoso.com with a TXT verification record', async () => {
    const res = await h
      .http()
      .post(`/v1/tenants/${tenantA.tenantId}/domains`)
      .set(auth)
      .set('X-Acting-User', tenantA.adminUserId)
      .send({ name: 'Contoso.COM.' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'contoso.com',
      isVerified: false,
      verificationRecord: { type: 'TXT' },
    });
    expect(res.body.verificationRecord.value).toMatch(/^MS=ms\d{8}$/);
    txtValue = res.body.verificationRecord.value;
  });

  it('fails verification until the TXT record exists in DNS, then verifies', async () => {
    const verify = () =>
      h
        .http()
        .post(`/v1/tenants/${tenantA.tenantId}/domains/contoso.com/verify`)
        .set(auth)
        .set('X-Acting-User', tenantA.adminUserId);
    const before = await verify();
    expect(before.status).toBe(409);
    expect(before.body.code).toBe('verification_record_not_found');
    expect(h.dns.queries.some((q) => q.name === 'contoso.com' && q.type === 'TXT')).toBe(true);

    h.dns.setTxt('contoso.com', ['v=spf1 -all', 'MS=ms00000000']);
    const wrong = await verify();
    expect(wrong.body.code).toBe('verification_record_not_found');

    h.dns.setTxt('contoso.com', ['v=spf1 -all', txtValue]);
    const after = await verify();
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ name: 'contoso.com', isVerified: true });
  });

  it('creates alice@contoso.com and refuses ALICE@Contoso.com with upn_taken', async () => {
    const create = (upn: string) =>
      h
        .http()
        .post(`/v1/tenants/${tenantA.tenantId}/users`)
        .set(auth)
        .set('X-Acting-User', tenantA.adminUserId)
        .send({ userPrincipalName: upn, displayName: 'Alice' });
    const first = await create('alice@contoso.com');
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      userPrincipalName: 'alice@contoso.com',
      userType: 'Member',
      state: 'active',
    });
    const again = await create('ALICE@Contoso.com');
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('upn_taken');
  });

  it('a second tenant can neither verify contoso.com nor create bob@contoso.com', async () => {
    tenantB = await signUp('fabrikam');
    const asB = (req: ReturnType<ReturnType<Harness['http']>['post']>) =>
      req.set(auth).set('X-Acting-User', tenantB.adminUserId);
    const added = await asB(h.http().post(`/v1/tenants/${tenantB.tenantId}/domains`)).send({
      name: 'contoso.com',
    });
    expect(added.status).toBe(201);
    h.dns.setTxt('contoso.com', [txtValue, added.body.verificationRecord.value]);
    const verify = await asB(h.http().post(`/v1/tenants/${tenantB.tenantId}/domains/contoso.com/verify`));
    expect(verify.status).toBe(409);
    expect(verify.body.code).toBe('domain_taken');
    const bob = await asB(h.http().post(`/v1/tenants/${tenantB.tenantId}/users`)).send({
      userPrincipalName: 'bob@contoso.com',
      displayName: 'Bob',
    });
    expect(bob.status).toBe(409);
    expect(bob.body.code).toBe('domain_not_verified');
  });

  it('refuses to remove the last Global Administrator', async () => {
    const res = await h
      .http()
      .delete(`/v1/tenants/${tenantA.tenantId}/role-assignments/GlobalAdministrator/${tenantA.adminUserId}`)
      .set(auth)
      .set('X-Acting-User', tenantA.adminUserId);
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('last_global_admin');
  });
});
