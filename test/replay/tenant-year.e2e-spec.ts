// Replays "a tenant's year" (test/fixtures/replay/tenant-year.ndjson, recorded from the real
// service by tenant-year.scenario.ts) into a fresh store with the CLI's replay, then checks what the
// year leads to: through every read model's digest, the read models' own tables, and the service's
// GET routes on the replayed store.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteEventStore } from '#event-store';
import { exportEvents } from '../../apps/cli/src/commands/export-events.js';
import { openReadSide } from '../../apps/cli/src/commands/read-side.js';
import { replay, type ReplayResult } from '../../apps/cli/src/commands/replay.js';
import { loadConfig } from '../../apps/account-service/src/config/config.js';
import { ADMIN_KEY, startHarness, type Harness } from '../support/harness.js';
import { memberName } from './tenant-year.scenario.js';

const FIXTURE = path.resolve('test/fixtures/replay/tenant-year.ndjson');

// Loose view of a JSON response body.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

interface Logged {
  type: string;
  streamId: string;
  tenantId?: string;
  data: Json;
}

const logged: Logged[] = fs
  .readFileSync(FIXTURE, 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Logged);
const tenantNamed = (displayName: string): string =>
  logged.find((e) => e.type === 'TenantCreated' && e.data.displayName === displayName)!.data
    .tenantId as string;
const userWithUpn = (upn: string): string =>
  logged.find((e) => e.type === 'MemberCreated' && e.data.userPrincipalName === upn)!.data.userId as string;
const guestInvited = (email: string): string =>
  logged.find((e) => e.type === 'GuestInvited' && e.data.email === email)!.data.userId as string;
const personalAccount = (email: string): string =>
  logged.find((e) => e.type === 'PersonalAccountRegistered' && e.data.email === email)!.data
    .accountId as string;

