// The role matrix, decided on the tenant's role holders: who may send which command, who loses
// that power (blocked, deleted, guests), and who may manage a Global Administrator.

import { describe, expect, it } from 'vitest';

import { MemoryDirectory } from '../testing/directory.js';
import { roleAssigned, roleHolderChanged } from '../testing/tenant-fixtures.js';
import { authorise, REQUIRED_ROLES, SYSTEM_COMMANDS } from './authorisation.js';
import { ROLES, type Role, type TenantCommand, type TenantCommandType } from './commands.js';
import type { DirectoryEvent } from './events.js';
import { NotInNeedsError, type DirectoryView } from './view.js';

const DOMAIN = 'contoso.onmicrosoft.com';
const member = (userId: string): DirectoryEvent => ({
  type: 'MemberCreated',
  data: { userId, userPrincipalName: `${userId}@${DOMAIN}`, displayName: userId },
});
/** A role given, with the tenant's entry for every role the user then holds. */
const role = (userId: string, r: Role, holds: readonly Role[] = [r]): DirectoryEvent[] => [
  roleAssigned(userId, r),
  roleHolderChanged(userId, holds),
];

// One holder per role, plus users without roles, blocked and deleted admins, and targets. Stored
// as today's decisions store them: each role beside the tenant's entry for its holder.
const state = MemoryDirectory.of([
  {
    type: 'TenantCreated',
    data: {
      tenantId: 't-1',
      displayName: 'Contoso',
      kind: 'business',
      domainPrefix: 'contoso',
      initialDomain: DOMAIN,
    },
  },
  ...ROLES.flatMap((r) => [member(r), ...role(r, r)]),
  member('plain'),
  member('blocked-ga'),
  ...role('blocked-ga', 'GlobalAdministrator'),
  { type: 'UserBlocked', data: { userId: 'blocked-ga' } },
  roleHolderChanged('blocked-ga', ['GlobalAdministrator'], { active: false }),
  member('deleted-ga'),
  ...role('deleted-ga', 'GlobalAdministrator'),
  { type: 'UserDeleted', data: { userId: 'deleted-ga' } },
  roleHolderChanged('deleted-ga', ['GlobalAdministrator'], { active: false }),
  member('target'),
  member('ga-target'),
  ...role('ga-target', 'GlobalAdministrator'),
  member('ua-target'),
  ...role('ua-target', 'UserAdministrator'),
  member('multi-role-target'),
  ...role('multi-role-target', 'UserAdministrator'),
  ...role('multi-role-target', 'GlobalAdministrator', ['UserAdministrator', 'GlobalAdministrator']),
  {
    type: 'GuestInvited',
    data: {
      userId: 'guest-ga',
      invitationId: 'inv-1',
      email: 'gail@example.com',
      displayName: 'Gail',
      userPrincipalName: `gail_example.com#EXT#@${DOMAIN}`,
      redeemCodeHash: 'hash',
      expiresAt: '2030-01-01T00:00:00Z',
    },
  },
  roleAssigned('guest-ga', 'GlobalAdministrator'),
  roleHolderChanged('guest-ga', ['GlobalAdministrator'], { userType: 'Guest' }),
]);

/** Authorised on the view a decision on the command gets: the tenant, and only what its needs name. */
const authorised = (command: TenantCommand) => authorise(command, state.viewFor(command));

