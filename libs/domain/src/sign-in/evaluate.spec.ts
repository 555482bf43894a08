// Sign-in decisions, on the facts the app finds for a login: its personal account, its work
// account with its home tenant, and the resource tenant with the live guest its address names.

import { describe, expect, it } from 'vitest';

import { personalAccountDecider } from '../personal-account/decider.js';
import type { PersonalAccountEvent, PersonalAccountState } from '../personal-account/types.js';
import { fold } from '../shared/decider.js';
import type { RedeemingIdentity } from '../tenant/commands.js';
import type { DirectoryEvent } from '../tenant/events.js';
import { findGuestByEmail } from '../tenant/guests.js';
import type { UserState } from '../tenant/user-state.js';
import { MemoryDirectory } from '../testing/directory.js';
import { evaluateSignIn, signInEvent, type SignInAttempt } from './evaluate.js';
import { SIGN_IN_CODES, type SignInCode, type SignInEvaluation, type SignInFacts } from './types.js';

// Two tenants: Contoso (the resource tenant of the business service) and Fabrikam, whose members
// Contoso invites as guests. Logins are named after what they are.
const CONTOSO = 't-contoso';
const FABRIKAM = 't-fabrikam';

const created = (tenantId: string, prefix: string): DirectoryEvent => ({
  type: 'TenantCreated',
  data: {
    tenantId,
    displayName: prefix,
    kind: 'business',
    domainPrefix: prefix,
    initialDomain: `${prefix}.onmicrosoft.com`,
  },
});
const member = (userId: string, userPrincipalName: string): DirectoryEvent => ({
  type: 'MemberCreated',
  data: { userId, userPrincipalName, displayName: userId },
});
const guest = (userId: string, email: string): DirectoryEvent => ({
  type: 'GuestInvited',
  data: {
    userId,
    invitationId: `inv-${userId}`,
    email,
    displayName: userId,
    userPrincipalName: `${email.replace('@', '_')}#EXT#@contoso.onmicrosoft.com`,
    redeemCodeHash: 'hash',
    expiresAt: '2030-01-01T00:00:00Z',
  },
});
const redeemed = (userId: string, identity: RedeemingIdentity): DirectoryEvent => ({
  type: 'InvitationRedeemed',
  data: { invitationId: `inv-${userId}`, userId, identity },
});
const blocked = (userId: string): DirectoryEvent => ({ type: 'UserBlocked', data: { userId } });
const deleted = (userId: string): DirectoryEvent => ({ type: 'UserDeleted', data: { userId } });

const contosoHistory: DirectoryEvent[] = [
  created(CONTOSO, 'contoso'),
  { type: 'DomainAdded', data: { name: 'contoso.com', verificationCode: 'ms12345678' } },
  { type: 'DomainVerified', data: { name: 'contoso.com' } },
  member('c-member', 'member@contoso.com'),
  member('c-blocked', 'blocked@contoso.com'),
  blocked('c-blocked'),
  member('c-deleted', 'deleted@contoso.com'),
  deleted('c-deleted'),
  // A member whose login is also a personal account's address (it predates the domain's verification).
  member('c-both', 'both@contoso.com'),
  // Guests: via a personal account, via Fabrikam's work accounts, pending, blocked, an external address.
  guest('g-personal', 'Ann@Example.com'),
  redeemed('g-personal', { kind: 'personal', accountId: 'pa-ann', email: 'ann@example.com' }),
  guest('g-work', 'bob@fabrikam.com'),
  redeemed('g-work', { kind: 'work_or_school', accountId: 'f-bob', email: 'bob@fabrikam.com' }),
  guest('g-work-blocked-home', 'eve@fabrikam.com'),
  redeemed('g-work-blocked-home', { kind: 'work_or_school', accountId: 'f-eve', email: 'eve@fabrikam.com' }),
  guest('g-pending', 'carol@example.com'),
  guest('g-blocked', 'dave@example.com'),
  redeemed('g-blocked', { kind: 'external', email: 'dave@example.com' }),
  blocked('g-blocked'),
  guest('g-external', 'xena@gmail.com'),
  redeemed('g-external', { kind: 'external', email: 'xena@gmail.com' }),
  guest('g-removed', 'rita@example.com'),
  redeemed('g-removed', { kind: 'external', email: 'rita@example.com' }),
  deleted('g-removed'),
];
const contoso = MemoryDirectory.of(contosoHistory);
const contosoMfa = contoso.with([
  { type: 'MfaRequirementChanged', data: { required: true, previousRequired: false } },
]);
const fabrikam = MemoryDirectory.of([
  created(FABRIKAM, 'fabrikam'),
  member('f-bob', 'bob@fabrikam.com'),
  member('f-eve', 'eve@fabrikam.com'),
  blocked('f-eve'),
  member('f-frank', 'frank@fabrikam.com'),
]);

