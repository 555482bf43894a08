// The tenant-wide rules: signing up, custom domains and their verification, the primary domain,
// removing a domain (refused while its ledger counts accounts), and the MFA requirement.

import { describe, expect, it } from 'vitest';

import { givenDirectory } from '../testing/directory.js';
import { TEST_CONFIG } from '../testing/given.js';
import {
  ADMIN,
  ALICE,
  customDomainMember,
  domainAdded,
  domainUseReleased,
  INITIAL,
  memberCreated,
  roleAssigned,
  roleHolderChanged,
  signedUp,
  TENANT_ID,
  userDeleted,
  verifiedDomain,
  withVerifiedDomain,
} from '../testing/tenant-fixtures.js';
import type { SignUpTenant, TenantCommand } from './commands.js';
import type { DirectoryEvent } from './events.js';
import { activeGlobalAdministrators, isUsableDomain } from './tenant-state.js';

const signUp = (data: Partial<SignUpTenant['data']> = {}): TenantCommand => ({
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

const signedUpEvents = (): DirectoryEvent[] => [
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
  roleHolderChanged('id-1', ['GlobalAdministrator']),
];

const removed = (name: string, wasVerified = true): DirectoryEvent => ({
  type: 'DomainRemoved',
  data: { name, wasVerified },
});
const primaryChanged = (previousDomain: string, domain: string): DirectoryEvent => ({
  type: 'PrimaryDomainChanged',
  data: { previousDomain, domain },
});

describe('SignUpTenant', () => {
  it('creates the tenant, its initial domain and its first Global Administrator, entered as a role holder', () => {
    givenDirectory([]).when(signUp()).then(signedUpEvents());
  });

  it('uses the configured initial-domain suffix', () => {
    const [created] = givenDirectory([]).when(signUp({ kind: 'education' }), {
      config: { ...TEST_CONFIG, initialDomainSuffix: 'example.test' },
    }).decision as DirectoryEvent[];
    expect(created).toMatchObject({ data: { initialDomain: 'contoso.example.test', kind: 'education' } });
  });

  it('leaves a tenant whose initial domain is verified and primary, and whose admin is an active Global Administrator', () => {
    const state = givenDirectory([]).when(signUp()).then(signedUpEvents());
    expect(state.tenant.exists).toBe(true);
    expect(state.tenant.primaryDomain).toBe(INITIAL);
    expect(state.tenant.domains.get(INITIAL)).toEqual({
      name: INITIAL,
      isInitial: true,
      isVerified: true,
      verificationCode: '',
    });
    expect(activeGlobalAdministrators(state.tenant)).toEqual(['id-1']);
    expect(state.user('id-1')?.roles).toEqual(['GlobalAdministrator']);
    expect(state.user('id-1')?.revision).toBe(2);
  });

  it('is refused with tenant_exists when the tenant already exists', () => {
    givenDirectory(signedUp).when(signUp()).thenRejects('tenant_exists', 'conflict');
  });

  it.each(['', 'con-toso', 'con.toso', 'bücher', 'a'.repeat(28)])('refuses the prefix %j', (domainPrefix) => {
    givenDirectory([]).when(signUp({ domainPrefix })).thenRejects('invalid_domain_prefix', 'conflict');
  });

  it.each(['', 'ada admin', 'ada@contoso.com', '.ada', 'a'.repeat(65)])(
    'refuses the admin user name %j',
    (userName) => {
      givenDirectory([])
        .when(signUp({ admin: { displayName: 'Ada', userName } }))
        .thenRejects('invalid_user_principal_name');
    },
  );

  it('refuses an empty tenant display name', () => {
    givenDirectory([])
      .when(signUp({ displayName: '  ' }))
      .thenRejects('invalid_display_name');
  });

  it('refuses an admin display name with a control character', () => {
    givenDirectory([])
      .when(signUp({ admin: { displayName: 'Ada\u0000', userName: 'ada' } }))
      .thenRejects('invalid_display_name');
  });
});

describe('AddDomain', () => {
  const add = (name: string): TenantCommand => ({ type: 'AddDomain', actingUserId: ADMIN, data: { name } });

  it('adds the normalised name with a fresh verification code', () => {
    const state = givenDirectory(signedUp)
      .when(add(' Contoso.COM. '))
      .then([domainAdded('contoso.com', 'ms12345678')]);
    expect(state.tenant.domains.get('contoso.com')).toEqual({
      name: 'contoso.com',
      isInitial: false,
      isVerified: false,
      verificationCode: 'ms12345678',
    });
    expect(isUsableDomain(state.tenant, 'contoso.com')).toBe(false);
  });

  it('takes the verification digits from the context', () => {
    givenDirectory(signedUp)
      .when(add('contoso.com'), { randomDigits: () => '00000042' })
      .then([domainAdded('contoso.com', 'ms00000042')]);
  });

  it('stores an IDN as punycode', () => {
    givenDirectory(signedUp)
      .when(add('Bücher.example'))
      .then([domainAdded('xn--bcher-kva.example')]);
  });

  it.each(['', 'contoso', 'conto so.com', 'c\u043Entoso.com', 'contoso.com\u202E', '10.0.0.1'])(
    'refuses the name %j as invalid_domain_name',
    (name) => {
      givenDirectory(signedUp).when(add(name)).thenRejects('invalid_domain_name', 'conflict');
    },
  );

  it.each(['outlook.com', 'Hotmail.COM', 'live.com.', 'msn.com', 'eu.outlook.com'])(
    'refuses the consumer domain %j',
    (name) => {
      givenDirectory(signedUp).when(add(name)).thenRejects('consumer_domain');
    },
  );

  it('uses the configured consumer domains', () => {
    givenDirectory(signedUp)
      .when(add('mail.example'), { config: { ...TEST_CONFIG, consumerDomains: ['mail.example'] } })
      .thenRejects('consumer_domain');
  });

  it.each(['onmicrosoft.com', 'fabrikam.onmicrosoft.com', INITIAL, 'a.contoso.onmicrosoft.com'])(
    'refuses %j under the initial-domain suffix as reserved_domain',
    (name) => {
      givenDirectory(signedUp).when(add(name)).thenRejects('reserved_domain');
    },
  );

  it.each(['contoso.com', 'CONTOSO.com.'])(
    'refuses %j when the tenant already has it (unverified)',
    (name) => {
      givenDirectory([...signedUp, domainAdded('contoso.com')])
        .when(add(name))
        .thenRejects('domain_exists');
    },
  );

  it('refuses a domain the tenant already has verified', () => {
    givenDirectory(withVerifiedDomain).when(add('contoso.com')).thenRejects('domain_exists');
  });

  it('accepts a sub-domain of a domain the tenant has', () => {
    givenDirectory(withVerifiedDomain)
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
  const verified: DirectoryEvent = { type: 'DomainVerified', data: { name: 'contoso.com' } };

  it('verifies the domain when one TXT record is the issued code', () => {
    const state = givenDirectory(withUnverified)
      .when(verify('contoso.com', ['v=spf1 include:spf.protection.outlook.com -all', 'MS=ms12345678']))
      .then([verified]);
    expect(state.tenant.domains.get('contoso.com')?.isVerified).toBe(true);
    expect(isUsableDomain(state.tenant, 'contoso.com')).toBe(true);
  });

  it('trims records and compares them case-insensitively', () => {
    givenDirectory(withUnverified)
      .when(verify('contoso.com', ['  ms=MS12345678 ']))
      .then([verified]);
  });

  it('finds the domain whatever the spelling of its name', () => {
    givenDirectory(withUnverified)
      .when(verify('CONTOSO.com.', ['MS=ms12345678']))
      .then([verified]);
  });

  it.each([
    ['no records', []],
    ['another code', ['MS=ms87654321']],
    ['the code without its prefix', ['ms12345678']],
    ['the code inside other text', ['MS=ms12345678 extra']],
    ['the code of another tenant', ['MS=ms1234567']],
  ])('is refused with verification_record_not_found for %s', (_, records) => {
    givenDirectory(withUnverified)
      .when(verify('contoso.com', records))
      .thenRejects('verification_record_not_found', 'conflict');
  });

  it('is refused with not_found for a domain the tenant does not have', () => {
    givenDirectory(withUnverified)
      .when(verify('fabrikam.com', ['MS=ms12345678']))
      .thenRejects('not_found', 'not_found');
  });

  it('is refused with not_found for a name that is not a domain', () => {
    givenDirectory(withUnverified).when(verify('not a domain', [])).thenRejects('not_found', 'not_found');
  });

  it('does nothing for a domain already verified, whatever the records', () => {
    givenDirectory(withVerifiedDomain).when(verify('contoso.com', [])).then([]);
  });

  it('does nothing for the initial domain', () => {
    givenDirectory(signedUp).when(verify(INITIAL, [])).then([]);
  });
});

describe('SetPrimaryDomain', () => {
  const setPrimary = (name: string): TenantCommand => ({
    type: 'SetPrimaryDomain',
    actingUserId: ADMIN,
    data: { name },
  });

  it('makes a verified domain primary', () => {
    const state = givenDirectory(withVerifiedDomain)
      .when(setPrimary('Contoso.com'))
      .then([primaryChanged(INITIAL, 'contoso.com')]);
    expect(state.tenant.primaryDomain).toBe('contoso.com');
  });

  it('makes the initial domain primary again', () => {
    givenDirectory([...withVerifiedDomain, primaryChanged(INITIAL, 'contoso.com')])
      .when(setPrimary(INITIAL))
      .then([primaryChanged('contoso.com', INITIAL)]);
  });

  it('refuses an unverified domain with domain_not_verified', () => {
    givenDirectory([...signedUp, domainAdded('contoso.com')])
      .when(setPrimary('contoso.com'))
      .thenRejects('domain_not_verified');
  });

  it('refuses a domain the tenant does not have with not_found', () => {
    givenDirectory(signedUp).when(setPrimary('fabrikam.com')).thenRejects('not_found', 'not_found');
  });

  it('does nothing when the domain is already primary', () => {
    givenDirectory(signedUp).when(setPrimary(INITIAL)).then([]);
  });
});

describe('RemoveDomain', () => {
  const remove = (name: string): TenantCommand => ({
    type: 'RemoveDomain',
    actingUserId: ADMIN,
    data: { name },
  });

  it('removes an unverified domain', () => {
    const state = givenDirectory([...signedUp, domainAdded('contoso.com')])
      .when(remove('contoso.com'))
      .then([removed('contoso.com', false)]);
    expect(state.tenant.domains.has('contoso.com')).toBe(false);
  });

  it('removes a verified domain that no account uses', () => {
    givenDirectory(withVerifiedDomain)
      .when(remove('CONTOSO.COM'))
      .then([removed('contoso.com')]);
  });

  it('refuses the initial domain with initial_domain', () => {
    givenDirectory(signedUp).when(remove(INITIAL)).thenRejects('initial_domain');
  });

  it('refuses the primary domain with domain_in_use', () => {
    givenDirectory([...withVerifiedDomain, primaryChanged(INITIAL, 'contoso.com')])
      .when(remove('contoso.com'))
      .thenRejects('domain_in_use');
  });

  it('refuses a domain an account uses with domain_in_use', () => {
    givenDirectory([...withVerifiedDomain, ...customDomainMember(ALICE, 'Alice@contoso.com')])
      .when(remove('contoso.com'))
      .thenRejects('domain_in_use');
  });

  it('refuses a domain a deleted account still uses with domain_in_use', () => {
    givenDirectory([
      ...withVerifiedDomain,
      ...customDomainMember(ALICE, 'alice@contoso.com'),
      userDeleted(ALICE),
    ])
      .when(remove('contoso.com'))
      .thenRejects('domain_in_use');
  });

  it("decides on the domain's ledger alone: an account it counts keeps the domain", () => {
    // The ledger is what every account entering the domain writes; no member list is read.
    givenDirectory([
      ...withVerifiedDomain,
      { type: 'DomainUseMigrated', data: { domain: 'contoso.com', accounts: 3 } },
    ])
      .when(remove('contoso.com'))
      .thenRejects('domain_in_use');
  });

  it('does not count an account in a sub-domain as using the parent domain', () => {
    givenDirectory([
      ...withVerifiedDomain,
      ...verifiedDomain('eu.contoso.com'),
      ...customDomainMember(ALICE, 'alice@eu.contoso.com'),
    ])
      .when(remove('contoso.com'))
      .then([removed('contoso.com')]);
  });

  it('allows removing a domain once its last account moved away', () => {
    givenDirectory([
      ...withVerifiedDomain,
      ...customDomainMember(ALICE, 'alice@contoso.com'),
      {
        type: 'UserPrincipalNameChanged',
        data: {
          userId: ALICE,
          previousUserPrincipalName: 'alice@contoso.com',
          userPrincipalName: `alice@${INITIAL}`,
        },
      },
      domainUseReleased('contoso.com', ALICE),
    ])
      .when(remove('contoso.com'))
      .then([removed('contoso.com')]);
  });

  it('refuses a domain the tenant does not have with not_found', () => {
    givenDirectory(signedUp).when(remove('fabrikam.com')).thenRejects('not_found', 'not_found');
  });
});

describe('SetMfaRequirement', () => {
  const require = (required: boolean): TenantCommand => ({
    type: 'SetMfaRequirement',
    actingUserId: ADMIN,
    data: { required },
  });

  it('requires MFA', () => {
    const state = givenDirectory(signedUp)
      .when(require(true))
      .then([{ type: 'MfaRequirementChanged', data: { required: true, previousRequired: false } }]);
    expect(state.tenant.mfaRequired).toBe(true);
  });

  it('stops requiring MFA', () => {
    givenDirectory([
      ...signedUp,
      { type: 'MfaRequirementChanged', data: { required: true, previousRequired: false } },
    ])
      .when(require(false))
      .then([{ type: 'MfaRequirementChanged', data: { required: false, previousRequired: true } }]);
  });

  it('does nothing when the requirement is unchanged', () => {
    givenDirectory(signedUp).when(require(false)).then([]);
  });
});
