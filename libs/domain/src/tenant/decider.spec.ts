// The dispatch every directory command goes through before its own rules: the tenant must exist,
// the acting user must be authorised, and a guest's account is refused to this tenant's admins.

import { describe, it } from 'vitest';

import { givenDirectory } from '../testing/directory.js';
import {
  ADMIN,
  ALICE,
  GUEST,
  INITIAL,
  userDeleted,
  withAcceptedGuest,
  withAlice,
  withGuest,
} from '../testing/tenant-fixtures.js';
import type { TenantCommand } from './commands.js';

describe('every tenant command', () => {
  it('is refused with not_found when the tenant does not exist', () => {
    givenDirectory([])
      .when({ type: 'AddDomain', actingUserId: ADMIN, data: { name: 'contoso.com' } })
      .thenRejects('not_found', 'not_found');
  });

  it('is checked for existence before authorisation', () => {
    givenDirectory([])
      .when({ type: 'SetMfaRequirement', data: { required: true } })
      .thenRejects('not_found', 'not_found');
  });

  it('is authorised before its rules are checked', () => {
    givenDirectory(withAlice)
      .when({ type: 'AddDomain', actingUserId: ALICE, data: { name: 'outlook.com' } })
      .thenRejects('forbidden_role', 'forbidden');
  });

  it('is refused when the acting user is missing', () => {
    givenDirectory(withAlice)
      .when({ type: 'BlockUser', data: { userId: ALICE } })
      .thenRejects('forbidden_role', 'forbidden');
  });
});

describe('a command about a guest that only its home directory may send', () => {
  const GUEST_RESTRICTED: TenantCommand[] = [
    { type: 'RenameUser', actingUserId: ADMIN, data: { userId: GUEST, displayName: 'Robert' } },
    {
      type: 'ChangeUserPrincipalName',
      actingUserId: ADMIN,
      data: { userId: GUEST, userPrincipalName: `bob@${INITIAL}` },
    },
    { type: 'OrderPasswordReset', actingUserId: ADMIN, data: { userId: GUEST } },
    { type: 'RegisterMfaMethod', actingUserId: ADMIN, data: { userId: GUEST, kind: 'sms' } },
  ];
  const cases = GUEST_RESTRICTED.map((command) => [command.type, command] as const);

  it.each(cases)("can't be managed here: %s is refused with guest_not_manageable", (_, command) => {
    givenDirectory(withAcceptedGuest).when(command).thenRejects('guest_not_manageable', 'conflict');
    givenDirectory(withGuest).when(command).thenRejects('guest_not_manageable');
  });

  it.each(cases)(
    'is refused %s with guest_not_manageable before other rules (the guest is removed)',
    (_, command) => {
      givenDirectory([...withGuest, userDeleted(GUEST)])
        .when(command)
        .thenRejects('guest_not_manageable');
    },
  );

  it.each(cases)(
    'is refused %s with forbidden_role first when the acting user may not send it',
    (_, command) => {
      givenDirectory(withGuest)
        .when({ ...command, actingUserId: ALICE })
        .thenRejects('forbidden_role', 'forbidden');
    },
  );
});