const personal = (
  accountId: string,
  email: string,
  more: PersonalAccountEvent[] = [],
): PersonalAccountState =>
  fold(personalAccountDecider, [
    {
      type: 'PersonalAccountRegistered',
      data: { accountId, email, displayName: accountId, newMailbox: false },
    },
    ...more,
  ]);
const ann = personal('pa-ann', 'ann@example.com');
const annClosed = personal('pa-ann', 'ann@example.com', [
  { type: 'PersonalAccountClosed', data: { accountId: 'pa-ann' } },
]);
const both = personal('pa-both', 'both@contoso.com');
const grace = personal('pa-grace', 'grace@outlook.com');
const carol = personal('pa-carol', 'carol@example.com');

const userOf = (directory: MemoryDirectory, userId: string): UserState => {
  const user = directory.user(userId);
  if (user === undefined) throw new Error(`no user ${userId}`);
  return user;
};
const workOf = (directory: MemoryDirectory, userId: string): SignInFacts['work'] => ({
  tenant: directory.tenant,
  user: userOf(directory, userId),
});

const consumer = (login: string, found: Pick<SignInFacts, 'personal' | 'work'> = {}): SignInFacts => ({
  login,
  service: { kind: 'consumer' },
  mfaPerformed: false,
  ...found,
});
const business = (
  login: string,
  found: Pick<SignInFacts, 'personal' | 'work'> = {},
  options: { resource?: MemoryDirectory | undefined; mfaPerformed?: boolean } = {},
): SignInFacts => {
  const resource = 'resource' in options ? options.resource : contoso;
  // What the app finds through the login's guest claim in the resource tenant, as it would.
  const guest = resource === undefined ? undefined : findGuestByEmail(resource, login);
  return {
    login,
    service: { kind: 'business', ...(resource === undefined ? {} : { tenantId: resource.tenant.tenantId }) },
    mfaPerformed: options.mfaPerformed ?? false,
    ...(resource === undefined ? {} : { resourceTenant: resource.tenant }),
    ...(guest === undefined ? {} : { resourceGuest: guest }),
    ...found,
  };
};
const deny = (code: SignInCode, who: Omit<SignInEvaluation, 'decision' | 'code' | 'errorCode'> = {}) => ({
  decision: 'denied' as const,
  code,
  ...(SIGN_IN_CODES[code] === undefined ? {} : { errorCode: SIGN_IN_CODES[code] }),
  ...who,
});

