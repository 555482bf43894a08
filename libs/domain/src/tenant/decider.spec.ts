import { describe, expect, it } from 'vitest';

import { fold } from '../shared/decider.js';
import { given, TEST_CONFIG } from '../testing/given.js';
import {
  activeGlobalAdministrators,
  findUserByUpn,
  initialTenantState,
  isUsableDomain,
  tenantDecider,
} from './decider.js';
import type { Role, TenantCommand, TenantEvent } from './types.js';

const TENANT_ID = 't-1';
const INITIAL = 'contoso.onmicrosoft.com';
const ADMIN = 'u-admin';
const ALICE = 'u-alice';
const BOB = 'u-bob';

const tenantCreated: TenantEvent = {
  type: 'TenantCreated',
  data: {
    tenantId: TENANT_ID,
    displayName: 'Contoso',
    kind: 'business',
    domainPrefix: 'contoso',
    initialDomain: INITIAL,
  },
};
const memberCreated = (userId: string, userPrincipalName: string, displayName = 'Some One'): TenantEvent => ({
  type: 'MemberCreated',
  data: { userId, userPrincipalName, displayName },
});
const roleAssigned = (userId: string, role: Role): TenantEvent => ({
  type: 'RoleAssigned',
  data: { userId, role },
});
const domainAdded = (name: string, verificationCode = 'ms12345678'): TenantEvent => ({
  type: 'DomainAdded',
  data: { name, verificationCode },
});
const domainVerified = (name: string): TenantEvent => ({ type: 'DomainVerified', data: { name } });
const userBlocked = (userId: string): TenantEvent => ({ type: 'UserBlocked', data: { userId } });
const userDeleted = (userId: string): TenantEvent => ({ type: 'UserDeleted', data: { userId } });

const signedUp: TenantEvent[] = [
  tenantCreated,
  memberCreated(ADMIN, `admin@${INITIAL}`, 'Ada Admin'),
  roleAssigned(ADMIN, 'GlobalAdministrator'),
];
const withAlice: TenantEvent[] = [...signedUp, memberCreated(ALICE, `Alice@${INITIAL}`, 'Alice Smith')];
const withVerifiedDomain: TenantEvent[] = [
  ...signedUp,
  domainAdded('contoso.com'),
  domainVerified('contoso.com'),
];
const withSecondAdmin: TenantEvent[] = [
  ...withAlice,
  memberCreated(BOB, `bob@${INITIAL}`, 'Bob'),
  roleAssigned(BOB, 'GlobalAdministrator'),
];

const tenant = (events: readonly TenantEvent[]) => given(tenantDecider, events);

const signUp = (
  data: Partial<Extract<TenantCommand, { type: 'SignUpTenant' }>['data']> = {},
): TenantCommand => ({
  type: 'SignUpTenant',
  data: {
    tenantId: TENANT_ID,
    displayName: ' Contoso Ltd ',
    kind: 'business',
    domainPrefix: ' Contoso ',
    admin: { displayName: ' Ada Admin ', userName: 'Ada.Admin' },
    ...data,
  },
});

describe('every tenant command', () => {
  it('is refused with not_found when the tenant does not exist', () => {
    tenant([])
      .when({ type: 'AddDomain', actingUserId: ADMIN, data: { name: 'contoso.com' } })
      .thenRejects('not_found', 'not_found');
  });

  it('is checked for existence before authorisation', () => {
    tenant([])
      .when({ type: 'SetMfaRequirement', data: { required: true } })
      .thenRejects('not_found', 'not_found');
  });

  it('is authorised before its rules are checked', () => {
    tenant(withAlice)
      .when({ type: 'AddDomain', actingUserId: ALICE, data: { name: 'outlook.com' } })
      .thenRejects('forbidden_role', 'forbidden');
  });

  it('is refused when the acting user is missing', () => {
    tenant(withAlice)
      .when({ type: 'BlockUser', data: { userId: ALICE } })
      .thenRejects('forbidden_role', 'forbidden');
  });
});

