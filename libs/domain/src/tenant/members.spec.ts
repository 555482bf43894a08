// The rules of members and of every user object's lifecycle: creation (its UPN unique through the
// UPN's claim, its custom domain counted), names and UPN, password resets, block and unblock,
// delete and restore (keeping the tenant's role-holder entry in step), MFA methods.

import { describe, expect, it } from 'vitest';

import { givenDirectory } from '../testing/directory.js';
import {
  ADMIN,
  ALICE,
  BOB,
  customDomainMember,
  deletedAdministrator,
  domainAdded,
  domainUseReleased,
  domainUseTaken,
  INITIAL,
  memberCreated,
  roleGiven,
  roleHolderChanged,
  signedUp,
  userBlocked,
  userDeleted,
  userRestored,
  verifiedDomain,
  withAlice,
  withSecondAdmin,
  withVerifiedDomain,
} from '../testing/tenant-fixtures.js';
import type { MfaMethodKind, TenantCommand } from './commands.js';
import type { DirectoryEvent } from './events.js';
import { activeGlobalAdministrators } from './tenant-state.js';

/** Alice as a User Administrator: a role holder that is no Global Administrator. */
const withUserAdministrator: DirectoryEvent[] = [...withAlice, ...roleGiven(ALICE, 'UserAdministrator')];