const CASES: [string, SignInFacts, SignInEvaluation][] = [
  // ---- consumer service
  [
    'a personal account at the consumer service is allowed',
    consumer('grace@outlook.com', { personal: grace }),
    { decision: 'allowed', personalAccountId: 'pa-grace' },
  ],
  [
    'personal and work for one login at the consumer service: the personal account signs in',
    consumer('both@contoso.com', { personal: both, work: workOf(contoso, 'c-both') }),
    { decision: 'allowed', personalAccountId: 'pa-both' },
  ],
  [
    'a work account at the consumer service goes to its work mailbox: wrong_realm',
    consumer('member@contoso.com', { work: workOf(contoso, 'c-member') }),
    deny('wrong_realm'),
  ],
  [
    'nothing at the consumer service: unknown_account',
    consumer('nobody@example.com'),
    deny('unknown_account'),
  ],
  [
    'a closed personal account at the consumer service: unknown_account',
    consumer('ann@example.com', { personal: annClosed }),
    deny('unknown_account'),
  ],
  [
    'a deleted work account at the consumer service: unknown_account',
    consumer('deleted@contoso.com', { work: workOf(contoso, 'c-deleted') }),
    deny('unknown_account'),
  ],
  // ---- business service, members
  [
    'a member of the resource tenant is allowed',
    business('member@contoso.com', { work: workOf(contoso, 'c-member') }),
    { decision: 'allowed', userType: 'Member', userId: 'c-member', homeTenantId: CONTOSO },
  ],
  [
    'personal and work for one login at the work tenant: the member signs in',
    business('both@contoso.com', { personal: both, work: workOf(contoso, 'c-both') }),
    { decision: 'allowed', userType: 'Member', userId: 'c-both', homeTenantId: CONTOSO },
  ],
  [
    'a member who performed MFA where it is required is allowed',
    business(
      'member@contoso.com',
      { work: workOf(contosoMfa, 'c-member') },
      { resource: contosoMfa, mfaPerformed: true },
    ),
    { decision: 'allowed', userType: 'Member', userId: 'c-member', homeTenantId: CONTOSO },
  ],
  [
    'a blocked member: account_blocked',
    business('blocked@contoso.com', { work: workOf(contoso, 'c-blocked') }),
    deny('account_blocked', { userType: 'Member', userId: 'c-blocked', homeTenantId: CONTOSO }),
  ],
  [
    'a blocked member where MFA is required and not performed: account_blocked first',
    business('blocked@contoso.com', { work: workOf(contosoMfa, 'c-blocked') }, { resource: contosoMfa }),
    deny('account_blocked', { userType: 'Member', userId: 'c-blocked', homeTenantId: CONTOSO }),
  ],
  [
    'a member without MFA where it is required: mfa_required',
    business('member@contoso.com', { work: workOf(contosoMfa, 'c-member') }, { resource: contosoMfa }),
    deny('mfa_required', { userType: 'Member', userId: 'c-member', homeTenantId: CONTOSO }),
  ],
  [
    'a deleted member: unknown_account',
    business('deleted@contoso.com', { work: workOf(contoso, 'c-deleted') }),
    deny('unknown_account'),
  ],
  // ---- business service, guests
  [
    'a guest through a personal account is allowed',
    business('ann@example.com', { personal: ann }),
    { decision: 'allowed', userType: 'Guest', userId: 'g-personal', personalAccountId: 'pa-ann' },
  ],
  [
    "a guest through another tenant's work account is allowed",
    business('bob@fabrikam.com', { work: workOf(fabrikam, 'f-bob') }),
    { decision: 'allowed', userType: 'Guest', userId: 'g-work', homeTenantId: FABRIKAM },
  ],
  [
    'a guest with an external address is allowed',
    business('XENA@gmail.com'),
    { decision: 'allowed', userType: 'Guest', userId: 'g-external' },
  ],
  [
    'a guest whose invitation is pending: guest_pending',
    business('carol@example.com', { personal: carol }),
    deny('guest_pending', { userType: 'Guest', userId: 'g-pending', personalAccountId: 'pa-carol' }),
  ],
  [
    'a blocked guest: account_blocked',
    business('dave@example.com'),
    deny('account_blocked', { userType: 'Guest', userId: 'g-blocked' }),
  ],
  [
    'a guest whose home work account is blocked: account_blocked',
    business('eve@fabrikam.com', { work: workOf(fabrikam, 'f-eve') }),
    deny('account_blocked', { userType: 'Guest', userId: 'g-work-blocked-home', homeTenantId: FABRIKAM }),
  ],
  [
    'a guest without MFA where it is required: mfa_required',
    business('ann@example.com', { personal: ann }, { resource: contosoMfa }),
    deny('mfa_required', { userType: 'Guest', userId: 'g-personal', personalAccountId: 'pa-ann' }),
  ],
  [
    'a guest who performed MFA where it is required is allowed',
    business('ann@example.com', { personal: ann }, { resource: contosoMfa, mfaPerformed: true }),
    { decision: 'allowed', userType: 'Guest', userId: 'g-personal', personalAccountId: 'pa-ann' },
  ],
  [
    'a removed guest, whose address names no guest any more: unknown_account',
    business('rita@example.com'),
    deny('unknown_account'),
  ],
  [
    'a removed guest handed over all the same (a claim read before its release): unknown_account',
    { ...business('rita@example.com'), resourceGuest: userOf(contoso, 'g-removed') },
    deny('unknown_account'),
  ],
  [
    'a guest whose personal account was closed since: unknown_account',
    business('ann@example.com', { personal: annClosed }),
    deny('unknown_account'),
  ],
  // ---- business service, no guest
  [
    'a personal account where it is no guest: personal_account_not_allowed',
    business('grace@outlook.com', { personal: grace }),
    deny('personal_account_not_allowed', { personalAccountId: 'pa-grace' }),
  ],
  [
    "another tenant's work account that is no guest: unknown_account",
    business('frank@fabrikam.com', { work: workOf(fabrikam, 'f-frank') }),
    deny('unknown_account'),
  ],
  [
    'personal and work for one login at a tenant that knows neither: unknown_account',
    business('both@contoso.com', { personal: both, work: workOf(contoso, 'c-both') }, { resource: fabrikam }),
    deny('unknown_account'),
  ],
  [
    'nothing at the business service: unknown_account',
    business('nobody@example.com'),
    deny('unknown_account'),
  ],
  [
    'an unknown or missing resource tenant: unknown_account',
    business('member@contoso.com', { work: workOf(contoso, 'c-member') }, { resource: undefined }),
    deny('unknown_account'),
  ],
  [
    'a resource tenant that is not the one the service names: unknown_account',
    {
      ...business('member@contoso.com', { work: workOf(contoso, 'c-member') }),
      service: { kind: 'business', tenantId: FABRIKAM },
    },
    deny('unknown_account'),
  ],
];

