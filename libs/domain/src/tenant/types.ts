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
  /** The work account on whose behalf the command is sent; absent for sign-up and redemption. */
  readonly actingUserId?: string;
  /**
   * Set when the service itself sends the command as a durable reaction to an event (e.g. freeing
   * a deleted user's licenses). Only the commands in SYSTEM_COMMANDS accept it.
   */
  readonly initiatedBy?: 'system';
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

/**
 * The redeem code itself is never stored: the app hashes it (sha256 hex) and hands the decider the
 * hash, so the decider stays pure and the log holds nothing that could redeem an invitation.
 */
export type InviteGuest = Cmd<
  'InviteGuest',
  {
    readonly invitationId: string;
    /** Raw e-mail address as sent; the decider normalises it (domain lower-cased, IDN to punycode). */
    readonly email: string;
    readonly displayName?: string;
    readonly redirectUrl?: string;
    readonly redeemCodeHash: string;
    /** RFC 3339; the app computes it from the clock and the configured invitation TTL. */
    readonly expiresAt: string;
  }
>;
export type ResendInvitation = Cmd<
  'ResendInvitation',
  { readonly invitationId: string; readonly redeemCodeHash: string; readonly expiresAt: string }
>;
export type RevokeInvitation = Cmd<'RevokeInvitation', { readonly invitationId: string }>;
export const IDENTITY_KINDS = ['personal', 'work_or_school', 'external'] as const;
export type IdentityKind = (typeof IDENTITY_KINDS)[number];
export interface RedeemingIdentity {
  readonly kind: IdentityKind;
  /** The personal account id or the home tenant's user id, when the identity is one of ours. */
  readonly accountId?: string;
  readonly email: string;
}
export type RedeemInvitation = Cmd<
  'RedeemInvitation',
  { readonly invitationId: string; readonly redeemCodeHash: string; readonly identity: RedeemingIdentity }
>;
export type PurchaseSubscription = Cmd<
  'PurchaseSubscription',
  { readonly subscriptionId: string; readonly sku: string; readonly seats: number }
>;
export type ChangeSeats = Cmd<'ChangeSeats', { readonly subscriptionId: string; readonly seats: number }>;
export type CancelSubscription = Cmd<'CancelSubscription', { readonly subscriptionId: string }>;
export type AssignLicense = Cmd<'AssignLicense', { readonly userId: string; readonly sku: string }>;
export const LICENSE_REMOVAL_REASONS = ['removed', 'user_deleted'] as const;
export type LicenseRemovalReason = (typeof LICENSE_REMOVAL_REASONS)[number];
export type RemoveLicense = Cmd<
  'RemoveLicense',
  { readonly userId: string; readonly sku: string; readonly reason?: LicenseRemovalReason }
>;

export type TenantCommand =
  | InviteGuest
  | ResendInvitation
  | RevokeInvitation
  | RedeemInvitation
  | PurchaseSubscription
  | ChangeSeats
  | CancelSubscription
  | AssignLicense
  | RemoveLicense
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

export type GuestInvited = DomainEvent<
  'GuestInvited',
  {
    readonly userId: string;
    readonly invitationId: string;
    /** Normalised invited address. */
    readonly email: string;
    readonly displayName: string;
    /** Entra guest notation: `alice_example.com#EXT#@<initial domain>`. */
    readonly userPrincipalName: string;
    readonly redirectUrl?: string;
    readonly redeemCodeHash: string;
    readonly expiresAt: string;
  }
>;
export type InvitationResent = DomainEvent<
  'InvitationResent',
  {
    readonly invitationId: string;
    readonly userId: string;
    readonly redeemCodeHash: string;
    readonly expiresAt: string;
  }
>;
export type InvitationRevoked = DomainEvent<
  'InvitationRevoked',
  { readonly invitationId: string; readonly userId: string }
>;
export type InvitationRedeemed = DomainEvent<
  'InvitationRedeemed',
  { readonly invitationId: string; readonly userId: string; readonly identity: RedeemingIdentity }
>;
export type SubscriptionPurchased = DomainEvent<
  'SubscriptionPurchased',
  { readonly subscriptionId: string; readonly sku: string; readonly seats: number }
>;
export type SeatsChanged = DomainEvent<
  'SeatsChanged',
  {
    readonly subscriptionId: string;
    readonly sku: string;
    readonly previousSeats: number;
    readonly seats: number;
  }
>;
export type SubscriptionCancelled = DomainEvent<
  'SubscriptionCancelled',
  { readonly subscriptionId: string; readonly sku: string }
>;
export type LicenseAssigned = DomainEvent<
  'LicenseAssigned',
  { readonly userId: string; readonly sku: string; readonly subscriptionId: string }
>;
export type LicenseRemoved = DomainEvent<
  'LicenseRemoved',
  {
    readonly userId: string;
    readonly sku: string;
    readonly subscriptionId: string;
    readonly reason: LicenseRemovalReason;
  }
>;

export type TenantEvent =
  | GuestInvited
  | InvitationResent
  | InvitationRevoked
  | InvitationRedeemed
  | SubscriptionPurchased
  | SeatsChanged
  | SubscriptionCancelled
  | LicenseAssigned
  | LicenseRemoved
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

export type GuestState = 'PendingAcceptance' | 'Accepted';

export interface InvitationState {
  readonly invitationId: string;
  readonly userId: string;
  readonly status: 'PendingAcceptance' | 'Accepted' | 'Revoked';
  readonly redeemCodeHash: string;
  readonly expiresAt: string;
  readonly redirectUrl?: string;
}

export interface SubscriptionState {
  readonly subscriptionId: string;
  readonly sku: string;
  readonly seats: number;
  readonly status: 'active' | 'cancelled';
  /** userIds holding a license of this subscription. */
  readonly assignedTo: ReadonlySet<string>;
}

export interface UserState {
  readonly userId: string;
  readonly userType: 'Member' | 'Guest';
  /** Guests only: the invited address, the invitation and its acceptance. */
  readonly guest?: {
    readonly email: string;
    readonly invitationId: string;
    readonly state: GuestState;
    readonly identity?: RedeemingIdentity;
  };
  /** SKUs licensed to this user. */
  readonly licenses: ReadonlySet<string>;
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
  /** Keyed by invitationId. */
  readonly invitations: ReadonlyMap<string, InvitationState>;
  /** Keyed by subscriptionId. */
  readonly subscriptions: ReadonlyMap<string, SubscriptionState>;
}
