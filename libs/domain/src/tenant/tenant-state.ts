// What is truly tenant-wide, folded from the tenant's stream (`tenant-<tenantId>`): its profile,
// domains, MFA policy, role holders and subscriptions. Its size is bounded by those, never by the
// number of members, so every command can read it. Collections are persistent maps: an event
// changes one entry in O(log n) and never copies the rest.

import { OrderedMap } from 'immutable';
import type { Role, TenantKind } from './commands.js';
import type { DirectoryEvent, TenantImage, UserType } from './events.js';

export interface DomainState {
  readonly name: string;
  readonly isInitial: boolean;
  readonly isVerified: boolean;
  /** `ms` + 8 digits; the TXT record to publish is `MS=<verificationCode>`. Empty for the initial domain. */
  readonly verificationCode: string;
}

/** A user who holds roles, as the tenant keeps it (./events.ts RoleHolderChanged). */
export interface RoleHolder {
  readonly userType: UserType;
  /** In the order assigned. */
  readonly roles: readonly Role[];
  /** Neither blocked nor deleted. */
  readonly active: boolean;
}

export interface SubscriptionState {
  readonly subscriptionId: string;
  readonly sku: string;
  readonly seats: number;
  readonly status: 'active' | 'cancelled';
}

export interface TenantState {
  readonly exists: boolean;
  readonly tenantId: string;
  readonly displayName: string;
  readonly kind: TenantKind;
  readonly initialDomain: string;
  readonly primaryDomain: string;
  /** Keyed by normalised domain name, in the order added. */
  readonly domains: OrderedMap<string, DomainState>;
  readonly mfaRequired: boolean;
  /** Keyed by userId: only users who hold at least one role. */
  readonly roleHolders: OrderedMap<string, RoleHolder>;
  /** Keyed by subscriptionId, in the order purchased. Seats in use are on each one's ledger. */
  readonly subscriptions: OrderedMap<string, SubscriptionState>;
  /**
   * Written by the one-stream layout (its members are in this stream) and not migrated yet: nothing
   * may be decided on it until `cli migrate` closed it with a TenantMigrated image.
   */
  readonly unmigrated: boolean;
}

export const initialTenantState: TenantState = {
  exists: false,
  tenantId: '',
  displayName: '',
  kind: 'business',
  initialDomain: '',
  primaryDomain: '',
  domains: OrderedMap(),
  mfaRequired: false,
  roleHolders: OrderedMap(),
  subscriptions: OrderedMap(),
  unmigrated: false,
};

// ---------------------------------------------------------------- queries

/**
 * Members who hold GlobalAdministrator and can use it (neither blocked nor deleted). A guest given
 * the role doesn't count: guests never act (./authorisation.ts), so a tenant left with only a guest
 * Global Administrator could no longer be administered.
 */
export function activeGlobalAdministrators(state: TenantState): string[] {
  const ids: string[] = [];
  for (const [userId, holder] of state.roleHolders) {
    if (holder.roles.includes('GlobalAdministrator') && holder.userType === 'Member' && holder.active) {
      ids.push(userId);
    }
  }
  return ids;
}

export const isLastActiveGlobalAdministrator = (state: TenantState, userId: string): boolean => {
  const active = activeGlobalAdministrators(state);
  return active.length === 1 && active[0] === userId;
};

/** The roles a user holds in this tenant (none when it holds none, or is unknown). */
export const rolesOf = (state: TenantState, userId: string): readonly Role[] =>
  state.roleHolders.get(userId)?.roles ?? [];

/** The active subscription of that SKU; at most one exists (PurchaseSubscription keeps it so). */
export function findActiveSubscription(state: TenantState, sku: string): SubscriptionState | undefined {
  for (const subscription of state.subscriptions.values()) {
    if (subscription.sku === sku && subscription.status === 'active') return subscription;
  }
  return undefined;
}

/** A domain of this tenant that accounts may use: the initial domain or a verified custom one. */
export const isUsableDomain = (state: TenantState, name: string): boolean =>
  state.domains.get(name)?.isVerified === true;

/** A domain of this tenant whose accounts are counted (./ledgers.ts): any but the initial one. */
export const isCustomDomain = (state: TenantState, name: string): boolean =>
  state.domains.has(name) && state.initialDomain !== name;

// ---------------------------------------------------------------- evolve

const withDomain = (state: TenantState, name: string, change: Partial<DomainState>): TenantState => {
  const domain = state.domains.get(name);
  return domain === undefined
    ? state
    : { ...state, domains: state.domains.set(name, { ...domain, ...change }) };
};

