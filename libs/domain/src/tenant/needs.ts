// What each directory command needs read besides the tenant: the user objects, seat ledgers,
// domain ledgers and claims its rules look at, and nothing else, so that a decision costs the same
// in a tenant of ten members as in one of half a million. Some needs follow from others (the
// guest an invitation's claim names, the ledger of a license the user holds): the app calls this
// again with what it has loaded until nothing new is named; unloaded things read as absent here.

import { normaliseDomainName, parseUserPrincipalName, upnKey, domainOfUpn } from '../shared/names.js';
import type { TenantCommand } from './commands.js';
import { guestKey } from './guests.js';
import { findActiveSubscription, isCustomDomain } from './tenant-state.js';
import type { ClaimRef, DirectoryNeeds, DirectoryView } from './view.js';

const NONE: DirectoryNeeds = { users: [], seats: [], domains: [], claims: [] };

const needs = (partial: Partial<DirectoryNeeds>): DirectoryNeeds => ({ ...NONE, ...partial });

/** The claim of an invitation id, and the guest it names once the claim is read. */
function invitationNeeds(view: DirectoryView, invitationId: string): DirectoryNeeds {
  const claim: ClaimRef = { kind: 'invitation', value: invitationId.toLowerCase() };
  const holder = view.holder(claim.kind, claim.value);
  return needs({
    claims: [claim],
    users: holder !== undefined && holder.tenantId === view.tenant.tenantId ? [holder.ownerId] : [],
  });
}

/** The claim of a UPN, and the ledger of its domain when accounts in it are counted. */
function upnNeeds(view: DirectoryView, rawUpn: string): { claims: ClaimRef[]; domains: string[] } {
  const upn = parseUserPrincipalName(rawUpn);
  if (!upn.ok) return { claims: [], domains: [] };
  return {
    claims: [{ kind: 'upn', value: upnKey(upn.value.upn) }],
    domains: isCustomDomain(view.tenant, upn.value.domain) ? [upn.value.domain] : [],
  };
}

export function needsOf(command: TenantCommand, view: DirectoryView): DirectoryNeeds {
  const { tenant } = view;
  switch (command.type) {
    case 'SignUpTenant':
    case 'AddDomain':
    case 'VerifyDomain':
    case 'SetPrimaryDomain':
    case 'SetMfaRequirement':
    case 'PurchaseSubscription':
      return NONE;
    case 'RemoveDomain': {
      const name = normaliseDomainName(command.data.name);
      return needs({ domains: name.ok && isCustomDomain(tenant, name.value) ? [name.value] : [] });
    }
    case 'ChangeSeats':
    case 'CancelSubscription':
      return needs({ seats: [command.data.subscriptionId] });
    case 'CreateMember':
      return needs(upnNeeds(view, command.data.userPrincipalName));
    case 'ChangeUserPrincipalName': {
      const { userId } = command.data;
      const { claims, domains } = upnNeeds(view, command.data.userPrincipalName);
      const current = view.user(userId)?.userPrincipalName;
      const from = current === undefined ? undefined : domainOfUpn(current);
      return needs({
        users: [userId],
        claims,
        domains: from !== undefined && isCustomDomain(tenant, from) ? [...domains, from] : domains,
      });
    }
    case 'RestoreUser': {
      const { userId } = command.data;
      const email = view.user(userId)?.guest?.email;
      return needs({
        users: [userId],
        claims: email === undefined ? [] : [{ kind: 'guest', value: guestKey(tenant.tenantId, email) }],
      });
    }
    case 'InviteGuest': {
      const { email, invitationId } = command.data;
      const parsed = parseUserPrincipalName(email);
      if (!parsed.ok) return NONE;
      const guest: ClaimRef = { kind: 'guest', value: guestKey(tenant.tenantId, parsed.value.upn) };
      const holder = view.holder(guest.kind, guest.value);
      return needs({
        claims: [
          { kind: 'upn', value: upnKey(parsed.value.upn) },
          guest,
          { kind: 'invitation', value: invitationId.toLowerCase() },
        ],
        users: holder === undefined ? [] : [holder.ownerId],
      });
    }
    case 'ResendInvitation':
    case 'RevokeInvitation':
    case 'RedeemInvitation':
      return invitationNeeds(view, command.data.invitationId);
    case 'AssignLicense': {
      const subscription = findActiveSubscription(tenant, command.data.sku);
      return needs({
        users: [command.data.userId],
        seats: subscription === undefined ? [] : [subscription.subscriptionId],
      });
    }
    case 'RemoveLicense': {
      const { userId, sku } = command.data;
      const subscriptionId = view.user(userId)?.licenses.get(sku);
      return needs({ users: [userId], seats: subscriptionId === undefined ? [] : [subscriptionId] });
    }
    case 'RenameUser':
    case 'OrderPasswordReset':
    case 'BlockUser':
    case 'UnblockUser':
    case 'DeleteUser':
    case 'RegisterMfaMethod':
    case 'AssignRole':
    case 'RemoveRole':
      return needs({ users: [command.data.userId] });
  }
}
