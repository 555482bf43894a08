// What a directory decision is made on: the tenant-wide state, and only those objects, counters and
// claims the command needs (./needs.ts says which), never the whole directory. The app loads them
// from their streams; the specs from a history kept in memory (../testing/directory.ts). Asking for
// something the needs did not name is a bug in the needs, and throws.

import type { ClaimKind } from '../claim/types.js';
import type { TenantState } from './tenant-state.js';
import type { UserState } from './user-state.js';

/** Who holds a unique value: its owner (a userId, a tenantId…) and the tenant that claimed it. */
export interface ClaimHolder {
  readonly ownerId: string;
  readonly tenantId?: string;
}

export interface DirectoryView {
  readonly tenant: TenantState;
  /** A user object of this tenant; undefined when it does not exist (or is another tenant's). */
  user(userId: string): UserState | undefined;
  /** Seats in use of one of this tenant's subscriptions. */
  seatsAssigned(subscriptionId: string): number;
  /** Accounts (deleted ones included) whose UPN is in one of this tenant's custom domains. */
  domainAccounts(domain: string): number;
  /** The holder of a unique value, service-wide; undefined when it is free. */
  holder(kind: ClaimKind, value: string): ClaimHolder | undefined;
}

export interface ClaimRef {
  readonly kind: ClaimKind;
  readonly value: string;
}

/** What a command needs besides the tenant (every command reads the tenant). */
export interface DirectoryNeeds {
  readonly users: readonly string[];
  readonly seats: readonly string[];
  readonly domains: readonly string[];
  readonly claims: readonly ClaimRef[];
}

export class NotInNeedsError extends Error {
  constructor(what: string) {
    super(`${what} was read by a decision whose needs did not name it`);
    this.name = 'NotInNeedsError';
  }
}

/** The claim key for a guest address within a tenant: one live guest per address per tenant. */
export const guestClaimValue = (tenantId: string, emailKey: string): string => `${tenantId}:${emailKey}`;
