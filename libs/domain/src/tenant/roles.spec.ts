// The rules of directory roles: assigning and removing them (each change rewriting the tenant's
// role-holder entry for the user), and never leaving the tenant without an active Global
// Administrator, which is read from those entries alone.

import { describe, expect, it } from 'vitest';

import { givenDirectory } from '../testing/directory.js';
import {
  ADMIN,
  ALICE,
  BOB,
  blockedAdministrator,
  deletedAdministrator,
  roleAssigned,
  roleGiven,
  roleHolderChanged,
  roleRemoved,
  signedUp,
  userBlocked,
  userDeleted,
  withAlice,
  withSecondAdmin,
} from '../testing/tenant-fixtures.js';
import type { Role, TenantCommand } from './commands.js';
import { activeGlobalAdministrators } from './tenant-state.js';

describe('AssignRole', () => {
  const assign = (userId: string, role: Role): TenantCommand => ({
    type: 'AssignRole',
    actingUserId: ADMIN,
    data: { userId, role },
  });

  it('assigns a role, entering the user as a role holder', () => {
    const state = givenDirectory(withAlice)
      .when(assign(ALICE, 'UserAdministrator'))
      .then([roleAssigned(ALICE, 'UserAdministrator'), roleHolderChanged(ALICE, ['UserAdministrator'])]);
    expect(state.user(ALICE)?.roles).toEqual(['UserAdministrator']);
    expect(state.tenant.roleHolders.get(ALICE)).toEqual({
      userType: 'Member',
      roles: ['UserAdministrator'],
      active: true,
    });
  });

  it('adds to the roles the user holds, in the order assigned', () => {
    givenDirectory([...withAlice, ...roleGiven(ALICE, 'GuestInviter')])
      .when(assign(ALICE, 'SecurityReader'))
      .then([
        roleAssigned(ALICE, 'SecurityReader'),
        roleHolderChanged(ALICE, ['GuestInviter', 'SecurityReader']),
      ]);
  });

  it('assigns a role to a blocked user, entered as unable to use it', () => {
    givenDirectory([...withAlice, userBlocked(ALICE)])
      .when(assign(ALICE, 'SecurityReader'))
      .then([
        roleAssigned(ALICE, 'SecurityReader'),
        roleHolderChanged(ALICE, ['SecurityReader'], { active: false }),
      ]);
  });

  it('does nothing when the user already holds the role', () => {
    givenDirectory([...withAlice, ...roleGiven(ALICE, 'GuestInviter')])
      .when(assign(ALICE, 'GuestInviter'))
      .then([]);
  });

  it('refuses a deleted user with user_deleted', () => {
    givenDirectory([...withAlice, userDeleted(ALICE)])
      .when(assign(ALICE, 'GuestInviter'))
      .thenRejects('user_deleted');
  });

  it('refuses an unknown user with not_found', () => {
    givenDirectory(withAlice).when(assign('u-nobody', 'GuestInviter')).thenRejects('not_found', 'not_found');
  });
});

describe('RemoveRole', () => {
  const removeRole = (userId: string, role: Role): TenantCommand => ({
    type: 'RemoveRole',
    actingUserId: ADMIN,
    data: { userId, role },
  });

  it('removes a role; a user left with none is no role holder any more', () => {
    const state = givenDirectory([...withAlice, ...roleGiven(ALICE, 'GuestInviter')])
      .when(removeRole(ALICE, 'GuestInviter'))
      .then([roleRemoved(ALICE, 'GuestInviter'), roleHolderChanged(ALICE, [])]);
    expect(state.user(ALICE)?.roles).toEqual([]);
    expect(state.tenant.roleHolders.has(ALICE)).toBe(false);
  });

  it('refuses a role the user does not hold with role_not_assigned', () => {
    givenDirectory(withAlice)
      .when(removeRole(ALICE, 'GuestInviter'))
      .thenRejects('role_not_assigned', 'conflict');
  });

  it('removes Global Administrator from a user while another one remains active, even from oneself', () => {
    givenDirectory(withSecondAdmin)
      .when(removeRole(ADMIN, 'GlobalAdministrator'))
      .then([roleRemoved(ADMIN, 'GlobalAdministrator'), roleHolderChanged(ADMIN, [])]);
  });

  it('removes another role from the last Global Administrator', () => {
    givenDirectory([
      ...signedUp,
      ...roleGiven(ADMIN, 'SecurityReader', { roles: ['GlobalAdministrator', 'SecurityReader'] }),
    ])
      .when(removeRole(ADMIN, 'SecurityReader'))
      .then([roleRemoved(ADMIN, 'SecurityReader'), roleHolderChanged(ADMIN, ['GlobalAdministrator'])]);
  });

  it("removes a deleted user's role", () => {
    givenDirectory([...withSecondAdmin, ...deletedAdministrator(BOB)])
      .when(removeRole(BOB, 'GlobalAdministrator'))
      .then([roleRemoved(BOB, 'GlobalAdministrator'), roleHolderChanged(BOB, [], { active: false })]);
  });

  it('refuses an unknown user with not_found', () => {
    givenDirectory(withAlice)
      .when(removeRole('u-nobody', 'GuestInviter'))
      .thenRejects('not_found', 'not_found');
  });
});

