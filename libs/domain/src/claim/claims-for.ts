// Which uniqueness claims a tenant event takes and which it gives back. The tenant decider checks
// uniqueness inside its own tenant; these claims extend it to the whole service.

import { upnKey } from '../shared/names.js';
import type { TenantEvent, TenantState } from '../tenant/types.js';
import type { ClaimRequest } from './types.js';

export interface ClaimsForEvent {
  readonly claims: ClaimRequest[];
  readonly releases: ClaimRequest[];
}

const none = (): ClaimsForEvent => ({ claims: [], releases: [] });

/** `state` is the tenant's state before `event`. */
export function claimsFor(event: TenantEvent, state: TenantState): ClaimsForEvent {
  switch (event.type) {
    case 'TenantCreated': {
      // The initial domain is claimed like any verified domain, so no tenant can ever verify it
      // and the prefix is taken for good.
      const { initialDomain, tenantId } = event.data;
      return {
        claims: [
          {
            kind: 'domain',
            value: initialDomain.toLowerCase(),
            ownerId: tenantId,
            takenCode: 'tenant_prefix_taken',
          },
        ],
        releases: [],
      };
    }
    case 'MemberCreated': {
      const { userId, userPrincipalName } = event.data;
      return { claims: [upnClaim(userPrincipalName, userId)], releases: [] };
    }
    case 'UserPrincipalNameChanged': {
      const { userId, previousUserPrincipalName, userPrincipalName } = event.data;
      const releases =
        upnKey(previousUserPrincipalName) === upnKey(userPrincipalName)
          ? []
          : [upnClaim(previousUserPrincipalName, userId)];
      return { claims: [upnClaim(userPrincipalName, userId)], releases };
    }
    case 'GuestInvited':
      // Invitations are redeemed by id alone (POST /v1/invitations/{id}/redeem): this claim is how
      // the app finds the tenant, and it keeps an id from naming two invitations.
      return {
        claims: [
          {
            kind: 'invitation',
            value: event.data.invitationId.toLowerCase(),
            ownerId: state.tenantId,
            takenCode: 'invitation_exists',
          },
        ],
        releases: [],
      };
    case 'DomainVerified':
      return { claims: [domainClaim(event.data.name, state.tenantId)], releases: [] };
    case 'DomainRemoved':
      // Only verification claims a domain; an unverified one has nothing to give back.
      return event.data.wasVerified
        ? { claims: [], releases: [domainClaim(event.data.name, state.tenantId)] }
        : none();
    default:
      return none();
  }
}

const upnClaim = (upn: string, userId: string): ClaimRequest => ({
  kind: 'upn',
  value: upnKey(upn),
  ownerId: userId,
  takenCode: 'upn_taken',
});

const domainClaim = (name: string, tenantId: string): ClaimRequest => ({
  kind: 'domain',
  value: name.toLowerCase(),
  ownerId: tenantId,
  takenCode: 'domain_taken',
});
