// The tenant stream's fold: profile, domains, MFA policy, role holders and subscriptions, the image
// a migration closes a one-stream tenant with, and a fold step whose cost does not grow with the
// tenant.

import { describe, expect, it } from 'vitest';

import {
  ADMIN,
  ALICE,
  BOB,
  domainAdded,
  domainVerified,
  guestInvited,
  INITIAL,
  memberCreated,
  roleAssigned,
  roleHolderChanged,
  seatTaken,
  signedUp,
  subscriptionCancelled,
  subscriptionPurchased,
  TENANT_ID,
  tenantCreated,
  userBlocked,
  verifiedDomain,
} from '../testing/tenant-fixtures.js';
import type { DirectoryEvent, TenantImage } from './events.js';
import {
  activeGlobalAdministrators,
  evolveTenant,
  findActiveSubscription,
  initialTenantState,
  isCustomDomain,
  isLastActiveGlobalAdministrator,
  isUsableDomain,
  rolesOf,
  tenantCodec,
  tenantImage,
  type TenantState,
} from './tenant-state.js';

const fold = (events: readonly DirectoryEvent[], from: TenantState = initialTenantState): TenantState =>
  events.reduce(evolveTenant, from);

/** What today's tenant stream holds after sign-up: the tenant's own events, never its members'. */
const tenantStream = (events: readonly DirectoryEvent[]): DirectoryEvent[] =>
  events.filter((event) => event.type !== 'MemberCreated' && event.type !== 'RoleAssigned');

const image: TenantImage = {
  tenantId: TENANT_ID,
  displayName: 'Contoso',
  kind: 'business',
  initialDomain: INITIAL,
  primaryDomain: 'contoso.com',
  domains: [
    { name: INITIAL, isInitial: true, isVerified: true, verificationCode: '' },
    { name: 'contoso.com', isInitial: false, isVerified: true, verificationCode: 'ms12345678' },
  ],
  mfaRequired: true,
  roleHolders: [
    { userId: ADMIN, userType: 'Member', roles: ['GlobalAdministrator'], active: true },
    { userId: BOB, userType: 'Member', roles: ['GlobalAdministrator', 'SecurityReader'], active: false },
  ],
  subscriptions: [
    { subscriptionId: 's-0', sku: 'E3', seats: 1, status: 'cancelled' },
    { subscriptionId: 's-1', sku: 'E3', seats: 5, status: 'active' },
  ],
};