/** A command of each type, sent by `actor` about `target`. */
const COMMANDS: Record<TenantCommandType, (actor: string | undefined, target: string) => TenantCommand> = {
  SignUpTenant: () => ({
    type: 'SignUpTenant',
    data: {
      tenantId: 't-2',
      displayName: 'F',
      kind: 'business',
      domainPrefix: 'f',
      admin: { displayName: 'A', userName: 'a' },
    },
  }),
  AddDomain: (actingUserId) => ({ type: 'AddDomain', actingUserId, data: { name: 'contoso.com' } }),
  VerifyDomain: (actingUserId) => ({
    type: 'VerifyDomain',
    actingUserId,
    data: { name: 'contoso.com', txtRecords: [] },
  }),
  SetPrimaryDomain: (actingUserId) => ({
    type: 'SetPrimaryDomain',
    actingUserId,
    data: { name: 'contoso.com' },
  }),
  RemoveDomain: (actingUserId) => ({ type: 'RemoveDomain', actingUserId, data: { name: 'contoso.com' } }),
  SetMfaRequirement: (actingUserId) => ({
    type: 'SetMfaRequirement',
    actingUserId,
    data: { required: true },
  }),
  CreateMember: (actingUserId) => ({
    type: 'CreateMember',
    actingUserId,
    data: { userPrincipalName: `new@${DOMAIN}`, displayName: 'New' },
  }),
  RenameUser: (actingUserId, userId) => ({
    type: 'RenameUser',
    actingUserId,
    data: { userId, displayName: 'X' },
  }),
  ChangeUserPrincipalName: (actingUserId, userId) => ({
    type: 'ChangeUserPrincipalName',
    actingUserId,
    data: { userId, userPrincipalName: `x@${DOMAIN}` },
  }),
  OrderPasswordReset: (actingUserId, userId) => ({
    type: 'OrderPasswordReset',
    actingUserId,
    data: { userId },
  }),
  BlockUser: (actingUserId, userId) => ({ type: 'BlockUser', actingUserId, data: { userId } }),
  UnblockUser: (actingUserId, userId) => ({ type: 'UnblockUser', actingUserId, data: { userId } }),
  DeleteUser: (actingUserId, userId) => ({ type: 'DeleteUser', actingUserId, data: { userId } }),
  RestoreUser: (actingUserId, userId) => ({ type: 'RestoreUser', actingUserId, data: { userId } }),
  RegisterMfaMethod: (actingUserId, userId) => ({
    type: 'RegisterMfaMethod',
    actingUserId,
    data: { userId, kind: 'sms' },
  }),
  AssignRole: (actingUserId, userId) => ({
    type: 'AssignRole',
    actingUserId,
    data: { userId, role: 'GuestInviter' },
  }),
  RemoveRole: (actingUserId, userId) => ({
    type: 'RemoveRole',
    actingUserId,
    data: { userId, role: 'GuestInviter' },
  }),
  InviteGuest: (actingUserId) => ({
    type: 'InviteGuest',
    actingUserId,
    data: {
      invitationId: 'inv-2',
      email: 'bob@example.com',
      redeemCodeHash: 'hash',
      expiresAt: '2030-01-01T00:00:00Z',
    },
  }),
  ResendInvitation: (actingUserId) => ({
    type: 'ResendInvitation',
    actingUserId,
    data: { invitationId: 'inv-1', redeemCodeHash: 'hash-2', expiresAt: '2030-01-01T00:00:00Z' },
  }),
  RevokeInvitation: (actingUserId) => ({
    type: 'RevokeInvitation',
    actingUserId,
    data: { invitationId: 'inv-1' },
  }),
  RedeemInvitation: (actingUserId) => ({
    type: 'RedeemInvitation',
    actingUserId,
    data: {
      invitationId: 'inv-1',
      redeemCodeHash: 'hash',
      identity: { kind: 'external', email: 'gail@example.com' },
    },
  }),
  PurchaseSubscription: (actingUserId) => ({
    type: 'PurchaseSubscription',
    actingUserId,
    data: { subscriptionId: 's-1', sku: 'E3', seats: 5 },
  }),
  ChangeSeats: (actingUserId) => ({
    type: 'ChangeSeats',
    actingUserId,
    data: { subscriptionId: 's-1', seats: 10 },
  }),
  CancelSubscription: (actingUserId) => ({
    type: 'CancelSubscription',
    actingUserId,
    data: { subscriptionId: 's-1' },
  }),
  AssignLicense: (actingUserId, userId) => ({
    type: 'AssignLicense',
    actingUserId,
    data: { userId, sku: 'E3' },
  }),
  RemoveLicense: (actingUserId, userId) => ({
    type: 'RemoveLicense',
    actingUserId,
    data: { userId, sku: 'E3' },
  }),
};

