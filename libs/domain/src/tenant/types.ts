// Commands, events and state of a tenant's directory: domains, MFA policy, members and roles.
// One stream per tenant (`tenant-<tenantId>`) holds all of them, so rules that span members and
// roles (never zero active Global Administrators, no removal of a domain in use) are decided on
// one consistent state under one expected version.

import type { DomainEvent } from '../shared/decider.js';

export const ROLES = [
  'GlobalAdministrator',
  'UserAdministrator',
  'LicenseAdministrator',
  'GuestInviter',
  'SecurityReader',
] as const;
export type Role = (typeof ROLES)[number];

export const TENANT_KINDS = ['business', 'education'] as const;
export type TenantKind = (typeof TENANT_KINDS)[number];

export const MFA_METHOD_KINDS = ['authenticator_app', 'sms', 'fido2'] as const;
export type MfaMethodKind = (typeof MFA_METHOD_KINDS)[number];

// ---------------------------------------------------------------- commands

interface Cmd<T extends string, D> {
  readonly type: T;
  /** The work account on whose behalf the command is sent; absent only for sign-up. */
  readonly actingUserId?: string;
  readonly data: D;
}

export type SignUpTenant = Cmd<
  'SignUpTenant',
  {
    readonly tenantId: string;
    readonly displayName: string;
    readonly kind: TenantKind;
    /** Raw prefix as sent; the decider normalises and checks it. */
    readonly domainPrefix: string;
    readonly admin: { readonly displayName: string; readonly userName: string };
  }
>;
export type AddDomain = Cmd<'AddDomain', { readonly name: string }>;
/** `txtRecords`: the TXT records the DNS resolver port found for the domain (each joined to one string). */
export type VerifyDomain = Cmd<
  'VerifyDomain',
  { readonly name: string; readonly txtRecords: readonly string[] }
>;
export type SetPrimaryDomain = Cmd<'SetPrimaryDomain', { readonly name: string }>;
export type RemoveDomain = Cmd<'RemoveDomain', { readonly name: string }>;
export type SetMfaRequirement = Cmd<'SetMfaRequirement', { readonly required: boolean }>;
export type CreateMember = Cmd<
  'CreateMember',
  { readonly userPrincipalName: string; readonly displayName: string }
>;
export type RenameUser = Cmd<'RenameUser', { readonly userId: string; readonly displayName: string }>;
export type ChangeUserPrincipalName = Cmd<
  'ChangeUserPrincipalName',
  { readonly userId: string; readonly userPrincipalName: string }
>;
export type OrderPasswordReset = Cmd<'OrderPasswordReset', { readonly userId: string }>;
export type BlockUser = Cmd<'BlockUser', { readonly userId: string }>;
export type UnblockUser = Cmd<'UnblockUser', { readonly userId: string }>;
export type DeleteUser = Cmd<'DeleteUser', { readonly userId: string }>;
export type RestoreUser = Cmd<'RestoreUser', { readonly userId: string }>;
export type RegisterMfaMethod = Cmd<
  'RegisterMfaMethod',
  { readonly userId: string; readonly kind: MfaMethodKind }
>;
export type AssignRole = Cmd<'AssignRole', { readonly userId: string; readonly role: Role }>;
export type RemoveRole = Cmd<'RemoveRole', { readonly userId: string; readonly role: Role }>;

export type TenantCommand =
  | SignUpTenant
  | AddDomain
  | VerifyDomain
  | SetPrimaryDomain
  | RemoveDomain
  | SetMfaRequirement
  | CreateMember
  | RenameUser
  | ChangeUserPrincipalName
  | OrderPasswordReset
  | BlockUser
  | UnblockUser
  | DeleteUser
  | RestoreUser
  | RegisterMfaMethod
  | AssignRole
  | RemoveRole;

export type TenantCommandType = TenantCommand['type'];

// ---------------------------------------------------------------- events (schemaVersion 1)

export type TenantCreated = DomainEvent<
  'TenantCreated',
  {
    readonly tenantId: string;
    readonly displayName: string;
    readonly kind: TenantKind;
    readonly domainPrefix: string;
    /** `<prefix>.<suffix>`: verified and primary from the start, never removable. */
    readonly initialDomain: string;
  }
