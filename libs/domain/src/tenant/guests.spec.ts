// The rules of guests and their invitations (invite, resend, revoke, redeem), a guest's place among
// the tenant's users, and how its address and invitation id are found through their claims.

import { describe, expect, it } from 'vitest';

import { givenDirectory, MemoryDirectory } from '../testing/directory.js';
import {
  ADMIN,
  ALICE,
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
  memberCreated,
  roleAssigned,
  roleGiven,
  roleHolderChanged,
  seatTaken,
  signedUp,
  subscriptionPurchased,
  TENANT_ID,
  userBlocked,
  userDeleted,
  userRestored,
  verifiedDomain,
  withAcceptedGuest,
  withAlice,
  withGuest,
} from '../testing/tenant-fixtures.js';
import type { InviteGuest, RedeemInvitation, RedeemingIdentity, TenantCommand } from './commands.js';
import type { DirectoryEvent, GuestInvited } from './events.js';
import { findGuestByEmail, findInvitation, guestKey } from './guests.js';
import { activeGlobalAdministrators } from './tenant-state.js';

const tenant = givenDirectory;

const invite = (data: Partial<InviteGuest['data']> = {}, actingUserId = ADMIN): TenantCommand => ({
  type: 'InviteGuest',
  actingUserId,
  data: {
    invitationId: 'inv-2',
    email: 'carol@fabrikam.com',
    redeemCodeHash: HASH,
    expiresAt: EXPIRES,
    ...data,
  },
});

const invited = (data: Partial<GuestInvited['data']> = {}): DirectoryEvent => ({
  type: 'GuestInvited',
  data: {
    userId: 'id-1',
    invitationId: 'inv-2',
    email: 'carol@fabrikam.com',
    displayName: 'carol',
    userPrincipalName: `carol_fabrikam.com#EXT#@${INITIAL}`,
    redeemCodeHash: HASH,
    expiresAt: EXPIRES,
    ...data,
  },
});

