// The directory GET routes served from the read models: read-your-writes with and without
// minPosition, ETags equal to the command side's, a rebuild beside the live generation while
// commands keep coming, resume after a restart, and a failed projection failing /readyz.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadModelRunner, SqliteReadModelDatabase, UsersProjection } from '#projections';
import { ReadSide } from '../../apps/account-service/src/read-side/read-side.js';
import { ADMIN_KEY, Harness, READER_KEY, startHarness } from '../support/harness.js';

const auth = { Authorization: `Bearer ${ADMIN_KEY}` };

interface Tenant {
  readonly tenantId: string;
  readonly adminUserId: string;
  readonly position: string;
  readonly prefix: string;
}

async function signUp(h: Harness, prefix: string): Promise<Tenant> {
  const res = await h
    .http()
    .post('/v1/tenants')
    .set(auth)
    .send({
      displayName: prefix,
      kind: 'business',
      domainPrefix: prefix,
      admin: { displayName: 'A', userName: 'admin' },
    });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { ...(res.body as Omit<Tenant, 'prefix'>), prefix };
}

async function createMember(h: Harness, tenant: Tenant, name: string) {
  const res = await h
    .http()
    .post(`/v1/tenants/${tenant.tenantId}/users`)
    .set(auth)
    .set('X-Acting-User', tenant.adminUserId)
    .send({ userPrincipalName: `${name}@${tenant.prefix}.onmicrosoft.com`, displayName: name });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { userId: string; position: string };
}

describe('read side over HTTP', () => {
  let h: Harness;
  let tenant: Tenant;
  const asAdmin = () => ({ ...auth, 'X-Acting-User': tenant.adminUserId });

  beforeAll(async () => {
    h = await startHarness();
    tenant = await signUp(h, 'readside');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('reports the directory read models on /readyz, live at the head', async () => {
    const head = await h.store.headPosition();
    await h.http().get(`/v1/tenants/${tenant.tenantId}`).set(auth); // a read waits for the head
    await h.http().get(`/v1/tenants/${tenant.tenantId}/users`).set(auth);
    const ready = await h.http().get('/readyz');
    expect(ready.status).toBe(200);
    const models = ready.body.checks.readModels as Array<{ name: string; state: string; position: string }>;
    expect(models.map((m) => m.name)).toEqual(expect.arrayContaining(['realm', 'tenants', 'users']));
    for (const name of ['tenants', 'users']) {
      expect(models.find((m) => m.name === name)).toMatchObject({ state: 'live', position: String(head) });
    }
  });

  it('a GET right after a command, without minPosition, shows it, with the ETag the command answered', async () => {
    const renamed = await h
      .http()
      .patch(`/v1/tenants/${tenant.tenantId}/users/${tenant.adminUserId}`)
      .set(asAdmin())
      .send({ displayName: 'Renamed Admin' });
    expect(renamed.status).toBe(200);
    const user = await h.http().get(`/v1/tenants/${tenant.tenantId}/users/${tenant.adminUserId}`).set(auth);
    expect(user.body.displayName).toBe('Renamed Admin');
    expect(user.headers['etag']).toBe(renamed.headers['etag']);
    const { position: _, ...fields } = renamed.body as Record<string, unknown>;
    expect(user.body).toEqual(fields);

    const mfa = await h
      .http()
      .put(`/v1/tenants/${tenant.tenantId}/policies/mfa`)
      .set(asAdmin())
      .send({ required: true });
    expect(mfa.status).toBe(200);
    const overview = await h.http().get(`/v1/tenants/${tenant.tenantId}`).set(auth);
    expect(overview.body.mfaPolicy).toEqual({ required: true });
    expect(overview.headers['etag']).toBe(mfa.headers['etag']);
  });

  it('with minPosition from the command, and with minPosition=0 (no wait)', async () => {
    const bob = await createMember(h, tenant, 'bob');
    const list = await h
      .http()
      .get(`/v1/tenants/${tenant.tenantId}/users?userType=Member&minPosition=${bob.position}`)
      .set(auth);
    expect(list.body.value.map((u: { userId: string }) => u.userId)).toEqual([
      tenant.adminUserId,
      bob.userId,
    ]);
    const unwaited = await h.http().get(`/v1/tenants/${tenant.tenantId}?minPosition=0`).set(auth);
    expect(unwaited.status).toBe(200);
    expect(
      (
        await h
          .http()
          .get(`/v1/tenants/${tenant.tenantId}/users/${bob.userId}?minPosition=${bob.position}`)
          .set(auth)
      ).body.userPrincipalName,
    ).toBe('bob@readside.onmicrosoft.com');
  });

  it('answers 404 for a tenant or user it does not have, and a directory:read key may read', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    expect((await h.http().get(`/v1/tenants/${missing}`).set(auth)).status).toBe(404);
    expect((await h.http().get(`/v1/tenants/${missing}/users`).set(auth)).status).toBe(404);
    expect((await h.http().get(`/v1/tenants/${tenant.tenantId}/users/${missing}`).set(auth)).body.code).toBe(
      'not_found',
    );
    // The sign-in screen's key reads lookups, not the directory.
    expect(
      (await h.http().get(`/v1/tenants/${tenant.tenantId}`).set('Authorization', `Bearer ${READER_KEY}`))
        .status,
    ).toBe(403);
  });

  it('rebuilds a read model beside the live one while commands keep coming; reads keep answering', async () => {
    const { runner } = h.app.get(ReadSide);
    const before = runner.status().find((s) => s.name === 'users')?.generation ?? 0;
    const names = Array.from({ length: 12 }, (_, i) => `r${i}`);
    let reads = 0;
    const writes = (async () => {
      for (const name of names) {
        await createMember(h, tenant, name);
        const page = await h.http().get(`/v1/tenants/${tenant.tenantId}/users?limit=200`).set(auth);
        expect(page.status).toBe(200);
        reads += 1;
      }
    })();
    await runner.rebuild('users');
    await writes;
    expect(reads).toBe(names.length);
    expect(runner.status().find((s) => s.name === 'users')?.generation).toBe(before + 1);

    const page = await h.http().get(`/v1/tenants/${tenant.tenantId}/users?limit=200`).set(auth);
    const upns = page.body.value.map((u: { userPrincipalName: string }) => u.userPrincipalName);
    expect(upns).toEqual([
      'admin@readside.onmicrosoft.com',
      'bob@readside.onmicrosoft.com',
      ...names.map((n) => `${n}@readside.onmicrosoft.com`),
    ]);

    // The same rows as a build from scratch on another database.
    const head = await h.store.headPosition();
    const fresh = new ReadModelRunner(h.store, new SqliteReadModelDatabase(new Database(':memory:')));
    await fresh.register(new UsersProjection());
    fresh.start();
    try {
      await fresh.waitFor('users', head, 5000);
      await runner.waitFor('users', head, 5000);
      expect(await runner.digest('users')).toBe(await fresh.digest('users'));
    } finally {
      await fresh.stop();
    }
  });
});

describe('read side across a restart', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'als-read-side-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('resumes after its checkpoints: no replay from zero, reads answer at once', async () => {
    const first = await startHarness({ DATA_DIR: dataDir });
    const tenant = await signUp(first, 'restart');
    const carol = await createMember(first, tenant, 'carol');
    await first.http().get(`/v1/tenants/${tenant.tenantId}/users/${carol.userId}`).set(auth);
    const head = await first.store.headPosition();
    const generations = first.app
      .get(ReadSide)
      .status()
      .map((s) => [s.name, s.generation]);
    await first.close();

    const second = await startHarness({ DATA_DIR: dataDir });
    try {
      // Before any event is read: the positions come from the checkpoints.
      const status = second.app.get(ReadSide).status();
      expect(status.map((s) => [s.name, s.generation])).toEqual(generations);
      for (const s of status) expect(s.position).toBe(head);
      const user = await second.http().get(`/v1/tenants/${tenant.tenantId}/users/${carol.userId}`).set(auth);
      expect(user.status).toBe(200);
      expect(user.body.userPrincipalName).toBe('carol@restart.onmicrosoft.com');
    } finally {
      await second.close();
    }
  });
});