>;
export type DomainAdded = DomainEvent<
  'DomainAdded',
  { readonly name: string; readonly verificationCode: string }
>;
export type DomainVerified = DomainEvent<'DomainVerified', { readonly name: string }>;
export type PrimaryDomainChanged = DomainEvent<
  'PrimaryDomainChanged',
  { readonly previousDomain: string; readonly domain: string }
>;
export type DomainRemoved = DomainEvent<
  'DomainRemoved',
  { readonly name: string; readonly wasVerified: boolean }
>;
export type MfaRequirementChanged = DomainEvent<
  'MfaRequirementChanged',
  { readonly required: boolean; readonly previousRequired: boolean }
>;
export type MemberCreated = DomainEvent<
  'MemberCreated',
  { readonly userId: string; readonly userPrincipalName: string; readonly displayName: string }
>;
export type UserRenamed = DomainEvent<
  'UserRenamed',
  { readonly userId: string; readonly previousDisplayName: string; readonly displayName: string }
>;
export type UserPrincipalNameChanged = DomainEvent<
  'UserPrincipalNameChanged',
  { readonly userId: string; readonly previousUserPrincipalName: string; readonly userPrincipalName: string }
>;
export type PasswordResetOrdered = DomainEvent<'PasswordResetOrdered', { readonly userId: string }>;
export type UserBlocked = DomainEvent<'UserBlocked', { readonly userId: string }>;
export type UserUnblocked = DomainEvent<'UserUnblocked', { readonly userId: string }>;
export type UserDeleted = DomainEvent<'UserDeleted', { readonly userId: string }>;
export type UserRestored = DomainEvent<'UserRestored', { readonly userId: string }>;
export type MfaMethodRegistered = DomainEvent<
  'MfaMethodRegistered',
  { readonly userId: string; readonly methodId: string; readonly kind: MfaMethodKind }
>;
export type RoleAssigned = DomainEvent<'RoleAssigned', { readonly userId: string; readonly role: Role }>;
export type RoleRemoved = DomainEvent<'RoleRemoved', { readonly userId: string; readonly role: Role }>;

export type TenantEvent =
  | TenantCreated
  | DomainAdded
  | DomainVerified
  | PrimaryDomainChanged
  | DomainRemoved
  | MfaRequirementChanged
  | MemberCreated
  | UserRenamed
  | UserPrincipalNameChanged
  | PasswordResetOrdered
  | UserBlocked
  | UserUnblocked
  | UserDeleted
  | UserRestored
  | MfaMethodRegistered
  | RoleAssigned
  | RoleRemoved;

export type TenantEventType = TenantEvent['type'];

// ---------------------------------------------------------------- state

export interface DomainState {
  readonly name: string;
  readonly isInitial: boolean;
  readonly isVerified: boolean;
  /** `ms` + 8 digits; the TXT record to publish is `MS=<verificationCode>`. Empty for the initial domain. */
  readonly verificationCode: string;
}

export type MemberState = 'active' | 'blocked' | 'deleted';

export interface UserState {
  readonly userId: string;
  readonly userType: 'Member';
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly blocked: boolean;
  readonly deleted: boolean;
  readonly mfaMethods: ReadonlyArray<{ readonly methodId: string; readonly kind: MfaMethodKind }>;
  /** How many events of the tenant stream concern this user: the user resource's ETag. */
  readonly revision: number;
}

export interface TenantState {
  readonly exists: boolean;
  readonly tenantId: string;
  readonly displayName: string;
  readonly kind: TenantKind;
  readonly initialDomain: string;
  readonly primaryDomain: string;
  /** Keyed by normalised domain name, in the order added. */
  readonly domains: ReadonlyMap<string, DomainState>;
  readonly mfaRequired: boolean;
  /** Keyed by userId. */
  readonly users: ReadonlyMap<string, UserState>;
  /** Keyed by userId. */
  readonly roles: ReadonlyMap<string, ReadonlySet<Role>>;
}
