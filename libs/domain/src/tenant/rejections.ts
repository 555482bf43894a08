// The refusals several of the directory's rules share. Messages name no UPN or display name:
// personal data stays in named fields, never in free text.

import { reject, type Rejection } from '../shared/decider.js';
import type { DirectoryEvent } from './events.js';
import type { UserState } from './user-state.js';
import type { DirectoryView } from './view.js';

export const NOTHING: readonly DirectoryEvent[] = [];

export const tenantNotFound = (): Rejection => reject('not_found', 'The tenant does not exist', 'not_found');
export const userNotFound = (): Rejection =>
  reject('not_found', 'The user does not exist in this tenant', 'not_found');
export const domainNotFound = (): Rejection =>
  reject('not_found', 'The domain is not a domain of this tenant', 'not_found');
export const userDeleted = (): Rejection => reject('user_deleted', 'The user is deleted; restore it first');
export const lastGlobalAdmin = (): Rejection =>
  reject('last_global_admin', 'The tenant must keep at least one active Global Administrator');
export const invalidUpn = (reason: string): Rejection =>
  reject('invalid_user_principal_name', `The user principal name is not valid (${reason})`);
export const invalidDisplayName = (reason: string): Rejection =>
  reject('invalid_display_name', `The display name is not valid (${reason})`);

/** The user a command is about, if it exists and is not deleted. */
export function liveUser(view: DirectoryView, userId: string): UserState | Rejection {
  const user = view.user(userId);
  if (user === undefined) return userNotFound();
  if (user.deleted) return userDeleted();
  return user;
}

export const isUser = (value: UserState | Rejection): value is UserState => !('kind' in value);
