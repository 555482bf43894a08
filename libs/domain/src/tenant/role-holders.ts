// Keeps the tenant's role holders (./tenant-state.ts) in step with the users: whenever a user's
// roles or its ability to use them change, the tenant's entry for it is rewritten in the same
// decision, so authorisation and the last-Global-Administrator rule read the tenant alone.

import type { RoleHolderChanged } from './events.js';
import type { TenantState } from './tenant-state.js';
import { isActive, type UserState } from './user-state.js';

/** The RoleHolderChanged that brings the tenant's entry to `user` (after the change), if it differs. */
export function roleHolderChange(tenant: TenantState, user: UserState): RoleHolderChanged[] {
  const held = tenant.roleHolders.get(user.userId);
  const active = isActive(user);
  if (held === undefined && user.roles.length === 0) return [];
  if (
    held !== undefined &&
    held.active === active &&
    held.userType === user.userType &&
    held.roles.length === user.roles.length &&
    held.roles.every((role, i) => user.roles[i] === role)
  ) {
    return [];
  }
  return [
    {
      type: 'RoleHolderChanged',
      data: { userId: user.userId, userType: user.userType, roles: [...user.roles], active },
    },
  ];
}
