// Which aggregate each directory event belongs to: the tenant, one user object, one subscription's
// seat ledger, or one custom domain's account count. The app names the stream of each
// (../streams.ts); the specs fold each on its own the same way.

import type { DirectoryEvent } from './events.js';

export type DirectoryAggregate =
  | { readonly kind: 'tenant' }
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'seats'; readonly subscriptionId: string }
  | { readonly kind: 'domainUse'; readonly domain: string };

const TENANT: DirectoryAggregate = { kind: 'tenant' };

export function aggregateOf(event: DirectoryEvent): DirectoryAggregate {
  switch (event.type) {
    case 'TenantCreated':
    case 'DomainAdded':
    case 'DomainVerified':
    case 'PrimaryDomainChanged':
    case 'DomainRemoved':
    case 'MfaRequirementChanged':
    case 'SubscriptionPurchased':
    case 'SeatsChanged':
    case 'SubscriptionCancelled':
    case 'RoleHolderChanged':
    case 'TenantMigrated':
      return TENANT;
    case 'SeatTaken':
    case 'SeatReleased':
    case 'SeatsMigrated':
      return { kind: 'seats', subscriptionId: event.data.subscriptionId };
    case 'DomainUseTaken':
    case 'DomainUseReleased':
    case 'DomainUseMigrated':
      return { kind: 'domainUse', domain: event.data.domain };
    case 'UserMigrated':
      return { kind: 'user', userId: event.data.user.userId };
    default:
      // Every other event is about one user object and names it.
      return { kind: 'user', userId: event.data.userId };
  }
}

/** A stable key of an aggregate within its tenant (maps, locks). */
export function aggregateKey(aggregate: DirectoryAggregate): string {
  switch (aggregate.kind) {
    case 'tenant':
      return 'tenant';
    case 'user':
      return `user:${aggregate.userId}`;
    case 'seats':
      return `seats:${aggregate.subscriptionId}`;
    case 'domainUse':
      return `domain-use:${aggregate.domain}`;
  }
}
