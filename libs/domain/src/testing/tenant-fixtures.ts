// Tenant histories and event builders the directory specs share, written as the streams hold them
// now (each activity beside the bookkeeping its decision wrote), so each spec states only what its
// rule needs.

import { domainOfUpn } from '../shared/names.js';
import type { LicenseRemovalReason, RedeemingIdentity, Role } from '../tenant/commands.js';
import type { DirectoryEvent, GuestInvited, UserType } from '../tenant/events.js';

export const TENANT_ID = 't-1';
export const INITIAL = 'contoso.onmicrosoft.com';
export const ADMIN = 'u-admin';
export const ALICE = 'u-alice';
export const BOB = 'u-bob';
export const GUEST = 'u-guest';
export const INVITATION = 'inv-1';
export const HASH = 'a'.repeat(64);
/** One day after TEST_NOW. */
export const EXPIRES = '2026-01-02T00:00:00.000Z';

export const tenantCreated: DirectoryEvent = {
  type: 'TenantCreated',
  data: {
    tenantId: TENANT_ID,
    displayName: 'Contoso',
    kind: 'business',
    domainPrefix: 'contoso',
    initialDomain: INITIAL,
  },
};

// ---------------------------------------------------------------- domains

export const domainAdded = (name: string, verificationCode = 'ms12345678'): DirectoryEvent => ({
  type: 'DomainAdded',
  data: { name, verificationCode },
});
export const domainVerified = (name: string): DirectoryEvent => ({ type: 'DomainVerified', data: { name } });
export const verifiedDomain = (name: string): DirectoryEvent[] => [domainAdded(name), domainVerified(name)];

export const domainUseTaken = (domain: string, userId: string): DirectoryEvent => ({
  type: 'DomainUseTaken',
  data: { domain, userId },
});
export const domainUseReleased = (domain: string, userId: string): DirectoryEvent => ({
  type: 'DomainUseReleased',
  data: { domain, userId },
});

// ---------------------------------------------------------------- members and their lifecycle

export const memberCreated = (
  userId: string,
  userPrincipalName: string,
  displayName = 'Some One',
): DirectoryEvent => ({
  type: 'MemberCreated',
  data: { userId, userPrincipalName, displayName },
});

/** A member created in a custom domain: its object, and the account its domain's ledger counts. */
export const customDomainMember = (
  userId: string,
  userPrincipalName: string,
  displayName = 'Some One',
): DirectoryEvent[] => [
  memberCreated(userId, userPrincipalName, displayName),
  domainUseTaken(domainOfUpn(userPrincipalName), userId),
];

export const userBlocked = (userId: string): DirectoryEvent => ({ type: 'UserBlocked', data: { userId } });
export const userUnblocked = (userId: string): DirectoryEvent => ({
  type: 'UserUnblocked',
  data: { userId },
});
export const userDeleted = (userId: string): DirectoryEvent => ({ type: 'UserDeleted', data: { userId } });
export const userRestored = (userId: string): DirectoryEvent => ({ type: 'UserRestored', data: { userId } });

// ---------------------------------------------------------------- roles and the tenant's role holders

export const roleAssigned = (userId: string, role: Role): DirectoryEvent => ({
  type: 'RoleAssigned',
  data: { userId, role },
});
export const roleRemoved = (userId: string, role: Role): DirectoryEvent => ({
  type: 'RoleRemoved',
  data: { userId, role },
});

export interface HolderOptions {
  readonly userType?: UserType;
  /** Neither blocked nor deleted; true unless said otherwise. */
  readonly active?: boolean;
}

/** The tenant's entry for a user and every role it holds (`[]`: it holds none any more). */
export const roleHolderChanged = (
  userId: string,
  roles: readonly Role[],
  { userType = 'Member', active = true }: HolderOptions = {},
): DirectoryEvent => ({
  type: 'RoleHolderChanged',
  data: { userId, userType, roles: [...roles], active },
});

/**
 * A role given, as its decision stored it: the user's RoleAssigned, and the tenant's entry with
 * every role the user then holds (`roles`, when it held some before).
 */
export const roleGiven = (
  userId: string,
  role: Role,
  options: HolderOptions & { readonly roles?: readonly Role[] } = {},
): DirectoryEvent[] => [
  roleAssigned(userId, role),
  roleHolderChanged(userId, options.roles ?? [role], options),
];

/** An active member made Global Administrator. */
export const globalAdministrator = (userId: string): DirectoryEvent[] =>
  roleGiven(userId, 'GlobalAdministrator');

