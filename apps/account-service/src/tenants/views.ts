// JSON shapes of directory resources, derived from the folded states a command decided on (its
// answer) or from the read models (GET routes): the same shape either way.
import type { DomainState, SubscriptionState, TenantState, UserState } from '#domain';
import type { SubscriptionRecord, TenantDomainRecord, TenantOverview, UserRecord } from '#projections';

export function domainView(state: TenantState, domain: DomainState) {
  return {
    name: domain.name,
    isInitial: domain.isInitial,
    isPrimary: state.primaryDomain === domain.name,
    isVerified: domain.isVerified,
    ...(domain.isVerified || domain.isInitial
      ? {}
      : { verificationRecord: { type: 'TXT' as const, value: `MS=${domain.verificationCode}` } }),
  };
}

/** `assigned`: the seats in use, from the subscription's ledger. */
export function subscriptionView(subscription: SubscriptionState, assigned: number) {
  return {
    subscriptionId: subscription.subscriptionId,
    sku: subscription.sku,
    seats: subscription.seats,
    assignedSeats: assigned,
    availableSeats: Math.max(0, subscription.seats - assigned),
    status: subscription.status,
  };
}

export function userView(state: TenantState, user: UserState) {
  return {
    userId: user.userId,
    tenantId: state.tenantId,
    userType: user.userType,
    userPrincipalName: user.userPrincipalName,
    displayName: user.displayName,
    accountEnabled: !user.blocked && !user.deleted,
    state: user.deleted ? 'deleted' : user.blocked ? 'blocked' : 'active',
    roles: [...user.roles],
    mfaMethods: user.mfaMethods.map((m) => ({ methodId: m.methodId, kind: m.kind })),
    licenses: [...user.licenses.keys()].map((sku) => ({ sku })),
    ...(user.guest
      ? {
          mail: user.guest.email,
          externalUserState: user.guest.state,
          invitationId: user.guest.invitationId,
          ...(user.guest.identity ? { identity: { kind: user.guest.identity.kind } } : {}),
        }
      : {}),
  };
}

// ---------------------------------------------------------------- from the read models

function domainRecordView(tenant: TenantOverview, domain: TenantDomainRecord) {
  return {
    name: domain.name,
    isInitial: domain.isInitial,
    isPrimary: tenant.primaryDomain === domain.name,
    isVerified: domain.isVerified,
    ...(domain.isVerified || domain.isInitial
      ? {}
      : { verificationRecord: { type: 'TXT' as const, value: `MS=${domain.verificationCode}` } }),
  };
}

function subscriptionRecordView(subscription: SubscriptionRecord) {
  return {
    subscriptionId: subscription.subscriptionId,
    sku: subscription.sku,
    seats: subscription.seats,
    assignedSeats: subscription.assigned,
    availableSeats: Math.max(0, subscription.seats - subscription.assigned),
    status: subscription.status,
  };
}

export function tenantOverviewView(tenant: TenantOverview) {
  return {
    tenantId: tenant.tenantId,
    displayName: tenant.displayName,
    kind: tenant.kind,
    initialDomain: tenant.initialDomain,
    primaryDomain: tenant.primaryDomain,
    domains: tenant.domains.map((d) => domainRecordView(tenant, d)),
    mfaPolicy: { required: tenant.mfaRequired },
    subscriptions: tenant.subscriptions.map(subscriptionRecordView),
  };
}

export function userRecordView(user: UserRecord) {
  return {
    userId: user.userId,
    tenantId: user.tenantId,
    userType: user.userType,
    userPrincipalName: user.userPrincipalName,
    displayName: user.displayName,
    accountEnabled: !user.blocked && !user.deleted,
    state: user.deleted ? 'deleted' : user.blocked ? 'blocked' : 'active',
    roles: [...user.roles],
    mfaMethods: user.mfaMethods.map((m) => ({ methodId: m.methodId, kind: m.kind })),
    licenses: user.licenses.map((sku) => ({ sku })),
    ...(user.guest
      ? {
          mail: user.guest.email,
          externalUserState: user.guest.state,
          invitationId: user.guest.invitationId,
          ...(user.guest.identityKind ? { identity: { kind: user.guest.identityKind } } : {}),
        }
      : {}),
  };
}