describe('InviteGuest', () => {
  it('creates a pending guest at once, in guest notation, with a fresh id', () => {
    const state = tenant(withAlice)
      .when(invite({ redirectUrl: 'https://teams.example/welcome' }))
      .then([invited({ redirectUrl: 'https://teams.example/welcome' })]);
    expect(state.user('id-1')).toEqual({
      userId: 'id-1',
      userType: 'Guest',
      guest: { email: 'carol@fabrikam.com', invitationId: 'inv-2', state: 'PendingAcceptance' },
      invitation: {
        invitationId: 'inv-2',
        userId: 'id-1',
        status: 'PendingAcceptance',
        redeemCodeHash: HASH,
        expiresAt: EXPIRES,
        redirectUrl: 'https://teams.example/welcome',
      },
      roles: [],
      licenses: new Map(),
      userPrincipalName: `carol_fabrikam.com#EXT#@${INITIAL}`,
      displayName: 'carol',
      blocked: false,
      deleted: false,
      mfaMethods: [],
      revision: 1,
    });
  });

  it('makes the address and the invitation id lead to the new guest, through their claims', () => {
    const state = tenant(withAlice).when(invite()).then([invited()]);
    expect(state.holder('guest', guestKey(TENANT_ID, 'Carol@Fabrikam.com'))).toEqual({
      ownerId: 'id-1',
      tenantId: TENANT_ID,
    });
    expect(findInvitation(state, 'INV-2')?.guest.userId).toBe('id-1');
  });

  it('records no redirect URL when none was sent', () => {
    const [event] = tenant(withAlice).when(invite()).decision as DirectoryEvent[];
    expect(event?.data).not.toHaveProperty('redirectUrl');
  });

  it('normalises the address, keeps the case of its local part, and lower-cases the guest UPN', () => {
    tenant(withAlice)
      .when(invite({ email: ' Carol.Jones@Fabrikam.COM. ' }))
      .then([
        invited({
          email: 'Carol.Jones@fabrikam.com',
          displayName: 'Carol.Jones',
          userPrincipalName: `carol.jones_fabrikam.com#EXT#@${INITIAL}`,
        }),
      ]);
  });

  it('puts an IDN domain into punycode', () => {
    tenant(withAlice)
      .when(invite({ email: 'anna@bücher.example' }))
      .then([
        invited({
          email: 'anna@xn--bcher-kva.example',
          displayName: 'anna',
          userPrincipalName: `anna_xn--bcher-kva.example#EXT#@${INITIAL}`,
        }),
      ]);
  });

  it('uses the display name sent, normalised', () => {
    tenant(withAlice)
      .when(invite({ displayName: '  Carol Jones ' }))
      .then([invited({ displayName: 'Carol Jones' })]);
  });

  it.each([
    ["a personal account's address in a consumer domain", 'someone@outlook.com'],
    ["another tenant's work account", `alice@fabrikam.onmicrosoft.com`],
    ['any third-party address', 'x@gmail.com'],
  ])('invites %s', (_, email) => {
    expect(Array.isArray(tenant(withAlice).when(invite({ email })).decision)).toBe(true);
  });

  it.each(['GuestInviter', 'UserAdministrator'] as const)('may be sent by a %s', (role) => {
    tenant([...withAlice, ...roleGiven(ALICE, role)])
      .when(invite({}, ALICE))
      .then([invited()]);
  });

  it.each(['', 'carol', 'carol@', '@fabrikam.com', 'ca rol@fabrikam.com', 'carol@fabrikam', 'a@b@c.com'])(
    'refuses the address %j with invalid_email',
    (email) => {
      tenant(withAlice).when(invite({ email })).thenRejects('invalid_email', 'conflict');
    },
  );

  it('refuses an address in guest notation with invalid_email', () => {
    tenant(withAlice)
      .when(invite({ email: `bob_example.com#EXT#@${INITIAL}` }))
      .thenRejects('invalid_email');
  });

  it.each([`alice@${INITIAL}`, `ALICE@${INITIAL.toUpperCase()}.`])(
    "refuses a member's UPN %j with already_member: a tenant can't invite its own members",
    (email) => {
      const rejection = tenant(withAlice).when(invite({ email })).thenRejects('already_member', 'conflict');
      expect(rejection.message).not.toContain('alice');
    },
  );

  it("refuses a deleted member's UPN with already_member: the member can be restored", () => {
    tenant([...withAlice, userDeleted(ALICE)])
      .when(invite({ email: `alice@${INITIAL}` }))
      .thenRejects('already_member');
  });

  it('refuses an address already invited, in any case, with already_member, pointing to resending', () => {
    const rejection = tenant(withGuest)
      .when(invite({ email: 'BOB@Example.com' }))
      .thenRejects('already_member');
    expect(rejection.message).toContain('resend');
  });

  it.each([
    ['accepted', withAcceptedGuest],
    ['revoked', [...withGuest, invitationRevoked()]],
  ])('refuses the address of a guest whose invitation was %s, until the guest is removed', (_, history) => {
    const rejection = tenant(history)
      .when(invite({ email: 'bob@example.com' }))
      .thenRejects('already_member');
    expect(rejection.message).toContain('remove');
  });

  it('invites an address again once its guest was removed', () => {
    tenant([...withGuest, userDeleted(GUEST)])
      .when(invite({ email: 'bob@example.com' }))
      .then([
        invited({
          email: 'bob@example.com',
          displayName: 'bob',
          userPrincipalName: `bob_example.com#EXT#@${INITIAL}`,
        }),
      ]);
  });

  it('refuses an invitation id already used with invitation_exists', () => {
    tenant(withGuest)
      .when(invite({ invitationId: INVITATION }))
      .thenRejects('invitation_exists', 'conflict');
  });

  it('refuses an invitation id another tenant used, in any case, with invitation_exists', () => {
    tenant(withAlice, [{ kind: 'invitation', value: 'inv-2', ownerId: 'u-elsewhere', tenantId: 't-2' }])
      .when(invite({ invitationId: 'INV-2' }))
      .thenRejects('invitation_exists');
  });

  it.each(['   ', 'Carol\u0000', 'c'.repeat(257)])('refuses the display name %j', (displayName) => {
    tenant(withAlice).when(invite({ displayName })).thenRejects('invalid_display_name');
  });
});

