// The migration from the one-stream layout: the image of a tenant stream that held its whole
// directory, with the bookkeeping that layout never wrote (role holders, seat and domain counts,
// guest address claims), and today's rules deciding on it as on a directory written today.

import { describe, expect, it } from 'vitest';

import { givenDirectory } from '../testing/directory.js';
import {
  ADMIN,
  ALICE,
  BOB,
  EXPIRES,
  guestInvited,
  HASH,
  INITIAL,
  invitationRedeemed,
  licenseAssigned,
  licenseRemoved,
  memberCreated,
  roleAssigned,
  roleRemoved,
  seatReleased,
  subscriptionCancelled,
  subscriptionPurchased,
  TENANT_ID,
  tenantCreated,
  userBlocked,
  userDeleted,
  verifiedDomain,
  domainAdded,
} from '../testing/tenant-fixtures.js';
import type { TenantCommand } from './commands.js';
import type { DirectoryEvent } from './events.js';
import { isLegacyTenantEvent, legacyTenantImage } from './legacy-layout.js';

const CAROL = 'u-carol';
const EVE = 'u-eve';
const PENDING = 'g-pending';
const ACCEPTED = 'g-accepted';
const REMOVED = 'g-removed';
const RESENT_HASH = 'b'.repeat(64);

// A tenant stream as the one-stream layout wrote it: no bookkeeping, every object in it.
const legacy: DirectoryEvent[] = [
  tenantCreated,
  memberCreated(ADMIN, `admin@${INITIAL}`, 'Ada Admin'),
  roleAssigned(ADMIN, 'GlobalAdministrator'),
  ...verifiedDomain('contoso.com'),
  ...verifiedDomain('fabrikam.com'),
  domainAdded('northwind.com'),
  { type: 'MfaRequirementChanged', data: { required: true, previousRequired: false } },
  memberCreated(ALICE, 'Alice@contoso.com', 'Alice'),
  roleAssigned(ALICE, 'UserAdministrator'),
  roleAssigned(ALICE, 'GuestInviter'),
  roleAssigned(ALICE, 'SecurityReader'),
  roleRemoved(ALICE, 'GuestInviter'),
  { type: 'MfaMethodRegistered', data: { userId: ALICE, methodId: 'm-1', kind: 'sms' } },
  memberCreated(BOB, 'bob@contoso.com', 'Bob'),
  memberCreated(CAROL, 'carol@contoso.com', 'Carol'),
  {
    type: 'UserPrincipalNameChanged',
    data: {
      userId: CAROL,
      previousUserPrincipalName: 'carol@contoso.com',
      userPrincipalName: 'carol@fabrikam.com',
    },
  },
  memberCreated(EVE, `eve@${INITIAL}`, 'Eve'),
  roleAssigned(EVE, 'GlobalAdministrator'),
  userBlocked(EVE),
  subscriptionPurchased('s-old', 'E5', 3),
  licenseAssigned(ALICE, 'E5', 's-old'),
  licenseRemoved(ALICE, 'removed', 'E5', 's-old'),
  subscriptionCancelled('s-old', 'E5'),
  subscriptionPurchased('s-e3', 'E3', 10),
  subscriptionPurchased('s-visio', 'VISIO', 2),
  licenseAssigned(ALICE, 'E3', 's-e3'),
  licenseAssigned(ALICE, 'VISIO', 's-visio'),
  licenseAssigned(BOB, 'E3', 's-e3'),
  licenseAssigned(CAROL, 'VISIO', 's-visio'),
  userDeleted(BOB),
  guestInvited({
    userId: PENDING,
    invitationId: 'INV-Pending',
    email: 'Pat@Example.com',
    displayName: 'Pat',
  }),
  guestInvited({
    userId: ACCEPTED,
    invitationId: 'inv-accepted',
    email: 'acc@example.com',
    displayName: 'Acc',
  }),
  invitationRedeemed({ kind: 'external', email: 'acc@example.com' }, 'inv-accepted', ACCEPTED),
  licenseAssigned(ACCEPTED, 'E3', 's-e3'),
  guestInvited({
    userId: REMOVED,
    invitationId: 'inv-removed',
    email: 'rem@example.com',
    displayName: 'Rem',
  }),
  userDeleted(REMOVED),
  {
    type: 'InvitationResent',
    data: { invitationId: 'INV-Pending', userId: PENDING, redeemCodeHash: RESENT_HASH, expiresAt: EXPIRES },
  },
  roleAssigned(ACCEPTED, 'SecurityReader'),
  { type: 'PasswordResetOrdered', data: { userId: ALICE } },
];

const image = legacyTenantImage(legacy);

