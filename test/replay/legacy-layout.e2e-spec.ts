// A store written by the one-stream layout (test/fixtures/legacy: the year's events as the version
// before per-object streams recorded them, and the audit rows and chain heads that version built)
// is loaded as it was, on SQLite and on PostgreSQL. This version must build the same audit feed
// from it byte for byte, refuse to serve it until migrated, migrate it resumably, and afterwards
// keep every audit record and chain head as they were (the migration is no activity), have read
// models equal to a rebuild, and decide on the migrated tenants as on any other.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { AuditRecords } from '#projections';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../apps/account-service/src/bootstrap.js';
import { ApiKeyRegistry } from '../../apps/account-service/src/common/api-keys.js';
import { StreamNames } from '../../apps/account-service/src/command-pipeline/stream-names.js';
import { loadConfig, type AppConfig } from '../../apps/account-service/src/config/config.js';
import { migrateStore } from '../../apps/account-service/src/migration/migrate-store.js';
import { storeLayout } from '../../apps/account-service/src/migration/store-layout.js';
import { migrate } from '../../apps/cli/src/commands/migrate.js';
import { openReadSide, type ReadSide } from '../../apps/cli/src/commands/read-side.js';
import { rebuildProjections } from '../../apps/cli/src/commands/rebuild.js';
import { loadEvents, readEventLog } from '../../apps/cli/src/commands/replay.js';
import { ADMIN_KEY, startHarness, type Harness } from '../support/harness.js';

const DIR = path.resolve('test/fixtures/legacy');
const EVENTS = path.join(DIR, 'tenant-year-v1.ndjson');

// Loose view of JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const logged: Json[] = fs
  .readFileSync(EVENTS, 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Json);
const legacyRecords: Json[] = fs
  .readFileSync(path.join(DIR, 'tenant-year-v1.audit.ndjson'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Json);
const legacyHeads = JSON.parse(
  fs.readFileSync(path.join(DIR, 'tenant-year-v1.chain-heads.json'), 'utf8'),
) as Json[];

const tenantNamed = (displayName: string): string =>
  logged.find((e) => e.type === 'TenantCreated' && e.data.displayName === displayName)!.data
    .tenantId as string;
const userWithUpn = (upn: string): string =>
  logged.find((e) => e.type === 'MemberCreated' && e.data.userPrincipalName === upn)!.data.userId as string;
const guestInvited = (email: string): Json =>
  logged.find((e) => e.type === 'GuestInvited' && e.data.email === email)!.data;
const personalAccount = (email: string): string =>
  logged.find((e) => e.type === 'PersonalAccountRegistered' && e.data.email === email)!.data
    .accountId as string;

const CONTOSO = tenantNamed('Contoso Ltd');
/** The member sign-up made Global Administrator: the first member of the tenant's stream. */
const ADMIN = logged.find((e) => e.type === 'MemberCreated' && e.streamId === `tenant-${CONTOSO}`)!.data
  .userId as string;

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Rows as both databases give them back (PostgreSQL's bigints arrive as text). */
const normalised = (rows: readonly Json[]): Json[] =>
  rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([key, value]) => [
        key,
        ['sequence', 'position'].includes(key) ? Number(value) : value,
      ]),
    ),
  );

async function auditRows(readSide: ReadSide): Promise<{ records: Json[]; heads: Json[] }> {
  const prefix = await readSide.runner.prefix('audit');
  const records = await readSide.runner.db.all<Json>(
    `SELECT chain, sequence, position, id, json, hash, previous_hash FROM ${prefix}records ORDER BY position, chain, sequence`,
  );
  const heads = await readSide.runner.db.all<Json>(
    `SELECT chain, sequence, hash FROM ${prefix}chain_heads ORDER BY chain`,
  );
  return { records: normalised(records), heads: normalised(heads) };
}

