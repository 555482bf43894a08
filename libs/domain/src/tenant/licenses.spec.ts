import { describe, expect, it } from 'vitest';

import { fold } from '../shared/decider.js';
import { given } from '../testing/given.js';
import {
  ADMIN,
  ALICE,
  GUEST,
  INITIAL,
  licenseAssigned,
  memberCreated,
  roleAssigned,
  signedUp,
  subscriptionPurchased,
  userBlocked,
  userDeleted,
  userRestored,
  withAlice,
  withGuest,
} from '../testing/tenant-fixtures.js';
import { findActiveSubscription, licensesToFree, tenantDecider } from './decider.js';
import type { LicenseRemovalReason, TenantCommand, TenantEvent } from './types.js';

const BOB = 'u-bob';
const tenant = (events: readonly TenantEvent[]) => given(tenantDecider, events);

const withE3: TenantEvent[] = [...withAlice, subscriptionPurchased('s-1', 'E3', 2)];
const withBob: TenantEvent[] = [...withE3, memberCreated(BOB, `bob@${INITIAL}`, 'Bob')];
const aliceLicensed: TenantEvent[] = [...withBob, licenseAssigned(ALICE, 'E3', 's-1')];
const full: TenantEvent[] = [...aliceLicensed, licenseAssigned(BOB, 'E3', 's-1')];

const cancelled = (subscriptionId = 's-1', sku = 'E3'): TenantEvent => ({
  type: 'SubscriptionCancelled',
  data: { subscriptionId, sku },
});
const licenseRemoved = (
  userId: string,
  reason: LicenseRemovalReason = 'removed',
  sku = 'E3',
  subscriptionId = 's-1',
): TenantEvent => ({ type: 'LicenseRemoved', data: { userId, sku, subscriptionId, reason } });