const ALL_COMMANDS = Object.keys(COMMANDS) as TenantCommandType[];
/** Sent without an acting user: sign-up, and redemption by the guest. */
const NO_ACTOR_COMMANDS: TenantCommandType[] = ['SignUpTenant', 'RedeemInvitation'];
const ADMIN_COMMANDS = ALL_COMMANDS.filter((t) => !NO_ACTOR_COMMANDS.includes(t));
const GA: readonly Role[] = ['GlobalAdministrator'];
const USER_ADMINS: readonly Role[] = ['GlobalAdministrator', 'UserAdministrator'];
const GUEST_INVITERS: readonly Role[] = ['GlobalAdministrator', 'UserAdministrator', 'GuestInviter'];
const LICENSE_ADMINS: readonly Role[] = ['GlobalAdministrator', 'UserAdministrator', 'LicenseAdministrator'];

/** The agreed table, written out so that a change to REQUIRED_ROLES fails here. */
const AGREED_TABLE: Record<TenantCommandType, readonly Role[] | 'none'> = {
  SignUpTenant: 'none',
  AddDomain: GA,
  VerifyDomain: GA,
  SetPrimaryDomain: GA,
  RemoveDomain: GA,
  SetMfaRequirement: GA,
  AssignRole: GA,
  RemoveRole: GA,
  CreateMember: USER_ADMINS,
  RenameUser: USER_ADMINS,
  ChangeUserPrincipalName: USER_ADMINS,
  OrderPasswordReset: USER_ADMINS,
  BlockUser: USER_ADMINS,
  UnblockUser: USER_ADMINS,
  DeleteUser: USER_ADMINS,
  RestoreUser: USER_ADMINS,
  RegisterMfaMethod: USER_ADMINS,
  InviteGuest: GUEST_INVITERS,
  ResendInvitation: GUEST_INVITERS,
  RevokeInvitation: GUEST_INVITERS,
  RedeemInvitation: 'none',
  PurchaseSubscription: GA,
  ChangeSeats: GA,
  CancelSubscription: GA,
  AssignLicense: LICENSE_ADMINS,
  RemoveLicense: LICENSE_ADMINS,
};
const GLOBAL_ADMIN_ONLY: TenantCommandType[] = [
  'AddDomain',
  'VerifyDomain',
  'SetPrimaryDomain',
  'RemoveDomain',
  'SetMfaRequirement',
  'AssignRole',
  'RemoveRole',
];
const USER_MANAGEMENT: TenantCommandType[] = [
  'RenameUser',
  'ChangeUserPrincipalName',
  'OrderPasswordReset',
  'BlockUser',
  'UnblockUser',
  'DeleteUser',
  'RestoreUser',
  'RegisterMfaMethod',
];

const allowed = (type: TenantCommandType, actor: string | undefined, target = 'target') =>
  authorised(COMMANDS[type](actor, target)) === undefined;

const expectForbidden = (type: TenantCommandType, actor: string | undefined, target = 'target') => {
  const rejection = authorised(COMMANDS[type](actor, target));
  expect(rejection).toMatchObject({ kind: 'rejection', code: 'forbidden_role', category: 'forbidden' });
  return rejection;
};

