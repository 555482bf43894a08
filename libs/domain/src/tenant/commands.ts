// What administrators (and the service itself) ask of a tenant's directory: its domains and
// policy, its members and guests, their roles, its subscriptions and licenses.

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
