// The HTTP contract around the rules: authentication, scopes, roles, malformed input,
// Idempotency-Key and If-Match. Every refusal is problem+json and writes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, Harness, LIMITED_KEY, READER_KEY, startHarness } from '../support/harness.js';

const auth = { Authorization: `Bearer ${ADMIN_KEY}` };

describe('HTTP contract', () => {
  let h: Harness;
  let tenantId: string;
  let adminId: string;
  let plainUserId: string;
  let userAdminId: string;

  beforeAll(async () => {
    h = await startHarness();
    const res = await h
      .http()
      .post('/v1/tenants')
      .set(auth)
      .send({
        displayName: 'Northwind',
        kind: 'business',
        domainPrefix: 'northwind',
        admin: { displayName: 'Admin', userName: 'admin' },
      });
    tenantId = res.body.tenantId;
    adminId = res.body.adminUserId;
    const create = async (name: string) =>
      (
        await h
          .http()
          .post(`/v1/tenants/${tenantId}/users`)
          .set(auth)
          .set('X-Acting-User', adminId)
          .send({ userPrincipalName: `${name}@northwind.onmicrosoft.com`, displayName: name })
      ).body.userId as string;
    plainUserId = await create('plain');
    userAdminId = await create('useradmin');
    await h
      .http()
      .post(`/v1/tenants/${tenantId}/role-assignments`)
      .set(auth)
      .set('X-Acting-User', adminId)
      .send({ userId: userAdminId, role: 'UserAdministrator' });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Events of aggregates: everything in the log except the record of refused commands. */
  const aggregateEventCount = async () =>
    (await h.store.readAll(0, 1_000_000)).filter((e) => e.type !== 'CommandRejected').length;

  const expectProblem = (
    res: { status: number; headers: Record<string, string>; body: { code?: string; status?: number } },
    status: number,
    code?: string,
  ) => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.status).toBe(status);
    if (code) expect(res.body.code).toBe(code);
  };

  describe('authentication and authorisation write nothing', () => {
    it('401 without a key or with a wrong key', async () => {
      const head = await h.store.headPosition();
      expectProblem(
        await h
          .http()
          .post(`/v1/tenants/${tenantId}/domains`)
          .set('X-Acting-User', adminId)
          .send({ name: 'a.com' }),
        401,
        'unauthenticated',
      );
      expectProblem(
        await h.http().get(`/v1/tenants/${tenantId}`).set('Authorization', 'Bearer nope'),
        401,
        'unauthenticated',
      );
      expect(await h.store.headPosition()).toBe(head);
    });

    it('403 insufficient_scope for a key without commands:write, and for a tenant outside the key', async () => {
      const head = await h.store.headPosition();
      expectProblem(
        await h
          .http()
          .post(`/v1/tenants/${tenantId}/domains`)
          .set('Authorization', `Bearer ${READER_KEY}`)
          .set('X-Acting-User', adminId)
          .send({ name: 'a.com' }),
        403,
        'insufficient_scope',
      );
      h.limitTo(['00000000-0000-4000-8000-000000000000']);
      expectProblem(
        await h.http().get(`/v1/tenants/${tenantId}`).set('Authorization', `Bearer ${LIMITED_KEY}`),
        403,
        'insufficient_scope',
      );
      expectProblem(
        await h
          .http()
          .post('/v1/tenants')
          .set('Authorization', `Bearer ${LIMITED_KEY}`)
          .send({
            displayName: 'X',
            kind: 'business',
            domainPrefix: 'xyz',
            admin: { displayName: 'A', userName: 'a' },
          }),
        403,
        'insufficient_scope',
      );
      h.limitTo([tenantId]);
      expect(
        (await h.http().get(`/v1/tenants/${tenantId}`).set('Authorization', `Bearer ${LIMITED_KEY}`)).status,
      ).toBe(200);
      expect(await h.store.headPosition()).toBe(head);
    });

    it('403 forbidden_role for a user without the needed role; no aggregate changes, each refusal is recorded', async () => {
      const head = await aggregateEventCount();
      const refusals = (await h.store.readStream(`rejections-${tenantId}`)).events.length;
      const asPlain = { ...auth, 'X-Acting-User': plainUserId };
      expectProblem(
        await h.http().post(`/v1/tenants/${tenantId}/domains`).set(asPlain).send({ name: 'plain.com' }),
        403,
        'forbidden_role',
      );
      expectProblem(
        await h
          .http()
          .post(`/v1/tenants/${tenantId}/users`)
          .set(asPlain)
          .send({ userPrincipalName: 'x@northwind.onmicrosoft.com', displayName: 'X' }),
        403,
        'forbidden_role',
      );
      expectProblem(
        await h.http().put(`/v1/tenants/${tenantId}/policies/mfa`).set(asPlain).send({ required: true }),
        403,
        'forbidden_role',
      );
      expectProblem(
        await h
          .http()
          .post(`/v1/tenants/${tenantId}/role-assignments`)
          .set(asPlain)
          .send({ userId: plainUserId, role: 'GlobalAdministrator' }),
        403,
        'forbidden_role',
      );
      // A User Administrator manages users, but not a Global Administrator, and not roles.
      const asUserAdmin = { ...auth, 'X-Acting-User': userAdminId };
      expectProblem(
        await h.http().post(`/v1/tenants/${tenantId}/users/${adminId}/block`).set(asUserAdmin),
        403,
        'forbidden_role',
      );
      expectProblem(
        await h
          .http()
          .post(`/v1/tenants/${tenantId}/role-assignments`)
          .set(asUserAdmin)
          .send({ userId: plainUserId, role: 'UserAdministrator' }),
        403,
        'forbidden_role',
      );
      // An acting user from another tenant has no role here.
      const other = await h
        .http()
        .post('/v1/tenants')
        .set(auth)
        .send({
          displayName: 'Other',
          kind: 'business',
          domainPrefix: 'otherco',
          admin: { displayName: 'O', userName: 'o' },
        });
      const afterSignUp = await aggregateEventCount();
      expectProblem(
        await h
          .http()
          .post(`/v1/tenants/${tenantId}/domains`)
          .set(auth)
          .set('X-Acting-User', other.body.adminUserId)
          .send({ name: 'x.com' }),
        403,
        'forbidden_role',
      );
      expect(await aggregateEventCount()).toBe(afterSignUp);
      expect(afterSignUp).toBeGreaterThan(head);
      const recorded = (await h.store.readStream(`rejections-${tenantId}`)).events.slice(refusals);
      expect(recorded.map((e) => [e.type, e.data['code']])).toEqual(
        Array(7).fill(['CommandRejected', 'forbidden_role']),
      );
    });

    it('a User Administrator can manage an ordinary member', async () => {
      const res = await h
        .http()
        .post(`/v1/tenants/${tenantId}/users/${plainUserId}/password-resets`)
        .set(auth)
        .set('X-Acting-User', userAdminId);
      expect(res.status).toBe(202);
    });
  });

  describe('malformed requests get 4xx problem+json and write nothing', () => {
    const big = 'x'.repeat(10_000);
    const cases: Array<
      [
        string,
        () => Promise<{
          status: number;
          headers: Record<string, string>;
          body: { code?: string; status?: number };
        }>,
        number,
      ]
    > = [];
    const add = (name: string, run: () => Promise<never>, status = 400) => cases.push([name, run, status]);
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      h
        .http()
        .post(path.replace(':t', tenantId))
        .set(auth)
        .set('X-Acting-User', adminId)
        .set(headers)
        .send(body as object) as unknown as Promise<never>;
    const signUpBody = {
      displayName: 'Valid',
      kind: 'business',
      domainPrefix: 'validprefix',
      admin: { displayName: 'A', userName: 'a' },
    };

    add('unknown tenant kind', () => post('/v1/tenants', { ...signUpBody, kind: 'enterprise' }));
    add('displayName of the wrong type', () => post('/v1/tenants', { ...signUpBody, displayName: 42 }));
    add('unknown field', () => post('/v1/tenants', { ...signUpBody, plan: 'gold' }));
    add('unknown nested field', () =>
      post('/v1/tenants', { ...signUpBody, admin: { displayName: 'A', userName: 'a', password: 'x' } }),
    );
    add('missing admin', () => post('/v1/tenants', { ...signUpBody, admin: undefined }));
    add('admin user name with a space', () =>
      post('/v1/tenants', { ...signUpBody, admin: { displayName: 'A', userName: 'a b' } }),
    );
    add('prefix too long', () => post('/v1/tenants', { ...signUpBody, domainPrefix: 'a'.repeat(28) }));
    add('prefix with a hyphen', () => post('/v1/tenants', { ...signUpBody, domainPrefix: 'con-toso' }));
    add('huge display name', () => post('/v1/tenants', { ...signUpBody, displayName: big }));
    add('control character in display name', () =>
      post('/v1/tenants', { ...signUpBody, displayName: 'A\u0000B' }),
    );
    add('body is an array', () => post('/v1/tenants', [signUpBody]));
    add(
      'bad JSON',
      () =>
        h
          .http()
          .post('/v1/tenants')
          .set(auth)
          .set('Content-Type', 'application/json')
          .send('{"displayName":') as unknown as Promise<never>,
    );
    add(
      'wrong content type',
      () =>
        h
          .http()
          .post('/v1/tenants')
          .set(auth)
          .set('Content-Type', 'text/plain')
          .send(JSON.stringify(signUpBody)) as unknown as Promise<never>,
      415,
    );
    add(
      'body too large',
      () => post('/v1/tenants', { ...signUpBody, displayName: 'x'.repeat(200_000) }),
      413,
    );
    add('domain name with spaces', () => post('/v1/tenants/:t/domains', { name: 'not a domain' }));
    add('domain with a zero-width space', () =>
      post('/v1/tenants/:t/domains', { name: 'con\u200btoso.com' }),
    );
    add('domain with a right-to-left override', () =>
      post('/v1/tenants/:t/domains', { name: '\u202emoc.osotnoc' }),
    );
    add('homograph domain mixing Cyrillic and Latin', () =>
      post('/v1/tenants/:t/domains', { name: 'c\u043entoso.com' }),
    );
    add('IP address as domain', () => post('/v1/tenants/:t/domains', { name: '192.168.0.1' }));
    add('domain label over 63 characters', () =>
      post('/v1/tenants/:t/domains', { name: `${'a'.repeat(64)}.com` }),
    );
    add('domain label starting with a hyphen', () =>
      post('/v1/tenants/:t/domains', { name: '-contoso.com' }),
    );
    add('domain name missing', () => post('/v1/tenants/:t/domains', {}));
    add('domain name is an object', () => post('/v1/tenants/:t/domains', { name: { value: 'a.com' } }));
    add('UPN without @', () =>
      post('/v1/tenants/:t/users', { userPrincipalName: 'alice', displayName: 'A' }),
    );
    add('UPN with two dots in a row', () =>
      post('/v1/tenants/:t/users', { userPrincipalName: 'a..b@northwind.onmicrosoft.com', displayName: 'A' }),
    );
    add('UPN with two @', () =>
      post('/v1/tenants/:t/users', { userPrincipalName: 'a@b@northwind.onmicrosoft.com', displayName: 'A' }),
    );
    add('password field on a member', () =>
      post('/v1/tenants/:t/users', {
        userPrincipalName: 'p@northwind.onmicrosoft.com',
        displayName: 'P',
        password: 'secret',
      }),
    );
    add(
      'MFA requirement as a string',
      () =>
        h
          .http()
          .put(`/v1/tenants/${tenantId}/policies/mfa`)
          .set(auth)
          .set('X-Acting-User', adminId)
          .send({ required: 'yes' }) as unknown as Promise<never>,
    );
    add('unknown role', () =>
      post('/v1/tenants/:t/role-assignments', { userId: plainUserId, role: 'SuperAdmin' }),
    );
    add('role assignment to a non-UUID', () =>
      post('/v1/tenants/:t/role-assignments', { userId: 'bob', role: 'GuestInviter' }),
    );
    add('tenant id that is not a UUID', () => post('/v1/tenants/not-a-uuid/domains', { name: 'a.com' }));
    add('X-Acting-User that is not a UUID', () =>
      post('/v1/tenants/:t/domains', { name: 'a.com' }, { 'X-Acting-User': 'admin' }),
    );
    add(
      'X-Acting-User missing',
      () =>
        h
          .http()
          .post(`/v1/tenants/${tenantId}/domains`)
          .set(auth)
          .send({ name: 'a.com' }) as unknown as Promise<never>,
    );
    add('Idempotency-Key too long', () =>
      post('/v1/tenants/:t/domains', { name: 'a.com' }, { 'Idempotency-Key': 'k'.repeat(300) }),
    );
    add('unknown MFA method kind', () =>
      post(`/v1/tenants/:t/users/${plainUserId}/mfa-methods`, { kind: 'email' }),
    );
    add(
      'empty user update',
      () =>
        h
          .http()
          .patch(`/v1/tenants/${tenantId}/users/${plainUserId}`)
          .set(auth)
          .set('X-Acting-User', adminId)
          .send({}) as unknown as Promise<never>,
    );
    add(
      'primary flag false',
      () =>
        h
          .http()
          .patch(`/v1/tenants/${tenantId}/domains/northwind.onmicrosoft.com`)
          .set(auth)
          .set('X-Acting-User', adminId)
          .send({ isPrimary: false }) as unknown as Promise<never>,
    );
    add(
      'list limit out of range',
      () => h.http().get(`/v1/tenants/${tenantId}/users?limit=1000`).set(auth) as unknown as Promise<never>,
    );
    add(
      'minPosition not a number',
      () => h.http().get(`/v1/tenants/${tenantId}?minPosition=abc`).set(auth) as unknown as Promise<never>,
    );
    add('invalid domain in the path', () => post('/v1/tenants/:t/domains/bad..name/verify', undefined));
    add('unknown route', () => h.http().get('/v1/nothing-here').set(auth) as unknown as Promise<never>, 404);

    it(`has at least 25 cases (${cases.length})`, () => {
      expect(cases.length).toBeGreaterThanOrEqual(25);
    });

    it.each(cases.map(([name, run, status]) => ({ name, run, status })))(
      '$name → $status',
      async ({ run, status }) => {
        const head = await h.store.headPosition();
        const res = await run();
        expectProblem(res, status);
        if (status === 400) expect((res.body as { code?: string }).code).toBe('validation_failed');
        expect(await h.store.headPosition()).toBe(head);
      },
    );

    it('names the field and the rule', async () => {
      const res = await h
        .http()
        .post('/v1/tenants')
        .set(auth)
        .send({ ...signUpBody, kind: 'enterprise', extra: 1 });
      expect(res.body.errors).toEqual(
        expect.arrayContaining([
          { field: 'kind', rule: 'isIn' },
          { field: 'extra', rule: 'unknown_field' },
        ]),
      );
    });
  });

  describe('Idempotency-Key', () => {
    it('a repeat returns the first response and appends nothing', async () => {
      const send = (name: string) =>
        h
          .http()
          .post(`/v1/tenants/${tenantId}/domains`)
          .set(auth)
          .set('X-Acting-User', adminId)
          .set('Idempotency-Key', 'add-idem-1')
          .send({ name });
      const first = await send('idem.example');
      expect(first.status).toBe(201);
      const head = await h.store.headPosition();
      const again = await send('idem.example');
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(await h.store.headPosition()).toBe(head);
      const reused = await send('other.example');
      expect(reused.status).toBe(409);
      expect(reused.body.code).toBe('idempotency_key_reused');
      expect(await h.store.headPosition()).toBe(head);
    });

    it('concurrent repeats run the command once', async () => {
      const head = await h.store.headPosition();
      const send = () =>
        h
          .http()
          .post(`/v1/tenants/${tenantId}/users`)
          .set(auth)
          .set('X-Acting-User', adminId)
          .set('Idempotency-Key', 'create-carol')
          .send({ userPrincipalName: 'carol@northwind.onmicrosoft.com', displayName: 'Carol' });
      const results = await Promise.all([send(), send(), send(), send()]);
      expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
      expect(new Set(results.map((r) => r.body.userId)).size).toBe(1);
      // MemberCreated plus its UPN claim: two events, once.
      expect(await h.store.headPosition()).toBe(head + 2);
    });

    it('keys are per app', async () => {
      h.limitTo([tenantId]);
      const first = await h
        .http()
        .put(`/v1/tenants/${tenantId}/policies/mfa`)
        .set(auth)
        .set('X-Acting-User', adminId)
        .set('Idempotency-Key', 'shared')
        .send({ required: true });
      const second = await h
        .http()
        .put(`/v1/tenants/${tenantId}/policies/mfa`)
        .set('Authorization', `Bearer ${LIMITED_KEY}`)
        .set('X-Acting-User', adminId)
        .set('Idempotency-Key', 'shared')
        .send({ required: false });
      expect(first.status).toBe(200);
      expect(second.status).toBe(200);
      expect(second.body.required).toBe(false);
    });
  });

  describe('ETag and If-Match', () => {
    it('a stale If-Match gets 412 and writes nothing; the current one succeeds', async () => {
      const user = await h.http().get(`/v1/tenants/${tenantId}/users/${plainUserId}`).set(auth);
      const etag = user.headers['etag'];
      expect(etag).toMatch(/^"\d+"$/);
      const rename = (displayName: string, ifMatch: string) =>
        h
          .http()
          .patch(`/v1/tenants/${tenantId}/users/${plainUserId}`)
          .set(auth)
          .set('X-Acting-User', adminId)
          .set('If-Match', ifMatch)
          .send({ displayName });
      const ok = await rename('Plain Renamed', etag);
      expect(ok.status).toBe(200);
      expect(ok.headers['etag']).not.toBe(etag);
      const head = await h.store.headPosition();
      expectProblem(await rename('Stale', etag), 412, 'precondition_failed');
      expect(await h.store.headPosition()).toBe(head);
    });

    it('tenant resources use the tenant stream version', async () => {
      const tenant = await h.http().get(`/v1/tenants/${tenantId}`).set(auth);
      const stale = `"${Number(JSON.parse(tenant.headers['etag'])) - 1}"`;
      expectProblem(
        await h
          .http()
          .put(`/v1/tenants/${tenantId}/policies/mfa`)
          .set(auth)
          .set('X-Acting-User', adminId)
          .set('If-Match', stale)
          .send({ required: false }),
        412,
        'precondition_failed',
      );
      const ok = await h
        .http()
        .put(`/v1/tenants/${tenantId}/policies/mfa`)
        .set(auth)
        .set('X-Acting-User', adminId)
        .set('If-Match', tenant.headers['etag'])
        .send({ required: true });
      expect(ok.status).toBe(200);
    });
  });

  describe('reads', () => {
    it('waits for minPosition and answers 503 projection_lagging past the bound', async () => {
      const head = await h.store.headPosition();
      expect((await h.http().get(`/v1/tenants/${tenantId}?minPosition=${head}`).set(auth)).status).toBe(200);
      expectProblem(
        await h
          .http()
          .get(`/v1/tenants/${tenantId}?minPosition=${head + 1000}`)
          .set(auth),
        503,
        'projection_lagging',
      );
    });

    it('lists users with a cursor', async () => {
      const first = await h.http().get(`/v1/tenants/${tenantId}/users?limit=2`).set(auth);
      expect(first.status).toBe(200);
      expect(first.body.value).toHaveLength(2);
      const second = await h
        .http()
        .get(`/v1/tenants/${tenantId}/users?limit=2&cursor=${first.body.nextCursor}`)
        .set(auth);
      const ids = [...first.body.value, ...second.body.value].map((u: { userId: string }) => u.userId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toContain(adminId);
    });

    it('serves OpenAPI at /docs and health without a key', async () => {
      expect((await h.http().get('/healthz')).body).toEqual({ status: 'ok' });
      expect((await h.http().get('/readyz')).status).toBe(200);
      const doc = await h.http().get('/docs/openapi.json');
      expect(doc.status).toBe(200);
      expect(Object.keys(doc.body.paths)).toContain('/v1/tenants/{tenantId}/domains/{name}/verify');
      expect((await h.http().get('/metrics')).text).toContain('als_event_store_head_position');
    });
  });
});