describe('ResendInvitation', () => {
  const resend = (invitationId = INVITATION, actingUserId = ADMIN): TenantCommand => ({
    type: 'ResendInvitation',
    actingUserId,
    data: { invitationId, redeemCodeHash: 'b'.repeat(64), expiresAt: '2026-01-08T00:00:00.000Z' },
  });
  const resent: DirectoryEvent = {
    type: 'InvitationResent',
    data: {
      invitationId: INVITATION,
      userId: GUEST,
      redeemCodeHash: 'b'.repeat(64),
      expiresAt: '2026-01-08T00:00:00.000Z',
    },
  };

  it('replaces the code and the expiry; the guest keeps its id', () => {
    const state = tenant(withGuest).when(resend()).then([resent]);
    expect(state.user(GUEST)?.invitation).toMatchObject({
      userId: GUEST,
      status: 'PendingAcceptance',
      redeemCodeHash: 'b'.repeat(64),
      expiresAt: '2026-01-08T00:00:00.000Z',
    });
    expect(state.user(GUEST)?.revision).toBe(2);
  });

  it('resends an invitation that has expired', () => {
    tenant(withGuest)
      .when(resend(), { now: new Date('2026-03-01T00:00:00Z') })
      .then([resent]);
  });

  it('may be sent by a Guest Inviter', () => {
    tenant([...withGuest, ...roleGiven(ALICE, 'GuestInviter')])
      .when(resend(INVITATION, ALICE))
      .then([resent]);
  });

  it('refuses an unknown invitation with not_found', () => {
    tenant(withGuest).when(resend('inv-nope')).thenRejects('not_found', 'not_found');
  });

  it.each([
    ['accepted', withAcceptedGuest],
    ['revoked', [...withGuest, invitationRevoked()]],
  ])('refuses an invitation %s with invitation_not_pending', (_, history) => {
    tenant(history).when(resend()).thenRejects('invitation_not_pending', 'conflict');
  });

  it('refuses the invitation of a removed guest with user_deleted', () => {
    tenant([...withGuest, userDeleted(GUEST)])
      .when(resend())
      .thenRejects('user_deleted');
  });
});

describe('RevokeInvitation', () => {
  const revoke = (invitationId = INVITATION, actingUserId = ADMIN): TenantCommand => ({
    type: 'RevokeInvitation',
    actingUserId,
    data: { invitationId },
  });

  it('revokes a pending invitation; the guest object stays until an administrator removes it', () => {
    const state = tenant(withGuest).when(revoke()).then([invitationRevoked()]);
    expect(state.user(GUEST)?.invitation?.status).toBe('Revoked');
    expect(state.user(GUEST)).toMatchObject({
      deleted: false,
      guest: { state: 'PendingAcceptance' },
      revision: 2,
    });
  });

  it('may be sent by a Guest Inviter', () => {
    tenant([...withGuest, ...roleGiven(ALICE, 'GuestInviter')])
      .when(revoke(INVITATION, ALICE))
      .then([invitationRevoked()]);
  });

  it('revokes the invitation of a removed guest, so restoring it brings back no redeemable invitation', () => {
    tenant([...withGuest, userDeleted(GUEST)])
      .when(revoke())
      .then([invitationRevoked()]);
  });

  it('refuses an unknown invitation with not_found', () => {
    tenant(withGuest).when(revoke('inv-nope')).thenRejects('not_found', 'not_found');
  });

  it.each([
    ['accepted', withAcceptedGuest],
    ['already revoked', [...withGuest, invitationRevoked()]],
  ])('refuses an invitation %s with invitation_not_pending', (_, history) => {
    tenant(history).when(revoke()).thenRejects('invitation_not_pending');
  });
});

