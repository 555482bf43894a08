// The rules of directory roles: assigning and removing them, never leaving the tenant without an
// active Global Administrator. Each change rewrites the tenant's role-holder entry for the user.

import { reject, type Decision } from '../shared/decider.js';
import type { AssignRole, RemoveRole } from './commands.js';
import type { DirectoryEvent } from './events.js';
import { isUser, lastGlobalAdmin, liveUser, NOTHING, userNotFound } from './rejections.js';
import { roleHolderChange } from './role-holders.js';
import { isLastActiveGlobalAdministrator } from './tenant-state.js';
import type { DirectoryView } from './view.js';

type Events = Decision<DirectoryEvent>;

export function assignRole(command: AssignRole, view: DirectoryView): Events {
  const user = liveUser(view, command.data.userId);
  if (!isUser(user)) return user;
  const { role } = command.data;
  if (user.roles.includes(role)) return NOTHING;
  return [
    { type: 'RoleAssigned', data: { userId: user.userId, role } },
    ...roleHolderChange(view.tenant, { ...user, roles: [...user.roles, role] }),
  ];
}

export function removeRole(command: RemoveRole, view: DirectoryView): Events {
  // Deleted users are allowed here: cleaning up a deleted account's roles is legitimate.
  const user = view.user(command.data.userId);
  if (user === undefined) return userNotFound();
  const { role } = command.data;
  if (!user.roles.includes(role)) {
    return reject('role_not_assigned', `The user does not hold the role ${role}`);
  }
  if (role === 'GlobalAdministrator' && isLastActiveGlobalAdministrator(view.tenant, user.userId))
    return lastGlobalAdmin();
  return [
    { type: 'RoleRemoved', data: { userId: user.userId, role } },
    ...roleHolderChange(view.tenant, { ...user, roles: user.roles.filter((r) => r !== role) }),
  ];
}