describe('SignUpTenant', () => {
  it('creates the tenant, its initial domain and its first Global Administrator', () => {
    tenant([])
      .when(signUp())
      .then([
        {
          type: 'TenantCreated',
          data: {
            tenantId: TENANT_ID,
            displayName: 'Contoso Ltd',
            kind: 'business',
            domainPrefix: 'contoso',
            initialDomain: INITIAL,
          },
        },
        {
          type: 'MemberCreated',
          data: { userId: 'id-1', userPrincipalName: `Ada.Admin@${INITIAL}`, displayName: 'Ada Admin' },
        },
        { type: 'RoleAssigned', data: { userId: 'id-1', role: 'GlobalAdministrator' } },
      ]);
  });

  it('uses the configured initial-domain suffix', () => {
    const [created] = tenant([]).when(signUp({ kind: 'education' }), {
      config: { ...TEST_CONFIG, initialDomainSuffix: 'example.test' },
    }).decision as TenantEvent[];
    expect(created).toMatchObject({ data: { initialDomain: 'contoso.example.test', kind: 'education' } });
  });

  it('leaves a tenant whose initial domain is verified and primary, and whose admin is an active Global Administrator', () => {
    const state = tenant([]).when(signUp()).then(signedUpEvents());
    expect(state.exists).toBe(true);
    expect(state.primaryDomain).toBe(INITIAL);
    expect(state.domains.get(INITIAL)).toEqual({
      name: INITIAL,
      isInitial: true,
      isVerified: true,
      verificationCode: '',
    });
    expect(activeGlobalAdministrators(state)).toEqual(['id-1']);
    expect(state.users.get('id-1')?.revision).toBe(2);
  });

  it('is refused with tenant_exists when the tenant already exists', () => {
    tenant(signedUp).when(signUp()).thenRejects('tenant_exists', 'conflict');
  });

  it.each(['', 'con-toso', 'con.toso', 'bücher', 'a'.repeat(28)])('refuses the prefix %j', (domainPrefix) => {
    tenant([]).when(signUp({ domainPrefix })).thenRejects('invalid_domain_prefix', 'conflict');
  });

  it.each(['', 'ada admin', 'ada@contoso.com', '.ada', 'a'.repeat(65)])(
    'refuses the admin user name %j',
    (userName) => {
      tenant([])
        .when(signUp({ admin: { displayName: 'Ada', userName } }))
        .thenRejects('invalid_user_principal_name');
    },
  );

  it('refuses an empty tenant display name', () => {
    tenant([])
      .when(signUp({ displayName: '  ' }))
      .thenRejects('invalid_display_name');
  });

  it('refuses an admin display name with a control character', () => {
    tenant([])
      .when(signUp({ admin: { displayName: 'Ada\u0000', userName: 'ada' } }))
      .thenRejects('invalid_display_name');
  });
});

function signedUpEvents(): TenantEvent[] {
  return [
    {
      type: 'TenantCreated',
      data: {
        tenantId: TENANT_ID,
        displayName: 'Contoso Ltd',
        kind: 'business',
        domainPrefix: 'contoso',
        initialDomain: INITIAL,
      },
    },
    memberCreated('id-1', `Ada.Admin@${INITIAL}`, 'Ada Admin'),
    roleAssigned('id-1', 'GlobalAdministrator'),
  ];
}

describe('AddDomain', () => {
  const add = (name: string): TenantCommand => ({ type: 'AddDomain', actingUserId: ADMIN, data: { name } });

  it('adds the normalised name with a fresh verification code', () => {
    const state = tenant(signedUp)
      .when(add(' Contoso.COM. '))
      .then([domainAdded('contoso.com', 'ms12345678')]);
    expect(state.domains.get('contoso.com')).toEqual({
      name: 'contoso.com',
      isInitial: false,
      isVerified: false,
      verificationCode: 'ms12345678',
    });
    expect(isUsableDomain(state, 'contoso.com')).toBe(false);
  });

  it('takes the verification digits from the context', () => {
    tenant(signedUp)
      .when(add('contoso.com'), { randomDigits: () => '00000042' })
      .then([domainAdded('contoso.com', 'ms00000042')]);
  });

  it('stores an IDN as punycode', () => {
    tenant(signedUp)
      .when(add('Bücher.example'))
      .then([domainAdded('xn--bcher-kva.example')]);
  });

  it.each(['', 'contoso', 'conto so.com', 'c\u043Entoso.com', 'contoso.com\u202E', '10.0.0.1'])(
    'refuses the name %j as invalid_domain_name',
    (name) => {
      tenant(signedUp).when(add(name)).thenRejects('invalid_domain_name', 'conflict');
    },
  );

  it.each(['outlook.com', 'Hotmail.COM', 'live.com.', 'msn.com', 'eu.outlook.com'])(
    'refuses the consumer domain %j',
    (name) => {
      tenant(signedUp).when(add(name)).thenRejects('consumer_domain');
    },
  );

  it('uses the configured consumer domains', () => {
    tenant(signedUp)
      .when(add('mail.example'), { config: { ...TEST_CONFIG, consumerDomains: ['mail.example'] } })
      .thenRejects('consumer_domain');
  });

  it.each(['onmicrosoft.com', 'fabrikam.onmicrosoft.com', INITIAL, 'a.contoso.onmicrosoft.com'])(
    'refuses %j under the initial-domain suffix as reserved_domain',
    (name) => {
      tenant(signedUp).when(add(name)).thenRejects('reserved_domain');
    },
  );

  it.each(['contoso.com', 'CONTOSO.com.'])(
    'refuses %j when the tenant already has it (unverified)',
    (name) => {
      tenant([...signedUp, domainAdded('contoso.com')])
        .when(add(name))
        .thenRejects('domain_exists');
    },
  );

  it('refuses a domain the tenant already has verified', () => {
    tenant(withVerifiedDomain).when(add('contoso.com')).thenRejects('domain_exists');
  });

  it('accepts a sub-domain of a domain the tenant has', () => {
    tenant(withVerifiedDomain)
      .when(add('eu.contoso.com'))
      .then([domainAdded('eu.contoso.com')]);
  });
});

