// Which aggregate each directory event goes to: one entry per event type (the compiler keeps the
// table complete), so a new event can't silently land in the wrong stream.

import { describe, expect, it } from 'vitest';

import {
  ALICE,
  domainAdded,
  domainUseReleased,
  domainUseTaken,
  guestInvited,
  GUEST,
  INITIAL,
  invitationRedeemed,
  invitationRevoked,
  licenseAssigned,
  licenseRemoved,
  memberCreated,
  roleAssigned,
  roleHolderChanged,
  roleRemoved,
  seatReleased,
  seatTaken,
  subscriptionCancelled,
  subscriptionPurchased,
  tenantCreated,
  userBlocked,
  userDeleted,
  userRestored,
  userUnblocked,
} from '../testing/tenant-fixtures.js';
import { aggregateKey, aggregateOf, type DirectoryAggregate } from './aggregates.js';
import { INTERNAL_DIRECTORY_EVENT_TYPES, type DirectoryEvent } from './events.js';

const TENANT: DirectoryAggregate = { kind: 'tenant' };
const user = (userId: string): DirectoryAggregate => ({ kind: 'user', userId });
const seats = (subscriptionId: string): DirectoryAggregate => ({ kind: 'seats', subscriptionId });
const domainUse = (domain: string): DirectoryAggregate => ({ kind: 'domainUse', domain });

/** An event of every type, and the aggregate whose stream it belongs to. */
const ROUTES: { readonly [T in DirectoryEvent['type']]: readonly [DirectoryEvent, DirectoryAggregate] } = {
  // Tenant-wide: profile, domains, MFA policy, subscriptions, role holders.
  TenantCreated: [tenantCreated, TENANT],
  DomainAdded: [domainAdded('contoso.com'), TENANT],
  DomainVerified: [{ type: 'DomainVerified', data: { name: 'contoso.com' } }, TENANT],
  PrimaryDomainChanged: [
    { type: 'PrimaryDomainChanged', data: { previousDomain: INITIAL, domain: 'contoso.com' } },
    TENANT,
  ],
  DomainRemoved: [{ type: 'DomainRemoved', data: { name: 'contoso.com', wasVerified: true } }, TENANT],
  MfaRequirementChanged: [
    { type: 'MfaRequirementChanged', data: { required: true, previousRequired: false } },
    TENANT,
  ],
  SubscriptionPurchased: [subscriptionPurchased('s-1', 'E3', 1), TENANT],
  SeatsChanged: [
    { type: 'SeatsChanged', data: { subscriptionId: 's-1', sku: 'E3', previousSeats: 1, seats: 2 } },
    TENANT,
  ],
  SubscriptionCancelled: [subscriptionCancelled('s-1'), TENANT],
  RoleHolderChanged: [roleHolderChanged(ALICE, ['GuestInviter']), TENANT],
  TenantMigrated: [
    {
      type: 'TenantMigrated',
      data: {
        tenant: {
          tenantId: 't-1',
          displayName: 'Contoso',
          kind: 'business',
          initialDomain: INITIAL,
          primaryDomain: INITIAL,
          domains: [],
          mfaRequired: false,
          roleHolders: [],
          subscriptions: [],
        },
      },
    },
    TENANT,
  ],
  // One user object: everything about a member or a guest, its roles and licenses included.
  MemberCreated: [memberCreated(ALICE, `alice@${INITIAL}`), user(ALICE)],
  UserRenamed: [
    { type: 'UserRenamed', data: { userId: ALICE, previousDisplayName: 'A', displayName: 'B' } },
    user(ALICE),
  ],
  UserPrincipalNameChanged: [
    {
      type: 'UserPrincipalNameChanged',
      data: {
        userId: ALICE,
        previousUserPrincipalName: `alice@${INITIAL}`,
        userPrincipalName: 'alice@contoso.com',
      },
    },
    user(ALICE),
  ],
  PasswordResetOrdered: [{ type: 'PasswordResetOrdered', data: { userId: ALICE } }, user(ALICE)],
  UserBlocked: [userBlocked(ALICE), user(ALICE)],
  UserUnblocked: [userUnblocked(ALICE), user(ALICE)],
  UserDeleted: [userDeleted(ALICE), user(ALICE)],
  UserRestored: [userRestored(ALICE), user(ALICE)],
  MfaMethodRegistered: [
    { type: 'MfaMethodRegistered', data: { userId: ALICE, methodId: 'm-1', kind: 'sms' } },
    user(ALICE),
  ],
  RoleAssigned: [roleAssigned(ALICE, 'GuestInviter'), user(ALICE)],
  RoleRemoved: [roleRemoved(ALICE, 'GuestInviter'), user(ALICE)],
  LicenseAssigned: [licenseAssigned(ALICE, 'E3', 's-1'), user(ALICE)],
  LicenseRemoved: [licenseRemoved(ALICE), user(ALICE)],
  GuestInvited: [guestInvited(), user(GUEST)],
  InvitationResent: [
    {
      type: 'InvitationResent',
      data: { invitationId: 'inv-1', userId: GUEST, redeemCodeHash: 'h', expiresAt: '2030-01-01T00:00:00Z' },
    },
    user(GUEST),
  ],
  InvitationRevoked: [invitationRevoked(), user(GUEST)],
  InvitationRedeemed: [invitationRedeemed(), user(GUEST)],
  UserMigrated: [
    {
      type: 'UserMigrated',
      data: {
        user: {
          userId: ALICE,
          userType: 'Member',
          userPrincipalName: `alice@${INITIAL}`,
          displayName: 'Alice',
          blocked: false,
          deleted: false,
          roles: [],
          licenses: [],
          mfaMethods: [],
          revision: 4,
        },
      },
    },
    user(ALICE),
  ],
  // A subscription's seat ledger.
  SeatTaken: [seatTaken('s-1', ALICE), seats('s-1')],
  SeatReleased: [seatReleased('s-1', ALICE), seats('s-1')],
  SeatsMigrated: [{ type: 'SeatsMigrated', data: { subscriptionId: 's-1', assigned: 3 } }, seats('s-1')],
  // A custom domain's account count.
  DomainUseTaken: [domainUseTaken('contoso.com', ALICE), domainUse('contoso.com')],
  DomainUseReleased: [domainUseReleased('contoso.com', ALICE), domainUse('contoso.com')],
  DomainUseMigrated: [
    { type: 'DomainUseMigrated', data: { domain: 'contoso.com', accounts: 2 } },
    domainUse('contoso.com'),
  ],
};

