// What each directory command needs read besides the tenant, the needs that follow from what was
// read (an invitation's guest, a held license's ledger, a removed guest's address, the domain a UPN
// leaves), and that no command needs more in a tenant of hundreds than in a tenant of three.

import { describe, expect, it } from 'vitest';

import { givenDirectory, MemoryDirectory } from '../testing/directory.js';
import {
  ADMIN,
  ALICE,
  BOB,
  customDomainMember,
  globalAdministrator,
  GUEST,
  guestInvited,
  HASH,
  EXPIRES,
  INITIAL,
  INVITATION,
  licensed,
  memberCreated,
  roleGiven,
  signedUp,
  subscriptionCancelled,
  subscriptionPurchased,
  TENANT_ID,
  unlicensed,
  userDeleted,
  verifiedDomain,
} from '../testing/tenant-fixtures.js';
import { REQUIRED_ROLES } from './authorisation.js';
import type { TenantCommand } from './commands.js';
import { directoryDecider } from './decider.js';
import type { DirectoryEvent } from './events.js';
import { guestKey } from './guests.js';
import type { DirectoryNeeds, DirectoryView } from './view.js';

const GONE = 'u-gone';

/** A small tenant with something of every kind a command may need. */
const small: DirectoryEvent[] = [
  ...signedUp,
  ...verifiedDomain('contoso.com'),
  ...verifiedDomain('fabrikam.com'),
  ...customDomainMember(ALICE, 'alice@contoso.com', 'Alice'),
  memberCreated(BOB, `bob@${INITIAL}`, 'Bob'),
  ...globalAdministrator(BOB),
  subscriptionPurchased('s-0', 'E3', 5),
  ...licensed(ALICE, 'E3', 's-0'),
  ...unlicensed(ALICE, 'removed', 'E3', 's-0'),
  subscriptionCancelled('s-0'),
  subscriptionPurchased('s-1', 'E3', 1_000),
  ...licensed(ALICE, 'E3', 's-1'),
  guestInvited(),
  guestInvited({ userId: GONE, invitationId: 'inv-gone', email: 'gone@example.com' }),
  userDeleted(GONE),
];

/** The same tenant with hundreds more members, role holders, licenses, accounts in its domains and guests. */
const large: DirectoryEvent[] = [
  ...small,
  ...Array.from({ length: 300 }, (_, i): DirectoryEvent[] => [
    ...customDomainMember(`u-${i}`, `user${i}@${i % 2 === 0 ? 'contoso.com' : 'fabrikam.com'}`),
    ...licensed(`u-${i}`, 'E3', 's-1'),
    ...(i % 10 === 0 ? roleGiven(`u-${i}`, 'GuestInviter') : []),
    guestInvited({ userId: `g-${i}`, invitationId: `inv-g-${i}`, email: `guest${i}@example.com` }),
  ]).flat(),
];

const admin = <T extends TenantCommand['type']>(
  type: T,
  data: Extract<TenantCommand, { type: T }>['data'],
): TenantCommand => ({ type, actingUserId: ADMIN, data }) as TenantCommand;

