// The tenant directory's decider: which command is accepted on a view of the directory
// (./view.ts), and the facts it records. The rules themselves live by subject: tenant-settings.ts
// (sign-up, domains, MFA policy), members.ts, roles.ts, guests.ts, licenses.ts; who may send what is
// authorisation.ts. Each event goes to the stream of its aggregate (./aggregates.ts), each folded
// on its own (tenant-state.ts, user-state.ts, ledgers.ts).
// Uniqueness across tenants (initial domain, verified domains, UPNs, guest addresses, invitation
// ids) is decided by claim streams (../claim): the decider reads their holders, and the app appends
// the claims with the events, so a race between two tenants or two instances still has one winner.

import { reject, type DecideContext, type Decision } from '../shared/decider.js';
import { authorise } from './authorisation.js';
import type { TenantCommand, TenantCommandType } from './commands.js';
import type { DirectoryEvent } from './events.js';
import { inviteGuest, redeemInvitation, resendInvitation, revokeInvitation } from './guests.js';
import {
  assignLicense,
  cancelSubscription,
  changeSeats,
  purchaseSubscription,
  removeLicense,
} from './licenses.js';
import {
  blockUser,
  changeUserPrincipalName,
  createMember,
  deleteUser,
  orderPasswordReset,
  registerMfaMethod,
  renameUser,
  restoreUser,
  unblockUser,
} from './members.js';
import { needsOf } from './needs.js';
import { tenantNotFound } from './rejections.js';
import { assignRole, removeRole } from './roles.js';
import {
  addDomain,
  removeDomain,
  setMfaRequirement,
  setPrimaryDomain,
  signUpTenant,
  verifyDomain,
} from './tenant-settings.js';
import type { DirectoryView } from './view.js';

/**
 * What an administrator of this tenant can't do to a guest: its name, UPN, password and MFA belong
 * to its home directory (the article: "you can't perform any user administration tasks on their
 * account, like renaming them or resetting their password").
 */
export const GUEST_RESTRICTED_COMMANDS: ReadonlySet<TenantCommandType> = new Set<TenantCommandType>([
  'RenameUser',
  'ChangeUserPrincipalName',
  'OrderPasswordReset',
  'RegisterMfaMethod',
]);

function decide(
  command: TenantCommand,
  view: DirectoryView,
  context: DecideContext,
): Decision<DirectoryEvent> {
  if (command.type === 'SignUpTenant') {
    // Sign-up needs no role, but the service flag must still not be accepted on it.
    const forbidden = authorise(command, view);
    if (forbidden !== undefined) return forbidden;
    if (view.tenant.exists) return reject('tenant_exists', 'The tenant already exists');
    return signUpTenant(command, context);
  }
  if (!view.tenant.exists) return tenantNotFound();
  const forbidden = authorise(command, view);
  if (forbidden !== undefined) return forbidden;
  // Before the command's own rules, so the answer for a guest is always the same clear refusal.
  if (GUEST_RESTRICTED_COMMANDS.has(command.type) && 'userId' in command.data) {
    if (view.user(command.data.userId)?.userType === 'Guest') {
      return reject(
        'guest_not_manageable',
        `${command.type} is not possible for a guest: its home directory manages its account`,
      );
    }
  }

  switch (command.type) {
    case 'AddDomain':
      return addDomain(command, view, context);
    case 'VerifyDomain':
      return verifyDomain(command, view);
    case 'SetPrimaryDomain':
      return setPrimaryDomain(command, view);
    case 'RemoveDomain':
      return removeDomain(command, view);
    case 'SetMfaRequirement':
      return setMfaRequirement(command, view);
    case 'CreateMember':
      return createMember(command, view, context);
    case 'RenameUser':
      return renameUser(command, view);
    case 'ChangeUserPrincipalName':
      return changeUserPrincipalName(command, view);
    case 'OrderPasswordReset':
      return orderPasswordReset(command, view);
    case 'BlockUser':
      return blockUser(command, view);
    case 'UnblockUser':
      return unblockUser(command, view);
    case 'DeleteUser':
      return deleteUser(command, view);
    case 'RestoreUser':
      return restoreUser(command, view);
    case 'RegisterMfaMethod':
      return registerMfaMethod(command, view, context);
    case 'AssignRole':
      return assignRole(command, view);
    case 'RemoveRole':
      return removeRole(command, view);
    case 'InviteGuest':
      return inviteGuest(command, view, context);
    case 'ResendInvitation':
      return resendInvitation(command, view);
    case 'RevokeInvitation':
      return revokeInvitation(command, view);
    case 'RedeemInvitation':
      return redeemInvitation(command, view, context);
    case 'PurchaseSubscription':
      return purchaseSubscription(command, view);
    case 'ChangeSeats':
      return changeSeats(command, view);
    case 'CancelSubscription':
      return cancelSubscription(command, view);
    case 'AssignLicense':
      return assignLicense(command, view);
    case 'RemoveLicense':
      return removeLicense(command, view);
    default:
      return unreachable(command);
  }
}

function unreachable(command: never): never {
  throw new Error(`Unhandled tenant command ${(command as TenantCommand).type}`);
}

/** The directory decider: what a command needs read, and the decision on what was read. */
export const directoryDecider = { needs: needsOf, decide } as const;