describe('VerifyDomain', () => {
  const verify = (name: string, txtRecords: readonly string[]): TenantCommand => ({
    type: 'VerifyDomain',
    actingUserId: ADMIN,
    data: { name, txtRecords },
  });
  const withUnverified = [...signedUp, domainAdded('contoso.com')];

  it('verifies the domain when one TXT record is the issued code', () => {
    const state = tenant(withUnverified)
      .when(verify('contoso.com', ['v=spf1 include:spf.protection.outlook.com -all', 'MS=ms12345678']))
      .then([domainVerified('contoso.com')]);
    expect(state.domains.get('contoso.com')?.isVerified).toBe(true);
    expect(isUsableDomain(state, 'contoso.com')).toBe(true);
  });

  it('trims records and compares them case-insensitively', () => {
    tenant(withUnverified)
      .when(verify('contoso.com', ['  ms=MS12345678 ']))
      .then([domainVerified('contoso.com')]);
  });

  it('finds the domain whatever the spelling of its name', () => {
    tenant(withUnverified)
      .when(verify('CONTOSO.com.', ['MS=ms12345678']))
      .then([domainVerified('contoso.com')]);
  });

  it.each([
    ['no records', []],
    ['another code', ['MS=ms87654321']],
    ['the code without its prefix', ['ms12345678']],
    ['the code inside other text', ['MS=ms12345678 extra']],
    ['the code of another tenant', ['MS=ms1234567']],
  ])('is refused with verification_record_not_found for %s', (_, records) => {
    tenant(withUnverified)
      .when(verify('contoso.com', records))
      .thenRejects('verification_record_not_found', 'conflict');
  });

  it('is refused with not_found for a domain the tenant does not have', () => {
    tenant(withUnverified)
      .when(verify('fabrikam.com', ['MS=ms12345678']))
      .thenRejects('not_found', 'not_found');
  });

  it('is refused with not_found for a name that is not a domain', () => {
    tenant(withUnverified).when(verify('not a domain', [])).thenRejects('not_found', 'not_found');
  });

  it('does nothing for a domain already verified, whatever the records', () => {
    tenant(withVerifiedDomain).when(verify('contoso.com', [])).then([]);
  });

  it('does nothing for the initial domain', () => {
    tenant(signedUp).when(verify(INITIAL, [])).then([]);
  });
});

describe('SetPrimaryDomain', () => {
  const setPrimary = (name: string): TenantCommand => ({
    type: 'SetPrimaryDomain',
    actingUserId: ADMIN,
    data: { name },
  });

  it('makes a verified domain primary', () => {
    const state = tenant(withVerifiedDomain)
      .when(setPrimary('Contoso.com'))
      .then([{ type: 'PrimaryDomainChanged', data: { previousDomain: INITIAL, domain: 'contoso.com' } }]);
    expect(state.primaryDomain).toBe('contoso.com');
  });

  it('makes the initial domain primary again', () => {
    tenant([
      ...withVerifiedDomain,
      { type: 'PrimaryDomainChanged', data: { previousDomain: INITIAL, domain: 'contoso.com' } },
    ])
      .when(setPrimary(INITIAL))
      .then([{ type: 'PrimaryDomainChanged', data: { previousDomain: 'contoso.com', domain: INITIAL } }]);
  });

  it('refuses an unverified domain with domain_not_verified', () => {
    tenant([...signedUp, domainAdded('contoso.com')])
      .when(setPrimary('contoso.com'))
      .thenRejects('domain_not_verified');
  });

  it('refuses a domain the tenant does not have with not_found', () => {
    tenant(signedUp).when(setPrimary('fabrikam.com')).thenRejects('not_found', 'not_found');
  });

  it('does nothing when the domain is already primary', () => {
    tenant(signedUp).when(setPrimary(INITIAL)).then([]);
  });
});