/** Today's streams, as the migration opens them from the image. */
const migrated: DirectoryEvent[] = [
  { type: 'TenantMigrated', data: { tenant: image.tenant } },
  ...image.users.map((user): DirectoryEvent => ({ type: 'UserMigrated', data: { user } })),
  ...image.seats.map((seats): DirectoryEvent => ({ type: 'SeatsMigrated', data: seats })),
  ...image.domainUse.map((use): DirectoryEvent => ({ type: 'DomainUseMigrated', data: use })),
];

describe('isLegacyTenantEvent', () => {
  it('tells the one-stream layout by the objects a tenant stream holds', () => {
    expect(legacy.filter(isLegacyTenantEvent).map((event) => event.type)).toEqual([
      ...Array<string>(5).fill('MemberCreated'),
      ...Array<string>(3).fill('GuestInvited'),
    ]);
    expect(
      isLegacyTenantEvent({
        type: 'RoleHolderChanged',
        data: { userId: ADMIN, userType: 'Member', roles: [], active: true },
      }),
    ).toBe(false);
  });
});

describe('legacyTenantImage', () => {
  it('keeps what is tenant-wide: profile, domains, MFA policy and subscriptions', () => {
    expect(image.tenant).toMatchObject({
      tenantId: TENANT_ID,
      displayName: 'Contoso',
      kind: 'business',
      initialDomain: INITIAL,
      primaryDomain: INITIAL,
      mfaRequired: true,
      subscriptions: [
        { subscriptionId: 's-old', sku: 'E5', seats: 3, status: 'cancelled' },
        { subscriptionId: 's-e3', sku: 'E3', seats: 10, status: 'active' },
        { subscriptionId: 's-visio', sku: 'VISIO', seats: 2, status: 'active' },
      ],
    });
    expect(image.tenant.domains.map((domain) => [domain.name, domain.isVerified])).toEqual([
      [INITIAL, true],
      ['contoso.com', true],
      ['fabrikam.com', true],
      ['northwind.com', false],
    ]);
  });

  it('lists every user object, deleted ones included, in the order created, each with its revision', () => {
    expect(image.users.map((user) => [user.userId, user.revision])).toEqual([
      [ADMIN, 2],
      [ALICE, 11],
      [BOB, 3],
      [CAROL, 3],
      [EVE, 3],
      [PENDING, 2],
      [ACCEPTED, 4],
      [REMOVED, 2],
    ]);
  });

  it("keeps each user's state: names, lifecycle, roles and licenses in their order, MFA, invitation", () => {
    const [, alice, bob, carol, eve, pending, accepted, removed] = image.users;
    expect(alice).toEqual({
      userId: ALICE,
      userType: 'Member',
      userPrincipalName: 'Alice@contoso.com',
      displayName: 'Alice',
      blocked: false,
      deleted: false,
      roles: ['UserAdministrator', 'SecurityReader'],
      licenses: [
        { sku: 'E3', subscriptionId: 's-e3' },
        { sku: 'VISIO', subscriptionId: 's-visio' },
      ],
      mfaMethods: [{ methodId: 'm-1', kind: 'sms' }],
      revision: 11,
    });
    expect(bob).toMatchObject({ deleted: true, licenses: [{ sku: 'E3', subscriptionId: 's-e3' }] });
    expect(carol).toMatchObject({ userPrincipalName: 'carol@fabrikam.com' });
    expect(eve).toMatchObject({ blocked: true, roles: ['GlobalAdministrator'] });
    expect(pending).toMatchObject({
      userType: 'Guest',
      guest: { email: 'Pat@Example.com', invitationId: 'INV-Pending', state: 'PendingAcceptance' },
      invitation: { status: 'PendingAcceptance', redeemCodeHash: RESENT_HASH, expiresAt: EXPIRES },
    });
    expect(accepted).toMatchObject({
      guest: { state: 'Accepted', identity: { kind: 'external', email: 'acc@example.com' } },
      invitation: { status: 'Accepted', redeemCodeHash: HASH },
      roles: ['SecurityReader'],
      licenses: [{ sku: 'E3', subscriptionId: 's-e3' }],
    });
    expect(removed).toMatchObject({ deleted: true, guest: { state: 'PendingAcceptance' } });
  });

  it('enters every user holding roles as a role holder, a blocked administrator as inactive and a guest as a guest', () => {
    expect(image.tenant.roleHolders).toEqual([
      { userId: ADMIN, userType: 'Member', roles: ['GlobalAdministrator'], active: true },
      { userId: ALICE, userType: 'Member', roles: ['UserAdministrator', 'SecurityReader'], active: true },
      { userId: EVE, userType: 'Member', roles: ['GlobalAdministrator'], active: false },
      { userId: ACCEPTED, userType: 'Guest', roles: ['SecurityReader'], active: true },
    ]);
  });

  it("counts each subscription's seats in use, a deleted user's still-held license included; a cancelled one has none", () => {
    expect(image.seats).toEqual([
      { subscriptionId: 's-old', assigned: 0 },
      { subscriptionId: 's-e3', assigned: 3 },
      { subscriptionId: 's-visio', assigned: 2 },
    ]);
  });

  it("counts each custom domain's accounts where their UPN is now: deleted ones included, moved ones moved", () => {
    expect(image.domainUse).toEqual([
      { domain: 'contoso.com', accounts: 2 },
      { domain: 'fabrikam.com', accounts: 1 },
    ]);
  });

  it('claims the address of live guests only: a removed guest gave its address back', () => {
    expect(image.guestClaims).toEqual([
      { value: `${TENANT_ID}:pat@example.com`, userId: PENDING },
      { value: `${TENANT_ID}:acc@example.com`, userId: ACCEPTED },
    ]);
  });

  it('hands every invitation id, lower case, to the guest it created, removed guests included', () => {
    expect(image.invitations).toEqual([
      { invitationId: 'inv-pending', userId: PENDING },
      { invitationId: 'inv-accepted', userId: ACCEPTED },
      { invitationId: 'inv-removed', userId: REMOVED },
    ]);
  });

  it('is plain data, as the events that carry it are stored', () => {
    expect(JSON.parse(JSON.stringify(image))).toEqual(image);
  });
});