/** A Global Administrator blocked: its object, and its tenant entry no longer active. */
export const blockedAdministrator = (userId: string): DirectoryEvent[] => [
  userBlocked(userId),
  roleHolderChanged(userId, ['GlobalAdministrator'], { active: false }),
];

/** A Global Administrator deleted: its object, and its tenant entry no longer active. */
export const deletedAdministrator = (userId: string): DirectoryEvent[] => [
  userDeleted(userId),
  roleHolderChanged(userId, ['GlobalAdministrator'], { active: false }),
];

export const signedUp: DirectoryEvent[] = [
  tenantCreated,
  memberCreated(ADMIN, `admin@${INITIAL}`, 'Ada Admin'),
  ...globalAdministrator(ADMIN),
];
export const withAlice: DirectoryEvent[] = [
  ...signedUp,
  memberCreated(ALICE, `Alice@${INITIAL}`, 'Alice Smith'),
];
export const withVerifiedDomain: DirectoryEvent[] = [...signedUp, ...verifiedDomain('contoso.com')];
export const withSecondAdmin: DirectoryEvent[] = [
  ...withAlice,
  memberCreated(BOB, `bob@${INITIAL}`, 'Bob'),
  ...globalAdministrator(BOB),
];

// ---------------------------------------------------------------- guests and invitations

export const guestInvited = (overrides: Partial<GuestInvited['data']> = {}): DirectoryEvent => ({
  type: 'GuestInvited',
  data: {
    userId: GUEST,
    invitationId: INVITATION,
    email: 'Bob@example.com',
    displayName: 'Bob',
    userPrincipalName: `bob_example.com#EXT#@${INITIAL}`,
    redeemCodeHash: HASH,
    expiresAt: EXPIRES,
    ...overrides,
  },
});

export const invitationRedeemed = (
  identity: RedeemingIdentity = { kind: 'external', email: 'Bob@example.com' },
  invitationId = INVITATION,
  userId = GUEST,
): DirectoryEvent => ({ type: 'InvitationRedeemed', data: { invitationId, userId, identity } });

export const invitationRevoked = (invitationId = INVITATION, userId = GUEST): DirectoryEvent => ({
  type: 'InvitationRevoked',
  data: { invitationId, userId },
});

export const withGuest: DirectoryEvent[] = [...withAlice, guestInvited()];
export const withAcceptedGuest: DirectoryEvent[] = [...withGuest, invitationRedeemed()];

// ---------------------------------------------------------------- subscriptions and licenses

export const subscriptionPurchased = (
  subscriptionId: string,
  sku: string,
  seats: number,
): DirectoryEvent => ({
  type: 'SubscriptionPurchased',
  data: { subscriptionId, sku, seats },
});
export const subscriptionCancelled = (subscriptionId = 's-1', sku = 'E3'): DirectoryEvent => ({
  type: 'SubscriptionCancelled',
  data: { subscriptionId, sku },
});

export const licenseAssigned = (userId: string, sku: string, subscriptionId: string): DirectoryEvent => ({
  type: 'LicenseAssigned',
  data: { userId, sku, subscriptionId },
});
export const licenseRemoved = (
  userId: string,
  reason: LicenseRemovalReason = 'removed',
  sku = 'E3',
  subscriptionId = 's-1',
): DirectoryEvent => ({ type: 'LicenseRemoved', data: { userId, sku, subscriptionId, reason } });

export const seatTaken = (subscriptionId: string, userId: string): DirectoryEvent => ({
  type: 'SeatTaken',
  data: { subscriptionId, userId },
});
export const seatReleased = (subscriptionId: string, userId: string): DirectoryEvent => ({
  type: 'SeatReleased',
  data: { subscriptionId, userId },
});

/** A license assigned, as stored: the user's LicenseAssigned and the seat its ledger counts. */
export const licensed = (userId: string, sku: string, subscriptionId: string): DirectoryEvent[] => [
  licenseAssigned(userId, sku, subscriptionId),
  seatTaken(subscriptionId, userId),
];

/** A license removed, as stored: the user's LicenseRemoved and the seat given back to its ledger. */
export const unlicensed = (
  userId: string,
  reason: LicenseRemovalReason = 'removed',
  sku = 'E3',
  subscriptionId = 's-1',
): DirectoryEvent[] => [
  licenseRemoved(userId, reason, sku, subscriptionId),
  seatReleased(subscriptionId, userId),
];