describe('RemoveDomain', () => {
  const remove = (name: string): TenantCommand => ({
    type: 'RemoveDomain',
    actingUserId: ADMIN,
    data: { name },
  });

  it('removes an unverified domain', () => {
    const state = tenant([...signedUp, domainAdded('contoso.com')])
      .when(remove('contoso.com'))
      .then([{ type: 'DomainRemoved', data: { name: 'contoso.com', wasVerified: false } }]);
    expect(state.domains.has('contoso.com')).toBe(false);
  });

  it('removes a verified domain that no account uses', () => {
    tenant(withVerifiedDomain)
      .when(remove('CONTOSO.COM'))
      .then([{ type: 'DomainRemoved', data: { name: 'contoso.com', wasVerified: true } }]);
  });

  it('refuses the initial domain with initial_domain', () => {
    tenant(signedUp).when(remove(INITIAL)).thenRejects('initial_domain');
  });

  it('refuses the primary domain with domain_in_use', () => {
    tenant([
      ...withVerifiedDomain,
      { type: 'PrimaryDomainChanged', data: { previousDomain: INITIAL, domain: 'contoso.com' } },
    ])
      .when(remove('contoso.com'))
      .thenRejects('domain_in_use');
  });

  it('refuses a domain an account uses with domain_in_use', () => {
    tenant([...withVerifiedDomain, memberCreated(ALICE, 'Alice@contoso.com')])
      .when(remove('contoso.com'))
      .thenRejects('domain_in_use');
  });

  it('refuses a domain a deleted account still uses with domain_in_use', () => {
    tenant([...withVerifiedDomain, memberCreated(ALICE, 'alice@contoso.com'), userDeleted(ALICE)])
      .when(remove('contoso.com'))
      .thenRejects('domain_in_use');
  });

  it('does not count an account in a sub-domain as using the parent domain', () => {
    tenant([
      ...withVerifiedDomain,
      domainAdded('eu.contoso.com'),
      domainVerified('eu.contoso.com'),
      memberCreated(ALICE, 'alice@eu.contoso.com'),
    ])
      .when(remove('contoso.com'))
      .then([{ type: 'DomainRemoved', data: { name: 'contoso.com', wasVerified: true } }]);
  });

  it('allows removing a domain once its last account moved away', () => {
    tenant([
      ...withVerifiedDomain,
      memberCreated(ALICE, 'alice@contoso.com'),
      {
        type: 'UserPrincipalNameChanged',
        data: {
          userId: ALICE,
          previousUserPrincipalName: 'alice@contoso.com',
          userPrincipalName: `alice@${INITIAL}`,
        },
      },
    ])
      .when(remove('contoso.com'))
      .then([{ type: 'DomainRemoved', data: { name: 'contoso.com', wasVerified: true } }]);
  });

  it('refuses a domain the tenant does not have with not_found', () => {
    tenant(signedUp).when(remove('fabrikam.com')).thenRejects('not_found', 'not_found');
  });
});

describe('SetMfaRequirement', () => {
  const require = (required: boolean): TenantCommand => ({
    type: 'SetMfaRequirement',
    actingUserId: ADMIN,
    data: { required },
  });

  it('requires MFA', () => {
    const state = tenant(signedUp)
      .when(require(true))
      .then([{ type: 'MfaRequirementChanged', data: { required: true, previousRequired: false } }]);
    expect(state.mfaRequired).toBe(true);
  });

  it('stops requiring MFA', () => {
    tenant([
      ...signedUp,
      { type: 'MfaRequirementChanged', data: { required: true, previousRequired: false } },
    ])
      .when(require(false))
      .then([{ type: 'MfaRequirementChanged', data: { required: false, previousRequired: true } }]);
  });

  it('does nothing when the requirement is unchanged', () => {
    tenant(signedUp).when(require(false)).then([]);
  });
});

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

  it('creates a member in the initial domain', () => {
    const state = tenant(signedUp)
      .when(create(`Alice@${INITIAL}`, '  Alice Smith '))
      .then([memberCreated('id-1', `Alice@${INITIAL}`, 'Alice Smith')]);
    expect(state.users.get('id-1')).toEqual({
      userId: 'id-1',
      userType: 'Member',
      userPrincipalName: `Alice@${INITIAL}`,
      displayName: 'Alice Smith',
      blocked: false,
      deleted: false,
      mfaMethods: [],
      licenses: new Set(),
      revision: 1,
    });
  });

  it('creates a member in a verified custom domain, normalising the domain and keeping the case of the local part', () => {
    tenant(withVerifiedDomain)
      .when(create('Alice.Smith@Contoso.COM.'))
      .then([memberCreated('id-1', 'Alice.Smith@contoso.com', 'Alice Smith')]);
  });

  it('may be sent by a User Administrator', () => {
    tenant([...withAlice, roleAssigned(ALICE, 'UserAdministrator')])
      .when(create(`bob@${INITIAL}`, 'Bob', ALICE))
      .then([memberCreated('id-1', `bob@${INITIAL}`, 'Bob')]);
  });

  it('refuses a domain the tenant added but has not verified with domain_not_verified', () => {
    tenant([...signedUp, domainAdded('contoso.com')])
      .when(create('alice@contoso.com'))
      .thenRejects('domain_not_verified');
  });

  it('refuses a domain the tenant does not have with domain_not_verified', () => {
    tenant(signedUp).when(create('alice@fabrikam.com')).thenRejects('domain_not_verified');
  });

  it.each(['alice', `al ice@${INITIAL}`, `.alice@${INITIAL}`, 'alice@', `a@b@${INITIAL}`])(
    'refuses the UPN %j with invalid_user_principal_name',
    (upn) => {
      tenant(signedUp).when(create(upn)).thenRejects('invalid_user_principal_name');
    },
  );

  it.each([`alice@${INITIAL}`, `ALICE@${INITIAL.toUpperCase()}`])(
    'refuses %j, already used in this tenant in another case, with upn_taken',
    (upn) => {
      tenant(withAlice).when(create(upn)).thenRejects('upn_taken');
    },
  );

  it("refuses a deleted account's UPN with upn_taken: the account can still be restored", () => {
    tenant([...withAlice, userDeleted(ALICE)])
      .when(create(`alice@${INITIAL}`))
      .thenRejects('upn_taken');
  });

  it.each(['', '   ', 'Alice\nSmith', 'a'.repeat(257)])('refuses the display name %j', (displayName) => {
    tenant(signedUp)
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

  it('renames, recording the previous name', () => {
    const state = tenant(withAlice)
      .when(rename(ALICE, ' Alice Jones '))
      .then([
        {
          type: 'UserRenamed',
          data: { userId: ALICE, previousDisplayName: 'Alice Smith', displayName: 'Alice Jones' },
        },
      ]);
    expect(state.users.get(ALICE)?.displayName).toBe('Alice Jones');
  });

  it('renames a blocked user', () => {
    tenant([...withAlice, userBlocked(ALICE)])
      .when(rename(ALICE, 'Alice Jones'))
      .then([
        {
          type: 'UserRenamed',
          data: { userId: ALICE, previousDisplayName: 'Alice Smith', displayName: 'Alice Jones' },
        },
      ]);
  });

  it('does nothing when the name is unchanged', () => {
    tenant(withAlice).when(rename(ALICE, ' Alice Smith')).then([]);
  });

  it('refuses a deleted user with user_deleted', () => {
    tenant([...withAlice, userDeleted(ALICE)])
      .when(rename(ALICE, 'Alice Jones'))
      .thenRejects('user_deleted');
  });

  it('refuses an unknown user with not_found', () => {
    tenant(withAlice).when(rename('u-nobody', 'X')).thenRejects('not_found', 'not_found');
  });

  it('refuses an invalid name', () => {
    tenant(withAlice).when(rename(ALICE, '\u0007')).thenRejects('invalid_display_name');
  });
});