describe('the last active Global Administrator', () => {
  const block = (userId: string, actingUserId = ADMIN): TenantCommand => ({
    type: 'BlockUser',
    actingUserId,
    data: { userId },
  });
  const remove = (userId: string): TenantCommand => ({
    type: 'DeleteUser',
    actingUserId: ADMIN,
    data: { userId },
  });
  const removeRole = (userId: string): TenantCommand => ({
    type: 'RemoveRole',
    actingUserId: ADMIN,
    data: { userId, role: 'GlobalAdministrator' },
  });

  describe('BlockUser', () => {
    it('refuses to block the last active Global Administrator with last_global_admin', () => {
      givenDirectory(withAlice).when(block(ADMIN)).thenRejects('last_global_admin', 'conflict');
    });

    it('blocks a Global Administrator when another one remains active', () => {
      const state = givenDirectory(withSecondAdmin).when(block(ADMIN, BOB)).then(blockedAdministrator(ADMIN));
      expect(activeGlobalAdministrators(state.tenant)).toEqual([BOB]);
    });

    it('does not count a blocked Global Administrator as active', () => {
      givenDirectory([...withSecondAdmin, ...blockedAdministrator(BOB)])
        .when(block(ADMIN))
        .thenRejects('last_global_admin');
    });

    it('does not count a deleted Global Administrator as active', () => {
      givenDirectory([...withSecondAdmin, ...deletedAdministrator(BOB)])
        .when(block(ADMIN))
        .thenRejects('last_global_admin');
    });
  });

  describe('DeleteUser', () => {
    it('refuses to delete the last active Global Administrator with last_global_admin', () => {
      givenDirectory(withAlice).when(remove(ADMIN)).thenRejects('last_global_admin');
    });

    it('refuses to delete the last active one even when a blocked Global Administrator remains', () => {
      givenDirectory([...withSecondAdmin, ...blockedAdministrator(BOB)])
        .when(remove(ADMIN))
        .thenRejects('last_global_admin');
    });

    it('deletes a Global Administrator when another one remains active, keeping the role recorded', () => {
      const state = givenDirectory(withSecondAdmin).when(remove(BOB)).then(deletedAdministrator(BOB));
      expect(state.user(BOB)?.roles).toContain('GlobalAdministrator');
      expect(state.tenant.roleHolders.get(BOB)?.roles).toContain('GlobalAdministrator');
      expect(activeGlobalAdministrators(state.tenant)).toEqual([ADMIN]);
    });

    it('deletes a blocked Global Administrator while an active one remains; its entry was inactive already', () => {
      givenDirectory([...withSecondAdmin, ...blockedAdministrator(BOB)])
        .when(remove(BOB))
        .then([userDeleted(BOB)]);
    });
  });

  describe('RemoveRole', () => {
    it('refuses to remove Global Administrator from the last active one with last_global_admin', () => {
      givenDirectory(withAlice).when(removeRole(ADMIN)).thenRejects('last_global_admin');
    });

    it('refuses it when the only other Global Administrator is blocked', () => {
      givenDirectory([...withSecondAdmin, ...blockedAdministrator(BOB)])
        .when(removeRole(ADMIN))
        .thenRejects('last_global_admin');
    });
  });
});