describe('evolveTenant', () => {
  it('starts from a tenant that does not exist, written by no layout yet', () => {
    expect(initialTenantState.exists).toBe(false);
    expect(initialTenantState.unmigrated).toBe(false);
  });

  it('creates the tenant with its initial domain, verified and primary', () => {
    const state = fold([tenantCreated]);
    expect(state).toMatchObject({
      exists: true,
      tenantId: TENANT_ID,
      displayName: 'Contoso',
      kind: 'business',
      initialDomain: INITIAL,
      primaryDomain: INITIAL,
      mfaRequired: false,
      unmigrated: false,
    });
    expect([...state.domains.values()]).toEqual([
      { name: INITIAL, isInitial: true, isVerified: true, verificationCode: '' },
    ]);
  });

  it('forgets a removed domain', () => {
    const state = fold([
      tenantCreated,
      ...verifiedDomain('contoso.com'),
      { type: 'DomainRemoved', data: { name: 'contoso.com', wasVerified: true } },
    ]);
    expect([...state.domains.keys()]).toEqual([INITIAL]);
  });

  it('keeps domains in the order they were added', () => {
    const state = fold([tenantCreated, domainAdded('b.example'), domainAdded('a.example')]);
    expect([...state.domains.keys()]).toEqual([INITIAL, 'b.example', 'a.example']);
  });

  it('tells custom domains, usable domains and the initial one apart', () => {
    const state = fold([tenantCreated, ...verifiedDomain('contoso.com'), domainAdded('fabrikam.com')]);
    expect(isCustomDomain(state, 'contoso.com')).toBe(true);
    expect(isCustomDomain(state, 'fabrikam.com')).toBe(true);
    expect(isCustomDomain(state, INITIAL)).toBe(false);
    expect(isCustomDomain(state, 'nowhere.example')).toBe(false);
    expect(isUsableDomain(state, INITIAL)).toBe(true);
    expect(isUsableDomain(state, 'contoso.com')).toBe(true);
    expect(isUsableDomain(state, 'fabrikam.com')).toBe(false);
  });

  it('keeps subscriptions, their seats and status, and finds the active one of a SKU', () => {
    const state = fold([
      tenantCreated,
      subscriptionPurchased('s-0', 'E3', 1),
      subscriptionCancelled('s-0'),
      subscriptionPurchased('s-1', 'E3', 2),
      { type: 'SeatsChanged', data: { subscriptionId: 's-1', sku: 'E3', previousSeats: 2, seats: 7 } },
    ]);
    expect([...state.subscriptions.values()]).toEqual([
      { subscriptionId: 's-0', sku: 'E3', seats: 1, status: 'cancelled' },
      { subscriptionId: 's-1', sku: 'E3', seats: 7, status: 'active' },
    ]);
    expect(findActiveSubscription(state, 'E3')?.subscriptionId).toBe('s-1');
    expect(findActiveSubscription(state, 'VISIO')).toBeUndefined();
  });

  it('ignores changes to a subscription it does not know', () => {
    const state = fold([tenantCreated]);
    expect(evolveTenant(state, subscriptionCancelled('s-nope'))).toBe(state);
  });

  it('leaves the state as it is for an event type it does not know', () => {
    const state = fold(tenantStream(signedUp));
    const unknown = { type: 'SomethingNew', data: {} } as unknown as DirectoryEvent;
    expect(evolveTenant(state, unknown)).toBe(state);
  });

  it("leaves the state as it is for another aggregate's events", () => {
    const state = fold(tenantStream(signedUp));
    for (const event of [roleAssigned(ALICE, 'GuestInviter'), userBlocked(ALICE), seatTaken('s-1', ALICE)]) {
      expect(evolveTenant(state, event)).toBe(state);
    }
  });

  it('never changes the state it was given', () => {
    const before = fold([...tenantStream(signedUp), subscriptionPurchased('s-1', 'E3', 1)]);
    const snapshot = {
      domains: before.domains.toJS(),
      roleHolders: before.roleHolders.toJS(),
      subscriptions: before.subscriptions.toJS(),
    };
    const after = fold(
      [
        ...verifiedDomain('contoso.com'),
        roleHolderChanged(ALICE, ['GuestInviter']),
        roleHolderChanged(ADMIN, ['GlobalAdministrator', 'SecurityReader']),
        roleHolderChanged(ADMIN, []),
        { type: 'SeatsChanged', data: { subscriptionId: 's-1', sku: 'E3', previousSeats: 1, seats: 3 } },
        subscriptionCancelled('s-1'),
        { type: 'DomainRemoved', data: { name: INITIAL, wasVerified: true } },
      ],
      before,
    );
    expect(after).not.toBe(before);
    expect(before.domains.toJS()).toEqual(snapshot.domains);
    expect(before.roleHolders.toJS()).toEqual(snapshot.roleHolders);
    expect(before.subscriptions.toJS()).toEqual(snapshot.subscriptions);
  });
});