describe('ChangeUserPrincipalName', () => {
  const change = (userId: string, userPrincipalName: string): TenantCommand => ({
    type: 'ChangeUserPrincipalName',
    actingUserId: ADMIN,
    data: { userId, userPrincipalName },
  });
  const changed = (previousUserPrincipalName: string, userPrincipalName: string): TenantEvent => ({
    type: 'UserPrincipalNameChanged',
    data: { userId: ALICE, previousUserPrincipalName, userPrincipalName },
  });

  it('moves the user to a verified domain', () => {
    const state = tenant([...withAlice, domainAdded('contoso.com'), domainVerified('contoso.com')])
      .when(change(ALICE, 'alice.smith@CONTOSO.com'))
      .then([changed(`Alice@${INITIAL}`, 'alice.smith@contoso.com')]);
    expect(state.users.get(ALICE)?.userPrincipalName).toBe('alice.smith@contoso.com');
    expect(findUserByUpn(state, 'ALICE.SMITH@contoso.com')?.userId).toBe(ALICE);
    expect(findUserByUpn(state, `alice@${INITIAL}`)).toBeUndefined();
  });

  it("changes only the case of the user's own UPN", () => {
    tenant(withAlice)
      .when(change(ALICE, `alice@${INITIAL}`))
      .then([changed(`Alice@${INITIAL}`, `alice@${INITIAL}`)]);
  });

  it('does nothing when the UPN is identical', () => {
    tenant(withAlice)
      .when(change(ALICE, `Alice@${INITIAL.toUpperCase()}.`))
      .then([]);
  });

  it("refuses another account's UPN, in any case, with upn_taken", () => {
    tenant(withAlice)
      .when(change(ALICE, `ADMIN@${INITIAL}`))
      .thenRejects('upn_taken');
  });

  it('refuses an unverified domain with domain_not_verified', () => {
    tenant([...withAlice, domainAdded('contoso.com')])
      .when(change(ALICE, 'alice@contoso.com'))
      .thenRejects('domain_not_verified');
  });

  it('refuses an invalid UPN with invalid_user_principal_name', () => {
    tenant(withAlice).when(change(ALICE, 'alice@@contoso.com')).thenRejects('invalid_user_principal_name');
  });

  it('refuses a deleted user with user_deleted', () => {
    tenant([...withAlice, userDeleted(ALICE)])
      .when(change(ALICE, `alice2@${INITIAL}`))
      .thenRejects('user_deleted');
  });

  it('refuses an unknown user with not_found', () => {
    tenant(withAlice)
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
    tenant(withAlice)
      .when(reset(ALICE))
      .then([{ type: 'PasswordResetOrdered', data: { userId: ALICE } }]);
  });

  it('orders a reset for a blocked user', () => {
    tenant([...withAlice, userBlocked(ALICE)])
      .when(reset(ALICE))
      .then([{ type: 'PasswordResetOrdered', data: { userId: ALICE } }]);
  });

  it('refuses a deleted user with user_deleted', () => {
    tenant([...withAlice, userDeleted(ALICE)])
      .when(reset(ALICE))
      .thenRejects('user_deleted');
  });

  it('refuses an unknown user with not_found', () => {
    tenant(withAlice).when(reset('u-nobody')).thenRejects('not_found', 'not_found');
  });
});

