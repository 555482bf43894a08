// The rules of subscriptions and licenses: a subscription's SKU, seats and status are tenant-wide;
// the seats in use are its ledger's count, which every assignment and removal writes beside the
// user's own stream.

import { describe, expect, it } from 'vitest';

import { givenDirectory, MemoryDirectory } from '../testing/directory.js';
import {
  ADMIN,
  ALICE,
  BOB,
  GUEST,
  INITIAL,
  licenseAssigned,
  licensed,
  licenseRemoved,
  memberCreated,
  roleGiven,
  seatReleased,
  seatTaken,
  signedUp,
  subscriptionCancelled as cancelled,
  subscriptionPurchased,
  unlicensed,
  userBlocked,
  userDeleted,
  userRestored,
  withAlice,
  withGuest,
} from '../testing/tenant-fixtures.js';
import type { LicenseRemovalReason, TenantCommand } from './commands.js';
import type { DirectoryEvent } from './events.js';
import { licensesToFree } from './licenses.js';
import { findActiveSubscription } from './tenant-state.js';

const tenant = givenDirectory;

const withE3: DirectoryEvent[] = [...withAlice, subscriptionPurchased('s-1', 'E3', 2)];
const withBob: DirectoryEvent[] = [...withE3, memberCreated(BOB, `bob@${INITIAL}`, 'Bob')];
const aliceLicensed: DirectoryEvent[] = [...withBob, ...licensed(ALICE, 'E3', 's-1')];
const full: DirectoryEvent[] = [...aliceLicensed, ...licensed(BOB, 'E3', 's-1')];

/** What AssignLicense decides: the user's license, and the seat its ledger counts. */
const assigned = (userId: string, sku = 'E3', subscriptionId = 's-1'): DirectoryEvent[] =>
  licensed(userId, sku, subscriptionId);
/** What RemoveLicense decides: the user's license removed, and the seat given back. */
const removed = (
  userId: string,
  reason: LicenseRemovalReason = 'removed',
  sku = 'E3',
  subscriptionId = 's-1',
): DirectoryEvent[] => unlicensed(userId, reason, sku, subscriptionId);

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
    expect(state.tenant.subscriptions.get('s-1')).toEqual({
      subscriptionId: 's-1',
      sku: 'E3',
      seats: 25,
      status: 'active',
    });
    expect(state.seatsAssigned('s-1')).toBe(0);
    expect(findActiveSubscription(state.tenant, 'E3')?.subscriptionId).toBe('s-1');
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
    expect(findActiveSubscription(state.tenant, 'E3')?.subscriptionId).toBe('s-2');
  });
});

