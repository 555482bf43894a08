// The rules of subscriptions and licenses. A subscription (its SKU, seats and status) is
// tenant-wide; the seats in use are counted on the subscription's own ledger (./ledgers.ts), which
// every assignment and removal writes beside the user's stream, so two racing assignments can't
// both take the last seat however many licenses the tenant has.

import { reject, type Decision, type Rejection } from '../shared/decider.js';
import type {
  AssignLicense,
  CancelSubscription,
  ChangeSeats,
  PurchaseSubscription,
  RemoveLicense,
} from './commands.js';
import type { DirectoryEvent } from './events.js';
import { isUser, liveUser, NOTHING, userNotFound } from './rejections.js';
import { findActiveSubscription, type SubscriptionState, type TenantState } from './tenant-state.js';
import type { UserState } from './user-state.js';
import type { DirectoryView } from './view.js';

type Events = Decision<DirectoryEvent>;

const SKU = /^[A-Z0-9_]{1,64}$/;
const MIN_SEATS = 1;
const MAX_SEATS = 1_000_000;

const subscriptionNotFound = (): Rejection =>
  reject('not_found', 'The subscription does not exist in this tenant or is cancelled', 'not_found');
const invalidSeats = (): Rejection =>
  reject('invalid_seats', `Seats must be a whole number from ${MIN_SEATS} to ${MAX_SEATS}`);

const isValidSeats = (seats: number): boolean =>
  Number.isInteger(seats) && seats >= MIN_SEATS && seats <= MAX_SEATS;

/**
 * The SKUs a deleted user still holds: the app's durable reaction to UserDeleted sends one
 * RemoveLicense (initiatedBy 'system', reason 'user_deleted') for each, so the seats are freed.
 * Empty for a user who is unknown or not deleted (restored in the meantime: keep their licenses).
 */
export function licensesToFree(user: UserState | undefined): string[] {
  return user?.deleted === true ? [...user.licenses.keys()] : [];
}

export function purchaseSubscription(command: PurchaseSubscription, view: DirectoryView): Events {
  const { subscriptionId, sku, seats } = command.data;
  if (!SKU.test(sku)) return reject('invalid_sku', 'The SKU must be 1 to 64 characters A-Z, 0-9 or _');
  if (!isValidSeats(seats)) return invalidSeats();
  if (view.tenant.subscriptions.has(subscriptionId)) {
    return reject('subscription_exists', 'A subscription with this id already exists');
  }
  // One active subscription per SKU, so that a license names its subscription without ambiguity.
  if (findActiveSubscription(view.tenant, sku) !== undefined) {
    return reject(
      'subscription_exists',
      `The tenant already has an active ${sku} subscription; change its seats instead`,
    );
  }
  return [{ type: 'SubscriptionPurchased', data: { subscriptionId, sku, seats } }];
}

/** The subscription a command is about, if it exists and is not cancelled. */
function activeSubscription(state: TenantState, subscriptionId: string): SubscriptionState | undefined {
  const subscription = state.subscriptions.get(subscriptionId);
  return subscription?.status === 'active' ? subscription : undefined;
}

export function changeSeats(command: ChangeSeats, view: DirectoryView): Events {
  const subscription = activeSubscription(view.tenant, command.data.subscriptionId);
  if (subscription === undefined) return subscriptionNotFound();
  const { seats } = command.data;
  if (!isValidSeats(seats)) return invalidSeats();
  const assigned = view.seatsAssigned(subscription.subscriptionId);
  if (seats < assigned) {
    return reject(
      'seats_in_use',
      `${assigned} seats are assigned; remove licenses before reducing below that`,
    );
  }
  if (seats === subscription.seats) return NOTHING;
  return [
    {
      type: 'SeatsChanged',
      data: {
        subscriptionId: subscription.subscriptionId,
        sku: subscription.sku,
        previousSeats: subscription.seats,
        seats,
      },
    },
  ];
}

export function cancelSubscription(command: CancelSubscription, view: DirectoryView): Events {
  const subscription = view.tenant.subscriptions.get(command.data.subscriptionId);
  if (subscription === undefined) return subscriptionNotFound();
  if (subscription.status === 'cancelled') return NOTHING;
  if (view.seatsAssigned(subscription.subscriptionId) > 0) {
    return reject('seats_in_use', 'Licenses of this subscription are still assigned; remove them first');
  }
  return [
    {
      type: 'SubscriptionCancelled',
      data: { subscriptionId: subscription.subscriptionId, sku: subscription.sku },
    },
  ];
}

export function assignLicense(command: AssignLicense, view: DirectoryView): Events {
  const user = liveUser(view, command.data.userId);
  if (!isUser(user)) return user;
  const { sku } = command.data;
  const subscription = findActiveSubscription(view.tenant, sku);
  if (subscription === undefined) {
    return reject('not_found', `The tenant has no active ${sku} subscription`, 'not_found');
  }
  if (user.licenses.has(sku)) return NOTHING;
  const { subscriptionId } = subscription;
  if (view.seatsAssigned(subscriptionId) >= subscription.seats) {
    return reject(
      'count_violation',
      `All ${subscription.seats} seats of the ${sku} subscription are assigned`,
    );
  }
  return [
    { type: 'LicenseAssigned', data: { userId: user.userId, sku, subscriptionId } },
    { type: 'SeatTaken', data: { subscriptionId, userId: user.userId } },
  ];
}

export function removeLicense(command: RemoveLicense, view: DirectoryView): Events {
  // The service's own reaction to UserDeleted may run more than once, or after an administrator
  // removed the license already: for it, nothing to remove is success.
  const bySystem = command.initiatedBy === 'system';
  // Deleted users are allowed here: that is how a deleted account's seats are freed.
  const user = view.user(command.data.userId);
  if (user === undefined) return bySystem ? NOTHING : userNotFound();
  const { sku } = command.data;
  const subscriptionId = user.licenses.get(sku);
  if (subscriptionId === undefined) {
    return bySystem ? NOTHING : reject('license_not_assigned', `The user holds no ${sku} license`);
  }
  return [
    {
      type: 'LicenseRemoved',
      data: { userId: user.userId, sku, subscriptionId, reason: command.data.reason ?? 'removed' },
    },
    { type: 'SeatReleased', data: { subscriptionId, userId: user.userId } },
  ];
}
