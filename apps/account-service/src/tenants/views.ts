// JSON shapes of directory resources, derived from the folded tenant state.
import type { DomainState, SubscriptionState, TenantState, UserState } from '#domain';

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

export function tenantView(state: TenantState) {
  return {
    tenantId: state.tenantId,
    displayName: state.displayName,
    kind: state.kind,
    initialDomain: state.initialDomain,
    primaryDomain: state.primaryDomain,
    domains: [...state.domains.values()].map((d) => domainView(state, d)),
    mfaPolicy: { required: state.mfaRequired },
    subscriptions: [...state.subscriptions.values()].map(subscriptionView),
  };
}

export function subscriptionView(subscription: SubscriptionState) {
  return {
    subscriptionId: subscription.subscriptionId,
    sku: subscription.sku,
    seats: subscription.seats,
    assignedSeats: subscription.assignedTo.size,
    availableSeats: Math.max(0, subscription.seats - subscription.assignedTo.size),
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
    roles: [...(state.roles.get(user.userId) ?? [])],
    mfaMethods: user.mfaMethods.map((m) => ({ methodId: m.methodId, kind: m.kind })),
    licenses: [...user.licenses].map((sku) => ({ sku })),
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