/** One command of each type (and the variants whose needs differ), as an administrator sends them. */
const COMMANDS: ReadonlyArray<readonly [string, TenantCommand]> = [
  [
    'SignUpTenant',
    {
      type: 'SignUpTenant',
      data: {
        tenantId: 't-9',
        displayName: 'F',
        kind: 'business',
        domainPrefix: 'f',
        admin: { displayName: 'A', userName: 'a' },
      },
    },
  ],
  ['AddDomain', admin('AddDomain', { name: 'northwind.com' })],
  ['VerifyDomain', admin('VerifyDomain', { name: 'contoso.com', txtRecords: [] })],
  ['SetPrimaryDomain', admin('SetPrimaryDomain', { name: 'contoso.com' })],
  ['RemoveDomain', admin('RemoveDomain', { name: 'contoso.com' })],
  ['SetMfaRequirement', admin('SetMfaRequirement', { required: true })],
  ['CreateMember', admin('CreateMember', { userPrincipalName: 'carol@contoso.com', displayName: 'Carol' })],
  ['RenameUser', admin('RenameUser', { userId: ALICE, displayName: 'Al' })],
  [
    'ChangeUserPrincipalName',
    admin('ChangeUserPrincipalName', { userId: ALICE, userPrincipalName: 'al@fabrikam.com' }),
  ],
  ['OrderPasswordReset', admin('OrderPasswordReset', { userId: ALICE })],
  ['BlockUser', admin('BlockUser', { userId: BOB })],
  ['UnblockUser', admin('UnblockUser', { userId: ALICE })],
  ['DeleteUser', admin('DeleteUser', { userId: ALICE })],
  ['RestoreUser (a member)', admin('RestoreUser', { userId: ALICE })],
  ['RestoreUser (a guest)', admin('RestoreUser', { userId: GONE })],
  ['RegisterMfaMethod', admin('RegisterMfaMethod', { userId: ALICE, kind: 'sms' })],
  ['AssignRole', admin('AssignRole', { userId: ALICE, role: 'GuestInviter' })],
  ['RemoveRole', admin('RemoveRole', { userId: BOB, role: 'GlobalAdministrator' })],
  [
    'InviteGuest',
    admin('InviteGuest', {
      invitationId: 'inv-new',
      email: 'bob@example.com',
      redeemCodeHash: HASH,
      expiresAt: EXPIRES,
    }),
  ],
  [
    'ResendInvitation',
    admin('ResendInvitation', { invitationId: INVITATION, redeemCodeHash: HASH, expiresAt: EXPIRES }),
  ],
  ['RevokeInvitation', admin('RevokeInvitation', { invitationId: INVITATION })],
  [
    'RedeemInvitation',
    {
      type: 'RedeemInvitation',
      data: {
        invitationId: INVITATION,
        redeemCodeHash: HASH,
        identity: { kind: 'external', email: 'bob@example.com' },
      },
    },
  ],
  ['PurchaseSubscription', admin('PurchaseSubscription', { subscriptionId: 's-2', sku: 'VISIO', seats: 1 })],
  ['ChangeSeats', admin('ChangeSeats', { subscriptionId: 's-1', seats: 2_000 })],
  ['CancelSubscription', admin('CancelSubscription', { subscriptionId: 's-1' })],
  ['AssignLicense', admin('AssignLicense', { userId: BOB, sku: 'E3' })],
  ['RemoveLicense', admin('RemoveLicense', { userId: ALICE, sku: 'E3' })],
];

const NONE: DirectoryNeeds = { users: [], seats: [], domains: [], claims: [] };
const needs = (partial: Partial<DirectoryNeeds>): DirectoryNeeds => ({ ...NONE, ...partial });
const upn = (value: string) => ({ kind: 'upn', value }) as const;
const guest = (address: string) => ({ kind: 'guest', value: guestKey(TENANT_ID, address) }) as const;
const invitation = (value: string) => ({ kind: 'invitation', value }) as const;

/**
 * A view of `directory` holding only what is `loaded`, as the app's loader has it while following
 * the needs: anything else reads as absent.
 */
function loadedView(directory: MemoryDirectory, loaded: Partial<DirectoryNeeds> = {}): DirectoryView {
  const { users = [], seats = [], domains = [], claims = [] } = loaded;
  return {
    tenant: directory.tenant,
    user: (userId) => (users.includes(userId) ? directory.user(userId) : undefined),
    seatsAssigned: (id) => (seats.includes(id) ? directory.seatsAssigned(id) : 0),
    domainAccounts: (domain) => (domains.includes(domain) ? directory.domainAccounts(domain) : 0),
    holder: (kind, value) =>
      claims.some((claim) => claim.kind === kind && claim.value === value)
        ? directory.holder(kind, value)
        : undefined,
  };
}

/** The needs once followed to the end: asked again with what they named until nothing new is named. */
function followed(directory: MemoryDirectory, command: TenantCommand): DirectoryNeeds {
  let loaded = NONE;
  for (let round = 0; round < 5; round++) {
    const next = directoryDecider.needs(command, loadedView(directory, loaded));
    if (JSON.stringify(next) === JSON.stringify(loaded)) return next;
    loaded = next;
  }
  throw new Error('the needs keep growing');
}

const smallTenant = MemoryDirectory.of(small);
const largeTenant = MemoryDirectory.of(large);