describe('BlockUser', () => {
  const block = (userId: string, actingUserId = ADMIN): TenantCommand => ({
    type: 'BlockUser',
    actingUserId,
    data: { userId },
  });

  it('blocks a user', () => {
    const state = tenant(withAlice)
      .when(block(ALICE))
      .then([userBlocked(ALICE)]);
    expect(state.users.get(ALICE)?.blocked).toBe(true);
  });

  it('does nothing when the user is already blocked', () => {
    tenant([...withAlice, userBlocked(ALICE)])
      .when(block(ALICE))
      .then([]);
  });

  it('refuses a deleted user with user_deleted', () => {
    tenant([...withAlice, userDeleted(ALICE)])
      .when(block(ALICE))
      .thenRejects('user_deleted');
  });

  it('refuses an unknown user with not_found', () => {
    tenant(withAlice).when(block('u-nobody')).thenRejects('not_found', 'not_found');
  });

  it('refuses to block the last active Global Administrator with last_global_admin', () => {
    tenant(withAlice).when(block(ADMIN)).thenRejects('last_global_admin', 'conflict');
  });

  it('blocks a Global Administrator when another one remains active', () => {
    const state = tenant(withSecondAdmin)
      .when(block(ADMIN, BOB))
      .then([userBlocked(ADMIN)]);
    expect(activeGlobalAdministrators(state)).toEqual([BOB]);
  });

  it('does not count a blocked Global Administrator as active', () => {
    tenant([...withSecondAdmin, userBlocked(BOB)])
      .when(block(ADMIN))
      .thenRejects('last_global_admin');
  });

  it('does not count a deleted Global Administrator as active', () => {
    tenant([...withSecondAdmin, userDeleted(BOB)])
      .when(block(ADMIN))
      .thenRejects('last_global_admin');
  });
});

describe('UnblockUser', () => {
  const unblock = (userId: string): TenantCommand => ({
    type: 'UnblockUser',
    actingUserId: ADMIN,
    data: { userId },
  });

  it('unblocks a blocked user', () => {
    const state = tenant([...withAlice, userBlocked(ALICE)])
      .when(unblock(ALICE))
      .then([{ type: 'UserUnblocked', data: { userId: ALICE } }]);
    expect(state.users.get(ALICE)?.blocked).toBe(false);
  });

  it('does nothing when the user is not blocked', () => {
    tenant(withAlice).when(unblock(ALICE)).then([]);
  });

  it('refuses a deleted user with user_deleted', () => {
    tenant([...withAlice, userBlocked(ALICE), userDeleted(ALICE)])
      .when(unblock(ALICE))
      .thenRejects('user_deleted');
  });

  it('refuses an unknown user with not_found', () => {
    tenant(withAlice).when(unblock('u-nobody')).thenRejects('not_found', 'not_found');
  });
});

describe('DeleteUser', () => {
  const remove = (userId: string, actingUserId = ADMIN): TenantCommand => ({
    type: 'DeleteUser',
    actingUserId,
    data: { userId },
  });

  it('soft-deletes a user', () => {
    const state = tenant(withAlice)
      .when(remove(ALICE))
      .then([userDeleted(ALICE)]);
    expect(state.users.get(ALICE)?.deleted).toBe(true);
  });

  it('deletes a blocked user', () => {
    tenant([...withAlice, userBlocked(ALICE)])
      .when(remove(ALICE))
      .then([userDeleted(ALICE)]);
  });

  it('does nothing when the user is already deleted', () => {
    tenant([...withAlice, userDeleted(ALICE)])
      .when(remove(ALICE))
      .then([]);
  });

  it('refuses an unknown user with not_found', () => {
    tenant(withAlice).when(remove('u-nobody')).thenRejects('not_found', 'not_found');
  });

  it('refuses to delete the last active Global Administrator with last_global_admin', () => {
    tenant(withAlice).when(remove(ADMIN)).thenRejects('last_global_admin');
  });

  it('refuses to delete the last active one even when a blocked Global Administrator remains', () => {
    tenant([...withSecondAdmin, userBlocked(BOB)])
      .when(remove(ADMIN))
      .thenRejects('last_global_admin');
  });

  it('deletes a Global Administrator when another one remains active, keeping the role recorded', () => {
    const state = tenant(withSecondAdmin)
      .when(remove(BOB))
      .then([userDeleted(BOB)]);
    expect(state.roles.get(BOB)?.has('GlobalAdministrator')).toBe(true);
    expect(activeGlobalAdministrators(state)).toEqual([ADMIN]);
  });

  it('deletes a blocked Global Administrator while an active one remains', () => {
    tenant([...withSecondAdmin, userBlocked(BOB)])
      .when(remove(BOB))
      .then([userDeleted(BOB)]);
  });
});

describe('RestoreUser', () => {
  const restore = (userId: string): TenantCommand => ({
    type: 'RestoreUser',
    actingUserId: ADMIN,
    data: { userId },
  });

  it('restores a deleted user', () => {
    const state = tenant([...withAlice, userDeleted(ALICE)])
      .when(restore(ALICE))
      .then([{ type: 'UserRestored', data: { userId: ALICE } }]);
    expect(state.users.get(ALICE)?.deleted).toBe(false);
  });

  it('brings back a restored Global Administrator as active', () => {
    const state = tenant([...withSecondAdmin, userDeleted(BOB)])
      .when(restore(BOB))
      .then([{ type: 'UserRestored', data: { userId: BOB } }]);
    expect(activeGlobalAdministrators(state)).toEqual([ADMIN, BOB]);
  });

  it('does nothing when the user is not deleted', () => {
    tenant(withAlice).when(restore(ALICE)).then([]);
  });

  it('refuses an unknown user with not_found', () => {
    tenant(withAlice).when(restore('u-nobody')).thenRejects('not_found', 'not_found');
  });
});