describe('CreateMember', () => {
  const create = (
    userPrincipalName: string,
    displayName = 'Alice Smith',
    actingUserId = ADMIN,
  ): TenantCommand => ({
    type: 'CreateMember',
    actingUserId,
    data: { userPrincipalName, displayName },
  });

  it('creates a member in the initial domain, which no ledger counts', () => {
    const state = givenDirectory(signedUp)
      .when(create(`Alice@${INITIAL}`, '  Alice Smith '))
      .then([memberCreated('id-1', `Alice@${INITIAL}`, 'Alice Smith')]);
    expect(state.user('id-1')).toEqual({
      userId: 'id-1',
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

  it('creates a member in a verified custom domain, normalising the domain and keeping the case of the local part, and counts it in the domain', () => {
    const state = givenDirectory(withVerifiedDomain)
      .when(create('Alice.Smith@Contoso.COM.'))
      .then([
        memberCreated('id-1', 'Alice.Smith@contoso.com', 'Alice Smith'),
        domainUseTaken('contoso.com', 'id-1'),
      ]);
    expect(state.domainAccounts('contoso.com')).toBe(1);
  });

  it('may be sent by a User Administrator', () => {
    givenDirectory(withUserAdministrator)
      .when(create(`bob@${INITIAL}`, 'Bob', ALICE))
      .then([memberCreated('id-1', `bob@${INITIAL}`, 'Bob')]);
  });

  it('refuses a domain the tenant added but has not verified with domain_not_verified', () => {
    givenDirectory([...signedUp, domainAdded('contoso.com')])
      .when(create('alice@contoso.com'))
      .thenRejects('domain_not_verified');
  });

  it('refuses a domain the tenant does not have with domain_not_verified', () => {
    givenDirectory(signedUp).when(create('alice@fabrikam.com')).thenRejects('domain_not_verified');
  });

  it.each(['alice', `al ice@${INITIAL}`, `.alice@${INITIAL}`, 'alice@', `a@b@${INITIAL}`])(
    'refuses the UPN %j with invalid_user_principal_name',
    (upn) => {
      givenDirectory(signedUp).when(create(upn)).thenRejects('invalid_user_principal_name');
    },
  );

  it.each([`alice@${INITIAL}`, `ALICE@${INITIAL.toUpperCase()}`, `aLiCe@${INITIAL.toUpperCase()}.`])(
    'refuses %j, already used in this tenant in another case, with upn_taken',
    (upn) => {
      const rejection = givenDirectory(withAlice).when(create(upn)).thenRejects('upn_taken');
      expect(rejection.message).toContain('this tenant');
    },
  );

  it("refuses a deleted account's UPN with upn_taken: the account can still be restored", () => {
    givenDirectory([...withAlice, userDeleted(ALICE)])
      .when(create(`alice@${INITIAL}`))
      .thenRejects('upn_taken');
  });

  it("refuses a UPN another tenant's account holds with upn_taken, naming no tenant", () => {
    const rejection = givenDirectory(withVerifiedDomain, [
      { kind: 'upn', value: 'carol@contoso.com', ownerId: 'u-elsewhere', tenantId: 't-2' },
    ])
      .when(create('Carol@contoso.com'))
      .thenRejects('upn_taken');
    expect(rejection.message).not.toContain('t-2');
    expect(rejection.message).not.toContain('this tenant');
  });

  it('creates a member whose UPN nobody holds, the same local part in another domain included', () => {
    givenDirectory([...withAlice, ...verifiedDomain('contoso.com')])
      .when(create('alice@contoso.com'))
      .then([
        memberCreated('id-1', 'alice@contoso.com', 'Alice Smith'),
        domainUseTaken('contoso.com', 'id-1'),
      ]);
  });

  it.each(['', '   ', 'Alice\nSmith', 'a'.repeat(257)])('refuses the display name %j', (displayName) => {
    givenDirectory(signedUp)
      .when(create(`alice@${INITIAL}`, displayName))
      .thenRejects('invalid_display_name');
  });
});

describe('RenameUser', () => {
  const rename = (userId: string, displayName: string): TenantCommand => ({
    type: 'RenameUser',
    actingUserId: ADMIN,
    data: { userId, displayName },
  });
  const renamed: DirectoryEvent = {
    type: 'UserRenamed',
    data: { userId: ALICE, previousDisplayName: 'Alice Smith', displayName: 'Alice Jones' },
  };

  it('renames, recording the previous name', () => {
    const state = givenDirectory(withAlice).when(rename(ALICE, ' Alice Jones ')).then([renamed]);
    expect(state.user(ALICE)?.displayName).toBe('Alice Jones');
  });

  it('renames a blocked user', () => {
    givenDirectory([...withAlice, userBlocked(ALICE)])
      .when(rename(ALICE, 'Alice Jones'))
      .then([renamed]);
  });

  it('does nothing when the name is unchanged', () => {
    givenDirectory(withAlice).when(rename(ALICE, ' Alice Smith')).then([]);
  });

  it('refuses a deleted user with user_deleted', () => {
    givenDirectory([...withAlice, userDeleted(ALICE)])
      .when(rename(ALICE, 'Alice Jones'))
      .thenRejects('user_deleted');
  });

  it('refuses an unknown user with not_found', () => {
    givenDirectory(withAlice).when(rename('u-nobody', 'X')).thenRejects('not_found', 'not_found');
  });

  it('refuses an invalid name', () => {
    givenDirectory(withAlice).when(rename(ALICE, '\u0007')).thenRejects('invalid_display_name');
  });
});

describe('ChangeUserPrincipalName', () => {
  const change = (userId: string, userPrincipalName: string): TenantCommand => ({
    type: 'ChangeUserPrincipalName',
    actingUserId: ADMIN,
    data: { userId, userPrincipalName },
  });
  const changed = (previousUserPrincipalName: string, userPrincipalName: string): DirectoryEvent => ({
    type: 'UserPrincipalNameChanged',
    data: { userId: ALICE, previousUserPrincipalName, userPrincipalName },
  });
  const withTwoDomains: DirectoryEvent[] = [
    ...signedUp,
    ...verifiedDomain('contoso.com'),
    ...verifiedDomain('fabrikam.com'),
    ...customDomainMember(ALICE, 'alice@contoso.com', 'Alice Smith'),
  ];

  it('moves the user to a verified domain, which counts it from then on', () => {
    const state = givenDirectory([...withAlice, ...verifiedDomain('contoso.com')])
      .when(change(ALICE, 'alice.smith@CONTOSO.com'))
      .then([changed(`Alice@${INITIAL}`, 'alice.smith@contoso.com'), domainUseTaken('contoso.com', ALICE)]);
    expect(state.user(ALICE)?.userPrincipalName).toBe('alice.smith@contoso.com');
    expect(state.holder('upn', 'alice.smith@contoso.com')?.ownerId).toBe(ALICE);
    expect(state.holder('upn', `alice@${INITIAL}`)).toBeUndefined();
    expect(state.domainAccounts('contoso.com')).toBe(1);
  });

  it('moves the user from one custom domain to another: the first gives the account back, the second counts it', () => {
    const state = givenDirectory(withTwoDomains)
      .when(change(ALICE, 'alice@fabrikam.com'))
      .then([
        changed('alice@contoso.com', 'alice@fabrikam.com'),
        domainUseReleased('contoso.com', ALICE),
        domainUseTaken('fabrikam.com', ALICE),
      ]);
    expect(state.domainAccounts('contoso.com')).toBe(0);
    expect(state.domainAccounts('fabrikam.com')).toBe(1);
  });

  it('moves the user back to the initial domain: only the custom domain changes its count', () => {
    givenDirectory(withTwoDomains)
      .when(change(ALICE, `alice@${INITIAL}`))
      .then([changed('alice@contoso.com', `alice@${INITIAL}`), domainUseReleased('contoso.com', ALICE)]);
  });

  it('changes the local part within a custom domain without touching its count', () => {
    givenDirectory(withTwoDomains)
      .when(change(ALICE, 'alice.smith@contoso.com'))
      .then([changed('alice@contoso.com', 'alice.smith@contoso.com')]);
  });

  it("changes only the case of the user's own UPN", () => {
    givenDirectory(withAlice)
      .when(change(ALICE, `alice@${INITIAL}`))
      .then([changed(`Alice@${INITIAL}`, `alice@${INITIAL}`)]);
  });

  it('does nothing when the UPN is identical', () => {
    givenDirectory(withAlice)
      .when(change(ALICE, `Alice@${INITIAL.toUpperCase()}.`))
      .then([]);
  });

  it("refuses another account's UPN, in any case, with upn_taken", () => {
    givenDirectory(withAlice)
      .when(change(ALICE, `ADMIN@${INITIAL}`))
      .thenRejects('upn_taken');
  });

  it("refuses a deleted account's UPN, in any case, with upn_taken", () => {
    givenDirectory([...withAlice, memberCreated(BOB, `bob@${INITIAL}`), userDeleted(BOB)])
      .when(change(ALICE, `bOb@${INITIAL.toUpperCase()}`))
      .thenRejects('upn_taken');
  });

  it('refuses an unverified domain with domain_not_verified', () => {
    givenDirectory([...withAlice, domainAdded('contoso.com')])
      .when(change(ALICE, 'alice@contoso.com'))
      .thenRejects('domain_not_verified');
  });

  it('refuses an invalid UPN with invalid_user_principal_name', () => {
    givenDirectory(withAlice)
      .when(change(ALICE, 'alice@@contoso.com'))
      .thenRejects('invalid_user_principal_name');
  });

  it('refuses a deleted user with user_deleted', () => {
    givenDirectory([...withAlice, userDeleted(ALICE)])
      .when(change(ALICE, `alice2@${INITIAL}`))
      .thenRejects('user_deleted');
  });

  it('refuses an unknown user with not_found', () => {
    givenDirectory(withAlice)
      .when(change('u-nobody', `x@${INITIAL}`))
      .thenRejects('not_found', 'not_found');
  });
});

describe('OrderPasswordReset', () => {
  const reset = (userId: string): TenantCommand => ({
    type: 'OrderPasswordReset',
    actingUserId: ADMIN,
    data: { userId },
  });

  it('records that a reset was ordered', () => {
    givenDirectory(withAlice)
      .when(reset(ALICE))
      .then([{ type: 'PasswordResetOrdered', data: { userId: ALICE } }]);
  });

  it('orders a reset for a blocked user', () => {
    givenDirectory([...withAlice, userBlocked(ALICE)])
      .when(reset(ALICE))
      .then([{ type: 'PasswordResetOrdered', data: { userId: ALICE } }]);
  });

  it('refuses a deleted user with user_deleted', () => {
    givenDirectory([...withAlice, userDeleted(ALICE)])
      .when(reset(ALICE))
      .thenRejects('user_deleted');
  });

  it('refuses an unknown user with not_found', () => {
    givenDirectory(withAlice).when(reset('u-nobody')).thenRejects('not_found', 'not_found');
  });
});

describe('BlockUser', () => {
  const block = (userId: string): TenantCommand => ({
    type: 'BlockUser',
    actingUserId: ADMIN,
    data: { userId },
  });

  it('blocks a user', () => {
    const state = givenDirectory(withAlice)
      .when(block(ALICE))
      .then([userBlocked(ALICE)]);
    expect(state.user(ALICE)?.blocked).toBe(true);
  });

  it("blocks a role holder, whose tenant entry then says it can't use its roles", () => {
    const state = givenDirectory(withUserAdministrator)
      .when(block(ALICE))
      .then([userBlocked(ALICE), roleHolderChanged(ALICE, ['UserAdministrator'], { active: false })]);
    expect(state.tenant.roleHolders.get(ALICE)).toEqual({
      userType: 'Member',
      roles: ['UserAdministrator'],
      active: false,
    });
  });

  it('does nothing when the user is already blocked', () => {
    givenDirectory([...withAlice, userBlocked(ALICE)])
      .when(block(ALICE))
      .then([]);
  });

  it('refuses a deleted user with user_deleted', () => {
    givenDirectory([...withAlice, userDeleted(ALICE)])
      .when(block(ALICE))
      .thenRejects('user_deleted');
  });

  it('refuses an unknown user with not_found', () => {
    givenDirectory(withAlice).when(block('u-nobody')).thenRejects('not_found', 'not_found');
  });
});

describe('UnblockUser', () => {
  const unblock = (userId: string): TenantCommand => ({
    type: 'UnblockUser',
    actingUserId: ADMIN,
    data: { userId },
  });
  const unblocked = (userId: string): DirectoryEvent => ({ type: 'UserUnblocked', data: { userId } });

  it('unblocks a blocked user', () => {
    const state = givenDirectory([...withAlice, userBlocked(ALICE)])
      .when(unblock(ALICE))
      .then([unblocked(ALICE)]);
    expect(state.user(ALICE)?.blocked).toBe(false);
  });

  it('unblocks a role holder, whose tenant entry is then active again', () => {
    givenDirectory([
      ...withUserAdministrator,
      userBlocked(ALICE),
      roleHolderChanged(ALICE, ['UserAdministrator'], { active: false }),
    ])
      .when(unblock(ALICE))
      .then([unblocked(ALICE), roleHolderChanged(ALICE, ['UserAdministrator'])]);
  });

  it('does nothing when the user is not blocked', () => {
    givenDirectory(withAlice).when(unblock(ALICE)).then([]);
  });

  it('refuses a deleted user with user_deleted', () => {
    givenDirectory([...withAlice, userBlocked(ALICE), userDeleted(ALICE)])
      .when(unblock(ALICE))
      .thenRejects('user_deleted');
  });

  it('refuses an unknown user with not_found', () => {
    givenDirectory(withAlice).when(unblock('u-nobody')).thenRejects('not_found', 'not_found');
  });
});

describe('DeleteUser', () => {
  const remove = (userId: string): TenantCommand => ({
    type: 'DeleteUser',
    actingUserId: ADMIN,
    data: { userId },
  });

  it('soft-deletes a user', () => {
    const state = givenDirectory(withAlice)
      .when(remove(ALICE))
      .then([userDeleted(ALICE)]);
    expect(state.user(ALICE)?.deleted).toBe(true);
  });

  it('soft-deletes a role holder, keeping its roles but no longer their use', () => {
    const state = givenDirectory(withUserAdministrator)
      .when(remove(ALICE))
      .then([userDeleted(ALICE), roleHolderChanged(ALICE, ['UserAdministrator'], { active: false })]);
    expect(state.user(ALICE)?.roles).toEqual(['UserAdministrator']);
  });

  it('deletes a blocked user', () => {
    givenDirectory([...withAlice, userBlocked(ALICE)])
      .when(remove(ALICE))
      .then([userDeleted(ALICE)]);
  });

  it("keeps a deleted account's custom domain counted: restoring it must find the domain there", () => {
    const state = givenDirectory([...withVerifiedDomain, ...customDomainMember(ALICE, 'alice@contoso.com')])
      .when(remove(ALICE))
      .then([userDeleted(ALICE)]);
    expect(state.domainAccounts('contoso.com')).toBe(1);
  });

  it('does nothing when the user is already deleted', () => {
    givenDirectory([...withAlice, userDeleted(ALICE)])
      .when(remove(ALICE))
      .then([]);
  });

  it('refuses an unknown user with not_found', () => {
    givenDirectory(withAlice).when(remove('u-nobody')).thenRejects('not_found', 'not_found');
  });
});

describe('RestoreUser', () => {
  const restore = (userId: string): TenantCommand => ({
    type: 'RestoreUser',
    actingUserId: ADMIN,
    data: { userId },
  });

  it('restores a deleted user', () => {
    const state = givenDirectory([...withAlice, userDeleted(ALICE)])
      .when(restore(ALICE))
      .then([userRestored(ALICE)]);
    expect(state.user(ALICE)?.deleted).toBe(false);
  });

  it('brings back a restored Global Administrator as active', () => {
    const state = givenDirectory([...withSecondAdmin, ...deletedAdministrator(BOB)])
      .when(restore(BOB))
      .then([userRestored(BOB), roleHolderChanged(BOB, ['GlobalAdministrator'])]);
    expect(activeGlobalAdministrators(state.tenant)).toEqual([ADMIN, BOB]);
  });

  it('restores a blocked role holder, whose tenant entry stays inactive', () => {
    givenDirectory([
      ...withUserAdministrator,
      userBlocked(ALICE),
      roleHolderChanged(ALICE, ['UserAdministrator'], { active: false }),
      userDeleted(ALICE),
    ])
      .when(restore(ALICE))
      .then([userRestored(ALICE)]);
  });

  it('does nothing when the user is not deleted', () => {
    givenDirectory(withAlice).when(restore(ALICE)).then([]);
  });

  it('refuses an unknown user with not_found', () => {
    givenDirectory(withAlice).when(restore('u-nobody')).thenRejects('not_found', 'not_found');
  });
});

describe('RegisterMfaMethod', () => {
  const register = (userId: string, kind: MfaMethodKind, actingUserId = ADMIN): TenantCommand => ({
    type: 'RegisterMfaMethod',
    actingUserId,
    data: { userId, kind },
  });
  const registered = (methodId: string, kind: MfaMethodKind): DirectoryEvent => ({
    type: 'MfaMethodRegistered',
    data: { userId: ALICE, methodId, kind },
  });

  it('registers a method with a fresh id', () => {
    const state = givenDirectory(withAlice)
      .when(register(ALICE, 'fido2'))
      .then([registered('id-1', 'fido2')]);
    expect(state.user(ALICE)?.mfaMethods).toEqual([{ methodId: 'id-1', kind: 'fido2' }]);
  });

  it('lets users register a method for themselves', () => {
    givenDirectory(withAlice)
      .when(register(ALICE, 'sms', ALICE))
      .then([registered('id-1', 'sms')]);
  });

  it('registers a second method of another kind', () => {
    const state = givenDirectory([...withAlice, registered('m-1', 'sms')])
      .when(register(ALICE, 'authenticator_app'))
      .then([registered('id-1', 'authenticator_app')]);
    expect(state.user(ALICE)?.mfaMethods.map((m) => m.kind)).toEqual(['sms', 'authenticator_app']);
  });

  it('does nothing when a method of that kind is registered', () => {
    givenDirectory([...withAlice, registered('m-1', 'sms')])
      .when(register(ALICE, 'sms'))
      .then([]);
  });

  it('refuses a deleted user with user_deleted', () => {
    givenDirectory([...withAlice, userDeleted(ALICE)])
      .when(register(ALICE, 'sms'))
      .thenRejects('user_deleted');
  });

  it('refuses an unknown user with not_found', () => {
    givenDirectory(withAlice).when(register('u-nobody', 'sms')).thenRejects('not_found', 'not_found');
  });
});