describe("a tenant's year, replayed", () => {
  const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'als-replay-')), 'data');
  let result: ReplayResult;
  let service: Harness;
  const contoso = tenantNamed('Contoso Ltd');

  const get = async (url: string): Promise<Json> => {
    const res = await service.http().get(url).set('Authorization', `Bearer ${ADMIN_KEY}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as Json;
  };
  const users = async (tenantId: string): Promise<Json[]> => {
    const all: Json[] = [];
    let cursor: string | undefined;
    do {
      const page = await get(`/v1/tenants/${tenantId}/users?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      all.push(...(page.value as Json[]));
      cursor = page.nextCursor as string | undefined;
    } while (cursor);
    return all;
  };

  beforeAll(async () => {
    result = await replay(FIXTURE, loadConfig({ DATA_DIR: dataDir, EVENT_STORE: 'sqlite' }));
    service = await startHarness({ DATA_DIR: dataDir });
  });
  afterAll(async () => {
    await service?.close();
    fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  it('loads every event, in order, with nothing changed (export gives back the file byte for byte)', async () => {
    expect(result.events).toBe(logged.length);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await exportEvents(service.store, out);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(fs.readFileSync(FIXTURE, 'utf8'));
  });

  it('builds every read model, and a second replay gives the same digests', async () => {
    const second = path.join(path.dirname(dataDir), 'second');
    const again = await replay(FIXTURE, loadConfig({ DATA_DIR: second, EVENT_STORE: 'sqlite' }));
    expect(again.readModels.map((r) => [r.name, r.digest])).toEqual(
      result.readModels.map((r) => [r.name, r.digest]),
    );
    for (const model of result.readModels) expect(model.events).toBe(logged.length);
  });

  it('ends the year with Contoso’s domains: 4, of which 3 verified, contoso.com primary', async () => {
    const tenant = await get(`/v1/tenants/${contoso}`);
    expect(tenant.displayName).toBe('Contoso Ltd');
    expect(tenant.primaryDomain).toBe('contoso.com');
    expect((tenant.domains as Json[]).map((d) => [d.name, d.isVerified]).sort()).toEqual([
      ['contoso.co.uk', true],
      ['contoso.com', true],
      ['contoso.de', false],
      ['contoso.onmicrosoft.com', true],
    ]);
    expect(tenant.mfaPolicy).toEqual({ required: true });
  });

  it('ends the year with 10 of 12 E3 seats used and E5 cancelled', async () => {
    const tenant = await get(`/v1/tenants/${contoso}`);
    const bySku = Object.fromEntries((tenant.subscriptions as Json[]).map((s) => [s.sku, s]));
    expect(bySku.ENTERPRISE_E3).toMatchObject({ seats: 12, assignedSeats: 10, status: 'active' });
    expect(bySku.ENTERPRISE_E5).toMatchObject({ assignedSeats: 0, status: 'cancelled' });
  });

  it('ends the year with 46 members: 41 active, 2 blocked, 3 deleted', async () => {
    const members = (await users(contoso)).filter((u) => u.userType === 'Member');
    const count = (state: string) => members.filter((u) => u.state === state).length;
    expect(members).toHaveLength(46);
    expect([count('active'), count('blocked'), count('deleted')]).toEqual([41, 2, 3]);
    // Renamed, moved to headquarters, restored.
    const alex = members.find((u) => u.userId === userWithUpn('alex.wilber@contoso.com'))!;
    expect(alex.displayName).toBe('Alex Wilber-Vance');
    expect(alex.roles).toEqual(['UserAdministrator']);
    const moved = members.find((u) => u.userId === userWithUpn(`${memberName(31).userName}@contoso.co.uk`))!;
    expect(moved.userPrincipalName).toBe(`${memberName(31).userName}@contoso.com`);
    const restored = members.find((u) => u.userId === userWithUpn(`${memberName(11).userName}@contoso.com`))!;
    expect(restored).toMatchObject({ state: 'active', licenses: [] });
  });

  it('ends the year with guests bob, erin and lee accepted, dana pending', async () => {
    const guests = (await users(contoso)).filter((u) => u.userType === 'Guest');
    const stateOf = (email: string) =>
      guests.find((g) => g.userId === guestInvited(email))?.externalUserState;
    expect(stateOf('bob@gmail.example')).toBe('Accepted');
    expect(stateOf('erin@partner.example')).toBe('Accepted');
    expect(stateOf('lee@fabrikam.onmicrosoft.com')).toBe('Accepted');
    expect(stateOf('dana@example.net')).toBe('PendingAcceptance');
  });

  it('ends the year with jo’s personal account closed and dana linked to GitHub', async () => {
    expect((await get(`/v1/personal-accounts/${personalAccount('jo@example.net')}`)).state).toBe('closed');
    const dana = await get(`/v1/personal-accounts/${personalAccount('dana@example.net')}`);
    expect(dana).toMatchObject({
      state: 'active',
      externalLogins: [{ provider: 'github', subject: '583231' }],
    });
  });

  it('has the same facts in the read models’ own tables (tenants, users, realm)', async () => {
    const side = await openReadSide(loadConfig({ DATA_DIR: dataDir, EVENT_STORE: 'sqlite' }), {
      requireBuilt: true,
    });
    try {
      const { runner } = side;
      const first = async (sql: string, params: Array<string | number> = []) =>
        Object.values((await runner.db.get<Record<string, unknown>>(sql, params)) ?? {})[0];
      const one = (sql: string, ...params: Array<string | number>) => first(sql, params);
      const tenants = await runner.prefix('tenants');
      expect(await one(`SELECT COUNT(*) FROM ${tenants}tenants`)).toBe(2);
      expect(
        await one(`SELECT COUNT(*) FROM ${tenants}domains WHERE tenant_id = ? AND is_verified = 1`, contoso),
      ).toBe(3);
      expect(
        await runner.db.all(
          `SELECT s.sku, s.seats, s.status, (SELECT COUNT(*) FROM ${tenants}license_seats l
               WHERE l.tenant_id = s.tenant_id AND l.subscription_id = s.subscription_id) AS used
             FROM ${tenants}subscriptions s WHERE s.tenant_id = ? ORDER BY s.sku`,
          [contoso],
        ),
      ).toEqual([
        { sku: 'ENTERPRISE_E3', seats: 12, status: 'active', used: 10 },
        { sku: 'ENTERPRISE_E5', seats: 2, status: 'cancelled', used: 0 },
      ]);
      const users = await runner.prefix('users');
      const members = await runner.db.get(
        `SELECT SUM(blocked = 0 AND deleted = 0) AS active, SUM(blocked = 1 AND deleted = 0) AS blocked,
             SUM(deleted = 1) AS deleted FROM ${users}users WHERE tenant_id = ? AND user_type = 'Member'`,
        [contoso],
      );
      expect(members).toEqual({ active: 41, blocked: 2, deleted: 3 });
      expect(
        await one(
          `SELECT guest_state FROM ${users}users WHERE tenant_id = ? AND user_id = ?`,
          contoso,
          guestInvited('lee@fabrikam.onmicrosoft.com'),
        ),
      ).toBe('Accepted');
      const realm = await runner.prefix('realm');
      expect(
        (
          await runner.db.all<{ name: string }>(
            `SELECT name FROM ${realm}verified_domains WHERE tenant_id = ? ORDER BY name`,
            [contoso],
          )
        ).map((r) => r.name),
      ).toEqual(['contoso.co.uk', 'contoso.com', 'contoso.onmicrosoft.com']);
      expect(
        await one(
          `SELECT closed FROM ${realm}personal_accounts WHERE account_id = ?`,
          personalAccount('jo@example.net'),
        ),
      ).toBe(1);
    } finally {
      await side.close();
    }
  });

  it('appends nothing when a service starts on the replayed store', async () => {
    // Reactions (license release) run again from the start of the log but find nothing left to do.
    await get(`/v1/tenants/${contoso}`);
    expect(await service.store.headPosition()).toBe(logged.length);
  });

  it('keeps the read models in step with the log on the replayed store', async () => {
    const probe = await openReadSide(loadConfig({ DATA_DIR: dataDir, EVENT_STORE: 'sqlite' }));
    try {
      for (const status of probe.runner.status()) expect(status.position).toBe(logged.length);
    } finally {
      await probe.close();
    }
    // The same file holds only what the replay wrote: the source of truth is the log.
    const store = new SqliteEventStore(path.join(dataDir, 'events.db'));
    try {
      expect(await store.headPosition()).toBe(logged.length);
    } finally {
      await store.close();
    }
  });
});