describe('role holders', () => {
  const base = fold(tenantStream(signedUp));

  it('enters a user with its roles, in the order assigned', () => {
    const state = evolveTenant(base, roleHolderChanged(ALICE, ['GuestInviter', 'SecurityReader']));
    expect(state.roleHolders.get(ALICE)).toEqual({
      userType: 'Member',
      roles: ['GuestInviter', 'SecurityReader'],
      active: true,
    });
    expect(rolesOf(state, ALICE)).toEqual(['GuestInviter', 'SecurityReader']);
    expect(rolesOf(state, 'u-nobody')).toEqual([]);
  });

  it('rewrites an entry in its place, and forgets a user left with no role', () => {
    const state = fold(
      [
        roleHolderChanged(ALICE, ['GuestInviter']),
        roleHolderChanged(BOB, ['SecurityReader']),
        roleHolderChanged(ADMIN, ['GlobalAdministrator'], { active: false }),
        roleHolderChanged(ALICE, []),
      ],
      base,
    );
    expect([...state.roleHolders.keys()]).toEqual([ADMIN, BOB]);
    expect(state.roleHolders.get(ADMIN)?.active).toBe(false);
  });

  it('counts as active Global Administrators only members who can use the role', () => {
    const state = fold(
      [
        roleHolderChanged(ALICE, ['GlobalAdministrator'], { active: false }),
        roleHolderChanged('u-guest', ['GlobalAdministrator'], { userType: 'Guest' }),
        roleHolderChanged(BOB, ['UserAdministrator']),
      ],
      base,
    );
    expect(activeGlobalAdministrators(state)).toEqual([ADMIN]);
    expect(isLastActiveGlobalAdministrator(state, ADMIN)).toBe(true);
    expect(isLastActiveGlobalAdministrator(state, ALICE)).toBe(false);
    const two = evolveTenant(state, roleHolderChanged(BOB, ['UserAdministrator', 'GlobalAdministrator']));
    expect(activeGlobalAdministrators(two)).toEqual([ADMIN, BOB]);
    expect(isLastActiveGlobalAdministrator(two, ADMIN)).toBe(false);
  });
});

describe('the one-stream layout', () => {
  it('marks a stream that holds its members as unmigrated: nothing may be decided on it', () => {
    expect(fold(signedUp).unmigrated).toBe(true);
    expect(fold([tenantCreated, guestInvited()]).unmigrated).toBe(true);
  });

  it("does not mark today's tenant stream, which holds no member", () => {
    expect(fold(tenantStream(signedUp)).unmigrated).toBe(false);
  });

  it('is closed by a TenantMigrated image: the tenant is then the image', () => {
    const state = fold([
      ...signedUp,
      memberCreated(ALICE, `alice@${INITIAL}`),
      { type: 'TenantMigrated', data: { tenant: image } },
    ]);
    expect(state.unmigrated).toBe(false);
    expect(state.exists).toBe(true);
    expect(state.primaryDomain).toBe('contoso.com');
    expect(state.mfaRequired).toBe(true);
    expect([...state.domains.keys()]).toEqual([INITIAL, 'contoso.com']);
    expect(activeGlobalAdministrators(state)).toEqual([ADMIN]);
    expect(state.roleHolders.get(BOB)).toEqual({
      userType: 'Member',
      roles: ['GlobalAdministrator', 'SecurityReader'],
      active: false,
    });
    expect(findActiveSubscription(state, 'E3')?.subscriptionId).toBe('s-1');
  });

  it('gives back the image it was made from', () => {
    expect(tenantImage(fold([{ type: 'TenantMigrated', data: { tenant: image } }]))).toEqual(image);
  });
});

describe('tenantCodec', () => {
  it('restores a state from its snapshot, flags included', () => {
    const states = [
      initialTenantState,
      fold([{ type: 'TenantMigrated', data: { tenant: image } }, roleHolderChanged(ALICE, ['GuestInviter'])]),
      fold(signedUp),
    ];
    for (const state of states) {
      const decoded = tenantCodec.decode(tenantCodec.encode(state));
      expect(tenantImage(decoded)).toEqual(tenantImage(state));
      expect(decoded.exists).toBe(state.exists);
      expect(decoded.unmigrated).toBe(state.unmigrated);
    }
  });
});

/** Every way of visiting a map's entries one by one (a copy is one of them). */
const WALKS: ReadonlySet<PropertyKey> = new Set<PropertyKey>([
  Symbol.iterator,
  'forEach',
  'entries',
  'values',
  'keys',
  'toJS',
  'toArray',
  'toObject',
  '__iterate',
  '__iterator',
]);

/**
 * The same persistent map, except that walking it throws: a fold step that copies the map (or
 * scans it) fails here instead of getting slower with every member.
 */
