// The directory read models against the domain's own folds, on each read-model database (SQLite,
// PostgreSQL) and for both stream layouts a store may hold: one stream per tenant (stores written
// before per-object streams) and per-object streams (today's, each event in its aggregate's stream
// as the pipeline writes it). A history that uses every directory event is appended to the
// in-memory store, the runner projects it, and each read model must say what the domain's folds
// of that history say (ETags included). The realm, kept up batch by batch, must answer as a
// projection of the whole log in one go does after every change.
import { afterEach, describe, expect, it } from 'vitest';
import {
  aggregateOf,
  streams,
  type DirectoryEvent,
  type PersonalAccountEvent,
  type UserState,
} from '#domain';
import { InMemoryEventStore } from '#event-store';
import {
  ADMIN,
  ALICE,
  GUEST,
  guestInvited,
  INITIAL,
  invitationRedeemed,
  invitationRevoked,
  memberCreated,
  roleAssigned,
  signedUp,
  userBlocked,
  userDeleted,
  userRestored,
} from '../../../domain/src/testing/tenant-fixtures.js';
import { MemoryDirectory } from '../../../domain/src/testing/directory.js';
import { newEvent } from '../../../event-store/src/testing/events.js';
import { ReadModelRunner } from '../read-models.js';
import type { ReadModelDatabase } from '../sql.js';
import { readModelDatabases } from '../testing/databases.js';
import { RealmProjection } from './realm.js';
import { TenantsProjection } from './tenants.js';
import { UsersProjection, type UserRecord } from './users.js';

const T1 = 't-1';
const T2 = 't-2';
const CAROL = 'u-carol';
const GUEST2 = 'u-guest2';

const history: DirectoryEvent[] = [
  ...signedUp,
  memberCreated(ALICE, `Alice@${INITIAL}`, 'Alice Smith'),
  { type: 'DomainAdded', data: { name: 'contoso.com', verificationCode: 'ms12345678' } },
  { type: 'DomainAdded', data: { name: 'fabrikam.example', verificationCode: 'ms87654321' } },
  { type: 'DomainVerified', data: { name: 'contoso.com' } },
  { type: 'PrimaryDomainChanged', data: { previousDomain: INITIAL, domain: 'contoso.com' } },
  memberCreated(CAROL, 'carol@contoso.com', 'Carol'),
  {
    type: 'UserPrincipalNameChanged',
    data: {
      userId: ALICE,
      previousUserPrincipalName: `Alice@${INITIAL}`,
      userPrincipalName: 'Alice@contoso.com',
    },
  },
  {
    type: 'UserRenamed',
    data: { userId: ALICE, previousDisplayName: 'Alice Smith', displayName: 'Alice W' },
  },
  roleAssigned(ALICE, 'UserAdministrator'),
  roleAssigned(ALICE, 'GuestInviter'),
  { type: 'RoleRemoved', data: { userId: ALICE, role: 'UserAdministrator' } },
  roleAssigned(ALICE, 'UserAdministrator'),
  { type: 'MfaRequirementChanged', data: { required: true, previousRequired: false } },
  { type: 'MfaMethodRegistered', data: { userId: ALICE, methodId: 'm-1', kind: 'sms' } },
  { type: 'MfaMethodRegistered', data: { userId: ALICE, methodId: 'm-2', kind: 'fido2' } },
  { type: 'SubscriptionPurchased', data: { subscriptionId: 'sub-1', sku: 'E3', seats: 3 } },
  { type: 'LicenseAssigned', data: { userId: ALICE, sku: 'E3', subscriptionId: 'sub-1' } },
  { type: 'LicenseAssigned', data: { userId: CAROL, sku: 'E3', subscriptionId: 'sub-1' } },
  { type: 'SeatsChanged', data: { subscriptionId: 'sub-1', sku: 'E3', previousSeats: 3, seats: 5 } },
  { type: 'SubscriptionPurchased', data: { subscriptionId: 'sub-2', sku: 'E5', seats: 2 } },
  { type: 'LicenseAssigned', data: { userId: ALICE, sku: 'E5', subscriptionId: 'sub-2' } },
  { type: 'LicenseRemoved', data: { userId: ALICE, sku: 'E5', subscriptionId: 'sub-2', reason: 'removed' } },
  { type: 'SubscriptionCancelled', data: { subscriptionId: 'sub-2', sku: 'E5' } },
  guestInvited({ email: 'bob@example.com', userPrincipalName: `bob_example.com#EXT#@${INITIAL}` }),
  {
    type: 'InvitationResent',
    data: {
      invitationId: 'inv-1',
      userId: GUEST,
      redeemCodeHash: 'b'.repeat(64),
      expiresAt: '2026-02-01T00:00:00Z',
    },
  },
  invitationRedeemed({ kind: 'personal', accountId: 'acc-bob', email: 'bob@example.com' }),
  guestInvited({
    userId: GUEST2,
    invitationId: 'inv-2',
    email: 'pending@example.com',
    userPrincipalName: `pending_example.com#EXT#@${INITIAL}`,
  }),
  invitationRevoked('inv-2', GUEST2),
  { type: 'PasswordResetOrdered', data: { userId: CAROL } },
  userBlocked(CAROL),
  userDeleted(CAROL),
  {
    type: 'LicenseRemoved',
    data: { userId: CAROL, sku: 'E3', subscriptionId: 'sub-1', reason: 'user_deleted' },
  },
  userRestored(CAROL),
  { type: 'DomainRemoved', data: { name: 'fabrikam.example', wasVerified: false } },
  // An event a newer version wrote: skipped by the fold, and still moves the stream's version.
  { type: 'SomethingNew', data: { userId: ALICE } } as unknown as DirectoryEvent,
  // About users the tenant doesn't have: changes nothing, as in the decider.
  userBlocked('u-nobody'),
];