const withSubscription = (
  state: TenantState,
  subscriptionId: string,
  change: Partial<SubscriptionState>,
): TenantState => {
  const subscription = state.subscriptions.get(subscriptionId);
  return subscription === undefined
    ? state
    : { ...state, subscriptions: state.subscriptions.set(subscriptionId, { ...subscription, ...change }) };
};

function fromImage(image: TenantImage): TenantState {
  return {
    exists: true,
    tenantId: image.tenantId,
    displayName: image.displayName,
    kind: image.kind,
    initialDomain: image.initialDomain,
    primaryDomain: image.primaryDomain,
    domains: OrderedMap(image.domains.map((domain) => [domain.name, { ...domain }])),
    mfaRequired: image.mfaRequired,
    roleHolders: OrderedMap(
      image.roleHolders.map(({ userId, userType, roles, active }) => [userId, { userType, roles, active }]),
    ),
    subscriptions: OrderedMap(image.subscriptions.map((s) => [s.subscriptionId, { ...s }])),
    unmigrated: false,
  };
}

/** The image of a state (what TenantMigrated carries and a snapshot stores). */
export function tenantImage(state: TenantState): TenantImage {
  return {
    tenantId: state.tenantId,
    displayName: state.displayName,
    kind: state.kind,
    initialDomain: state.initialDomain,
    primaryDomain: state.primaryDomain,
    domains: [...state.domains.values()],
    mfaRequired: state.mfaRequired,
    roleHolders: [...state.roleHolders].map(([userId, holder]) => ({ userId, ...holder })),
    subscriptions: [...state.subscriptions.values()],
  };
}

/** The tenant stream's snapshot codec: the image, plus the flags an image does not carry. */
export const tenantCodec = {
  schema: 'tenant@1',
  encode: (state: TenantState): string =>
    JSON.stringify({ exists: state.exists, unmigrated: state.unmigrated, image: tenantImage(state) }),
  decode: (text: string): TenantState => {
    const { exists, unmigrated, image } = JSON.parse(text) as {
      exists: boolean;
      unmigrated: boolean;
      image: TenantImage;
    };
    return { ...fromImage(image), exists, unmigrated };
  },
};

export function evolveTenant(state: TenantState, event: DirectoryEvent): TenantState {
  switch (event.type) {
    case 'TenantCreated': {
      const { tenantId, displayName, kind, initialDomain } = event.data;
      return {
        ...state,
        exists: true,
        tenantId,
        displayName,
        kind,
        initialDomain,
        primaryDomain: initialDomain,
        domains: OrderedMap([
          [initialDomain, { name: initialDomain, isInitial: true, isVerified: true, verificationCode: '' }],
        ]),
      };
    }
    case 'DomainAdded': {
      const { name, verificationCode } = event.data;
      return {
        ...state,
        domains: state.domains.set(name, { name, isInitial: false, isVerified: false, verificationCode }),
      };
    }
    case 'DomainVerified':
      return withDomain(state, event.data.name, { isVerified: true });
    case 'PrimaryDomainChanged':
      return { ...state, primaryDomain: event.data.domain };
    case 'DomainRemoved':
      return { ...state, domains: state.domains.delete(event.data.name) };
    case 'MfaRequirementChanged':
      return { ...state, mfaRequired: event.data.required };
    case 'RoleHolderChanged': {
      const { userId, userType, roles, active } = event.data;
      return {
        ...state,
        roleHolders:
          roles.length === 0
            ? state.roleHolders.delete(userId)
            : state.roleHolders.set(userId, { userType, roles, active }),
      };
    }
    case 'SubscriptionPurchased': {
      const { subscriptionId, sku, seats } = event.data;
      return {
        ...state,
        subscriptions: state.subscriptions.set(subscriptionId, {
          subscriptionId,
          sku,
          seats,
          status: 'active',
        }),
      };
    }
    case 'SeatsChanged':
      return withSubscription(state, event.data.subscriptionId, { seats: event.data.seats });
    case 'SubscriptionCancelled':
      return withSubscription(state, event.data.subscriptionId, { status: 'cancelled' });
    case 'TenantMigrated':
      return fromImage(event.data.tenant);
    // The one-stream layout kept every member and guest here: such a stream is unmigrated until
    // its TenantMigrated image (what it held is then in that image and in the objects' streams).
    case 'MemberCreated':
    case 'GuestInvited':
      return state.unmigrated ? state : { ...state, unmigrated: true };
    default:
      // The objects' events of the one-stream layout (their state is in the image), and event types
      // of a newer version: nothing tenant-wide.
      return state;
  }
}