function unwalkable<M extends object>(map: M): M {
  return new Proxy(map, {
    get(target, property, receiver) {
      if (WALKS.has(property)) {
        return () => {
          throw new Error(`the fold walked a map (${String(property)})`);
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

/** The state with every map guarded: evolving it must neither copy nor scan one. */
const guarded = (state: TenantState): TenantState => ({
  ...state,
  domains: unwalkable(state.domains),
  roleHolders: unwalkable(state.roleHolders),
  subscriptions: unwalkable(state.subscriptions),
});

describe('a fold step', () => {
  const HOLDERS = 20_000;
  const ids = Array.from({ length: HOLDERS }, (_, i) => `u-${i}`);
  const start = fold([
    tenantCreated,
    ...verifiedDomain('contoso.com'),
    subscriptionPurchased('s-1', 'E3', 1),
  ]);

  it('folds 20,000 role holders one entry at a time, walking no map and leaving each previous state whole', () => {
    let state = guarded(start);
    const { domains, subscriptions } = state;
    let whole = 0;
    for (const userId of ids) {
      const before: TenantState = { ...state, roleHolders: unwalkable(state.roleHolders) };
      const map = before.roleHolders;
      const size = map.size;
      state = evolveTenant(before, roleHolderChanged(userId, ['GuestInviter']));
      // Persistent: the previous state keeps its own map, the same object with the same entries;
      // the maps the event did not touch are shared with the next state, never copied.
      if (before.roleHolders === map && map.size === size && !map.has(userId)) whole++;
      if (state.domains !== domains || state.subscriptions !== subscriptions) break;
    }
    expect(whole).toBe(HOLDERS);
    expect(state.domains).toBe(domains);
    expect(state.subscriptions).toBe(subscriptions);
    expect(state.roleHolders.size).toBe(HOLDERS);
    expect(state.roleHolders.get('u-19999')).toEqual({
      userType: 'Member',
      roles: ['GuestInviter'],
      active: true,
    });
  });

  it('changes a tenant of 20,000 role holders without walking any of its maps', () => {
    const big = fold([
      {
        type: 'TenantMigrated',
        data: {
          tenant: {
            ...tenantImage(start),
            roleHolders: ids.map((userId) => ({
              userId,
              userType: 'Member',
              roles: ['GuestInviter'],
              active: true,
            })),
          },
        },
      },
    ]);
    const events: DirectoryEvent[] = [
      roleHolderChanged('u-new', ['UserAdministrator']),
      roleHolderChanged('u-42', ['GuestInviter', 'SecurityReader']),
      roleHolderChanged('u-7', []),
      domainAdded('fabrikam.com'),
      domainVerified('fabrikam.com'),
      { type: 'PrimaryDomainChanged', data: { previousDomain: INITIAL, domain: 'contoso.com' } },
      { type: 'SeatsChanged', data: { subscriptionId: 's-1', sku: 'E3', previousSeats: 1, seats: 9 } },
      subscriptionPurchased('s-2', 'VISIO', 1),
      subscriptionCancelled('s-2', 'VISIO'),
    ];
    const after = events.reduce((state, event) => evolveTenant(guarded(state), event), big);
    expect(after.roleHolders.size).toBe(HOLDERS);
    expect(after.roleHolders.get('u-42')?.roles).toEqual(['GuestInviter', 'SecurityReader']);
    expect(after.roleHolders.has('u-7')).toBe(false);
    expect(after.subscriptions.get('s-1')?.seats).toBe(9);
    expect(after.domains.get('fabrikam.com')?.isVerified).toBe(true);
    expect(big.roleHolders.get('u-42')?.roles).toEqual(['GuestInviter']);
    expect(big.roleHolders.has('u-new')).toBe(false);
  });

  it('would be caught copying a map', () => {
    const map = fold([tenantCreated, roleHolderChanged(ALICE, ['GuestInviter'])]).roleHolders;
    expect(() => new Map(unwalkable(map))).toThrow(/walked a map/);
  });
});