const otherTenant: DirectoryEvent[] = [
  {
    type: 'TenantCreated',
    data: {
      tenantId: T2,
      displayName: 'Fabrikam',
      kind: 'education',
      domainPrefix: 'fabrikam',
      initialDomain: 'fabrikam.onmicrosoft.com',
    },
  },
  memberCreated('u-t2-admin', 'admin@fabrikam.onmicrosoft.com'),
  guestInvited({
    userId: 'u-t2-bob',
    invitationId: 'inv-t2',
    email: 'bob@example.com',
    userPrincipalName: 'bob_example.com#EXT#@fabrikam.onmicrosoft.com',
  }),
];

const personalEvents: Array<[string, PersonalAccountEvent]> = [
  [
    'acc-bob',
    {
      type: 'PersonalAccountRegistered',
      data: { accountId: 'acc-bob', email: 'bob@example.com', displayName: 'Bob', newMailbox: false },
    },
  ],
  [
    'acc-gone',
    {
      type: 'PersonalAccountRegistered',
      data: { accountId: 'acc-gone', email: 'gone@example.com', displayName: 'G', newMailbox: false },
    },
  ],
  ['acc-gone', { type: 'PersonalAccountClosed', data: { accountId: 'acc-gone' } }],
];

type Layout = 'one stream per tenant' | 'per-object streams';
const LAYOUTS: Layout[] = ['one stream per tenant', 'per-object streams'];

/** The stream an event of that tenant is stored in, in that layout. */
function streamOf(layout: Layout, tenantId: string, event: DirectoryEvent): string {
  if (layout === 'one stream per tenant') return streams.tenant(tenantId);
  const aggregate = aggregateOf(event);
  switch (aggregate.kind) {
    case 'user':
      return streams.user(aggregate.userId);
    case 'seats':
      return streams.seats(aggregate.subscriptionId);
    case 'domainUse':
      return streams.domainUse(`${tenantId}-${aggregate.domain}`);
    case 'tenant':
      return streams.tenant(tenantId);
  }
}

async function appendTenant(
  store: InMemoryEventStore,
  layout: Layout,
  tenantId: string,
  events: readonly DirectoryEvent[],
) {
  for (const event of events) {
    await store.append([
      {
        streamId: streamOf(layout, tenantId, event),
        expectedVersion: 'any',
        events: [newEvent(event.type, event.data as unknown as Record<string, unknown>, { tenantId })],
      },
    ]);
  }
  return store.headPosition();
}

async function appendPersonal(
  store: InMemoryEventStore,
  events: ReadonlyArray<[string, PersonalAccountEvent]>,
) {
  for (const [accountId, event] of events) {
    await store.append([
      {
        streamId: `personal-account-${accountId}`,
        expectedVersion: 'any',
        events: [newEvent(event.type, event.data as unknown as Record<string, unknown>)],
      },
    ]);
  }
  return store.headPosition();
}