describe.each(['sqlite', 'postgres'] as const)('a store of the one-stream layout (%s)', (eventStore) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'als-legacy-'));
  const schema = `legacy_${randomBytes(5).toString('hex')}`;
  const env: Record<string, string> =
    eventStore === 'postgres'
      ? { EVENT_STORE: 'postgres', DATABASE_URL, DATABASE_SCHEMA: schema, DATA_DIR: dataDir }
      : { EVENT_STORE: 'sqlite', DATA_DIR: dataDir };
  const config: AppConfig = loadConfig(env);
  let readSide: ReadSide;
  let service: Harness | undefined;

  beforeAll(async () => {
    readSide = await openReadSide(config);
    await loadEvents(readSide.store, readEventLog(EVENTS));
  });
  afterAll(async () => {
    await service?.close();
    await readSide?.close();
    if (eventStore === 'postgres') {
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('is loaded as it was written, in layout 1', async () => {
    expect(await readSide.store.headPosition()).toBe(logged.length);
    expect(await storeLayout(readSide.store)).toBe(1);
  });

  it('gives, in this version, the audit records and chain heads the old version built, byte for byte', async () => {
    await rebuildProjections(readSide, readSide.names);
    const { records, heads } = await auditRows(readSide);
    expect(records).toEqual(legacyRecords);
    expect(heads).toEqual(legacyHeads);
  });

  it('is refused by the service until migrated, with the command to run', async () => {
    await expect(createApp({ config, apiKeys: new ApiKeyRegistry([]), logger: false })).rejects.toThrow(
      /npm run cli -- migrate/,
    );
  });

  it('migrates resumably: an interrupted run is carried on, and a finished one changes nothing', async () => {
    const names = await StreamNames.load(readSide.store);
    await expect(
      migrateStore(readSide.store, readSide.snapshots, names, {
        tenant: (done) => {
          if (done === 1) throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    expect(await storeLayout(readSide.store)).toBe(1);
    const rest = await migrate(readSide);
    expect(rest).toMatchObject({ from: 1, tenants: 2, migrated: 1 });
    expect(await storeLayout(readSide.store)).toBe(2);
    const head = await readSide.store.headPosition();
    expect(await migrate(readSide)).toMatchObject({ from: 2, migrated: 0, events: 0 });
    expect(await readSide.store.headPosition()).toBe(head);
  });

  it('keeps every audit record and chain head as it was, and adds none: the migration is no activity', async () => {
    readSide.runner.start();
    const head = await readSide.store.headPosition();
    for (const name of readSide.names) await readSide.runner.waitFor(name, head, 30_000);
    const { records, heads } = await auditRows(readSide);
    expect(records).toEqual(legacyRecords);
    expect(heads).toEqual(legacyHeads);
    await readSide.runner.stop();
  });

  it('has every read model, kept up through the migration, equal to a rebuild', async () => {
    await readSide.close();
    readSide = await openReadSide(config);
    const live = await Promise.all(readSide.names.map((name) => readSide.runner.digestAt(name)));
    const rebuilt = await rebuildProjections(readSide, readSide.names);
    expect(rebuilt.map((r) => [r.name, r.digest])).toEqual(
      readSide.names.map((name, i) => [name, live[i]?.digest]),
    );
  });

  describe('served by this version', () => {
    const auth = { Authorization: `Bearer ${ADMIN_KEY}` };
    const as = { ...auth, 'X-Acting-User': ADMIN };
    const t = `/v1/tenants/${CONTOSO}`;

    beforeAll(async () => {
      await readSide.close();
      readSide = await openReadSide(config);
      service = await startHarness(env);
    });

    it('keeps ETags working on migrated resources: the current one is accepted, a stale one refused', async () => {
      const http = service!.http;
      const alex = userWithUpn('alex.wilber@contoso.com');
      const before = await http().get(`${t}/users/${alex}`).set(auth);
      expect(before.status).toBe(200);
      expect(before.body.displayName).toBe('Alex Wilber-Vance');
      const etag = before.headers['etag'] as string;
      const renamed = await http()
        .patch(`${t}/users/${alex}`)
        .set(as)
        .set('If-Match', etag)
        .send({ displayName: 'Alex W.' });
      expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
      expect(renamed.headers['etag']).toBe(`"${Number(JSON.parse(etag)) + 1}"`);
      const stale = await http()
        .patch(`${t}/users/${alex}`)
        .set(as)
        .set('If-Match', etag)
        .send({ displayName: 'X' });
      expect(stale.status).toBe(412);

      const tenant = await http().get(t).set(auth);
      const policy = await http()
        .put(`${t}/policies/mfa`)
        .set(as)
        .set('If-Match', tenant.headers['etag'] as string)
        .send({ required: false });
      expect(policy.status, JSON.stringify(policy.body)).toBe(200);
    });

    it('keeps the rules that span objects: domain in use, seats, last Global Administrator, guests', async () => {
      const http = service!.http;
      const removeUk = await http().delete(`${t}/domains/contoso.co.uk`).set(as);
      expect(removeUk.body.code).toBe('domain_in_use');
      // E3: 10 of 12 used when the year ended.
      const page = await http().get(`${t}/users?limit=200&userType=Member`).set(auth);
      const unlicensed = (page.body.value as Json[])
        .filter((u) => u.state === 'active' && (u.licenses as Json[]).length === 0)
        .map((u) => u.userId as string)
        .slice(0, 3);
      expect(unlicensed).toHaveLength(3);
      const assign = (userId: string) =>
        http().post(`${t}/users/${userId}/licenses`).set(as).send({ sku: 'ENTERPRISE_E3' });
      expect((await assign(unlicensed[0]!)).status).toBe(201);
      expect((await assign(unlicensed[1]!)).status).toBe(201);
      expect((await assign(unlicensed[2]!)).body.code).toBe('count_violation');
      const last = await http().delete(`${t}/role-assignments/GlobalAdministrator/${ADMIN}`).set(as);
      expect(last.body.code).toBe('last_global_admin');
      const bob = await http().post(`${t}/invitations`).set(as).send({ email: 'bob@gmail.example' });
      expect(bob.body.code).toBe('already_member');
    });

    it('finds a pending invitation of the old layout by its id: resent, then redeemed', async () => {
      const http = service!.http;
      const dana = guestInvited('dana@example.net');
      const resent = await http().post(`${t}/invitations/${dana.invitationId}/resend`).set(as);
      expect(resent.status, JSON.stringify(resent.body)).toBe(200);
      expect(resent.body.guestUserId).toBe(dana.userId);
      const redeemed = await http()
        .post(`/v1/invitations/${dana.invitationId}/redeem`)
        .set(auth)
        .send({
          redeemCode: resent.body.redeemCode,
          identity: {
            kind: 'personal',
            accountId: personalAccount('dana@example.net'),
            email: 'dana@example.net',
          },
        });
      expect(redeemed.status, JSON.stringify(redeemed.body)).toBe(200);
      expect(redeemed.body).toMatchObject({
        tenantId: CONTOSO,
        guestUserId: dana.userId,
        status: 'Accepted',
      });
    });

    it('signs a migrated member in, and chains the new records onto the old heads', async () => {
      const http = service!.http;
      const signIn = await http()
        .post('/v1/sign-ins')
        .set(auth)
        .send({
          login: 'alex.wilber@contoso.com',
          service: { kind: 'business', tenantId: CONTOSO },
          mfaPerformed: true,
          ipAddress: '203.0.113.9',
          userAgent: 'compat',
        });
      expect(signIn.body).toMatchObject({ decision: 'allowed', userType: 'Member' });
      const records = AuditRecords.of(readSide.runner);
      const deadline = Date.now() + 10_000;
      while ((await records.head()) < Number(signIn.body.position)) {
        if (Date.now() > deadline) throw new Error('the audit feed did not reach the sign-in');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const verification = await records.verify(CONTOSO);
      expect(verification.ok).toBe(true);
      expect(verification.checked).toBeGreaterThan(legacyRecords.filter((r) => r.chain === CONTOSO).length);
    });
  });
});
