// The rules of a tenant's members and of every user object's lifecycle: creation, names and UPN,
// password resets, block and unblock, delete and restore, MFA methods.

import { reject, type DecideContext, type Decision, type Rejection } from '../shared/decider.js';
import { domainOfUpn, normaliseDisplayName, parseUserPrincipalName, upnKey } from '../shared/names.js';
import type {
  BlockUser,
  ChangeUserPrincipalName,
  CreateMember,
  DeleteUser,
  OrderPasswordReset,
  RegisterMfaMethod,
  RenameUser,
  RestoreUser,
  UnblockUser,
} from './commands.js';
import type { DirectoryEvent } from './events.js';
import { emailKey } from './guests.js';
import {
  invalidDisplayName,
  invalidUpn,
  isUser,
  lastGlobalAdmin,
  liveUser,
  NOTHING,
  userNotFound,
} from './rejections.js';
import { roleHolderChange } from './role-holders.js';
import {
  isCustomDomain,
  isLastActiveGlobalAdministrator,
  isUsableDomain,
  type TenantState,
} from './tenant-state.js';
import type { UserState } from './user-state.js';
import { guestClaimValue, type DirectoryView } from './view.js';

type Events = Decision<DirectoryEvent>;

/** The checks a UPN must pass to be given to `userId` (undefined: a new user); the UPN if it does. */
function checkNewUpn(view: DirectoryView, rawUpn: string, userId?: string): Rejection | string {
  const upn = parseUserPrincipalName(rawUpn);
  if (!upn.ok) return invalidUpn(upn.reason);
  if (!isUsableDomain(view.tenant, upn.value.domain)) {
    return reject(
      'domain_not_verified',
      "The user principal name's domain is not a verified domain of this tenant",
    );
  }
  // Unique service-wide, compared case-insensitively: the UPN's claim says who holds it (deleted
  // accounts keep theirs). Appending the claim with the account makes it hold under races too.
  const holder = view.holder('upn', upnKey(upn.value.upn));
  if (holder !== undefined && holder.ownerId !== userId) {
    return reject(
      'upn_taken',
      holder.tenantId === view.tenant.tenantId
        ? 'Another account of this tenant already has this user principal name'
        : 'The user principal name is already used by another account',
    );
  }
  return upn.value.upn;
}

/** The domain ledgers an account's UPN moving from one domain to another changes (custom domains only). */
function domainUseMoves(tenant: TenantState, userId: string, from?: string, to?: string): DirectoryEvent[] {
  const fromDomain = from === undefined ? undefined : domainOfUpn(from);
  const toDomain = to === undefined ? undefined : domainOfUpn(to);
  if (fromDomain === toDomain) return [];
  const events: DirectoryEvent[] = [];
  if (fromDomain !== undefined && isCustomDomain(tenant, fromDomain)) {
    events.push({ type: 'DomainUseReleased', data: { domain: fromDomain, userId } });
  }
  if (toDomain !== undefined && isCustomDomain(tenant, toDomain)) {
    events.push({ type: 'DomainUseTaken', data: { domain: toDomain, userId } });
  }
  return events;
}

export function createMember(command: CreateMember, view: DirectoryView, context: DecideContext): Events {
  const upn = checkNewUpn(view, command.data.userPrincipalName);
  if (typeof upn !== 'string') return upn;
  const displayName = normaliseDisplayName(command.data.displayName);
  if (!displayName.ok) return invalidDisplayName(displayName.reason);
  const userId = context.newId();
  return [
    { type: 'MemberCreated', data: { userId, userPrincipalName: upn, displayName: displayName.value } },
    ...domainUseMoves(view.tenant, userId, undefined, upn),
  ];
}

export function renameUser(command: RenameUser, view: DirectoryView): Events {
  const user = liveUser(view, command.data.userId);
  if (!isUser(user)) return user;
  const displayName = normaliseDisplayName(command.data.displayName);
  if (!displayName.ok) return invalidDisplayName(displayName.reason);
  if (displayName.value === user.displayName) return NOTHING;
  return [
    {
      type: 'UserRenamed',
      data: { userId: user.userId, previousDisplayName: user.displayName, displayName: displayName.value },
    },
  ];
}