describe('the needs of each command', () => {
  const expected: Record<string, DirectoryNeeds> = {
    SignUpTenant: NONE,
    AddDomain: NONE,
    VerifyDomain: NONE,
    SetPrimaryDomain: NONE,
    RemoveDomain: needs({ domains: ['contoso.com'] }),
    SetMfaRequirement: NONE,
    CreateMember: needs({ claims: [upn('carol@contoso.com')], domains: ['contoso.com'] }),
    RenameUser: needs({ users: [ALICE] }),
    ChangeUserPrincipalName: needs({
      users: [ALICE],
      claims: [upn('al@fabrikam.com')],
      domains: ['fabrikam.com', 'contoso.com'],
    }),
    OrderPasswordReset: needs({ users: [ALICE] }),
    BlockUser: needs({ users: [BOB] }),
    UnblockUser: needs({ users: [ALICE] }),
    DeleteUser: needs({ users: [ALICE] }),
    'RestoreUser (a member)': needs({ users: [ALICE] }),
    'RestoreUser (a guest)': needs({ users: [GONE], claims: [guest('gone@example.com')] }),
    RegisterMfaMethod: needs({ users: [ALICE] }),
    AssignRole: needs({ users: [ALICE] }),
    RemoveRole: needs({ users: [BOB] }),
    InviteGuest: needs({
      claims: [upn('bob@example.com'), guest('bob@example.com'), invitation('inv-new')],
      users: [GUEST],
    }),
    ResendInvitation: needs({ claims: [invitation(INVITATION)], users: [GUEST] }),
    RevokeInvitation: needs({ claims: [invitation(INVITATION)], users: [GUEST] }),
    RedeemInvitation: needs({ claims: [invitation(INVITATION)], users: [GUEST] }),
    PurchaseSubscription: NONE,
    ChangeSeats: needs({ seats: ['s-1'] }),
    CancelSubscription: needs({ seats: ['s-1'] }),
    AssignLicense: needs({ users: [BOB], seats: ['s-1'] }),
    RemoveLicense: needs({ users: [ALICE], seats: ['s-1'] }),
  };

  it('has a case for every command type, and an expectation for every case', () => {
    const covered = new Set(COMMANDS.map(([, command]) => command.type));
    expect([...covered].sort()).toEqual(Object.keys(REQUIRED_ROLES).sort());
    expect(Object.keys(expected).sort()).toEqual(COMMANDS.map(([name]) => name).sort());
  });

  it.each(COMMANDS)('%s needs what its rules read, once followed', (name, command) => {
    expect(followed(smallTenant, command)).toEqual(expected[name]);
  });

  it('names nothing for a value its rules refuse before reading anything', () => {
    const refused: TenantCommand[] = [
      admin('RemoveDomain', { name: 'not a domain' }),
      admin('CreateMember', { userPrincipalName: 'not a upn', displayName: 'X' }),
      admin('InviteGuest', {
        invitationId: 'inv-x',
        email: 'not an address',
        redeemCodeHash: HASH,
        expiresAt: EXPIRES,
      }),
    ];
    for (const command of refused) expect(followed(smallTenant, command)).toEqual(NONE);
  });

  it('names no domain ledger for the initial domain, whose accounts are never counted', () => {
    expect(followed(smallTenant, admin('RemoveDomain', { name: INITIAL }))).toEqual(NONE);
    expect(
      followed(
        smallTenant,
        admin('CreateMember', { userPrincipalName: `carol@${INITIAL}`, displayName: 'C' }),
      ),
    ).toEqual(needs({ claims: [upn(`carol@${INITIAL}`)] }));
  });

  it('finds the ledger of a domain whatever the spelling of its name', () => {
    expect(followed(smallTenant, admin('RemoveDomain', { name: 'CONTOSO.com.' }))).toEqual(
      needs({ domains: ['contoso.com'] }),
    );
    expect(
      followed(
        smallTenant,
        admin('CreateMember', { userPrincipalName: 'Carol@Contoso.COM', displayName: 'C' }),
      ),
    ).toEqual(needs({ claims: [upn('carol@contoso.com')], domains: ['contoso.com'] }));
  });

  it('names no ledger for a SKU the tenant has no active subscription of', () => {
    expect(followed(smallTenant, admin('AssignLicense', { userId: BOB, sku: 'VISIO' }))).toEqual(
      needs({ users: [BOB] }),
    );
  });

  it("names no guest for another tenant's invitation", () => {
    const directory = MemoryDirectory.of(small, [
      { kind: 'invitation', value: 'inv-elsewhere', ownerId: 'u-elsewhere', tenantId: 't-2' },
    ]);
    expect(followed(directory, admin('RevokeInvitation', { invitationId: 'INV-ELSEWHERE' }))).toEqual(
      needs({ claims: [invitation('inv-elsewhere')] }),
    );
  });
});

