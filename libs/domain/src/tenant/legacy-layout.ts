// The one-stream layout, and how it becomes today's. Stores written before per-object streams kept
// a tenant's whole directory in `tenant-<tenantId>`: every member and guest, role, license. The
// migration reads such a stream once, routes its events exactly as today's decider would have
// written them (./aggregates.ts), folds each object on its own, and derives the bookkeeping that
// layout never needed (role holders, seat and domain ledgers, guest address claims). The history
// itself is never rewritten: what the migration appends are images (./events.ts), which no read
// model or audit record is made from.

import { guestKey } from './guests.js';
import { aggregateOf } from './aggregates.js';
import type { DirectoryEvent, TenantImage, UserImage } from './events.js';
import { evolveTenant, initialTenantState, isCustomDomain, tenantImage } from './tenant-state.js';
import { domainOfUpn } from '../shared/names.js';
import { evolveUser, isActive, userImage, type UserState } from './user-state.js';

/** The layout a store is written in; the service refuses to run on an older one until migrated. */
export const CURRENT_STORE_LAYOUT = 2;

export interface LegacyTenantImage {
  readonly tenant: TenantImage;
  /** Every user object, deleted ones included, in the order created. */
  readonly users: readonly UserImage[];
  /** Seats in use per subscription (cancelled ones have none). */
  readonly seats: ReadonlyArray<{ readonly subscriptionId: string; readonly assigned: number }>;
  /** Accounts per custom domain that has any. */
  readonly domainUse: ReadonlyArray<{ readonly domain: string; readonly accounts: number }>;
  /** The address claims of live guests (the layout had none). */
  readonly guestClaims: ReadonlyArray<{ readonly value: string; readonly userId: string }>;
  /** Invitation ids (lower case) whose claim named the tenant, with the guest it now names. */
  readonly invitations: ReadonlyArray<{ readonly invitationId: string; readonly userId: string }>;
}

/** Whether a tenant stream was written by the one-stream layout: it holds its members itself. */
export const isLegacyTenantEvent = (event: DirectoryEvent): boolean =>
  event.type === 'MemberCreated' || event.type === 'GuestInvited';

/** The image of one tenant stream of the one-stream layout; O(events), each folded once. */
export function legacyTenantImage(events: readonly DirectoryEvent[]): LegacyTenantImage {
  let tenant = initialTenantState;
  const users = new Map<string, UserState | undefined>();
  for (const event of events) {
    const aggregate = aggregateOf(event);
    if (aggregate.kind === 'user') {
      users.set(aggregate.userId, evolveUser(users.get(aggregate.userId), event));
    } else {
      tenant = evolveTenant(tenant, event);
    }
  }
  const objects = [...users.values()].filter((user): user is UserState => user !== undefined);

  const assigned = new Map<string, number>();
  const accounts = new Map<string, number>();
  for (const user of objects) {
    for (const subscriptionId of user.licenses.values()) {
      assigned.set(subscriptionId, (assigned.get(subscriptionId) ?? 0) + 1);
    }
    const domain = domainOfUpn(user.userPrincipalName);
    if (isCustomDomain(tenant, domain)) accounts.set(domain, (accounts.get(domain) ?? 0) + 1);
  }

  const image = tenantImage(tenant);
  return {
    tenant: {
      ...image,
      roleHolders: objects
        .filter((user) => user.roles.length > 0)
        .map((user) => ({
          userId: user.userId,
          userType: user.userType,
          roles: [...user.roles],
          active: isActive(user),
        })),
    },
    users: objects.map(userImage),
    seats: [...tenant.subscriptions.keys()].map((subscriptionId) => ({
      subscriptionId,
      assigned: assigned.get(subscriptionId) ?? 0,
    })),
    domainUse: [...accounts].map(([domain, count]) => ({ domain, accounts: count })),
    guestClaims: objects
      .filter((user) => user.guest !== undefined && !user.deleted)
      .map((user) => ({ value: guestKey(tenant.tenantId, user.guest?.email ?? ''), userId: user.userId })),
    invitations: objects
      .filter((user) => user.guest !== undefined)
      .map((user) => ({ invitationId: (user.guest?.invitationId ?? '').toLowerCase(), userId: user.userId })),
  };
}
