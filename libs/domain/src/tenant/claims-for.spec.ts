// Which uniqueness claims each directory event takes and gives back: what keeps UPNs, verified
// domains and invitation ids unique service-wide, and a guest's address unique among its tenant's
// live guests.

import { describe, expect, it } from 'vitest';

import { MemoryDirectory } from '../testing/directory.js';
import {
  domainAdded,
  guestInvited,
  INITIAL,
  memberCreated,
  TENANT_ID,
  tenantCreated,
  userDeleted,
} from '../testing/tenant-fixtures.js';
import { claimsFor } from './claims-for.js';
import type { DirectoryEvent } from './events.js';

const before = MemoryDirectory.of([
  tenantCreated,
  memberCreated('u-1', `Alice@${INITIAL}`, 'Alice'),
  domainAdded('contoso.com'),
  guestInvited({ userId: 'u-guest', invitationId: 'inv-1', email: 'Bob@Example.com' }),
]);

describe('claimsFor', () => {
  it("claims a new tenant's initial domain, which takes its prefix", () => {
    expect(claimsFor(tenantCreated, MemoryDirectory.of([]))).toEqual({
      claims: [{ kind: 'domain', value: INITIAL, ownerId: TENANT_ID, takenCode: 'tenant_prefix_taken' }],
      releases: [],
    });
  });

  it("claims a new member's UPN in lower case", () => {
    const event: DirectoryEvent = {
      type: 'MemberCreated',
      data: { userId: 'u-2', userPrincipalName: `Bob.Smith@${INITIAL}`, displayName: 'Bob' },
    };
    expect(claimsFor(event, before)).toEqual({
      claims: [{ kind: 'upn', value: `bob.smith@${INITIAL}`, ownerId: 'u-2', takenCode: 'upn_taken' }],
      releases: [],
    });
  });

  it('releases the previous UPN and claims the new one when a UPN changes', () => {
    const event: DirectoryEvent = {
      type: 'UserPrincipalNameChanged',
      data: {
        userId: 'u-1',
        previousUserPrincipalName: `Alice@${INITIAL}`,
        userPrincipalName: 'Alice@contoso.com',
      },
    };
    expect(claimsFor(event, before)).toEqual({
      claims: [{ kind: 'upn', value: 'alice@contoso.com', ownerId: 'u-1', takenCode: 'upn_taken' }],
      releases: [{ kind: 'upn', value: `alice@${INITIAL}`, ownerId: 'u-1', takenCode: 'upn_taken' }],
    });
  });

  it('keeps the claim when only the case of the UPN changes', () => {
    const event: DirectoryEvent = {
      type: 'UserPrincipalNameChanged',
      data: {
        userId: 'u-1',
        previousUserPrincipalName: `Alice@${INITIAL}`,
        userPrincipalName: `alice@${INITIAL}`,
      },
    };
    const { claims, releases } = claimsFor(event, before);
    expect(releases).toEqual([]);
    // Claiming what one holds is a no-op in the claim decider.
    expect(claims).toEqual([
      { kind: 'upn', value: `alice@${INITIAL}`, ownerId: 'u-1', takenCode: 'upn_taken' },
    ]);
  });

  it("claims an invitation's id, lower case, for its guest, and the guest's address within the tenant", () => {
    const event: DirectoryEvent = {
      type: 'GuestInvited',
      data: {
        userId: 'u-9',
        invitationId: '0190A6B2-7C3D-7E4F-8A5B-6C7D8E9F0A1B',
        email: 'Carol@Example.com',
        displayName: 'Carol',
        userPrincipalName: `carol_example.com#EXT#@${INITIAL}`,
        redeemCodeHash: 'hash',
        expiresAt: '2030-01-01T00:00:00Z',
      },
    };
    expect(claimsFor(event, before)).toEqual({
      claims: [
        {
          kind: 'invitation',
          value: '0190a6b2-7c3d-7e4f-8a5b-6c7d8e9f0a1b',
          ownerId: 'u-9',
          takenCode: 'invitation_exists',
        },
        {
          kind: 'guest',
          value: `${TENANT_ID}:carol@example.com`,
          ownerId: 'u-9',
          takenCode: 'already_member',
        },
      ],
      releases: [],
    });
  });

  it('releases the address of a guest removed, so it may be invited again', () => {
    expect(claimsFor(userDeleted('u-guest'), before)).toEqual({
      claims: [],
      releases: [
        {
          kind: 'guest',
          value: `${TENANT_ID}:bob@example.com`,
          ownerId: 'u-guest',
          takenCode: 'already_member',
        },
      ],
    });
  });

  it('claims the address again for a guest restored', () => {
    const removed = before.with([userDeleted('u-guest')]);
    expect(claimsFor({ type: 'UserRestored', data: { userId: 'u-guest' } }, removed)).toEqual({
      claims: [
        {
          kind: 'guest',
          value: `${TENANT_ID}:bob@example.com`,
          ownerId: 'u-guest',
          takenCode: 'already_member',
        },
      ],
      releases: [],
    });
  });

  it('claims a verified domain for the tenant', () => {
    expect(claimsFor({ type: 'DomainVerified', data: { name: 'contoso.com' } }, before)).toEqual({
      claims: [{ kind: 'domain', value: 'contoso.com', ownerId: TENANT_ID, takenCode: 'domain_taken' }],
      releases: [],
    });
  });

  it('releases a verified domain the tenant removes', () => {
    expect(
      claimsFor({ type: 'DomainRemoved', data: { name: 'contoso.com', wasVerified: true } }, before),
    ).toEqual({
      claims: [],
      releases: [{ kind: 'domain', value: 'contoso.com', ownerId: TENANT_ID, takenCode: 'domain_taken' }],
    });
  });

  it('releases nothing for an unverified domain the tenant removes', () => {
    expect(
      claimsFor({ type: 'DomainRemoved', data: { name: 'contoso.com', wasVerified: false } }, before),
    ).toEqual({
      claims: [],
      releases: [],
    });
  });

  it.each<DirectoryEvent>([
    { type: 'DomainAdded', data: { name: 'fabrikam.com', verificationCode: 'ms12345678' } },
    { type: 'PrimaryDomainChanged', data: { previousDomain: INITIAL, domain: 'contoso.com' } },
    { type: 'MfaRequirementChanged', data: { required: true, previousRequired: false } },
    { type: 'UserRenamed', data: { userId: 'u-1', previousDisplayName: 'Alice', displayName: 'Al' } },
    { type: 'PasswordResetOrdered', data: { userId: 'u-1' } },
    { type: 'UserBlocked', data: { userId: 'u-1' } },
    { type: 'UserUnblocked', data: { userId: 'u-1' } },
    // A deleted account can be restored, so it keeps its UPN.
    { type: 'UserDeleted', data: { userId: 'u-1' } },
    { type: 'UserRestored', data: { userId: 'u-1' } },
    { type: 'MfaMethodRegistered', data: { userId: 'u-1', methodId: 'm-1', kind: 'sms' } },
    { type: 'RoleAssigned', data: { userId: 'u-1', role: 'GuestInviter' } },
    { type: 'RoleRemoved', data: { userId: 'u-1', role: 'GuestInviter' } },
    // A guest's UPN is in the tenant's own initial domain and guest notation: unique by construction.
    {
      type: 'InvitationResent',
      data: {
        invitationId: 'inv-1',
        userId: 'u-guest',
        redeemCodeHash: 'h',
        expiresAt: '2030-01-01T00:00:00Z',
      },
    },
    { type: 'InvitationRevoked', data: { invitationId: 'inv-1', userId: 'u-guest' } },
    {
      type: 'InvitationRedeemed',
      data: {
        invitationId: 'inv-1',
        userId: 'u-guest',
        identity: { kind: 'external', email: 'b@example.com' },
      },
    },
    { type: 'SubscriptionPurchased', data: { subscriptionId: 's-1', sku: 'E3', seats: 1 } },
    { type: 'SeatsChanged', data: { subscriptionId: 's-1', sku: 'E3', previousSeats: 1, seats: 2 } },
    { type: 'SubscriptionCancelled', data: { subscriptionId: 's-1', sku: 'E3' } },
    { type: 'LicenseAssigned', data: { userId: 'u-1', sku: 'E3', subscriptionId: 's-1' } },
    { type: 'LicenseRemoved', data: { userId: 'u-1', sku: 'E3', subscriptionId: 's-1', reason: 'removed' } },
    // Bookkeeping holds nothing unique.
    {
      type: 'RoleHolderChanged',
      data: { userId: 'u-1', userType: 'Member', roles: ['GuestInviter'], active: true },
    },
    { type: 'SeatTaken', data: { subscriptionId: 's-1', userId: 'u-1' } },
    { type: 'SeatReleased', data: { subscriptionId: 's-1', userId: 'u-1' } },
    { type: 'DomainUseTaken', data: { domain: 'contoso.com', userId: 'u-1' } },
    { type: 'DomainUseReleased', data: { domain: 'contoso.com', userId: 'u-1' } },
  ])('claims and releases nothing for $type', (event) => {
    expect(claimsFor(event, before)).toEqual({ claims: [], releases: [] });
  });
});