export function changeUserPrincipalName(command: ChangeUserPrincipalName, view: DirectoryView): Events {
  const user = liveUser(view, command.data.userId);
  if (!isUser(user)) return user;
  const upn = checkNewUpn(view, command.data.userPrincipalName, user.userId);
  if (typeof upn !== 'string') return upn;
  if (upn === user.userPrincipalName) return NOTHING;
  return [
    {
      type: 'UserPrincipalNameChanged',
      data: {
        userId: user.userId,
        previousUserPrincipalName: user.userPrincipalName,
        userPrincipalName: upn,
      },
    },
    ...domainUseMoves(view.tenant, user.userId, user.userPrincipalName, upn),
  ];
}

export function orderPasswordReset(command: OrderPasswordReset, view: DirectoryView): Events {
  // A blocked user may still get a reset: unblocking often follows a compromise clean-up.
  const user = liveUser(view, command.data.userId);
  if (!isUser(user)) return user;
  return [{ type: 'PasswordResetOrdered', data: { userId: user.userId } }];
}

/** The events of a lifecycle change, and the tenant's role-holder entry brought in step with it. */
const lifecycle = (
  view: DirectoryView,
  user: UserState,
  event: DirectoryEvent,
  change: Partial<UserState>,
): DirectoryEvent[] => [event, ...roleHolderChange(view.tenant, { ...user, ...change })];

export function blockUser(command: BlockUser, view: DirectoryView): Events {
  const user = liveUser(view, command.data.userId);
  if (!isUser(user)) return user;
  if (user.blocked) return NOTHING;
  if (isLastActiveGlobalAdministrator(view.tenant, user.userId)) return lastGlobalAdmin();
  return lifecycle(view, user, { type: 'UserBlocked', data: { userId: user.userId } }, { blocked: true });
}

export function unblockUser(command: UnblockUser, view: DirectoryView): Events {
  const user = liveUser(view, command.data.userId);
  if (!isUser(user)) return user;
  if (!user.blocked) return NOTHING;
  return lifecycle(view, user, { type: 'UserUnblocked', data: { userId: user.userId } }, { blocked: false });
}

export function deleteUser(command: DeleteUser, view: DirectoryView): Events {
  const user = view.user(command.data.userId);
  if (user === undefined) return userNotFound();
  if (user.deleted) return NOTHING;
  if (isLastActiveGlobalAdministrator(view.tenant, user.userId)) return lastGlobalAdmin();
  return lifecycle(view, user, { type: 'UserDeleted', data: { userId: user.userId } }, { deleted: true });
}

export function restoreUser(command: RestoreUser, view: DirectoryView): Events {
  const user = view.user(command.data.userId);
  if (user === undefined) return userNotFound();
  if (!user.deleted) return NOTHING;
  // The address may have been invited again since: two live guests for one address would make
  // sign-in ambiguous.
  if (user.guest !== undefined) {
    const holder = view.holder('guest', guestClaimValue(view.tenant.tenantId, emailKey(user.guest.email)));
    if (holder !== undefined && holder.ownerId !== user.userId) {
      return reject(
        'already_member',
        'Another guest of this tenant was invited with the same address since; remove it first',
      );
    }
  }
  return lifecycle(view, user, { type: 'UserRestored', data: { userId: user.userId } }, { deleted: false });
}

export function registerMfaMethod(
  command: RegisterMfaMethod,
  view: DirectoryView,
  context: DecideContext,
): Events {
  const user = liveUser(view, command.data.userId);
  if (!isUser(user)) return user;
  if (user.mfaMethods.some((method) => method.kind === command.data.kind)) return NOTHING;
  return [
    {
      type: 'MfaMethodRegistered',
      data: { userId: user.userId, methodId: context.newId(), kind: command.data.kind },
    },
  ];
}
