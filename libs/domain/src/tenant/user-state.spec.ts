// A user object's fold: every event of its stream counts in its revision (the user's ETag), roles
// and licenses keep the order given, and an image from the migration continues where the
// one-stream layout left the user.

import { describe, expect, it } from 'vitest';

import { MemoryDirectory } from '../testing/directory.js';
import {
  ADMIN,
  ALICE,
  domainAdded,
  domainUseTaken,
  EXPIRES,
  GUEST,
  guestInvited,
  HASH,
  INITIAL,
  INVITATION,
  invitationRedeemed,
  invitationRevoked,
  licenseAssigned,
  licenseRemoved,
  memberCreated,
  roleAssigned,
  roleHolderChanged,
  roleRemoved,
  seatTaken,
  userBlocked,
  userDeleted,
  userRestored,
  userUnblocked,
  withAlice,
} from '../testing/tenant-fixtures.js';
import type { DirectoryEvent, UserImage } from './events.js';
import { evolveUser, isActive, userImage, type UserState, type UserStreamState } from './user-state.js';

const fold = (events: readonly DirectoryEvent[], from?: UserState): UserStreamState =>
  events.reduce<UserStreamState>(evolveUser, from);

const alice = (more: readonly DirectoryEvent[] = []): UserState => {
  const user = fold([memberCreated(ALICE, `Alice@${INITIAL}`, 'Alice Smith'), ...more]);
  if (user === undefined) throw new Error('Alice was not created');
  return user;
};

describe('evolveUser', () => {
  it('folds to nothing until the user is created, whatever comes first', () => {
    expect(fold([])).toBeUndefined();
    expect(fold([userBlocked(ALICE), roleAssigned(ALICE, 'GuestInviter')])).toBeUndefined();
  });

  it('creates a member', () => {
    expect(alice()).toEqual({
      userId: ALICE,
      userType: 'Member',
      userPrincipalName: `Alice@${INITIAL}`,
      displayName: 'Alice Smith',
      blocked: false,
      deleted: false,
      mfaMethods: [],
      roles: [],
      licenses: new Map(),
      revision: 1,
    });
  });

  it('creates a pending guest with its invitation', () => {
    expect(fold([guestInvited({ redirectUrl: 'https://teams.example' })])).toEqual({
      userId: GUEST,
      userType: 'Guest',
      guest: { email: 'Bob@example.com', invitationId: INVITATION, state: 'PendingAcceptance' },
      invitation: {
        invitationId: INVITATION,
        userId: GUEST,
        status: 'PendingAcceptance',
        redeemCodeHash: HASH,
        expiresAt: EXPIRES,
        redirectUrl: 'https://teams.example',
      },
      userPrincipalName: `bob_example.com#EXT#@${INITIAL}`,
      displayName: 'Bob',
      blocked: false,
      deleted: false,
      mfaMethods: [],
      roles: [],
      licenses: new Map(),
      revision: 1,
    });
  });

  it('follows the invitation: resent, redeemed by an identity, or revoked', () => {
    const resent: DirectoryEvent = {
      type: 'InvitationResent',
      data: { invitationId: INVITATION, userId: GUEST, redeemCodeHash: 'b'.repeat(64), expiresAt: 'later' },
    };
    const identity = { kind: 'personal', accountId: 'pa-1', email: 'bob@example.com' } as const;
    expect(fold([guestInvited(), resent, invitationRedeemed(identity)])).toMatchObject({
      guest: { state: 'Accepted', identity },
      invitation: { status: 'Accepted', redeemCodeHash: 'b'.repeat(64), expiresAt: 'later' },
      revision: 3,
    });
    expect(fold([guestInvited(), invitationRevoked()])).toMatchObject({
      guest: { state: 'PendingAcceptance' },
      invitation: { status: 'Revoked' },
      revision: 2,
    });
  });

  it('counts every event of the stream in the revision', () => {
    const user = alice([
      { type: 'UserRenamed', data: { userId: ALICE, previousDisplayName: 'Alice Smith', displayName: 'A' } },
      {
        type: 'UserPrincipalNameChanged',
        data: {
          userId: ALICE,
          previousUserPrincipalName: `Alice@${INITIAL}`,
          userPrincipalName: `a@${INITIAL}`,
        },
      },
      { type: 'PasswordResetOrdered', data: { userId: ALICE } },
      userBlocked(ALICE),
      userUnblocked(ALICE),
      userDeleted(ALICE),
      userRestored(ALICE),
      { type: 'MfaMethodRegistered', data: { userId: ALICE, methodId: 'm-1', kind: 'sms' } },
      roleAssigned(ALICE, 'GuestInviter'),
      roleRemoved(ALICE, 'GuestInviter'),
      licenseAssigned(ALICE, 'E3', 's-1'),
      licenseRemoved(ALICE),
    ]);
    expect(user.revision).toBe(13);
    expect(user).toMatchObject({
      displayName: 'A',
      userPrincipalName: `a@${INITIAL}`,
      blocked: false,
      deleted: false,
    });
  });

  it("counts only its own stream's events: the tenant's and other users' go to their own streams", () => {
    const directory = MemoryDirectory.of([
      ...withAlice,
      userBlocked(ALICE),
      roleHolderChanged(ALICE, ['GuestInviter'], { active: false }),
      domainAdded('contoso.com'),
      { type: 'MfaRequirementChanged', data: { required: true, previousRequired: false } },
      seatTaken('s-1', ALICE),
      domainUseTaken('contoso.com', ALICE),
    ]);
    expect(directory.user(ALICE)?.revision).toBe(2);
    expect(directory.user(ADMIN)?.revision).toBe(2);
  });

  it('tells whether the user can act: neither blocked nor deleted', () => {
    expect(isActive(alice())).toBe(true);
    expect(isActive(alice([userBlocked(ALICE)]))).toBe(false);
    expect(isActive(alice([userDeleted(ALICE)]))).toBe(false);
    expect(isActive(alice([userDeleted(ALICE), userRestored(ALICE)]))).toBe(true);
  });

  it('keeps roles in the order assigned: one removed and given again goes to the end', () => {
    const user = alice([
      roleAssigned(ALICE, 'GuestInviter'),
      roleAssigned(ALICE, 'SecurityReader'),
      roleAssigned(ALICE, 'GuestInviter'),
      roleAssigned(ALICE, 'UserAdministrator'),
      roleRemoved(ALICE, 'GuestInviter'),
      roleAssigned(ALICE, 'GuestInviter'),
    ]);
    expect(user.roles).toEqual(['SecurityReader', 'UserAdministrator', 'GuestInviter']);
  });

  it('keeps licenses in the order assigned, each naming the subscription whose seat it takes', () => {
    const user = alice([
      licenseAssigned(ALICE, 'VISIO', 's-2'),
      licenseAssigned(ALICE, 'E3', 's-1'),
      licenseRemoved(ALICE, 'removed', 'VISIO', 's-2'),
      licenseAssigned(ALICE, 'VISIO', 's-3'),
    ]);
    expect([...user.licenses]).toEqual([
      ['E3', 's-1'],
      ['VISIO', 's-3'],
    ]);
  });

  it('never changes the state it was given', () => {
    const before = alice([licenseAssigned(ALICE, 'E3', 's-1'), roleAssigned(ALICE, 'GuestInviter')]);
    const { licenses, roles, mfaMethods } = before;
    const after = fold(
      [
        licenseAssigned(ALICE, 'VISIO', 's-2'),
        licenseRemoved(ALICE),
        roleAssigned(ALICE, 'SecurityReader'),
        roleRemoved(ALICE, 'GuestInviter'),
        { type: 'MfaMethodRegistered', data: { userId: ALICE, methodId: 'm-1', kind: 'sms' } },
        userBlocked(ALICE),
      ],
      before,
    );
    expect(after).not.toBe(before);
    expect(before).toMatchObject({ blocked: false, revision: 3 });
    expect(before.licenses).toBe(licenses);
    expect([...licenses]).toEqual([['E3', 's-1']]);
    expect(roles).toEqual(['GuestInviter']);
    expect(mfaMethods).toEqual([]);
  });

  it('leaves the user as it is, revision included, for an event type it does not know', () => {
    const user = alice();
    const unknown = { type: 'SomethingNew', data: { userId: ALICE } } as unknown as DirectoryEvent;
    expect(evolveUser(user, unknown)).toBe(user);
  });
});