describe('the role matrix', () => {
  it('is exactly the agreed table', () => {
    expect(REQUIRED_ROLES).toEqual(AGREED_TABLE);
  });

  // Every role holder (and a member without roles) against every command that needs a role: the
  // full matrix, each cell a test.
  it.each(
    ([...ROLES, 'plain'] as const).flatMap((actor) => ADMIN_COMMANDS.map((type) => [actor, type] as const)),
  )('decides %s sending %s by the agreed table', (actor, type) => {
    const required = AGREED_TABLE[type];
    if (required === 'none') throw new Error(`${type} needs no role`);
    if (actor !== 'plain' && required.includes(actor)) {
      expect(allowed(type, actor)).toBe(true);
    } else {
      const rejection = expectForbidden(type, actor);
      expect(rejection?.message).toContain(type);
      for (const role of required) expect(rejection?.message).toContain(role);
    }
  });

  it.each(
    NO_ACTOR_COMMANDS.flatMap((type) =>
      [undefined, 'plain', 'stranger'].map((actor) => [type, actor] as const),
    ),
  )('lets anyone send %s (acting user %s)', (type, actor) => {
    expect(allowed(type, actor)).toBe(true);
  });

  it('needs no acting user to sign up or to redeem an invitation', () => {
    expect(allowed('SignUpTenant', undefined)).toBe(true);
    expect(allowed('RedeemInvitation', undefined)).toBe(true);
  });

  it.each(ADMIN_COMMANDS)('lets a Global Administrator send %s', (type) => {
    expect(allowed(type, 'GlobalAdministrator')).toBe(true);
  });

  it.each(GLOBAL_ADMIN_ONLY)('refuses %s to a User Administrator', (type) => {
    const rejection = expectForbidden(type, 'UserAdministrator');
    expect(rejection?.message).toContain('GlobalAdministrator');
  });

  it.each(['CreateMember' as const, ...USER_MANAGEMENT])('lets a User Administrator send %s', (type) => {
    expect(allowed(type, 'UserAdministrator')).toBe(true);
  });

  it.each(ADMIN_COMMANDS)('refuses %s without an acting user', (type) => {
    expectForbidden(type, undefined);
  });

  it.each(ADMIN_COMMANDS)('refuses %s from a user unknown to the tenant', (type) => {
    expectForbidden(type, 'stranger');
  });

  it.each(ADMIN_COMMANDS)('refuses %s from a blocked Global Administrator', (type) => {
    expectForbidden(type, 'blocked-ga');
  });

  it.each(ADMIN_COMMANDS)('refuses %s from a deleted Global Administrator', (type) => {
    expectForbidden(type, 'deleted-ga');
  });

  it.each(ADMIN_COMMANDS)('refuses %s from a guest, even one given Global Administrator', (type) => {
    expectForbidden(type, 'guest-ga');
  });

  it('names the needed roles in the message', () => {
    expect(expectForbidden('BlockUser', 'SecurityReader')?.message).toBe(
      'BlockUser requires the role GlobalAdministrator or UserAdministrator',
    );
    // A member without roles is no role holder: the tenant can't tell it from a stranger, so its
    // refusal also says who may use the roles.
    expect(expectForbidden('BlockUser', 'plain')?.message).toBe(
      'BlockUser requires the role GlobalAdministrator or UserAdministrator, held by an active member of this tenant',
    );
  });
});

describe('managing a Global Administrator', () => {
  it.each(USER_MANAGEMENT)('is refused to a User Administrator: %s', (type) => {
    const rejection = expectForbidden(type, 'UserAdministrator', 'ga-target');
    expect(rejection?.message).toContain('GlobalAdministrator');
  });

  it.each(USER_MANAGEMENT)(
    'is refused to a User Administrator when the target has several roles: %s',
    (type) => {
      expectForbidden(type, 'UserAdministrator', 'multi-role-target');
    },
  );

  it.each(USER_MANAGEMENT)('is allowed to a Global Administrator: %s', (type) => {
    expect(allowed(type, 'GlobalAdministrator', 'ga-target')).toBe(true);
  });

  it.each(USER_MANAGEMENT)('a User Administrator may manage another User Administrator: %s', (type) => {
    expect(allowed(type, 'UserAdministrator', 'ua-target')).toBe(true);
  });

  it('lets a User Administrator act on a user unknown to the tenant, so the decider can answer not_found', () => {
    expect(allowed('BlockUser', 'UserAdministrator', 'nobody')).toBe(true);
  });
});

