// Tenant histories and event builders shared by the tenant specs on guests and licenses, so each
// spec states only what its rule needs.

import type { RedeemingIdentity, Role, TenantEvent } from '../tenant/types.js';

export const TENANT_ID = 't-1';
export const INITIAL = 'contoso.onmicrosoft.com';
export const ADMIN = 'u-admin';
export const ALICE = 'u-alice';
export const GUEST = 'u-guest';
export const INVITATION = 'inv-1';
export const HASH = 'a'.repeat(64);
/** One day after TEST_NOW. */
export const EXPIRES = '2026-01-02T00:00:00.000Z';

export const tenantCreated: TenantEvent = {
  type: 'TenantCreated',
  data: {
    tenantId: TENANT_ID,
    displayName: 'Contoso',
    kind: 'business',
    domainPrefix: 'contoso',
    initialDomain: INITIAL,
  },
};

export const memberCreated = (
  userId: string,
  userPrincipalName: string,
  displayName = 'Some One',
): TenantEvent => ({
  type: 'MemberCreated',
  data: { userId, userPrincipalName, displayName },
});

export const roleAssigned = (userId: string, role: Role): TenantEvent => ({
  type: 'RoleAssigned',
  data: { userId, role },
});

export const userBlocked = (userId: string): TenantEvent => ({ type: 'UserBlocked', data: { userId } });
export const userDeleted = (userId: string): TenantEvent => ({ type: 'UserDeleted', data: { userId } });
export const userRestored = (userId: string): TenantEvent => ({ type: 'UserRestored', data: { userId } });

export const signedUp: TenantEvent[] = [
  tenantCreated,
  memberCreated(ADMIN, `admin@${INITIAL}`, 'Ada Admin'),
  roleAssigned(ADMIN, 'GlobalAdministrator'),
];
export const withAlice: TenantEvent[] = [
  ...signedUp,
  memberCreated(ALICE, `Alice@${INITIAL}`, 'Alice Smith'),
];

export const guestInvited = (
  overrides: Partial<Extract<TenantEvent, { type: 'GuestInvited' }>['data']> = {},
): TenantEvent => ({
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
): TenantEvent => ({ type: 'InvitationRedeemed', data: { invitationId, userId, identity } });

export const invitationRevoked = (invitationId = INVITATION, userId = GUEST): TenantEvent => ({
  type: 'InvitationRevoked',
  data: { invitationId, userId },
});

export const withGuest: TenantEvent[] = [...withAlice, guestInvited()];
export const withAcceptedGuest: TenantEvent[] = [...withGuest, invitationRedeemed()];

export const subscriptionPurchased = (subscriptionId: string, sku: string, seats: number): TenantEvent => ({
  type: 'SubscriptionPurchased',
  data: { subscriptionId, sku, seats },
});

export const licenseAssigned = (userId: string, sku: string, subscriptionId: string): TenantEvent => ({
  type: 'LicenseAssigned',
  data: { userId, sku, subscriptionId },
});
