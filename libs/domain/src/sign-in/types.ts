// Sign-in evaluation: the authentication front end reports an attempt; the service decides it
// against the account kind, the target service and the tenant's policy, and records the outcome.
// Each attempt is its own stream (`sign-in-<signInId>`), so the busiest command never contends.

import type { DomainEvent } from '../shared/decider.js';
import type { PersonalAccountState } from '../personal-account/types.js';
import type { TenantState } from '../tenant/tenant-state.js';
import type { UserState } from '../tenant/user-state.js';

export const SERVICE_KINDS = ['consumer', 'business'] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];

export const SIGN_IN_CODES = {
  unknown_account: 50034,
  personal_account_not_allowed: 50020,
  account_blocked: 50057,
  mfa_required: 50076,
  guest_pending: undefined,
  wrong_realm: 500208,
} as const;
export type SignInCode = keyof typeof SIGN_IN_CODES;

/** What the app found for the login before deciding: a few streams named by claims, never a tenant's members. */
export interface SignInFacts {
  /** The normalised login. */
  readonly login: string;
  readonly service: { readonly kind: ServiceKind; readonly tenantId?: string };
  readonly mfaPerformed: boolean;
  /** The personal account registered with this address, if any. */
  readonly personal?: PersonalAccountState;
  /** The work-or-school account whose UPN is this login, with its home tenant, if any. */
  readonly work?: { readonly tenant: TenantState; readonly user: UserState };
  /** The tenant of a business service (absent for the consumer service or an unknown tenant). */
  readonly resourceTenant?: TenantState;
  /** The resource tenant's live guest invited with this login's address, if any (its guest claim). */
  readonly resourceGuest?: UserState;
}

export interface SignInEvaluation {
  readonly decision: 'allowed' | 'denied';
  readonly code?: SignInCode;
  /** Entra's AADSTS number for the code, where one exists. */
  readonly errorCode?: number;
  readonly userType?: 'Member' | 'Guest';
  /** The signing-in user object in the resource tenant (member or guest), when there is one. */
  readonly userId?: string;
  readonly homeTenantId?: string;
  readonly personalAccountId?: string;
}

export interface SignInRecordData {
  readonly signInId: string;
  readonly login: string;
  readonly serviceKind: ServiceKind;
  readonly resourceTenantId?: string;
  readonly homeTenantId?: string;
  readonly userId?: string;
  readonly personalAccountId?: string;
  readonly userType?: 'Member' | 'Guest';
  readonly mfaPerformed: boolean;
  readonly ipAddress: string;
  readonly userAgent: string;
  readonly code?: SignInCode;
  readonly errorCode?: number;
}

export type SignInSucceeded = DomainEvent<'SignInSucceeded', SignInRecordData>;
export type SignInFailed = DomainEvent<'SignInFailed', SignInRecordData>;
export type SignInEvent = SignInSucceeded | SignInFailed;