describe('RegisterMfaMethod', () => {
  const register = (
    userId: string,
    kind: 'authenticator_app' | 'sms' | 'fido2',
    actingUserId = ADMIN,
  ): TenantCommand => ({
    type: 'RegisterMfaMethod',
    actingUserId,
    data: { userId, kind },
  });

  it('registers a method with a fresh id', () => {
    const state = tenant(withAlice)
      .when(register(ALICE, 'fido2'))
      .then([{ type: 'MfaMethodRegistered', data: { userId: ALICE, methodId: 'id-1', kind: 'fido2' } }]);
    expect(state.users.get(ALICE)?.mfaMethods).toEqual([{ methodId: 'id-1', kind: 'fido2' }]);
  });

  it('lets users register a method for themselves', () => {
    tenant(withAlice)
      .when(register(ALICE, 'sms', ALICE))
      .then([{ type: 'MfaMethodRegistered', data: { userId: ALICE, methodId: 'id-1', kind: 'sms' } }]);
  });

  it('registers a second method of another kind', () => {
    const history: TenantEvent[] = [
      ...withAlice,
      { type: 'MfaMethodRegistered', data: { userId: ALICE, methodId: 'm-1', kind: 'sms' } },
    ];
    const state = tenant(history)
      .when(register(ALICE, 'authenticator_app'))
      .then([
        { type: 'MfaMethodRegistered', data: { userId: ALICE, methodId: 'id-1', kind: 'authenticator_app' } },
      ]);
    expect(state.users.get(ALICE)?.mfaMethods.map((m) => m.kind)).toEqual(['sms', 'authenticator_app']);
  });

  it('does nothing when a method of that kind is registered', () => {
    tenant([
      ...withAlice,
      { type: 'MfaMethodRegistered', data: { userId: ALICE, methodId: 'm-1', kind: 'sms' } },
    ])
      .when(register(ALICE, 'sms'))
      .then([]);
  });

  it('refuses a deleted user with user_deleted', () => {
    tenant([...withAlice, userDeleted(ALICE)])
      .when(register(ALICE, 'sms'))
      .thenRejects('user_deleted');
  });

  it('refuses an unknown user with not_found', () => {
    tenant(withAlice).when(register('u-nobody', 'sms')).thenRejects('not_found', 'not_found');
  });
});

describe('AssignRole', () => {
  const assign = (userId: string, role: Role): TenantCommand => ({
    type: 'AssignRole',
    actingUserId: ADMIN,
    data: { userId, role },
  });

  it('assigns a role', () => {
    const state = tenant(withAlice)
      .when(assign(ALICE, 'UserAdministrator'))
      .then([roleAssigned(ALICE, 'UserAdministrator')]);
    expect([...(state.roles.get(ALICE) ?? [])]).toEqual(['UserAdministrator']);
  });

  it('assigns a role to a blocked user', () => {
    tenant([...withAlice, userBlocked(ALICE)])
      .when(assign(ALICE, 'SecurityReader'))
      .then([roleAssigned(ALICE, 'SecurityReader')]);
  });

  it('does nothing when the user already holds the role', () => {
    tenant([...withAlice, roleAssigned(ALICE, 'GuestInviter')])
      .when(assign(ALICE, 'GuestInviter'))
      .then([]);
  });

  it('refuses a deleted user with user_deleted', () => {
    tenant([...withAlice, userDeleted(ALICE)])
      .when(assign(ALICE, 'GuestInviter'))
      .thenRejects('user_deleted');
  });

  it('refuses an unknown user with not_found', () => {
    tenant(withAlice).when(assign('u-nobody', 'GuestInviter')).thenRejects('not_found', 'not_found');
  });
});

