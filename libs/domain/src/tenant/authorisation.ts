// The tenant's role matrix: who may send which command. Every authorisation rule of the tenant
// lives in this file, so a question like "can a User Administrator block a Global Administrator?"
// has one place to be answered.

import { reject, type Rejection } from '../shared/decider.js';
import type { Role, TenantCommand, TenantCommandType, TenantState } from './types.js';

const GLOBAL_ADMIN_ONLY = ['GlobalAdministrator'] as const satisfies readonly Role[];
const USER_ADMINS = ['GlobalAdministrator', 'UserAdministrator'] as const satisfies readonly Role[];

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
};

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

const rolesOf = (state: TenantState, userId: string): ReadonlySet<Role> =>
  state.roles.get(userId) ?? new Set<Role>();

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

/** Undefined when the acting user may send the command; a 'forbidden_role' rejection otherwise. */
export function authorise(command: TenantCommand, state: TenantState): Rejection | undefined {
  const required = REQUIRED_ROLES[command.type];
  if (required === 'none') return undefined;

  const actorId = command.actingUserId;
  const actor = actorId === undefined ? undefined : state.users.get(actorId);
  // A blocked or deleted administrator keeps their role assignments but loses their power.
  if (
    actorId === undefined ||
    actor === undefined ||
    actor.userType !== 'Member' ||
    actor.blocked ||
    actor.deleted
  ) {
    return forbidden(command, required, ', held by an active member of this tenant');
  }

  const target = targetUserId(command);
  if (SELF_SERVICE_COMMANDS.has(command.type) && target === actorId) return undefined;

  const actorRoles = rolesOf(state, actorId);
  if (!required.some((role) => actorRoles.has(role))) return forbidden(command, required);

  if (target !== undefined && !actorRoles.has('GlobalAdministrator')) {
    const targetRoles = rolesOf(state, target);
    const privileged = PRIVILEGED_TARGET_ROLES.filter((role) => targetRoles.has(role));
    if (privileged.length > 0) {
      return forbidden(command, GLOBAL_ADMIN_ONLY, ` when the user holds the role ${privileged.join(', ')}`);
    }
  }
  return undefined;
}