/** The read model's record, as the domain's fold of the user's events has it. */
function expectedRecord(tenantId: string, user: UserState): UserRecord {
  return {
    tenantId,
    userId: user.userId,
    userType: user.userType,
    userPrincipalName: user.userPrincipalName,
    displayName: user.displayName,
    blocked: user.blocked,
    deleted: user.deleted,
    ...(user.guest
      ? {
          guest: {
            email: user.guest.email,
            invitationId: user.guest.invitationId,
            state: user.guest.state,
            ...(user.guest.identity ? { identityKind: user.guest.identity.kind } : {}),
          },
        }
      : {}),
    roles: [...user.roles],
    licenses: [...user.licenses.keys()],
    mfaMethods: user.mfaMethods.map((m) => ({ methodId: m.methodId, kind: m.kind })),
    revision: user.revision,
  };
}

const LOGINS = [
  'alice@contoso.com',
  `alice@${INITIAL}`,
  'carol@contoso.com',
  `admin@${INITIAL}`,
  'bob@example.com',
  'pending@example.com',
  'gone@example.com',
  'nobody@sub.contoso.com',
  'x@fabrikam.example',
  'admin@fabrikam.onmicrosoft.com',
];

describe.each(
  readModelDatabases.flatMap((factory) => LAYOUTS.map((layout) => ({ name: factory.name, factory, layout }))),
)('directory read models on $name, $layout', ({ factory, layout }) => {
  const runners: ReadModelRunner[] = [];
  const disposals: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.stop();
    for (const dispose of disposals.splice(0)) await dispose();
  });

  async function open(): Promise<ReadModelDatabase> {
    const { db, dispose } = await factory.open();
    disposals.push(dispose);
    return db;
  }

  async function project(store: InMemoryEventStore, batchSize = 3) {
    const db = await open();
    const runner = new ReadModelRunner(store, db, { batchSize });
    runners.push(runner);
    const tenants = new TenantsProjection();
    const users = new UsersProjection();
    const realm = new RealmProjection();
    for (const projection of [tenants, users, realm]) await runner.register(projection);
    runner.start();
    const caughtUp = async () => {
      const head = await store.headPosition();
      for (const name of ['tenants', 'users', 'realm']) await runner.waitFor(name, head, 2000);
    };
    await caughtUp();
    /** A look-up on the live realm tables. */
    const lookup = async (login: string) => realm.lookup(db, await runner.prefix('realm'), login);
    let scratch = 0;
    /** The realm as one transaction projecting the whole log into fresh tables has it. */
    const fromScratch = async () => {
      const prefix = `rm_realm_scratch${++scratch}_`;
      const fresh = new RealmProjection();
      const events = await store.readAll(0, 1_000_000);
      await db.transaction(async (tx) => {
        await fresh.setup(tx, prefix, db.ddl);
        for (const event of events) await fresh.apply(event, tx, prefix);
      });
      return (login: string) => fresh.lookup(db, prefix, login);
    };
    return { db, runner, tenants, users, realm, caughtUp, lookup, fromScratch };
  }

  async function seeded() {
    const store = new InMemoryEventStore();
    await appendPersonal(store, personalEvents.slice(0, 1));
    await appendTenant(store, layout, T1, history);
    await appendTenant(store, layout, T2, otherTenant);
    await appendPersonal(store, personalEvents.slice(1));
    return store;
  }

  it('users: every user as the domain folds it, revision (ETag) included, in creation order', async () => {
    const store = await seeded();
    const { db, runner, users } = await project(store);
    const state = MemoryDirectory.of(history);
    const prefix = await runner.prefix('users');
    for (const user of state.users.values()) {
      expect(await users.get(db, prefix, T1, user.userId)).toEqual(expectedRecord(T1, user));
    }
    const alice = await users.get(db, prefix, T1, ALICE);
    expect(alice?.roles).toEqual(['GuestInviter', 'UserAdministrator']);
    expect(alice?.licenses).toEqual(['E3']);
    expect(await users.get(db, prefix, T1, CAROL)).toMatchObject({
      deleted: false,
      blocked: true,
      licenses: [],
    });
    expect(await users.get(db, prefix, T1, 'u-nobody')).toBeUndefined();

    const all = await users.list(db, prefix, T1, { limit: 100 });
    expect(all !== 'unknown_cursor' && all.users.map((u) => u.userId)).toEqual([...state.users.keys()]);
    expect(await users.tenantExists(db, prefix, T1)).toBe(true);
    expect(await users.tenantExists(db, prefix, 't-none')).toBe(false);
  });

  it('users: pages by cursor, filtered by type, with unknown cursors refused', async () => {
    const store = await seeded();
    const { db, runner, users } = await project(store);
    const prefix = await runner.prefix('users');
    const first = await users.list(db, prefix, T1, { limit: 2 });
    if (first === 'unknown_cursor') throw new Error('unexpected');
    expect(first.users.map((u) => u.userId)).toEqual([ADMIN, ALICE]);
    expect(first.hasMore).toBe(true);
    const second = await users.list(db, prefix, T1, { limit: 2, afterUserId: ALICE });
    if (second === 'unknown_cursor') throw new Error('unexpected');
    expect(second.users.map((u) => u.userId)).toEqual([CAROL, GUEST]);
    const last = await users.list(db, prefix, T1, { limit: 2, afterUserId: GUEST });
    expect(last !== 'unknown_cursor' && last).toMatchObject({ hasMore: false });
    expect(last !== 'unknown_cursor' && last.users.map((u) => u.userId)).toEqual([GUEST2]);

    const guests = await users.list(db, prefix, T1, { limit: 1, userType: 'Guest' });
    expect(guests !== 'unknown_cursor' && guests.users.map((u) => u.userId)).toEqual([GUEST]);
    expect(await users.list(db, prefix, T1, { limit: 5, userType: 'Guest', afterUserId: ALICE })).toBe(
      'unknown_cursor',
    );
    expect(await users.list(db, prefix, T1, { limit: 5, afterUserId: 'u-unknown' })).toBe('unknown_cursor');
    expect(await users.list(db, prefix, T2, { limit: 5, afterUserId: ALICE })).toBe('unknown_cursor');
  });

  it('tenants: overview, domains in order added, seats per subscription, stream version', async () => {
    const store = await seeded();
    const { db, runner, tenants } = await project(store);
    const state = MemoryDirectory.of(history);
    const { tenant } = state;
    const prefix = await runner.prefix('tenants');
    const overview = await tenants.get(db, prefix, T1);
    const holders = (subscriptionId: string) =>
      [...state.users.values()].filter((u) => [...u.licenses.values()].includes(subscriptionId)).length;
    expect(overview).toEqual({
      tenantId: T1,
      displayName: 'Contoso',
      kind: 'business',
      initialDomain: INITIAL,
      primaryDomain: 'contoso.com',
      mfaRequired: true,
      // The tenant stream's own version: in today's layout its objects' events are elsewhere.
      version: (await store.readStream(streams.tenant(T1))).version,
      domains: [...tenant.domains.values()].map((d) => ({
        name: d.name,
        isInitial: d.isInitial,
        isVerified: d.isVerified,
        verificationCode: d.verificationCode,
      })),
      subscriptions: [...tenant.subscriptions.values()].map((s) => ({
        subscriptionId: s.subscriptionId,
        sku: s.sku,
        seats: s.seats,
        assigned: holders(s.subscriptionId),
        status: s.status,
      })),
    });
    expect(overview?.domains.map((d) => d.name)).toEqual([INITIAL, 'contoso.com']);
    expect(overview?.subscriptions).toEqual([
      { subscriptionId: 'sub-1', sku: 'E3', seats: 5, assigned: 1, status: 'active' },
      { subscriptionId: 'sub-2', sku: 'E5', seats: 2, assigned: 0, status: 'cancelled' },
    ]);
    expect(await tenants.get(db, prefix, T2)).toMatchObject({
      kind: 'education',
      version: (await store.readStream(streams.tenant(T2))).version,
    });
    expect(await tenants.get(db, prefix, 't-none')).toBeUndefined();
  });

  it('realm: logins, verified domains and parents, guests in two tenants, closed accounts', async () => {
    const store = await seeded();
    const { db, runner, realm, lookup, fromScratch } = await project(store);
    expect(await lookup('ALICE@contoso.com')).toEqual({
      login: 'alice@contoso.com',
      managedBy: T1,
      users: [
        {
          tenantId: T1,
          userId: ALICE,
          userType: 'Member',
          domain: 'contoso.com',
          blocked: false,
          deleted: false,
        },
      ],
    });
    // The old UPN is gone from the realm; the initial domain still counts as verified.
    expect(await lookup(`alice@${INITIAL}`)).toEqual({ login: `alice@${INITIAL}`, managedBy: T1, users: [] });
    expect(await lookup('bob@example.com')).toEqual({
      login: 'bob@example.com',
      personal: { accountId: 'acc-bob', closed: false },
      users: [
        {
          tenantId: T1,
          userId: GUEST,
          userType: 'Guest',
          blocked: false,
          deleted: false,
          guestState: 'Accepted',
          revoked: false,
          identityKind: 'personal',
        },
        {
          tenantId: T2,
          userId: 'u-t2-bob',
          userType: 'Guest',
          blocked: false,
          deleted: false,
          guestState: 'PendingAcceptance',
          revoked: false,
        },
      ],
    });
    expect((await lookup('pending@example.com')).users[0]).toMatchObject({ revoked: true });
    expect((await lookup('gone@example.com')).personal).toEqual({ accountId: 'acc-gone', closed: true });
    expect((await lookup('carol@contoso.com')).users[0]).toMatchObject({ blocked: true, deleted: false });
    expect((await lookup('nobody@deep.sub.contoso.com')).managedBy).toBe(T1);
    expect((await lookup('x@fabrikam.example')).managedBy).toBeUndefined();
    const prefix = await runner.prefix('realm');
    expect(await realm.managingTenant(db, prefix, 'deep.sub.contoso.com')).toBe(T1);
    expect(await realm.managingTenant(db, prefix, 'contoso.com.evil.example')).toBeUndefined();
    expect((await realm.tenantExists(db, prefix, T1)) && (await realm.tenantExists(db, prefix, T2))).toBe(
      true,
    );
    expect(await realm.tenantExists(db, prefix, 't-none')).toBe(false);
    const fresh = await fromScratch();
    for (const login of LOGINS) expect(await lookup(login)).toEqual(await fresh(login));
  });

  it('realm: each change shows as soon as the projection has passed it', async () => {
    const store = await seeded();
    const { caughtUp, lookup, fromScratch } = await project(store, 2);
    const step = async (tenantId: string, events: DirectoryEvent[]) => {
      await appendTenant(store, layout, tenantId, events);
      await caughtUp();
      const fresh = await fromScratch();
      for (const login of LOGINS) expect(await lookup(login)).toEqual(await fresh(login));
    };
    await step(T2, [
      { type: 'DomainAdded', data: { name: 'fabrikam.example', verificationCode: 'ms11111111' } },
      { type: 'DomainVerified', data: { name: 'fabrikam.example' } },
    ]);
    expect((await lookup('x@fabrikam.example')).managedBy).toBe(T2);
    await step(T2, [{ type: 'DomainRemoved', data: { name: 'fabrikam.example', wasVerified: true } }]);
    expect((await lookup('x@fabrikam.example')).managedBy).toBeUndefined();
    await step(T2, [
      invitationRedeemed({ kind: 'personal', email: 'bob@example.com' }, 'inv-t2', 'u-t2-bob'),
    ]);
    expect((await lookup('bob@example.com')).users.map((u) => u.guestState)).toEqual([
      'Accepted',
      'Accepted',
    ]);
    await step(T1, [userDeleted(ALICE)]);
    expect((await lookup('alice@contoso.com')).users[0]?.deleted).toBe(true);
    await step(T1, [
      userRestored(ALICE),
      {
        type: 'UserPrincipalNameChanged',
        data: {
          userId: ALICE,
          previousUserPrincipalName: 'Alice@contoso.com',
          userPrincipalName: 'al@contoso.com',
        },
      },
      userBlocked(ALICE),
    ]);
    expect((await lookup('alice@contoso.com')).users).toEqual([]);
    expect((await lookup('al@contoso.com')).users[0]).toMatchObject({
      userId: ALICE,
      blocked: true,
      deleted: false,
    });
  });

  it('a rebuild of each directory read model gives the digest of the live one', async () => {
    const store = await seeded();
    const { runner, lookup } = await project(store);
    for (const name of ['tenants', 'users', 'realm']) {
      const before = await runner.digest(name);
      await runner.rebuild(name);
      expect(runner.status().find((s) => s.name === name)?.generation).toBe(2);
      expect(await runner.digest(name)).toBe(before);
    }
    expect((await lookup('bob@example.com')).users).toHaveLength(2);
  });

  it('stops on an event of a schema version it cannot read, naming it', async () => {
    const store = new InMemoryEventStore();
    await store.append([
      {
        streamId: `tenant-${T1}`,
        expectedVersion: 'any',
        events: [newEvent('TenantCreated', { tenantId: T1 }, { schemaVersion: 2 })],
      },
    ]);
    const runner = new ReadModelRunner(store, await open());
    runners.push(runner);
    await runner.register(new TenantsProjection());
    runner.start();
    await expect(runner.waitFor('tenants', 1, 2000)).rejects.toThrow(/schema version 2/);
    expect(runner.status()[0]).toMatchObject({ state: 'failed' });
  });
});
