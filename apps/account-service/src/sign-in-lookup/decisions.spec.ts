// The realm answer and the route table, one row per case, on hand-made look-up results.
import { describe, expect, it } from 'vitest';
import type { RealmLookup, RealmUserEntry } from '#projections';
import { realmAnswer, routeDecision, workMailboxTarget, type TargetService } from './decisions.js';

const HOME = 'tenant-home';
const OTHER = 'tenant-other';
const LOGIN = 'dana@contoso.com';

const member = (over: Partial<RealmUserEntry> = {}): RealmUserEntry => ({
  tenantId: HOME,
  userId: 'u-member',
  userType: 'Member',
  domain: 'contoso.com',
  blocked: false,
  deleted: false,
  ...over,
});
const guest = (over: Partial<RealmUserEntry> = {}): RealmUserEntry => ({
  tenantId: OTHER,
  userId: 'u-guest',
  userType: 'Guest',
  blocked: false,
  deleted: false,
  guestState: 'Accepted',
  revoked: false,
  ...over,
});
const lookup = (over: Partial<RealmLookup> = {}): RealmLookup => ({ login: LOGIN, users: [], ...over });
const personal = { accountId: 'acc-1', closed: false };

const mailbox = workMailboxTarget(new URL('https://mail.example/owa/'));
const route = (facts: RealmLookup, service: TargetService) =>
  routeDecision(facts, service, async (id) => id === HOME || id === OTHER, mailbox);
const consumer: TargetService = { kind: 'consumer' };
const business = (tenantId: string): TargetService => ({ kind: 'business', tenantId });

describe('realm answer', () => {
  it('lists what can sign in, with the namespace type', () => {
    expect(
      realmAnswer(
        lookup({
          managedBy: HOME,
          personal,
          users: [
            member({ blocked: true }),
            guest(),
            guest({ tenantId: 'tenant-3', guestState: 'PendingAcceptance', blocked: true }),
            guest({ tenantId: 'tenant-4', guestState: 'PendingAcceptance', revoked: true }),
          ],
        }),
      ),
    ).toEqual({
      login: LOGIN,
      namespaceType: 'Managed',
      accounts: [
        { kind: 'personal', state: 'active' },
        {
          kind: 'work_or_school',
          userType: 'Member',
          tenantId: HOME,
          domain: 'contoso.com',
          state: 'blocked',
        },
        { kind: 'work_or_school', userType: 'Guest', tenantId: OTHER, state: 'Accepted' },
        {
          kind: 'work_or_school',
          userType: 'Guest',
          tenantId: 'tenant-3',
          state: 'PendingAcceptance',
          blocked: true,
        },
        { kind: 'work_or_school', userType: 'Guest', tenantId: 'tenant-4', state: 'Revoked' },
      ],
    });
  });

  it('leaves out closed personal accounts and deleted users; Unknown without a verified domain', () => {
    expect(
      realmAnswer(
        lookup({
          personal: { accountId: 'a', closed: true },
          users: [member({ deleted: true }), guest({ deleted: true })],
        }),
      ),
    ).toEqual({ login: LOGIN, namespaceType: 'Unknown', accounts: [] });
  });
});

describe('route', () => {
  const rows: Array<[string, RealmLookup, TargetService, object]> = [
    ['consumer: personal only', lookup({ personal }), consumer, { action: 'sign_in' }],
    [
      'consumer: work only goes to the work mailbox',
      lookup({ users: [member()] }),
      consumer,
      { action: 'redirect', target: 'https://mail.example/owa/?login_hint=dana%40contoso.com' },
    ],
    ['consumer: both kinds', lookup({ personal, users: [member()] }), consumer, { action: 'pick_account' }],
    [
      'consumer: a guest object is no account of its own',
      lookup({ users: [guest()] }),
      consumer,
      { action: 'error', code: 'unknown_account', errorCode: 50034 },
    ],
    ['consumer: nothing', lookup(), consumer, { action: 'error', code: 'unknown_account', errorCode: 50034 }],
    [
      'consumer: closed and deleted are nothing',
      lookup({ personal: { accountId: 'a', closed: true }, users: [member({ deleted: true })] }),
      consumer,
      { action: 'error', code: 'unknown_account', errorCode: 50034 },
    ],
    ['business: member of the tenant', lookup({ users: [member()] }), business(HOME), { action: 'sign_in' }],
    [
      'business: member of the tenant, personal too: the member signs in',
      lookup({ personal, users: [member(), guest({ tenantId: HOME, identityKind: 'personal' })] }),
      business(HOME),
      { action: 'sign_in' },
    ],
    [
      'business: blocked member',
      lookup({ users: [member({ blocked: true })] }),
      business(HOME),
      { action: 'error', code: 'account_blocked', errorCode: 50057 },
    ],
    [
      'business: deleted member',
      lookup({ users: [member({ deleted: true })] }),
      business(HOME),
      { action: 'error', code: 'unknown_account', errorCode: 50034 },
    ],
    [
      'business: accepted guest (personal)',
      lookup({ personal, users: [guest({ identityKind: 'personal' })] }),
      business(OTHER),
      { action: 'sign_in' },
    ],
    [
      'business: pending guest',
      lookup({ personal, users: [guest({ guestState: 'PendingAcceptance' })] }),
      business(OTHER),
      { action: 'error', code: 'guest_pending' },
    ],
    [
      'business: revoked invitation',
      lookup({ personal, users: [guest({ guestState: 'PendingAcceptance', revoked: true })] }),
      business(OTHER),
      { action: 'error', code: 'guest_pending' },
    ],
    [
      'business: blocked guest',
      lookup({ personal, users: [guest({ blocked: true, identityKind: 'personal' })] }),
      business(OTHER),
      { action: 'error', code: 'account_blocked', errorCode: 50057 },
    ],
    [
      'business: guest whose home work account is blocked',
      lookup({ users: [member({ blocked: true }), guest({ identityKind: 'work_or_school' })] }),
      business(OTHER),
      { action: 'error', code: 'account_blocked', errorCode: 50057 },
    ],
    [
      'business: guest redeemed by a personal account since closed',
      lookup({ personal: { accountId: 'a', closed: true }, users: [guest({ identityKind: 'personal' })] }),
      business(OTHER),
      { action: 'error', code: 'unknown_account', errorCode: 50034 },
    ],
    [
      'business: guest with a third-party address',
      lookup({ users: [guest({ identityKind: 'external' })] }),
      business(OTHER),
      { action: 'sign_in' },
    ],
    [
      'business: personal account where it is no guest',
      lookup({ personal, users: [guest({ tenantId: HOME })] }),
      business(OTHER),
      { action: 'error', code: 'personal_account_not_allowed', errorCode: 50020 },
    ],
    [
      'business: work account of another tenant',
      lookup({ users: [member()] }),
      business(OTHER),
      { action: 'error', code: 'unknown_account', errorCode: 50034 },
    ],
    [
      'business: personal and a work account of another tenant',
      lookup({ personal, users: [member()] }),
      business(OTHER),
      { action: 'error', code: 'unknown_account', errorCode: 50034 },
    ],
    [
      'business: tenant that does not exist',
      lookup({ personal, users: [member()] }),
      business('tenant-none'),
      { action: 'error', code: 'unknown_account', errorCode: 50034 },
    ],
    [
      'business: nothing',
      lookup(),
      business(HOME),
      { action: 'error', code: 'unknown_account', errorCode: 50034 },
    ],
  ];
  it.each(rows)('%s', async (_, facts, service, expected) => {
    expect(await route(facts, service)).toEqual(expected);
  });
});