describe("today's rules on a migrated tenant", () => {
  const when = (command: TenantCommand) => givenDirectory(migrated).when(command);
  const admin = (command: Omit<TenantCommand, 'actingUserId'>, actingUserId = ADMIN) =>
    ({ ...command, actingUserId }) as TenantCommand;

  it('keep a custom domain its accounts use, and remove one none uses', () => {
    when(admin({ type: 'RemoveDomain', data: { name: 'contoso.com' } })).thenRejects('domain_in_use');
    when(admin({ type: 'RemoveDomain', data: { name: 'fabrikam.com' } })).thenRejects('domain_in_use');
    when(admin({ type: 'RemoveDomain', data: { name: 'northwind.com' } })).then([
      { type: 'DomainRemoved', data: { name: 'northwind.com', wasVerified: false } },
    ]);
  });

  it('keep the last active Global Administrator: the blocked one does not count', () => {
    when(admin({ type: 'BlockUser', data: { userId: ADMIN } })).thenRejects('last_global_admin');
  });

  it('authorise a role holder the migration entered, and refuse the blocked one', () => {
    when(
      admin(
        { type: 'CreateMember', data: { userPrincipalName: 'dan@contoso.com', displayName: 'Dan' } },
        ALICE,
      ),
    ).then([
      memberCreated('id-1', 'dan@contoso.com', 'Dan'),
      { type: 'DomainUseTaken', data: { domain: 'contoso.com', userId: 'id-1' } },
    ]);
    when(admin({ type: 'SetMfaRequirement', data: { required: false } }, EVE)).thenRejects('forbidden_role');
  });

  it('refuse a seat beyond the ledger, and free the seat of a deleted user', () => {
    when(admin({ type: 'AssignLicense', data: { userId: ADMIN, sku: 'VISIO' } })).thenRejects(
      'count_violation',
    );
    when({
      type: 'RemoveLicense',
      initiatedBy: 'system',
      data: { userId: BOB, sku: 'E3', reason: 'user_deleted' },
    }).then([licenseRemoved(BOB, 'user_deleted', 'E3', 's-e3'), seatReleased('s-e3', BOB)]);
  });

  it("refuse a live guest's address, and invite a removed guest's address again", () => {
    const invite = (email: string) =>
      admin({
        type: 'InviteGuest',
        data: { invitationId: 'inv-new', email, redeemCodeHash: HASH, expiresAt: EXPIRES },
      });
    when(invite('pat@example.com')).thenRejects('already_member');
    expect(Array.isArray(when(invite('rem@example.com')).decision)).toBe(true);
  });

  it('find an invitation by its id, whatever its case, and redeem it with the code last sent', () => {
    when({
      type: 'RedeemInvitation',
      data: {
        invitationId: 'inv-pending',
        redeemCodeHash: RESENT_HASH,
        identity: { kind: 'external', email: 'pat@example.com' },
      },
    }).then([
      {
        type: 'InvitationRedeemed',
        data: {
          invitationId: 'INV-Pending',
          userId: PENDING,
          identity: { kind: 'external', email: 'pat@example.com' },
        },
      },
    ]);
  });

  it("count on from each user's revision", () => {
    const state = when(
      admin({ type: 'RenameUser', data: { userId: ALICE, displayName: 'Alice Smith' } }),
    ).then([
      {
        type: 'UserRenamed',
        data: { userId: ALICE, previousDisplayName: 'Alice', displayName: 'Alice Smith' },
      },
    ]);
    expect(state.user(ALICE)?.revision).toBe(12);
  });
});