describe('UserMigrated', () => {
  const image: UserImage = {
    userId: GUEST,
    userType: 'Guest',
    userPrincipalName: `bob_example.com#EXT#@${INITIAL}`,
    displayName: 'Bob',
    blocked: true,
    deleted: false,
    roles: ['SecurityReader', 'GuestInviter'],
    licenses: [
      { sku: 'VISIO', subscriptionId: 's-2' },
      { sku: 'E3', subscriptionId: 's-1' },
    ],
    mfaMethods: [],
    guest: {
      email: 'Bob@example.com',
      invitationId: INVITATION,
      state: 'Accepted',
      identity: { kind: 'external', email: 'bob@example.com' },
    },
    invitation: { status: 'Accepted', redeemCodeHash: HASH, expiresAt: EXPIRES },
    revision: 7,
  };
  const migrated = fold([{ type: 'UserMigrated', data: { user: image } }]);

  it('opens the stream with the user as the migration found it, its revision included', () => {
    expect(migrated).toEqual({
      userId: GUEST,
      userType: 'Guest',
      userPrincipalName: `bob_example.com#EXT#@${INITIAL}`,
      displayName: 'Bob',
      blocked: true,
      deleted: false,
      roles: ['SecurityReader', 'GuestInviter'],
      licenses: new Map([
        ['VISIO', 's-2'],
        ['E3', 's-1'],
      ]),
      mfaMethods: [],
      guest: image.guest,
      invitation: {
        invitationId: INVITATION,
        userId: GUEST,
        status: 'Accepted',
        redeemCodeHash: HASH,
        expiresAt: EXPIRES,
      },
      revision: 7,
    });
  });

  it('counts on from the revision the user had', () => {
    expect(fold([userUnblocked(GUEST)], migrated)?.revision).toBe(8);
  });

  it('gives back the image it was made from', () => {
    expect(migrated === undefined ? undefined : userImage(migrated)).toEqual(image);
    const member = alice([roleAssigned(ALICE, 'GuestInviter'), licenseAssigned(ALICE, 'E3', 's-1')]);
    expect(fold([{ type: 'UserMigrated', data: { user: userImage(member) } }])).toEqual(member);
  });
});
