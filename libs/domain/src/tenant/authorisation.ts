// The tenant's role matrix: who may send which command. Every authorisation rule of the tenant
// lives in this file, so a question like "can a User Administrator block a Global Administrator?"
// has one place to be answered.

import { reject, type Rejection } from '../shared/decider.js';
import type { Role, TenantCommand, TenantCommandType } from './commands.js';
import { rolesOf } from './tenant-state.js';
import { isActive } from './user-state.js';
import type { DirectoryView } from './view.js';

const GLOBAL_ADMIN_ONLY = ['GlobalAdministrator'] as const satisfies readonly Role[];
const USER_ADMINS = ['GlobalAdministrator', 'UserAdministrator'] as const satisfies readonly Role[];
const GUEST_INVITERS = [
  'GlobalAdministrator',
  'UserAdministrator',
  'GuestInviter',
] as const satisfies readonly Role[];
const LICENSE_ADMINS = [
  'GlobalAdministrator',
  'UserAdministrator',
  'LicenseAdministrator',
] as const satisfies readonly Role[];

/** The roles that may send each command ('none': no acting user, e.g. sign-up). */
export const REQUIRED_ROLES: Readonly<Record<TenantCommandType, readonly Role[] | 'none'>> = {
  SignUpTenant: 'none',
  AddDomain: GLOBAL_ADMIN_ONLY,
  VerifyDomain: GLOBAL_ADMIN_ONLY,
  SetPrimaryDomain: GLOBAL_ADMIN_ONLY,
  RemoveDomain: GLOBAL_ADMIN_ONLY,
  SetMfaRequirement: GLOBAL_ADMIN_ONLY,
  AssignRole: GLOBAL_ADMIN_ONLY,
  RemoveRole: GLOBAL_ADMIN_ONLY,
  CreateMember: USER_ADMINS,
  RenameUser: USER_ADMINS,
  ChangeUserPrincipalName: USER_ADMINS,
  OrderPasswordReset: USER_ADMINS,
  BlockUser: USER_ADMINS,
  UnblockUser: USER_ADMINS,
  DeleteUser: USER_ADMINS,
  RestoreUser: USER_ADMINS,
  RegisterMfaMethod: USER_ADMINS,
  InviteGuest: GUEST_INVITERS,
  ResendInvitation: GUEST_INVITERS,
  RevokeInvitation: GUEST_INVITERS,
  // The guest redeems with the code it was sent; it is no user of this tenant yet.
  RedeemInvitation: 'none',
  PurchaseSubscription: GLOBAL_ADMIN_ONLY,
  ChangeSeats: GLOBAL_ADMIN_ONLY,
  CancelSubscription: GLOBAL_ADMIN_ONLY,
  AssignLicense: LICENSE_ADMINS,
  RemoveLicense: LICENSE_ADMINS,
};

/**
 * Commands the service itself may send (`initiatedBy: 'system'`, no acting user) as durable
 * reactions to events: freeing a deleted user's licenses. Nothing else may bypass the role matrix.
 */
export const SYSTEM_COMMANDS: ReadonlySet<TenantCommandType> = new Set<TenantCommandType>(['RemoveLicense']);

/** Commands a user may also send about themself, whatever their roles. */
export const SELF_SERVICE_COMMANDS: ReadonlySet<TenantCommandType> = new Set<TenantCommandType>([
  'RegisterMfaMethod',
]);

/**
 * A user who holds one of these roles can be managed only by a Global Administrator: otherwise a
 * User Administrator could block, rename or take over a Global Administrator's account (Entra has
 * the same rule).
 */
export const PRIVILEGED_TARGET_ROLES: readonly Role[] = ['GlobalAdministrator'];

/**
 * Commands about a user that do not touch the account itself, so the privileged-target rule does
 * not apply: a License Administrator manages licenses for everyone, Global Administrators included
 * (as in Entra), and that gives no hold over their account.
 */
export const UNPROTECTED_TARGET_COMMANDS: ReadonlySet<TenantCommandType> = new Set<TenantCommandType>([
  'AssignLicense',
  'RemoveLicense',
]);

const targetUserId = (command: TenantCommand): string | undefined =>
  'userId' in command.data ? command.data.userId : undefined;

const forbidden = (command: TenantCommand, roles: readonly Role[], why = ''): Rejection => {
  const self = SELF_SERVICE_COMMANDS.has(command.type) ? ' (or being the user concerned)' : '';
  return reject(
    'forbidden_role',
    `${command.type} requires the role ${roles.join(' or ')}${self}${why}`,
    'forbidden',
  );
};

/**
 * Undefined when the acting user may send the command; a 'forbidden_role' rejection otherwise.
 * Decided on the tenant's role holders (who holds what, and who may still use it), so no user's
 * stream is read, but for a user acting on themself.
 */
export function authorise(command: TenantCommand, view: DirectoryView): Rejection | undefined {
  const required = REQUIRED_ROLES[command.type];
  if (command.initiatedBy === 'system') {
    // Checked before 'none': a system flag must never be a way round the matrix, and a command
    // that claims to come from the service can't also speak for a user.
    if (!SYSTEM_COMMANDS.has(command.type)) {
      return reject('forbidden_role', `${command.type} can not be sent by the service itself`, 'forbidden');
    }
    if (command.actingUserId !== undefined) {
      return reject(
        'forbidden_role',
        `${command.type} sent by the service itself can not have an acting user`,
        'forbidden',
      );
    }
    return undefined;
  }
  if (required === 'none') return undefined;

  const actorId = command.actingUserId;
  if (actorId === undefined) return forbidden(command, required, ', held by an active member of this tenant');
  const target = targetUserId(command);
  if (SELF_SERVICE_COMMANDS.has(command.type) && target === actorId) {
    // The one case an actor needs no role: itself, an active member of this tenant.
    const self = view.user(actorId);
    if (self !== undefined && self.userType === 'Member' && isActive(self)) return undefined;
    return forbidden(command, required, ', held by an active member of this tenant');
  }
  // A blocked or deleted administrator keeps their role assignments but loses their power. A guest
  // never acts, whatever roles it was given: it is managed by its home directory, not this one.
  const holder = view.tenant.roleHolders.get(actorId);
  if (holder === undefined || holder.userType !== 'Member' || !holder.active) {
    return forbidden(command, required, ', held by an active member of this tenant');
  }
  if (!required.some((role) => holder.roles.includes(role))) return forbidden(command, required);

  if (
    target !== undefined &&
    !UNPROTECTED_TARGET_COMMANDS.has(command.type) &&
    !holder.roles.includes('GlobalAdministrator')
  ) {
    const targetRoles = rolesOf(view.tenant, target);
    const privileged = PRIVILEGED_TARGET_ROLES.filter((role) => targetRoles.includes(role));
    if (privileged.length > 0) {
      return forbidden(command, GLOBAL_ADMIN_ONLY, ` when the user holds the role ${privileged.join(', ')}`);
    }
  }
  return undefined;
}
