// The sign-in decision: given what exists for a login (personal account, work account, guest
// objects) and the service it targets, allowed or denied with a stable code. The article: "You can
// only sign in to the Microsoft service that your account is set up for"; a work account at the
// consumer service goes to its work mailbox; "If you try to use your Microsoft account to sign in to
// a business service, you'll receive an error" unless the tenant invited it as a guest.

import type { TenantState } from '../tenant/tenant-state.js';
import type { UserState } from '../tenant/user-state.js';
import {
  SIGN_IN_CODES,
  type SignInCode,
  type SignInEvaluation,
  type SignInEvent,
  type SignInFacts,
  type SignInRecordData,
} from './types.js';

type Identified = Omit<SignInEvaluation, 'decision' | 'code' | 'errorCode'>;

const allowed = (who: Identified): SignInEvaluation => ({ decision: 'allowed', ...who });

/** A denial; `who` names the account the login was found to be, when it was, for the audit feed. */
const denied = (code: SignInCode, who: Identified = {}): SignInEvaluation => {
  const errorCode: number | undefined = SIGN_IN_CODES[code];
  return { decision: 'denied', code, ...(errorCode === undefined ? {} : { errorCode }), ...who };
};

/** Whether the identity that redeemed a guest's invitation can still sign in. */
function redeemerExists(guest: UserState, hasPersonal: boolean, hasWork: boolean): boolean {
  switch (guest.guest?.identity?.kind) {
    case 'personal':
      return hasPersonal;
    case 'work_or_school':
      return hasWork;
    default:
      // A third-party address authenticates elsewhere; nothing here says it is gone.
      return true;
  }
}

export function evaluateSignIn(facts: SignInFacts): SignInEvaluation {
  // A deleted work account or a closed personal account can't sign in anywhere: as if absent.
  const work =
    facts.work !== undefined && facts.work.user.userType === 'Member' && !facts.work.user.deleted
      ? facts.work
      : undefined;
  const personal =
    facts.personal !== undefined && facts.personal.exists && !facts.personal.closed
      ? facts.personal
      : undefined;

  if (facts.service.kind === 'consumer') {
    if (personal !== undefined) return allowed({ personalAccountId: personal.accountId });
    // The route sends a work account to its work mailbox; signing in here with it fails.
    if (work !== undefined) return denied('wrong_realm');
    return denied('unknown_account');
  }

  const resource: TenantState | undefined =
    facts.resourceTenant?.exists === true ? facts.resourceTenant : undefined;
  if (resource === undefined) return denied('unknown_account');
  // A service tenant given with the facts must be the one asked for, or nothing is decided on it.
  if (facts.service.tenantId !== undefined && facts.service.tenantId !== resource.tenantId) {
    return denied('unknown_account');
  }
  const mfaMissing = resource.mfaRequired && !facts.mfaPerformed;

  if (work !== undefined && work.tenant.tenantId === resource.tenantId) {
    const who: Identified = { userType: 'Member', userId: work.user.userId, homeTenantId: resource.tenantId };
    if (work.user.blocked) return denied('account_blocked', who);
    if (mfaMissing) return denied('mfa_required', who);
    return allowed(who);
  }

  const guest = facts.resourceGuest;
  if (
    guest !== undefined &&
    !guest.deleted &&
    redeemerExists(guest, personal !== undefined, work !== undefined)
  ) {
    const who: Identified = {
      userType: 'Guest',
      userId: guest.userId,
      ...(work === undefined ? {} : { homeTenantId: work.tenant.tenantId }),
      ...(personal === undefined ? {} : { personalAccountId: personal.accountId }),
    };
    if (guest.guest?.state !== 'Accepted') return denied('guest_pending', who);
    if (guest.blocked) return denied('account_blocked', who);
    // Blocked at home is blocked everywhere: the home directory is where the account is managed.
    if (work?.user.blocked === true) return denied('account_blocked', who);
    if (mfaMissing) return denied('mfa_required', who);
    return allowed(who);
  }

  if (personal !== undefined && work === undefined) {
    return denied('personal_account_not_allowed', { personalAccountId: personal.accountId });
  }
  // A work account of another tenant, or nothing: this tenant doesn't know the login.
  return denied('unknown_account');
}

/** What the app records about an attempt besides the evaluation. */
export type SignInAttempt = Pick<
  SignInRecordData,
  'signInId' | 'login' | 'serviceKind' | 'resourceTenantId' | 'mfaPerformed' | 'ipAddress' | 'userAgent'
>;

/** The event that records an evaluated attempt: SignInSucceeded or SignInFailed. */
export function signInEvent(evaluation: SignInEvaluation, attempt: SignInAttempt): SignInEvent {
  const { decision, ...outcome } = evaluation;
  const data: SignInRecordData = { ...attempt, ...outcome };
  return decision === 'allowed' ? { type: 'SignInSucceeded', data } : { type: 'SignInFailed', data };
}
