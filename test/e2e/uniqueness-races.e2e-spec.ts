// Uniqueness across tenants under real races: two service instances on one store (one SQLite file,
// or one PostgreSQL schema), so the in-process queue can't serialise them, fire conflicting
// commands at the same moment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, Harness, startBeside, startHarness } from '../support/harness.js';

const auth = { Authorization: `Bearer ${ADMIN_KEY}` };

describe.each(['sqlite', 'postgres'])('uniqueness races between two instances (%s)', (eventStore) => {
  let one: Harness;
  let two: Harness;

  beforeAll(async () => {
    one = await startHarness({ EVENT_STORE: eventStore });
    two = await startBeside(one);
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  const signUp = async (h: Harness, prefix: string) => {
    const res = await h
      .http()
      .post('/v1/tenants')
      .set(auth)
      .send({
        displayName: prefix,
        kind: 'business',
        domainPrefix: prefix,
        admin: { displayName: 'Admin', userName: 'admin' },
      });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { tenantId: string; adminUserId: string };
  };

  it('two tenants verifying one domain at once: exactly one wins, every round', async () => {
    for (let round = 0; round < 10; round++) {
      const [a, b] = await Promise.all([signUp(one, `racea${round}`), signUp(two, `raceb${round}`)]);
      const domain = `race${round}.example`;
      const add = async (h: Harness, t: { tenantId: string; adminUserId: string }) =>
        (
          await h
            .http()
            .post(`/v1/tenants/${t.tenantId}/domains`)
            .set(auth)
            .set('X-Acting-User', t.adminUserId)
            .send({ name: domain })
        ).body.verificationRecord.value as string;
      one.dns.setTxt(domain, [await add(one, a), await add(two, b)]);
      const results = await Promise.all([
        one
          .http()
          .post(`/v1/tenants/${a.tenantId}/domains/${domain}/verify`)
          .set(auth)
          .set('X-Acting-User', a.adminUserId),
        two
          .http()
          .post(`/v1/tenants/${b.tenantId}/domains/${domain}/verify`)
          .set(auth)
          .set('X-Acting-User', b.adminUserId),
      ]);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses, JSON.stringify(results.map((r) => r.body))).toEqual([200, 409]);
      expect(results.find((r) => r.status === 409)?.body.code).toBe('domain_taken');
    }
  });

  it('two creates of one UPN at once: exactly one wins, every round', async () => {
    const t = await signUp(one, 'upnrace');
    for (let round = 0; round < 10; round++) {
      const create = (h: Harness, upn: string) =>
        h
          .http()
          .post(`/v1/tenants/${t.tenantId}/users`)
          .set(auth)
          .set('X-Acting-User', t.adminUserId)
          .send({ userPrincipalName: upn, displayName: 'Racer' });
      const results = await Promise.all([
        create(one, `racer${round}@upnrace.onmicrosoft.com`),
        create(two, `RACER${round}@UpnRace.onmicrosoft.com`),
      ]);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses, JSON.stringify(results.map((r) => r.body))).toEqual([201, 409]);
      expect(results.find((r) => r.status === 409)?.body.code).toBe('upn_taken');
    }
  });

  it('two sign-ups with one prefix at once: exactly one wins', async () => {
    const send = (h: Harness) =>
      h
        .http()
        .post('/v1/tenants')
        .set(auth)
        .send({
          displayName: 'Same',
          kind: 'business',
          domainPrefix: 'sameprefix',
          admin: { displayName: 'A', userName: 'a' },
        });
    const results = await Promise.all([send(one), send(two)]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(results.find((r) => r.status === 409)?.body.code).toBe('tenant_prefix_taken');
  });
});