describe('the needs that follow from what was read', () => {
  const first = (command: TenantCommand) => directoryDecider.needs(command, loadedView(smallTenant));
  const then = (command: TenantCommand, loaded: DirectoryNeeds) =>
    directoryDecider.needs(command, loadedView(smallTenant, loaded));

  it("an invitation's claim names its guest", () => {
    const command = admin('ResendInvitation', {
      invitationId: 'Inv-1',
      redeemCodeHash: HASH,
      expiresAt: EXPIRES,
    });
    const claimOnly = first(command);
    expect(claimOnly).toEqual(needs({ claims: [invitation('inv-1')] }));
    expect(then(command, claimOnly)).toEqual(needs({ claims: [invitation('inv-1')], users: [GUEST] }));
  });

  it("an address's guest claim names the guest already invited with it", () => {
    const command = admin('InviteGuest', {
      invitationId: 'inv-new',
      email: 'BOB@example.com',
      redeemCodeHash: HASH,
      expiresAt: EXPIRES,
    });
    const claimsOnly = first(command);
    expect(claimsOnly.users).toEqual([]);
    expect(then(command, claimsOnly).users).toEqual([GUEST]);
  });

  it('RemoveLicense: the user names the ledger of the subscription its license takes a seat of', () => {
    const command = admin('RemoveLicense', { userId: ALICE, sku: 'E3' });
    const userOnly = first(command);
    expect(userOnly).toEqual(needs({ users: [ALICE] }));
    // s-1, not s-0: the user's license says which subscription, not the SKU's history.
    expect(then(command, userOnly)).toEqual(needs({ users: [ALICE], seats: ['s-1'] }));
  });

  it("RestoreUser of a guest: the guest names its address's claim", () => {
    const command = admin('RestoreUser', { userId: GONE });
    const userOnly = first(command);
    expect(userOnly).toEqual(needs({ users: [GONE] }));
    expect(then(command, userOnly)).toEqual(needs({ users: [GONE], claims: [guest('gone@example.com')] }));
  });

  it('ChangeUserPrincipalName: the user names the custom domain its UPN leaves, beside the one it enters', () => {
    const command = admin('ChangeUserPrincipalName', { userId: ALICE, userPrincipalName: 'al@fabrikam.com' });
    const before = first(command);
    expect(before.domains).toEqual(['fabrikam.com']);
    expect(then(command, before).domains).toEqual(['fabrikam.com', 'contoso.com']);
  });

  it('ChangeUserPrincipalName to or from the initial domain names only the custom one', () => {
    const toInitial = admin('ChangeUserPrincipalName', { userId: ALICE, userPrincipalName: `al@${INITIAL}` });
    expect(followed(smallTenant, toInitial).domains).toEqual(['contoso.com']);
    const fromInitial = admin('ChangeUserPrincipalName', {
      userId: BOB,
      userPrincipalName: 'bob@fabrikam.com',
    });
    expect(followed(smallTenant, fromInitial).domains).toEqual(['fabrikam.com']);
  });
});

describe('a decision on what the needs name', () => {
  it.each(COMMANDS)('%s reads nothing else', (_, command) => {
    // The harness throws NotInNeedsError for anything read that the needs did not name.
    expect(() => givenDirectory(small).when(command)).not.toThrow();
    expect(() => givenDirectory(large).when(command)).not.toThrow();
  });
});

describe('the cost of a command', () => {
  const size = (n: DirectoryNeeds) => ({
    users: n.users.length,
    seats: n.seats.length,
    domains: new Set(n.domains).size,
    claims: n.claims.length,
  });

  it.each(COMMANDS)('%s needs as much in a tenant of hundreds as in one of three', (_, command) => {
    expect(size(followed(largeTenant, command))).toEqual(size(followed(smallTenant, command)));
  });

  it.each(COMMANDS)('%s needs at most one user, one ledger, two domains and three claims', (_, command) => {
    const { users, seats, domains, claims } = size(followed(largeTenant, command));
    expect(users).toBeLessThanOrEqual(1);
    expect(seats).toBeLessThanOrEqual(1);
    expect(domains).toBeLessThanOrEqual(2);
    expect(claims).toBeLessThanOrEqual(3);
  });

  it('is read on a tenant of that size', () => {
    expect(largeTenant.users.size).toBeGreaterThan(600);
    expect(largeTenant.seatsAssigned('s-1')).toBe(301);
    expect(largeTenant.domainAccounts('contoso.com')).toBe(151);
  });
});