describe('ChangeSeats', () => {
  const change = (seats: number, subscriptionId = 's-1'): TenantCommand => ({
    type: 'ChangeSeats',
    actingUserId: ADMIN,
    data: { subscriptionId, seats },
  });
  const changed = (previousSeats: number, seats: number): DirectoryEvent => ({
    type: 'SeatsChanged',
    data: { subscriptionId: 's-1', sku: 'E3', previousSeats, seats },
  });

  it('adds seats', () => {
    const state = tenant(full)
      .when(change(10))
      .then([changed(2, 10)]);
    expect(state.tenant.subscriptions.get('s-1')?.seats).toBe(10);
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
    expect(state.tenant.subscriptions.get('s-1')?.status).toBe('cancelled');
    expect(findActiveSubscription(state.tenant, 'E3')).toBeUndefined();
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
    tenant([...aliceLicensed, ...removed(ALICE)])
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

  it("takes a seat of the SKU's active subscription, counted on its ledger", () => {
    const state = tenant(withBob).when(assign(ALICE)).then(assigned(ALICE));
    expect(state.seatsAssigned('s-1')).toBe(1);
    expect(state.user(ALICE)?.licenses).toEqual(new Map([['E3', 's-1']]));
    expect(state.user(ALICE)?.revision).toBe(2);
  });

  it('may be sent by a License Administrator', () => {
    tenant([...withBob, ...roleGiven(BOB, 'LicenseAdministrator')])
      .when(assign(ALICE, 'E3', BOB))
      .then(assigned(ALICE));
  });

  it('licenses a blocked user and a guest', () => {
    tenant([...withBob, userBlocked(ALICE)])
      .when(assign(ALICE))
      .then(assigned(ALICE));
    tenant([...withGuest, subscriptionPurchased('s-1', 'E3', 1)])
      .when(assign(GUEST))
      .then(assigned(GUEST));
  });

  it('licenses one user for several SKUs', () => {
    const state = tenant([...aliceLicensed, subscriptionPurchased('s-2', 'VISIO', 1)])
      .when(assign(ALICE, 'VISIO'))
      .then(assigned(ALICE, 'VISIO', 's-2'));
    expect(state.user(ALICE)?.licenses).toEqual(
      new Map([
        ['E3', 's-1'],
        ['VISIO', 's-2'],
      ]),
    );
    expect(state.seatsAssigned('s-2')).toBe(1);
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

  it("counts the seats on the subscription's ledger alone, however many licenses the tenant has", () => {
    // A ledger migrated full: no user's stream says so, and none is read.
    tenant([...withBob, { type: 'SeatsMigrated', data: { subscriptionId: 's-1', assigned: 2 } }])
      .when(assign(ALICE))
      .thenRejects('count_violation');
  });

  it('assigns the seat a removed license freed, and seats added later', () => {
    const withCarol = [...full, memberCreated('u-carol', `carol@${INITIAL}`)];
    tenant([...withCarol, ...removed(BOB)])
      .when(assign('u-carol'))
      .then(assigned('u-carol'));
    tenant([
      ...withCarol,
      { type: 'SeatsChanged', data: { subscriptionId: 's-1', sku: 'E3', previousSeats: 2, seats: 3 } },
    ])
      .when(assign('u-carol'))
      .then(assigned('u-carol'));
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
    const state = tenant(full).when(remove(ALICE)).then(removed(ALICE));
    expect(state.seatsAssigned('s-1')).toBe(1);
    expect(state.user(ALICE)?.licenses).toEqual(new Map());
    expect(state.user(ALICE)?.revision).toBe(3);
  });

  it('records the reason sent', () => {
    tenant(full)
      .when(remove(ALICE, { reason: 'user_deleted' }))
      .then(removed(ALICE, 'user_deleted'));
  });

  it('names the subscription that holds the license, and frees a seat of that one', () => {
    const state = tenant([
      ...withBob,
      subscriptionPurchased('s-0', 'E3', 1),
      ...licensed(ALICE, 'E3', 's-0'),
      ...unlicensed(ALICE, 'removed', 'E3', 's-0'),
      cancelled('s-0'),
      subscriptionPurchased('s-9', 'E3', 1),
      ...licensed(ALICE, 'E3', 's-9'),
    ])
      .when(remove(ALICE))
      .then(removed(ALICE, 'removed', 'E3', 's-9'));
    expect(state.seatsAssigned('s-9')).toBe(0);
    expect(state.seatsAssigned('s-0')).toBe(0);
  });

  it("removes a deleted user's license: that is how its seat is freed", () => {
    tenant([...full, userDeleted(ALICE)])
      .when(remove(ALICE))
      .then(removed(ALICE));
  });

  it('may be sent by a License Administrator', () => {
    tenant([...full, ...roleGiven(BOB, 'LicenseAdministrator')])
      .when(remove(ALICE, { actingUserId: BOB }))
      .then(removed(ALICE));
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
        .then(removed(ALICE, 'user_deleted'));
    });

    it('does nothing when run again: the license is gone already', () => {
      tenant([...deleted, ...removed(ALICE, 'user_deleted')])
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
  it('keeps its licenses and their seats: the app frees them with RemoveLicense, one per licensesToFree', () => {
    const state = tenant(full)
      .when({ type: 'DeleteUser', actingUserId: ADMIN, data: { userId: ALICE } })
      .then([userDeleted(ALICE)]);
    expect(state.user(ALICE)?.licenses).toEqual(new Map([['E3', 's-1']]));
    expect(state.seatsAssigned('s-1')).toBe(2);
    expect(licensesToFree(state.user(ALICE))).toEqual(['E3']);
  });
});

describe('licensesToFree', () => {
  const history: DirectoryEvent[] = [
    ...full,
    subscriptionPurchased('s-2', 'VISIO', 1),
    ...licensed(ALICE, 'VISIO', 's-2'),
    userDeleted(ALICE),
  ];
  const aliceAfter = (events: readonly DirectoryEvent[]) => MemoryDirectory.of(events).user(ALICE);

  it('lists every SKU a deleted user still holds', () => {
    expect(licensesToFree(aliceAfter(history))).toEqual(['E3', 'VISIO']);
  });

  it('lists what is left once some are freed', () => {
    expect(licensesToFree(aliceAfter([...history, ...removed(ALICE, 'user_deleted')]))).toEqual(['VISIO']);
  });

  it('lists nothing for a user who is not deleted (or restored since), or unknown', () => {
    expect(licensesToFree(aliceAfter(full))).toEqual([]);
    expect(licensesToFree(aliceAfter([...history, userRestored(ALICE)]))).toEqual([]);
    expect(licensesToFree(MemoryDirectory.of(history).user('u-nobody'))).toEqual([]);
  });
});

describe('the folds of subscriptions and licenses', () => {
  it("never changes the licenses of the user state it was given, nor the ledger's count", () => {
    const before = MemoryDirectory.of(aliceLicensed);
    const licensesBefore = before.user(ALICE)?.licenses;
    const after = before.with([...licensed(BOB, 'E3', 's-1'), ...removed(ALICE)]);
    expect(licensesBefore).toEqual(new Map([['E3', 's-1']]));
    expect(before.seatsAssigned('s-1')).toBe(1);
    expect(after.user(ALICE)?.licenses).toEqual(new Map());
    expect(after.seatsAssigned('s-1')).toBe(1);
  });

  it('counts license events in the user revision, and subscription and ledger events in none', () => {
    const state = MemoryDirectory.of([
      ...signedUp,
      memberCreated(ALICE, `alice@${INITIAL}`),
      subscriptionPurchased('s-1', 'E3', 1),
      { type: 'SeatsChanged', data: { subscriptionId: 's-1', sku: 'E3', previousSeats: 1, seats: 2 } },
      licenseAssigned(ALICE, 'E3', 's-1'),
      seatTaken('s-1', ALICE),
      licenseRemoved(ALICE),
      seatReleased('s-1', ALICE),
    ]);
    expect(state.user(ALICE)?.revision).toBe(3);
    expect(state.user(ADMIN)?.revision).toBe(2);
  });
});