describe('RedeemInvitation', () => {
  const identity: RedeemingIdentity = { kind: 'personal', accountId: 'pa-1', email: 'BOB@example.com' };
  const redeem = (data: Partial<RedeemInvitation['data']> = {}): TenantCommand => ({
    type: 'RedeemInvitation',
    data: { invitationId: INVITATION, redeemCodeHash: HASH, identity, ...data },
  });

  it('accepts the invitation without an acting user and binds the guest to the redeeming identity', () => {
    const bound: RedeemingIdentity = { kind: 'personal', accountId: 'pa-1', email: 'BOB@example.com' };
    const state = tenant(withGuest)
      .when(redeem())
      .then([invitationRedeemed(bound)]);
    expect(state.user(GUEST)).toMatchObject({
      userType: 'Guest',
      guest: { email: 'Bob@example.com', invitationId: INVITATION, state: 'Accepted', identity: bound },
      revision: 2,
    });
    expect(state.user(GUEST)?.invitation?.status).toBe('Accepted');
  });

  it("records the identity's address normalised", () => {
    tenant(withGuest)
      .when(redeem({ identity: { kind: 'work_or_school', accountId: 'u-9', email: ' bob@EXAMPLE.com. ' } }))
      .then([invitationRedeemed({ kind: 'work_or_school', accountId: 'u-9', email: 'bob@example.com' })]);
  });

  it('accepts up to the expiry instant itself', () => {
    tenant(withGuest)
      .when(redeem(), { now: new Date(EXPIRES) })
      .then([invitationRedeemed(identity)]);
  });

  it('accepts the resent code until the new expiry, and no longer the first code', () => {
    const history: DirectoryEvent[] = [
      ...withGuest,
      {
        type: 'InvitationResent',
        data: {
          invitationId: INVITATION,
          userId: GUEST,
          redeemCodeHash: 'b'.repeat(64),
          expiresAt: '2026-01-08T00:00:00.000Z',
        },
      },
    ];
    const later = { now: new Date('2026-01-05T00:00:00Z') };
    tenant(history).when(redeem(), later).thenRejects('redeem_code_invalid');
    tenant(history)
      .when(redeem({ redeemCodeHash: 'b'.repeat(64) }), later)
      .then([invitationRedeemed(identity)]);
  });

  it('redeems the invitation of a guest removed and restored', () => {
    tenant([...withGuest, userDeleted(GUEST), userRestored(GUEST)])
      .when(redeem())
      .then([invitationRedeemed(identity)]);
  });

  it('refuses an unknown invitation with not_found', () => {
    tenant(withGuest)
      .when(redeem({ invitationId: 'inv-nope' }))
      .thenRejects('not_found', 'not_found');
  });

  it("refuses another tenant's invitation with not_found: its claim names a guest of that tenant", () => {
    tenant(withGuest, [{ kind: 'invitation', value: 'inv-9', ownerId: 'u-elsewhere', tenantId: 't-2' }])
      .when(redeem({ invitationId: 'inv-9' }))
      .thenRejects('not_found', 'not_found');
  });

  it('refuses when the tenant does not exist with not_found', () => {
    tenant([]).when(redeem()).thenRejects('not_found', 'not_found');
  });

  it.each([
    ['accepted', withAcceptedGuest],
    ['revoked', [...withGuest, invitationRevoked()]],
    ['of a removed guest', [...withGuest, userDeleted(GUEST)]],
  ])('refuses an invitation %s with invitation_not_pending', (_, history) => {
    tenant(history).when(redeem()).thenRejects('invitation_not_pending', 'conflict');
  });

  it('refuses an expired invitation with invitation_expired', () => {
    tenant(withGuest)
      .when(redeem(), { now: new Date(Date.parse(EXPIRES) + 1) })
      .thenRejects('invitation_expired', 'conflict');
  });

  it('treats an unreadable expiry as expired rather than never expiring', () => {
    tenant([...withAlice, guestInvited({ expiresAt: 'soon' })])
      .when(redeem())
      .thenRejects('invitation_expired');
  });

  it('refuses another code with redeem_code_invalid', () => {
    tenant(withGuest)
      .when(redeem({ redeemCodeHash: 'c'.repeat(64) }))
      .thenRejects('redeem_code_invalid', 'conflict');
  });

  it.each(['carol@example.com', 'bob@example.org', 'not an address', ''])(
    'refuses an identity with the address %j with redeem_identity_mismatch',
    (email) => {
      const rejection = tenant(withGuest)
        .when(redeem({ identity: { kind: 'external', email } }))
        .thenRejects('redeem_identity_mismatch', 'conflict');
      expect(rejection.message).not.toContain('bob');
    },
  );

  describe('checks in the order exists, pending, expired, code, identity', () => {
    const expired = { now: new Date('2026-02-01T00:00:00Z') };
    const wrongEverything = {
      redeemCodeHash: 'c'.repeat(64),
      identity: { kind: 'external' as const, email: 'x@y.com' },
    };

    it('pending before expired', () => {
      tenant([...withGuest, invitationRevoked()])
        .when(redeem(wrongEverything), expired)
        .thenRejects('invitation_not_pending');
    });

    it('expired before code', () => {
      tenant(withGuest).when(redeem(wrongEverything), expired).thenRejects('invitation_expired');
    });

    it('code before identity', () => {
      tenant(withGuest).when(redeem(wrongEverything)).thenRejects('redeem_code_invalid');
    });
  });
});

