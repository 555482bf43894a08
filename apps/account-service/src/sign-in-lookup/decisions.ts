// The realm answer and the routing decision for a login, from what the realm read model holds. The route
// table mirrors the sign-in evaluation (libs/domain/src/sign-in/evaluate.ts) so that the screen
// sends a person where POST /v1/sign-ins will then let them in, minus what only an attempt knows
// (MFA performed or not). The article: "You can only sign in to the Microsoft service that your
// account is set up for"; a work account at the consumer service goes to its work mailbox; a
// personal account at a business service gets an error unless the tenant invited it as a guest.
import { SIGN_IN_CODES, type SignInCode } from '#domain';
import type { RealmLookup, RealmUserEntry } from '#projections';

export interface RealmAccount {
  readonly kind: 'personal' | 'work_or_school';
  readonly userType?: 'Member' | 'Guest';
  readonly tenantId?: string;
  /** Members: the verified domain (or initial domain) of their UPN. */
  readonly domain?: string;
  /**
   * Personal accounts: `active`. Members: `active` or `blocked`. Guests: the invitation's state,
   * `PendingAcceptance`, `Accepted` or `Revoked` (with `blocked: true` when blocked).
   */
  readonly state: string;
  readonly blocked?: true;
}

export interface RealmAnswer {
  readonly login: string;
  readonly namespaceType: 'Managed' | 'Unknown';
  readonly accounts: readonly RealmAccount[];
}

export type TargetService =
  { readonly kind: 'consumer' } | { readonly kind: 'business'; readonly tenantId: string };

export interface RouteAnswer {
  readonly action: 'sign_in' | 'redirect' | 'pick_account' | 'error';
  readonly target?: string;
  readonly code?: SignInCode;
  /** Entra's AADSTS number for the code, where one exists. */
  readonly errorCode?: number;
}

/** What can sign in with the login: closed personal accounts and deleted users don't exist here. */
function usable(lookup: RealmLookup) {
  const personal = lookup.personal !== undefined && !lookup.personal.closed ? lookup.personal : undefined;
  const live = lookup.users.filter((u) => !u.deleted);
  return {
    personal,
    member: live.find((u) => u.userType === 'Member'),
    guests: live.filter((u) => u.userType === 'Guest'),
  };
}

const guestState = (guest: RealmUserEntry): string =>
  guest.revoked === true ? 'Revoked' : (guest.guestState ?? 'PendingAcceptance');

export function realmAnswer(lookup: RealmLookup): RealmAnswer {
  const { personal, member, guests } = usable(lookup);
  const accounts: RealmAccount[] = [];
  if (personal !== undefined) accounts.push({ kind: 'personal', state: 'active' });
  if (member !== undefined) {
    accounts.push({
      kind: 'work_or_school',
      userType: 'Member',
      tenantId: member.tenantId,
      ...(member.domain === undefined ? {} : { domain: member.domain }),
      state: member.blocked ? 'blocked' : 'active',
    });
  }
  for (const guest of guests) {
    accounts.push({
      kind: 'work_or_school',
      userType: 'Guest',
      tenantId: guest.tenantId,
      state: guestState(guest),
      ...(guest.blocked ? { blocked: true as const } : {}),
    });
  }
  return {
    login: lookup.login,
    namespaceType: lookup.managedBy === undefined ? 'Unknown' : 'Managed',
    accounts,
  };
}

const error = (code: SignInCode): RouteAnswer => {
  const errorCode: number | undefined = SIGN_IN_CODES[code];
  return { action: 'error', code, ...(errorCode === undefined ? {} : { errorCode }) };
};

/**
 * Where the login must go for the service:
 *
 * | service  | what exists for the login                                | answer                        |
 * |----------|----------------------------------------------------------|-------------------------------|
 * | consumer | personal and a member somewhere                          | pick_account                  |
 * | consumer | personal                                                 | sign_in                       |
 * | consumer | a member somewhere (guests don't count)                  | redirect to the work mailbox  |
 * | consumer | nothing                                                  | error unknown_account         |
 * | business | the tenant doesn't exist                                 | error unknown_account         |
 * | business | a member of that tenant (whatever else exists)           | sign_in, or account_blocked   |
 * | business | a guest there, its redeemer still exists                 | sign_in, guest_pending (also  |
 * |          |                                                          | revoked), account_blocked     |
 * | business | personal only                                            | personal_account_not_allowed  |
 * | business | a member of another tenant (with or without personal)    | error unknown_account         |
 * | business | nothing                                                  | error unknown_account         |
 */
export async function routeDecision(
  lookup: RealmLookup,
  service: TargetService,
  // Asked only for a business service: the consumer route needs no query beyond the look-up.
  tenantExists: (tenantId: string) => Promise<boolean>,
  workMailbox: (login: string) => string,
): Promise<RouteAnswer> {
  const { personal, member, guests } = usable(lookup);

  if (service.kind === 'consumer') {
    if (personal !== undefined && member !== undefined) return { action: 'pick_account' };
    if (personal !== undefined) return { action: 'sign_in' };
    if (member !== undefined) return { action: 'redirect', target: workMailbox(lookup.login) };
    return error('unknown_account');
  }

  if (!(await tenantExists(service.tenantId))) return error('unknown_account');
  if (member !== undefined && member.tenantId === service.tenantId) {
    return member.blocked ? error('account_blocked') : { action: 'sign_in' };
  }
  const guest = guests.find((g) => g.tenantId === service.tenantId);
  // A guest whose redeeming identity is gone (personal account closed, work account deleted) is as
  // if absent, as in the sign-in evaluation; a third-party address authenticates elsewhere.
  const redeemerExists =
    guest?.identityKind === 'personal'
      ? personal !== undefined
      : guest?.identityKind === 'work_or_school'
        ? member !== undefined
        : true;
  if (guest !== undefined && redeemerExists) {
    if (guest.revoked === true || guest.guestState !== 'Accepted') return error('guest_pending');
    // Blocked at home is blocked everywhere.
    if (guest.blocked || member?.blocked === true) return error('account_blocked');
    return { action: 'sign_in' };
  }
  if (personal !== undefined && member === undefined) return error('personal_account_not_allowed');
  return error('unknown_account');
}

/** The work mailbox a work account is sent to from the consumer service, with the login as a hint. */
export function workMailboxTarget(base: URL): (login: string) => string {
  return (login) => {
    const url = new URL(base);
    url.searchParams.set('login_hint', login);
    return url.toString();
  };
}