describe('evaluateSignIn', () => {
  it.each(CASES)('%s', (_, facts, expected) => {
    expect(evaluateSignIn(facts)).toEqual(expected);
  });

  it('has a case for every sign-in code', () => {
    const covered = new Set(
      CASES.map(([, , evaluation]) => evaluation.code).filter((code) => code !== undefined),
    );
    expect([...covered].sort()).toEqual(Object.keys(SIGN_IN_CODES).sort());
  });

  it("gives every denial Entra's error number where one exists", () => {
    for (const [, facts] of CASES) {
      const evaluation = evaluateSignIn(facts);
      if (evaluation.code !== undefined) expect(evaluation.errorCode).toBe(SIGN_IN_CODES[evaluation.code]);
    }
    expect(evaluateSignIn(business('carol@example.com'))).not.toHaveProperty('errorCode');
  });
});

describe('signInEvent', () => {
  const attempt: SignInAttempt = {
    signInId: 'si-1',
    login: 'member@contoso.com',
    serviceKind: 'business',
    resourceTenantId: CONTOSO,
    mfaPerformed: false,
    ipAddress: '192.0.2.1',
    userAgent: 'test',
  };

  it('records an allowed attempt as SignInSucceeded', () => {
    expect(
      signInEvent(
        { decision: 'allowed', userType: 'Member', userId: 'c-member', homeTenantId: CONTOSO },
        attempt,
      ),
    ).toEqual({
      type: 'SignInSucceeded',
      data: { ...attempt, userType: 'Member', userId: 'c-member', homeTenantId: CONTOSO },
    });
  });

  it('records a denied attempt as SignInFailed with its codes', () => {
    expect(signInEvent(deny('mfa_required', { userType: 'Member', userId: 'c-member' }), attempt)).toEqual({
      type: 'SignInFailed',
      data: { ...attempt, code: 'mfa_required', errorCode: 50076, userType: 'Member', userId: 'c-member' },
    });
  });
});