describe('a guest', () => {
  const guestGlobalAdministrator = roleGiven(GUEST, 'GlobalAdministrator', { userType: 'Guest' });

  // What an administrator of this tenant may not do to a guest: ./decider.spec.ts.

  it('can be blocked and unblocked', () => {
    const blocked = tenant(withAcceptedGuest)
      .when({ type: 'BlockUser', actingUserId: ADMIN, data: { userId: GUEST } })
      .then([userBlocked(GUEST)]);
    expect(blocked.user(GUEST)?.blocked).toBe(true);
    tenant([...withAcceptedGuest, userBlocked(GUEST)])
      .when({ type: 'UnblockUser', actingUserId: ADMIN, data: { userId: GUEST } })
      .then([{ type: 'UserUnblocked', data: { userId: GUEST } }]);
  });

  it('can be removed (DeleteUser) and restored, giving its address back and taking it again', () => {
    const address = guestKey(TENANT_ID, 'bob@example.com');
    const removed = tenant(withGuest)
      .when({ type: 'DeleteUser', actingUserId: ADMIN, data: { userId: GUEST } })
      .then([userDeleted(GUEST)]);
    expect(removed.holder('guest', address)).toBeUndefined();
    const restored = tenant([...withGuest, userDeleted(GUEST)])
      .when({ type: 'RestoreUser', actingUserId: ADMIN, data: { userId: GUEST } })
      .then([userRestored(GUEST)]);
    expect(restored.holder('guest', address)?.ownerId).toBe(GUEST);
  });

  it("can't be restored once its address was invited again: two live guests for one address", () => {
    tenant([
      ...withGuest,
      userDeleted(GUEST),
      guestInvited({ userId: 'u-guest-2', invitationId: 'inv-2', email: 'bob@EXAMPLE.com' }),
    ])
      .when({ type: 'RestoreUser', actingUserId: ADMIN, data: { userId: GUEST } })
      .thenRejects('already_member');
  });

  it('can be given a role, entered as a guest role holder, and a license', () => {
    tenant(withGuest)
      .when({ type: 'AssignRole', actingUserId: ADMIN, data: { userId: GUEST, role: 'SecurityReader' } })
      .then([
        roleAssigned(GUEST, 'SecurityReader'),
        roleHolderChanged(GUEST, ['SecurityReader'], { userType: 'Guest' }),
      ]);
    tenant([...withGuest, subscriptionPurchased('s-1', 'E3', 1)])
      .when({ type: 'AssignLicense', actingUserId: ADMIN, data: { userId: GUEST, sku: 'E3' } })
      .then([licenseAssigned(GUEST, 'E3', 's-1'), seatTaken('s-1', GUEST)]);
  });

  it('never acts, even as a Global Administrator', () => {
    tenant([...withAcceptedGuest, ...guestGlobalAdministrator])
      .when({ type: 'BlockUser', actingUserId: GUEST, data: { userId: ALICE } })
      .thenRejects('forbidden_role', 'forbidden');
  });

  it("given Global Administrator doesn't count as an active one: the last member Global Administrator stays", () => {
    const history = [...withAcceptedGuest, ...guestGlobalAdministrator];
    expect(activeGlobalAdministrators(MemoryDirectory.of(history).tenant)).toEqual([ADMIN]);
    tenant(history)
      .when({ type: 'DeleteUser', actingUserId: ADMIN, data: { userId: ADMIN } })
      .thenRejects('last_global_admin');
  });
});