describe('a projection that fails', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('stops with its error, fails /readyz and its reads (503), while the other read models go on', async () => {
    const tenant = await signUp(h, 'broken');
    expect((await h.http().get('/readyz')).status).toBe(200);

    // Behind the service's back: another connection drops the realm's live users table.
    const other = new Database(path.join(h.config.dataDir, 'read-models.db'), { timeout: 5000 });
    try {
      const { generation } = other
        .prepare(`SELECT generation FROM read_model_state WHERE name = 'realm'`)
        .get() as {
        generation: number;
      };
      other.exec(`DROP TABLE rm_realm_g${generation}_users`);
    } finally {
      other.close();
    }

    const member = await createMember(h, tenant, 'dora');
    const lookup = await h
      .http()
      .get('/v1/sign-in/realm')
      .query({ login: 'dora@broken.onmicrosoft.com', minPosition: member.position })
      .set('Authorization', `Bearer ${READER_KEY}`);
    expect(lookup.status).toBe(503);
    expect(lookup.body.code).toBe('projection_lagging');
    expect(lookup.body.detail).toMatch(/realm has stopped: realm failed on event \d+ \(MemberCreated/);

    const ready = await h.http().get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('not_ready');
    const realm = ready.body.checks.readModels.find((m: { name: string }) => m.name === 'realm');
    expect(realm).toMatchObject({ state: 'failed' });
    expect(realm.error).toMatch(/no such table/);
    // Never a silent skip: it stays where it stopped.
    expect(Number(realm.position)).toBeLessThan(Number(member.position));

    const user = await h
      .http()
      .get(`/v1/tenants/${tenant.tenantId}/users/${member.userId}?minPosition=${member.position}`)
      .set(auth);
    expect(user.status).toBe(200);
  });
});