describe('PurchaseSubscription', () => {
  const purchase = (subscriptionId: string, sku: string, seats: number): TenantCommand => ({
    type: 'PurchaseSubscription',
    actingUserId: ADMIN,
    data: { subscriptionId, sku, seats },
  });

  it('buys seats of a SKU', () => {
    const state = tenant(withAlice)
      .when(purchase('s-1', 'E3', 25))
      .then([subscriptionPurchased('s-1', 'E3', 25)]);
    expect(state.subscriptions.get('s-1')).toEqual({
      subscriptionId: 's-1',
      sku: 'E3',
      seats: 25,
      status: 'active',
      assignedTo: new Set(),
    });
    expect(findActiveSubscription(state, 'E3')?.subscriptionId).toBe('s-1');
  });

  it.each([1, 1_000_000])('accepts %d seats', (seats) => {
    tenant(withAlice)
      .when(purchase('s-1', 'M365_BUSINESS_PREMIUM', seats))
      .then([subscriptionPurchased('s-1', 'M365_BUSINESS_PREMIUM', seats)]);
  });

  it.each(['', 'e3', 'E3 ', 'E-3', 'É3', 'A'.repeat(65)])('refuses the SKU %j with invalid_sku', (sku) => {
    tenant(withAlice)
      .when(purchase('s-1', sku, 1))
      .thenRejects('invalid_sku', 'conflict');
  });

  it.each([0, -1, 1.5, 1_000_001, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses %d seats with invalid_seats',
    (seats) => {
      tenant(withAlice)
        .when(purchase('s-1', 'E3', seats))
        .thenRejects('invalid_seats', 'conflict');
    },
  );

  it('refuses a subscription id already used with subscription_exists', () => {
    tenant(withE3)
      .when(purchase('s-1', 'E5', 1))
      .thenRejects('subscription_exists', 'conflict');
  });

  it('refuses a second active subscription of a SKU with subscription_exists: change its seats instead', () => {
    const rejection = tenant(withE3)
      .when(purchase('s-2', 'E3', 1))
      .thenRejects('subscription_exists');
    expect(rejection.message).toContain('seats');
  });

  it('buys a SKU again once its subscription is cancelled', () => {
    const state = tenant([...withE3, cancelled()])
      .when(purchase('s-2', 'E3', 3))
      .then([subscriptionPurchased('s-2', 'E3', 3)]);
    expect(findActiveSubscription(state, 'E3')?.subscriptionId).toBe('s-2');
  });
});

describe('ChangeSeats', () => {
  const change = (seats: number, subscriptionId = 's-1'): TenantCommand => ({
    type: 'ChangeSeats',
    actingUserId: ADMIN,
    data: { subscriptionId, seats },
  });
  const changed = (previousSeats: number, seats: number): TenantEvent => ({
    type: 'SeatsChanged',
    data: { subscriptionId: 's-1', sku: 'E3', previousSeats, seats },
  });

  it('adds seats', () => {
    const state = tenant(full)
      .when(change(10))
      .then([changed(2, 10)]);
    expect(state.subscriptions.get('s-1')?.seats).toBe(10);
  });

  it('reduces seats down to the number assigned', () => {
    tenant([...aliceLicensed, changed(2, 5)])
      .when(change(1))
      .then([changed(5, 1)]);
  });

  it('refuses fewer seats than are assigned with seats_in_use', () => {
    tenant(full).when(change(1)).thenRejects('seats_in_use', 'conflict');
  });

  it('does nothing when the seats are unchanged', () => {
    tenant(withE3).when(change(2)).then([]);
  });

  it.each([0, 2.5, 1_000_001])('refuses %d seats with invalid_seats', (seats) => {
    tenant(withE3).when(change(seats)).thenRejects('invalid_seats');
  });

  it('refuses an unknown subscription with not_found', () => {
    tenant(withE3).when(change(3, 's-nope')).thenRejects('not_found', 'not_found');
  });

  it('refuses a cancelled subscription with not_found', () => {
    tenant([...withE3, cancelled()])
      .when(change(3))
      .thenRejects('not_found', 'not_found');
  });
});

describe('CancelSubscription', () => {
  const cancel = (subscriptionId = 's-1'): TenantCommand => ({
    type: 'CancelSubscription',
    actingUserId: ADMIN,
    data: { subscriptionId },
  });

  it('cancels a subscription without assigned licenses', () => {
    const state = tenant(withE3).when(cancel()).then([cancelled()]);
    expect(state.subscriptions.get('s-1')?.status).toBe('cancelled');
    expect(findActiveSubscription(state, 'E3')).toBeUndefined();
  });

  it('does nothing when already cancelled', () => {
    tenant([...withE3, cancelled()])
      .when(cancel())
      .then([]);
  });

  it('refuses while licenses are assigned with seats_in_use', () => {
    tenant(aliceLicensed).when(cancel()).thenRejects('seats_in_use', 'conflict');
  });

  it('cancels once the licenses are removed', () => {
    tenant([...aliceLicensed, licenseRemoved(ALICE)])
      .when(cancel())
      .then([cancelled()]);
  });

  it('refuses an unknown subscription with not_found', () => {
    tenant(withE3).when(cancel('s-nope')).thenRejects('not_found', 'not_found');
  });
});

describe('AssignLicense', () => {
  const assign = (userId: string, sku = 'E3', actingUserId = ADMIN): TenantCommand => ({
    type: 'AssignLicense',
    actingUserId,
    data: { userId, sku },
  });

  it("takes a seat of the SKU's active subscription", () => {
    const state = tenant(withBob)
      .when(assign(ALICE))
      .then([licenseAssigned(ALICE, 'E3', 's-1')]);
    expect(state.subscriptions.get('s-1')?.assignedTo).toEqual(new Set([ALICE]));
    expect(state.users.get(ALICE)?.licenses).toEqual(new Set(['E3']));
    expect(state.users.get(ALICE)?.revision).toBe(2);
  });

  it('may be sent by a License Administrator', () => {
    tenant([...withBob, roleAssigned(BOB, 'LicenseAdministrator')])
      .when(assign(ALICE, 'E3', BOB))
      .then([licenseAssigned(ALICE, 'E3', 's-1')]);
  });

  it('licenses a blocked user and a guest', () => {
    tenant([...withBob, userBlocked(ALICE)])
      .when(assign(ALICE))
      .then([licenseAssigned(ALICE, 'E3', 's-1')]);
    tenant([...withGuest, subscriptionPurchased('s-1', 'E3', 1)])
      .when(assign(GUEST))
      .then([licenseAssigned(GUEST, 'E3', 's-1')]);
  });

  it('licenses one user for several SKUs', () => {
    const state = tenant([...aliceLicensed, subscriptionPurchased('s-2', 'VISIO', 1)])
      .when(assign(ALICE, 'VISIO'))
      .then([licenseAssigned(ALICE, 'VISIO', 's-2')]);
    expect(state.users.get(ALICE)?.licenses).toEqual(new Set(['E3', 'VISIO']));
  });

  it('does nothing when the user already holds a license of the SKU', () => {
    tenant(aliceLicensed).when(assign(ALICE)).then([]);
    tenant(full).when(assign(ALICE)).then([]);
  });

  it('refuses when every seat is assigned with count_violation', () => {
    tenant([...full, memberCreated('u-carol', `carol@${INITIAL}`)])
      .when(assign('u-carol'))
      .thenRejects('count_violation', 'conflict');
  });

  it('assigns the seat a removed license freed, and seats added later', () => {
    const withCarol = [...full, memberCreated('u-carol', `carol@${INITIAL}`)];
    tenant([...withCarol, licenseRemoved(BOB)])
      .when(assign('u-carol'))
      .then([licenseAssigned('u-carol', 'E3', 's-1')]);
    tenant([
      ...withCarol,
      { type: 'SeatsChanged', data: { subscriptionId: 's-1', sku: 'E3', previousSeats: 2, seats: 3 } },
    ])
      .when(assign('u-carol'))
      .then([licenseAssigned('u-carol', 'E3', 's-1')]);
  });

  it('refuses an unknown user with not_found', () => {
    tenant(withE3).when(assign('u-nobody')).thenRejects('not_found', 'not_found');
  });

  it('refuses a deleted user with user_deleted', () => {
    tenant([...withE3, userDeleted(ALICE)])
      .when(assign(ALICE))
      .thenRejects('user_deleted');
  });

  it('refuses a SKU the tenant has no subscription of with not_found', () => {
    tenant(withE3).when(assign(ALICE, 'E5')).thenRejects('not_found', 'not_found');
  });

  it('refuses a SKU whose subscription is cancelled with not_found', () => {
    tenant([...withE3, cancelled()])
      .when(assign(ALICE))
      .thenRejects('not_found', 'not_found');
  });
});

describe('RemoveLicense', () => {
  const remove = (
    userId: string,
    options: { sku?: string; reason?: LicenseRemovalReason; actingUserId?: string; system?: boolean } = {},
  ): TenantCommand => ({
    type: 'RemoveLicense',
    ...(options.system === true
      ? { initiatedBy: 'system' as const }
      : { actingUserId: options.actingUserId ?? ADMIN }),
    data: {
      userId,
      sku: options.sku ?? 'E3',
      ...(options.reason === undefined ? {} : { reason: options.reason }),
    },
  });

  it("frees the seat, with the reason 'removed' by default", () => {
    const state = tenant(full)
      .when(remove(ALICE))
      .then([licenseRemoved(ALICE)]);
    expect(state.subscriptions.get('s-1')?.assignedTo).toEqual(new Set([BOB]));
    expect(state.users.get(ALICE)?.licenses).toEqual(new Set());
    expect(state.users.get(ALICE)?.revision).toBe(3);
  });

  it('records the reason sent', () => {
    tenant(full)
      .when(remove(ALICE, { reason: 'user_deleted' }))
      .then([licenseRemoved(ALICE, 'user_deleted')]);
  });

  it('names the subscription that holds the license', () => {
    tenant([
      ...withBob,
      subscriptionPurchased('s-0', 'E3', 1),
      licenseAssigned(ALICE, 'E3', 's-0'),
      {
        type: 'LicenseRemoved',
        data: { userId: ALICE, sku: 'E3', subscriptionId: 's-0', reason: 'removed' },
      },
      cancelled('s-0'),
      subscriptionPurchased('s-9', 'E3', 1),
      licenseAssigned(ALICE, 'E3', 's-9'),
    ])
      .when(remove(ALICE))
      .then([licenseRemoved(ALICE, 'removed', 'E3', 's-9')]);
  });

  it("removes a deleted user's license: that is how its seat is freed", () => {
    tenant([...full, userDeleted(ALICE)])
      .when(remove(ALICE))
      .then([licenseRemoved(ALICE)]);
  });

  it('may be sent by a License Administrator', () => {
    tenant([...full, roleAssigned(BOB, 'LicenseAdministrator')])
      .when(remove(ALICE, { actingUserId: BOB }))
      .then([licenseRemoved(ALICE)]);
  });

  it('refuses an unknown user with not_found', () => {
    tenant(full).when(remove('u-nobody')).thenRejects('not_found', 'not_found');
  });

  it('refuses a license the user does not hold with license_not_assigned', () => {
    tenant(withBob).when(remove(ALICE)).thenRejects('license_not_assigned', 'conflict');
    tenant(full)
      .when(remove(ALICE, { sku: 'E5' }))
      .thenRejects('license_not_assigned');
  });

  describe('sent by the service as the reaction to a deletion', () => {
    const deleted = [...full, userDeleted(ALICE)];

    it('frees the seat without an acting user', () => {
      tenant(deleted)
        .when(remove(ALICE, { system: true, reason: 'user_deleted' }))
        .then([licenseRemoved(ALICE, 'user_deleted')]);
    });

    it('does nothing when run again: the license is gone already', () => {
      tenant([...deleted, licenseRemoved(ALICE, 'user_deleted')])
        .when(remove(ALICE, { system: true, reason: 'user_deleted' }))
        .then([]);
    });

    it('does nothing for a user unknown to the tenant', () => {
      tenant(deleted)
        .when(remove('u-nobody', { system: true, reason: 'user_deleted' }))
        .then([]);
    });

    it('is refused with forbidden_role when it names an acting user too', () => {
      tenant(deleted)
        .when({ ...remove(ALICE, { system: true }), actingUserId: ADMIN })
        .thenRejects('forbidden_role', 'forbidden');
    });
  });
});

describe('the service flag on other commands', () => {
  it.each<TenantCommand>([
    {
      type: 'SignUpTenant',
      initiatedBy: 'system',
      data: {
        tenantId: 't-9',
        displayName: 'F',
        kind: 'business',
        domainPrefix: 'f',
        admin: { displayName: 'A', userName: 'a' },
      },
    },
    { type: 'AssignLicense', initiatedBy: 'system', data: { userId: ALICE, sku: 'E3' } },
    { type: 'DeleteUser', initiatedBy: 'system', data: { userId: ALICE } },
  ])('is refused on $type with forbidden_role', (command) => {
    tenant(command.type === 'SignUpTenant' ? [] : withE3)
      .when(command)
      .thenRejects('forbidden_role', 'forbidden');
  });
});

describe('deleting a user', () => {
  it('keeps its licenses: the app frees them with RemoveLicense, one per licensesToFree', () => {
    const state = tenant(full)
      .when({ type: 'DeleteUser', actingUserId: ADMIN, data: { userId: ALICE } })
      .then([userDeleted(ALICE)]);
    expect(state.users.get(ALICE)?.licenses).toEqual(new Set(['E3']));
    expect(licensesToFree(state, ALICE)).toEqual(['E3']);
  });
});

describe('licensesToFree', () => {
  const history: TenantEvent[] = [
    ...full,
    subscriptionPurchased('s-2', 'VISIO', 1),
    licenseAssigned(ALICE, 'VISIO', 's-2'),
    userDeleted(ALICE),
  ];

  it('lists every SKU a deleted user still holds', () => {
    expect(licensesToFree(fold(tenantDecider, history), ALICE)).toEqual(['E3', 'VISIO']);
  });

  it('lists what is left once some are freed', () => {
    const state = fold(tenantDecider, [...history, licenseRemoved(ALICE, 'user_deleted')]);
    expect(licensesToFree(state, ALICE)).toEqual(['VISIO']);
  });

  it('lists nothing for a user who is not deleted (or restored since), or unknown', () => {
    expect(licensesToFree(fold(tenantDecider, full), ALICE)).toEqual([]);
    expect(licensesToFree(fold(tenantDecider, [...history, userRestored(ALICE)]), ALICE)).toEqual([]);
    expect(licensesToFree(fold(tenantDecider, history), 'u-nobody')).toEqual([]);
  });
});

describe('evolve for subscriptions and licenses', () => {
  it('never changes the sets of the state it was given', () => {
    const before = fold(tenantDecider, aliceLicensed);
    const assignedBefore = before.subscriptions.get('s-1')?.assignedTo;
    const licensesBefore = before.users.get(ALICE)?.licenses;
    const after = [licenseAssigned(BOB, 'E3', 's-1'), licenseRemoved(ALICE)].reduce(
      tenantDecider.evolve,
      before,
    );
    expect(assignedBefore).toEqual(new Set([ALICE]));
    expect(licensesBefore).toEqual(new Set(['E3']));
    expect(after.subscriptions.get('s-1')?.assignedTo).toEqual(new Set([BOB]));
  });

  it('counts license events in the user revision, and subscription events in none', () => {
    const state = fold(tenantDecider, [
      ...signedUp,
      memberCreated(ALICE, `alice@${INITIAL}`),
      subscriptionPurchased('s-1', 'E3', 1),
      { type: 'SeatsChanged', data: { subscriptionId: 's-1', sku: 'E3', previousSeats: 1, seats: 2 } },
      licenseAssigned(ALICE, 'E3', 's-1'),
      licenseRemoved(ALICE),
    ]);
    expect(state.users.get(ALICE)?.revision).toBe(3);
    expect(state.users.get(ADMIN)?.revision).toBe(2);
  });
});