describe('RemoveRole', () => {
  const removeRole = (userId: string, role: Role, actingUserId = ADMIN): TenantCommand => ({
    type: 'RemoveRole',
    actingUserId,
    data: { userId, role },
  });

  it('removes a role', () => {
    const state = tenant([...withAlice, roleAssigned(ALICE, 'GuestInviter')])
      .when(removeRole(ALICE, 'GuestInviter'))
      .then([{ type: 'RoleRemoved', data: { userId: ALICE, role: 'GuestInviter' } }]);
    expect(state.roles.has(ALICE)).toBe(false);
  });

  it('refuses a role the user does not hold with role_not_assigned', () => {
    tenant(withAlice).when(removeRole(ALICE, 'GuestInviter')).thenRejects('role_not_assigned', 'conflict');
  });

  it('refuses to remove Global Administrator from the last active one with last_global_admin', () => {
    tenant(withAlice).when(removeRole(ADMIN, 'GlobalAdministrator')).thenRejects('last_global_admin');
  });

  it('refuses it when the only other Global Administrator is blocked', () => {
    tenant([...withSecondAdmin, userBlocked(BOB)])
      .when(removeRole(ADMIN, 'GlobalAdministrator'))
      .thenRejects('last_global_admin');
  });

  it('removes Global Administrator from a user while another one remains active, even from oneself', () => {
    tenant(withSecondAdmin)
      .when(removeRole(ADMIN, 'GlobalAdministrator'))
      .then([{ type: 'RoleRemoved', data: { userId: ADMIN, role: 'GlobalAdministrator' } }]);
  });

  it('removes another role from the last Global Administrator', () => {
    tenant([...signedUp, roleAssigned(ADMIN, 'SecurityReader')])
      .when(removeRole(ADMIN, 'SecurityReader'))
      .then([{ type: 'RoleRemoved', data: { userId: ADMIN, role: 'SecurityReader' } }]);
  });

  it("removes a deleted user's role", () => {
    tenant([...withSecondAdmin, userDeleted(BOB)])
      .when(removeRole(BOB, 'GlobalAdministrator'))
      .then([{ type: 'RoleRemoved', data: { userId: BOB, role: 'GlobalAdministrator' } }]);
  });

  it('refuses an unknown user with not_found', () => {
    tenant(withAlice).when(removeRole('u-nobody', 'GuestInviter')).thenRejects('not_found', 'not_found');
  });
});

describe('evolve', () => {
  it('starts from a tenant that does not exist', () => {
    expect(tenantDecider.initialState).toBe(initialTenantState);
    expect(initialTenantState.exists).toBe(false);
  });

  it("counts every event that concerns a user in that user's revision, and only those", () => {
    const state = fold(tenantDecider, [
      ...withAlice,
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
      { type: 'UserUnblocked', data: { userId: ALICE } },
      userDeleted(ALICE),
      { type: 'UserRestored', data: { userId: ALICE } },
      { type: 'MfaMethodRegistered', data: { userId: ALICE, methodId: 'm-1', kind: 'sms' } },
      roleAssigned(ALICE, 'GuestInviter'),
      { type: 'RoleRemoved', data: { userId: ALICE, role: 'GuestInviter' } },
      domainAdded('contoso.com'),
      { type: 'MfaRequirementChanged', data: { required: true, previousRequired: false } },
    ]);
    expect(state.users.get(ALICE)?.revision).toBe(11);
    expect(state.users.get(ADMIN)?.revision).toBe(2);
  });

  it('never changes the state it was given', () => {
    const before = fold(tenantDecider, withAlice);
    const snapshot = {
      users: new Map(before.users),
      roles: new Map([...before.roles].map(([id, roles]) => [id, new Set(roles)])),
      domains: new Map(before.domains),
    };
    const events: TenantEvent[] = [
      domainAdded('contoso.com'),
      domainVerified('contoso.com'),
      userBlocked(ALICE),
      roleAssigned(ALICE, 'GuestInviter'),
      roleAssigned(ADMIN, 'SecurityReader'),
      { type: 'RoleRemoved', data: { userId: ADMIN, role: 'GlobalAdministrator' } },
      { type: 'MfaMethodRegistered', data: { userId: ALICE, methodId: 'm-1', kind: 'sms' } },
      { type: 'DomainRemoved', data: { name: INITIAL, wasVerified: true } },
    ];
    const after = events.reduce(tenantDecider.evolve, before);
    expect(after).not.toBe(before);
    expect(before.users).toEqual(snapshot.users);
    expect(before.roles).toEqual(snapshot.roles);
    expect(before.domains).toEqual(snapshot.domains);
    expect(before.users.get(ALICE)?.mfaMethods).toEqual([]);
  });

  it('forgets a removed domain', () => {
    const state = fold(tenantDecider, [
      ...withVerifiedDomain,
      { type: 'DomainRemoved', data: { name: 'contoso.com', wasVerified: true } },
    ]);
    expect([...state.domains.keys()]).toEqual([INITIAL]);
  });

  it('keeps domains in the order they were added', () => {
    const state = fold(tenantDecider, [...signedUp, domainAdded('b.example'), domainAdded('a.example')]);
    expect([...state.domains.keys()]).toEqual([INITIAL, 'b.example', 'a.example']);
  });

  it('leaves the state as it is for an event type it does not know', () => {
    const state = fold(tenantDecider, signedUp);
    const unknown = { type: 'SomethingNew', data: {} } as unknown as TenantEvent;
    expect(tenantDecider.evolve(state, unknown)).toBe(state);
  });
});

describe('findUserByUpn', () => {
  const state = fold(tenantDecider, [...withAlice, userDeleted(ALICE)]);

  it('finds a user whatever the case, deleted users included', () => {
    expect(findUserByUpn(state, `aLiCe@${INITIAL.toUpperCase()}`)?.userId).toBe(ALICE);
  });

  it('finds nobody for an unknown UPN', () => {
    expect(findUserByUpn(state, `carol@${INITIAL}`)).toBeUndefined();
  });
});
