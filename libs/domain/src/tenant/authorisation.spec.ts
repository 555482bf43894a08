import { describe, expect, it } from 'vitest';

import { fold } from '../shared/decider.js';
import { authorise, REQUIRED_ROLES } from './authorisation.js';
import { tenantDecider } from './decider.js';
import { ROLES, type Role, type TenantCommand, type TenantCommandType, type TenantEvent } from './types.js';

const DOMAIN = 'contoso.onmicrosoft.com';
const member = (userId: string): TenantEvent => ({
  type: 'MemberCreated',
  data: { userId, userPrincipalName: `${userId}@${DOMAIN}`, displayName: userId },
});
const role = (userId: string, r: Role): TenantEvent => ({ type: 'RoleAssigned', data: { userId, role: r } });

// One holder per role, plus users without roles, blocked and deleted admins, and targets.
const state = fold(tenantDecider, [
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
  ...ROLES.flatMap((r) => [member(r), role(r, r)]),
  member('plain'),
  member('blocked-ga'),
  role('blocked-ga', 'GlobalAdministrator'),
  { type: 'UserBlocked', data: { userId: 'blocked-ga' } },
  member('deleted-ga'),
  role('deleted-ga', 'GlobalAdministrator'),
  { type: 'UserDeleted', data: { userId: 'deleted-ga' } },
  member('target'),
  member('ga-target'),
  role('ga-target', 'GlobalAdministrator'),
  member('ua-target'),
  role('ua-target', 'UserAdministrator'),
  member('multi-role-target'),
  role('multi-role-target', 'UserAdministrator'),
  role('multi-role-target', 'GlobalAdministrator'),
]);

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
};

const ADMIN_COMMANDS = (Object.keys(COMMANDS) as TenantCommandType[]).filter((t) => t !== 'SignUpTenant');
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
  authorise(COMMANDS[type](actor, target), state) === undefined;

const expectForbidden = (type: TenantCommandType, actor: string | undefined, target = 'target') => {
  const rejection = authorise(COMMANDS[type](actor, target), state);
  expect(rejection).toMatchObject({ kind: 'rejection', code: 'forbidden_role', category: 'forbidden' });
  return rejection;
};

describe('the role matrix', () => {
  it('is exactly the agreed table', () => {
    expect(REQUIRED_ROLES).toEqual({
      SignUpTenant: 'none',
      AddDomain: ['GlobalAdministrator'],
      VerifyDomain: ['GlobalAdministrator'],
      SetPrimaryDomain: ['GlobalAdministrator'],
      RemoveDomain: ['GlobalAdministrator'],
      SetMfaRequirement: ['GlobalAdministrator'],
      AssignRole: ['GlobalAdministrator'],
      RemoveRole: ['GlobalAdministrator'],
      CreateMember: ['GlobalAdministrator', 'UserAdministrator'],
      RenameUser: ['GlobalAdministrator', 'UserAdministrator'],
      ChangeUserPrincipalName: ['GlobalAdministrator', 'UserAdministrator'],
      OrderPasswordReset: ['GlobalAdministrator', 'UserAdministrator'],
      BlockUser: ['GlobalAdministrator', 'UserAdministrator'],
      UnblockUser: ['GlobalAdministrator', 'UserAdministrator'],
      DeleteUser: ['GlobalAdministrator', 'UserAdministrator'],
      RestoreUser: ['GlobalAdministrator', 'UserAdministrator'],
      RegisterMfaMethod: ['GlobalAdministrator', 'UserAdministrator'],
    });
  });

  it('needs no acting user to sign up', () => {
    expect(allowed('SignUpTenant', undefined)).toBe(true);
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

  it.each(
    (['LicenseAdministrator', 'GuestInviter', 'SecurityReader', 'plain'] as const).flatMap((actor) =>
      ADMIN_COMMANDS.map((type) => [actor, type] as const),
    ),
  )('refuses %s the command %s', (actor, type) => {
    const rejection = expectForbidden(type, actor);
    expect(rejection?.message).toContain(type);
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

  it('names the needed roles in the message', () => {
    expect(expectForbidden('BlockUser', 'plain')?.message).toBe(
      'BlockUser requires the role GlobalAdministrator or UserAdministrator',
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