describe('aggregateOf', () => {
  it.each(Object.entries(ROUTES))('sends %s to its aggregate', (type, [event, aggregate]) => {
    expect(event.type).toBe(type);
    expect(aggregateOf(event)).toEqual(aggregate);
  });

  it('sends the bookkeeping, and only it, to the counters and the role holders', () => {
    const internal = Object.entries(ROUTES)
      .filter(([type]) => INTERNAL_DIRECTORY_EVENT_TYPES.has(type))
      .map(([type]) => type);
    expect(internal.sort()).toEqual([...INTERNAL_DIRECTORY_EVENT_TYPES].sort());
    for (const [type, [event]] of Object.entries(ROUTES)) {
      const kind = aggregateOf(event).kind;
      if (kind === 'seats' || kind === 'domainUse')
        expect(INTERNAL_DIRECTORY_EVENT_TYPES.has(type)).toBe(true);
    }
  });
});

describe('aggregateKey', () => {
  it('names each aggregate of a tenant apart', () => {
    const keys = [
      TENANT,
      user('u-1'),
      user('u-2'),
      seats('u-1'),
      domainUse('u-1'),
      domainUse('contoso.com'),
    ].map(aggregateKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual([
      'tenant',
      'user:u-1',
      'user:u-2',
      'seats:u-1',
      'domain-use:u-1',
      'domain-use:contoso.com',
    ]);
  });
});