describe('member UPNs and guest addresses', () => {
  const withContoso: DirectoryEvent[] = [
    ...signedUp,
    ...verifiedDomain('contoso.com'),
    guestInvited({ email: 'bob@contoso.com', userPrincipalName: `bob_contoso.com#EXT#@${INITIAL}` }),
  ];

  it("are different namespaces: a guest's address does not block a member UPN", () => {
    tenant(withContoso)
      .when({
        type: 'CreateMember',
        actingUserId: ADMIN,
        data: { userPrincipalName: 'bob@contoso.com', displayName: 'Bob' },
      })
      .then([memberCreated('id-1', 'bob@contoso.com', 'Bob'), domainUseTaken('contoso.com', 'id-1')]);
  });

  it("can't collide: a member can never be given a guest's UPN, which is in guest notation", () => {
    tenant(withContoso)
      .when({
        type: 'CreateMember',
        actingUserId: ADMIN,
        data: { userPrincipalName: `bob_contoso.com#EXT#@${INITIAL}`, displayName: 'Bob' },
      })
      .thenRejects('invalid_user_principal_name');
    tenant([...withContoso, memberCreated(ALICE, `alice@${INITIAL}`)])
      .when({
        type: 'ChangeUserPrincipalName',
        actingUserId: ADMIN,
        data: { userId: ALICE, userPrincipalName: `BOB_contoso.com#ext#@${INITIAL}` },
      })
      .thenRejects('invalid_user_principal_name');
  });
});

describe('findGuestByEmail', () => {
  const state = MemoryDirectory.of([
    ...withGuest,
    guestInvited({ userId: 'u-gone', invitationId: 'inv-gone', email: 'gone@example.com' }),
    userDeleted('u-gone'),
    guestInvited({ userId: 'u-anna', invitationId: 'inv-anna', email: 'anna@xn--bcher-kva.example' }),
  ]);

  it('finds a guest by its invited address, whatever the case', () => {
    expect(findGuestByEmail(state, 'bob@EXAMPLE.com')?.userId).toBe(GUEST);
    expect(findGuestByEmail(state, ' BOB@example.com. ')?.userId).toBe(GUEST);
  });

  it('finds an IDN address sent in Unicode', () => {
    expect(findGuestByEmail(state, 'anna@bücher.example')?.userId).toBe('u-anna');
  });

  it('ignores removed guests and members', () => {
    expect(findGuestByEmail(state, 'gone@example.com')).toBeUndefined();
    expect(findGuestByEmail(state, `alice@${INITIAL}`)).toBeUndefined();
  });

  it('finds a guest again once restored', () => {
    expect(findGuestByEmail(state.with([userRestored('u-gone')]), 'GONE@example.com')?.userId).toBe('u-gone');
  });
});
