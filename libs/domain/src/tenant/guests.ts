// The rules of guests and their invitations: invite, resend, revoke, redeem. A guest is a user
// object of its own (its stream holds its invitation); its address and its invitation id are
// claims, which is how a tenant finds a guest by address and an invitation by id.

import { reject, type DecideContext, type Decision, type Rejection } from '../shared/decider.js';
import { normaliseDisplayName, parseUserPrincipalName, upnKey } from '../shared/names.js';
import type { InviteGuest, RedeemInvitation, ResendInvitation, RevokeInvitation } from './commands.js';
import type { DirectoryEvent } from './events.js';
import { invalidDisplayName, userDeleted } from './rejections.js';
import type { InvitationState, UserState } from './user-state.js';
import { guestClaimValue, type DirectoryView } from './view.js';

type Events = Decision<DirectoryEvent>;

/** The address as invited addresses are compared: normalised when it parses, lower case always. */
export const emailKey = (email: string): string => {
  const parsed = parseUserPrincipalName(email);
  return upnKey(parsed.ok ? parsed.value.upn : email.trim());
};

/** The claim value of a guest's address in a tenant (at most one live guest per address). */
export const guestKey = (tenantId: string, email: string): string =>
  guestClaimValue(tenantId, emailKey(email));

/**
 * The live guest of this tenant invited with that address, if any: the holder of the address's
 * guest claim (deleted guests give it back, so a removed guest may be invited again).
 */
export function findGuestByEmail(view: DirectoryView, email: string): UserState | undefined {
  const holder = view.holder('guest', guestKey(view.tenant.tenantId, email));
  return holder === undefined ? undefined : view.user(holder.ownerId);
}

/** The guest an invitation of this tenant created, with the invitation; undefined if none. */
export function findInvitation(
  view: DirectoryView,
  invitationId: string,
): { guest: UserState; invitation: InvitationState } | undefined {
  const holder = view.holder('invitation', invitationId.toLowerCase());
  if (holder === undefined || holder.tenantId !== view.tenant.tenantId) return undefined;
  const guest = view.user(holder.ownerId);
  return guest?.invitation === undefined ? undefined : { guest, invitation: guest.invitation };
}

const invitationNotFound = (): Rejection =>
  reject('not_found', 'The invitation does not exist in this tenant', 'not_found');
const invitationNotPending = (status: string): Rejection =>
  reject('invitation_not_pending', `The invitation is no longer pending (${status})`);

export function inviteGuest(command: InviteGuest, view: DirectoryView, context: DecideContext): Events {
  const { invitationId, redeemCodeHash, expiresAt, redirectUrl } = command.data;
  const { tenant } = view;
  const email = parseUserPrincipalName(command.data.email);
  if (!email.ok) return reject('invalid_email', `The e-mail address is not valid (${email.reason})`);
  const address = email.value.upn;
  // Deleted members count: they can be restored, and a tenant can't invite its own members. A
  // member's address is its UPN, whose claim names the member's tenant.
  if (view.holder('upn', upnKey(address))?.tenantId === tenant.tenantId) {
    return reject('already_member', 'An account of this tenant already has this address');
  }
  const guest = findGuestByEmail(view, address);
  if (guest !== undefined) {
    return reject(
      'already_member',
      guest.invitation?.status === 'PendingAcceptance'
        ? 'A guest of this tenant is already invited with this address; resend the invitation instead'
        : 'A guest of this tenant already has this address; remove it to invite the address again',
    );
  }
  if (view.holder('invitation', invitationId.toLowerCase()) !== undefined) {
    return reject('invitation_exists', 'An invitation with this id already exists');
  }
  const displayName = normaliseDisplayName(command.data.displayName ?? email.value.localPart);
  if (!displayName.ok) return invalidDisplayName(displayName.reason);
  // Entra's guest notation; lower case so that the same address always gives the same name.
  const userPrincipalName = `${upnKey(address).replace('@', '_')}#EXT#@${tenant.initialDomain}`;
  return [
    {
      type: 'GuestInvited',
      data: {
        userId: context.newId(),
        invitationId,
        email: address,
        displayName: displayName.value,
        userPrincipalName,
        ...(redirectUrl === undefined ? {} : { redirectUrl }),
        redeemCodeHash,
        expiresAt,
      },
    },
  ];
}

export function resendInvitation(command: ResendInvitation, view: DirectoryView): Events {
  const found = findInvitation(view, command.data.invitationId);
  if (found === undefined) return invitationNotFound();
  const { guest, invitation } = found;
  if (invitation.status !== 'PendingAcceptance') return invitationNotPending(invitation.status);
  if (guest.deleted) return userDeleted();
  const { redeemCodeHash, expiresAt } = command.data;
  return [
    {
      type: 'InvitationResent',
      data: { invitationId: invitation.invitationId, userId: guest.userId, redeemCodeHash, expiresAt },
    },
  ];
}

export function revokeInvitation(command: RevokeInvitation, view: DirectoryView): Events {
  const found = findInvitation(view, command.data.invitationId);
  if (found === undefined) return invitationNotFound();
  const { guest, invitation } = found;
  if (invitation.status !== 'PendingAcceptance') return invitationNotPending(invitation.status);
  return [
    { type: 'InvitationRevoked', data: { invitationId: invitation.invitationId, userId: guest.userId } },
  ];
}

/** Expired once the clock has passed `expiresAt`; an unreadable expiry counts as expired. */
const hasExpired = (invitation: InvitationState, now: Date): boolean => {
  const expiresAt = Date.parse(invitation.expiresAt);
  return Number.isNaN(expiresAt) || now.getTime() > expiresAt;
};

export function redeemInvitation(
  command: RedeemInvitation,
  view: DirectoryView,
  context: DecideContext,
): Events {
  const found = findInvitation(view, command.data.invitationId);
  if (found === undefined) return invitationNotFound();
  const { guest, invitation } = found;
  if (invitation.status !== 'PendingAcceptance') return invitationNotPending(invitation.status);
  // A removed guest's invitation can't bring it back; restoring the guest makes it redeemable again.
  if (guest.guest === undefined || guest.deleted) return invitationNotPending('guest removed');
  if (hasExpired(invitation, context.now)) {
    return reject('invitation_expired', 'The invitation has expired; ask for it to be resent');
  }
  // Hashes of random codes: comparing them leaks nothing an attacker could use, so no constant-time
  // comparison is needed.
  if (command.data.redeemCodeHash !== invitation.redeemCodeHash) {
    return reject('redeem_code_invalid', 'The redeem code is not the one of this invitation');
  }
  const { identity } = command.data;
  const email = parseUserPrincipalName(identity.email);
  if (!email.ok || upnKey(email.value.upn) !== upnKey(guest.guest.email)) {
    return reject(
      'redeem_identity_mismatch',
      'The invitation is for another address than the one of the redeeming identity',
    );
  }
  return [
    {
      type: 'InvitationRedeemed',
      data: {
        invitationId: invitation.invitationId,
        userId: guest.userId,
        identity: { ...identity, email: email.value.upn },
      },
    },
  ];
}