describe('registering an MFA method', () => {
  it('is allowed to the user themself, without any role', () => {
    expect(allowed('RegisterMfaMethod', 'plain', 'plain')).toBe(true);
  });

  it('is allowed to a Global Administrator for themself', () => {
    expect(allowed('RegisterMfaMethod', 'GlobalAdministrator', 'GlobalAdministrator')).toBe(true);
  });

  it('is refused to a user without a role for someone else', () => {
    const rejection = expectForbidden('RegisterMfaMethod', 'plain', 'target');
    expect(rejection?.message).toContain('the user concerned');
  });

  it('is refused to a blocked user even for themself', () => {
    expectForbidden('RegisterMfaMethod', 'blocked-ga', 'blocked-ga');
  });

  it("is refused to a User Administrator for a Global Administrator's account", () => {
    expectForbidden('RegisterMfaMethod', 'UserAdministrator', 'ga-target');
  });

  it('self-service does not extend to other commands', () => {
    expectForbidden('RenameUser', 'plain', 'plain');
    expectForbidden('OrderPasswordReset', 'plain', 'plain');
  });
});

describe('managing licenses', () => {
  it.each(['AssignLicense', 'RemoveLicense'] as const)(
    'lets a License Administrator send %s about a Global Administrator: it gives no hold over the account',
    (type) => {
      expect(allowed(type, 'LicenseAdministrator', 'ga-target')).toBe(true);
      expect(allowed(type, 'UserAdministrator', 'ga-target')).toBe(true);
    },
  );

  it.each(['AssignLicense', 'RemoveLicense'] as const)(
    'lets a License Administrator send %s about a guest',
    (type) => {
      expect(allowed(type, 'LicenseAdministrator', 'guest-ga')).toBe(true);
    },
  );
});

describe('commands the service sends itself', () => {
  const bySystem = (type: TenantCommandType, actor: string | undefined): TenantCommand => ({
    ...COMMANDS[type](actor, 'target'),
    initiatedBy: 'system',
  });

  it('are exactly RemoveLicense', () => {
    expect([...SYSTEM_COMMANDS]).toEqual(['RemoveLicense']);
  });

  it('authorise RemoveLicense without an acting user', () => {
    expect(authorised(bySystem('RemoveLicense', undefined))).toBeUndefined();
  });

  it('refuse RemoveLicense that also names an acting user, even a Global Administrator', () => {
    expect(authorised(bySystem('RemoveLicense', 'GlobalAdministrator'))).toMatchObject({
      code: 'forbidden_role',
      category: 'forbidden',
    });
  });

  it.each(ALL_COMMANDS.filter((type) => type !== 'RemoveLicense'))(
    'refuse %s, even the ones that need no role',
    (type) => {
      expect(authorised(bySystem(type, undefined))).toMatchObject({
        code: 'forbidden_role',
        category: 'forbidden',
      });
      expect(authorised(bySystem(type, 'GlobalAdministrator'))).toMatchObject({
        code: 'forbidden_role',
      });
    },
  );
});

describe('what authorisation reads', () => {
  /** A view with the tenant alone: reading any user's stream throws. */
  const tenantOnly: DirectoryView = {
    tenant: state.tenant,
    user: (userId) => {
      throw new NotInNeedsError(`user ${userId}`);
    },
    seatsAssigned: () => 0,
    domainAccounts: () => 0,
    holder: () => undefined,
  };

  it("decides on the tenant's role holders, never on a user's stream", () => {
    expect(authorise(COMMANDS.BlockUser('UserAdministrator', 'ga-target'), tenantOnly)).toMatchObject({
      code: 'forbidden_role',
    });
    expect(authorise(COMMANDS.BlockUser('GlobalAdministrator', 'ga-target'), tenantOnly)).toBeUndefined();
    expect(authorise(COMMANDS.BlockUser('blocked-ga', 'target'), tenantOnly)).toMatchObject({
      code: 'forbidden_role',
    });
  });

  it("reads the acting user's own stream only when it acts on itself", () => {
    expect(() => authorise(COMMANDS.RegisterMfaMethod('plain', 'plain'), tenantOnly)).toThrow(
      NotInNeedsError,
    );
  });
});
