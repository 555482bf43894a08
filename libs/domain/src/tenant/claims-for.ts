// Which uniqueness claims a directory event takes and which it gives back: what makes a UPN, a
// verified domain and an invitation id unique across the whole service, and a guest's address
// unique among a tenant's live guests. `view` is the directory as it was before the event.

import type { ClaimRequest, ClaimsForEvent } from '../claim/types.js';
import { upnKey } from '../shared/names.js';
import type { DirectoryEvent } from './events.js';
import { guestKey } from './guests.js';
import type { DirectoryView } from './view.js';

const none = (): ClaimsForEvent => ({ claims: [], releases: [] });

export function claimsFor(event: DirectoryEvent, view: DirectoryView): ClaimsForEvent {
  const { tenantId } = view.tenant;
  switch (event.type) {
    case 'TenantCreated': {
      // The initial domain is claimed like any verified domain, so no tenant can ever verify it
      // and the prefix is taken for good.
      const { initialDomain } = event.data;
      return {
        claims: [
          {
            kind: 'domain',
            value: initialDomain.toLowerCase(),
            ownerId: event.data.tenantId,
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
    case 'GuestInvited': {
      // Invitations are redeemed by id alone (POST /v1/invitations/{id}/redeem): this claim is how
      // the app finds the guest (and its tenant), and it keeps an id from naming two invitations.
      const { userId, invitationId, email } = event.data;
      return {
        claims: [
          {
            kind: 'invitation',
            value: invitationId.toLowerCase(),
            ownerId: userId,
            takenCode: 'invitation_exists',
          },
          guestClaim(tenantId, email, userId),
        ],
        releases: [],
      };
    }
    case 'UserDeleted': {
      // A removed guest gives its address back: the address may be invited again.
      const email = view.user(event.data.userId)?.guest?.email;
      return email === undefined
        ? none()
        : { claims: [], releases: [guestClaim(tenantId, email, event.data.userId)] };
    }
    case 'UserRestored': {
      const email = view.user(event.data.userId)?.guest?.email;
      return email === undefined
        ? none()
        : { claims: [guestClaim(tenantId, email, event.data.userId)], releases: [] };
    }
    case 'DomainVerified':
      return { claims: [domainClaim(event.data.name, tenantId)], releases: [] };
    case 'DomainRemoved':
      // Only verification claims a domain; an unverified one has nothing to give back.
      return event.data.wasVerified
        ? { claims: [], releases: [domainClaim(event.data.name, tenantId)] }
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

const guestClaim = (tenantId: string, email: string, userId: string): ClaimRequest => ({
  kind: 'guest',
  value: guestKey(tenantId, email),
  ownerId: userId,
  takenCode: 'already_member',
});
