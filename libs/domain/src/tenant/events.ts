// The facts of a tenant's directory. `TenantEvent` are the activities an administrator, a guest or
// the service performed (each one an audit record); the internal events below them are the
// bookkeeping that lets rules spanning several objects be decided on small streams (the role
// holders on the tenant, a seat ledger per subscription, an account count per custom domain), and
// the images a migration from the one-stream layout writes. Which stream each goes to: ./aggregates.ts.

import type { DomainEvent } from '../shared/decider.js';
import type { LicenseRemovalReason, MfaMethodKind, RedeemingIdentity, Role, TenantKind } from './commands.js';

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

export type UserType = 'Member' | 'Guest';

// ---------------------------------------------------------------- internal (no audit record)

/**
 * The tenant's entry for a user who holds roles, rewritten whenever the user's roles or ability to
 * use them change: what authorisation and the last-Global-Administrator rule read, without
 * reading any user's stream. `roles` empty: the user holds none any more.
 */
export type RoleHolderChanged = DomainEvent<
  'RoleHolderChanged',
  {
    readonly userId: string;
    readonly userType: UserType;
    readonly roles: readonly Role[];
    /** Neither blocked nor deleted. */
    readonly active: boolean;
  }
>;
/** A seat of the subscription's ledger taken by a license (beside the user's LicenseAssigned). */
export type SeatTaken = DomainEvent<
  'SeatTaken',
  { readonly subscriptionId: string; readonly userId: string }
>;
export type SeatReleased = DomainEvent<
  'SeatReleased',
  { readonly subscriptionId: string; readonly userId: string }
>;
/** An account's UPN entered a custom domain (created in it, or moved into it). */
export type DomainUseTaken = DomainEvent<
  'DomainUseTaken',
  { readonly domain: string; readonly userId: string }
>;
/** An account's UPN left a custom domain. Deleted accounts keep theirs: they can be restored. */
export type DomainUseReleased = DomainEvent<
  'DomainUseReleased',
  { readonly domain: string; readonly userId: string }
>;

/** A tenant-wide image, as a migration from the one-stream layout found it. */
export interface TenantImage {
  readonly tenantId: string;
  readonly displayName: string;
  readonly kind: TenantKind;
  readonly initialDomain: string;
  readonly primaryDomain: string;
  readonly domains: ReadonlyArray<{
    readonly name: string;
    readonly isInitial: boolean;
    readonly isVerified: boolean;
    readonly verificationCode: string;
  }>;
  readonly mfaRequired: boolean;
  readonly roleHolders: ReadonlyArray<{
    readonly userId: string;
    readonly userType: UserType;
    readonly roles: readonly Role[];
    readonly active: boolean;
  }>;
  readonly subscriptions: ReadonlyArray<{
    readonly subscriptionId: string;
    readonly sku: string;
    readonly seats: number;
    readonly status: 'active' | 'cancelled';
  }>;
}

/** A user object's image, as a migration found it; `revision` is the ETag it had. */
export interface UserImage {
  readonly userId: string;
  readonly userType: UserType;
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly blocked: boolean;
  readonly deleted: boolean;
  readonly roles: readonly Role[];
  readonly licenses: ReadonlyArray<{ readonly sku: string; readonly subscriptionId: string }>;
  readonly mfaMethods: ReadonlyArray<{ readonly methodId: string; readonly kind: MfaMethodKind }>;
  readonly guest?: {
    readonly email: string;
    readonly invitationId: string;
    readonly state: 'PendingAcceptance' | 'Accepted';
    readonly identity?: RedeemingIdentity;
  };
  readonly invitation?: {
    readonly status: 'PendingAcceptance' | 'Accepted' | 'Revoked';
    readonly redeemCodeHash: string;
    readonly expiresAt: string;
    readonly redirectUrl?: string;
  };
  readonly revision: number;
}

/**
 * Closes a tenant stream of the one-stream layout: everything tenant-wide it held, in one image.
 * Events before it are the tenant's history (kept, never rewritten); its objects continue in
 * streams of their own, each opened with an image of its own.
 */
export type TenantMigrated = DomainEvent<'TenantMigrated', { readonly tenant: TenantImage }>;
export type UserMigrated = DomainEvent<'UserMigrated', { readonly user: UserImage }>;
export type SeatsMigrated = DomainEvent<
  'SeatsMigrated',
  { readonly subscriptionId: string; readonly assigned: number }
>;
export type DomainUseMigrated = DomainEvent<
  'DomainUseMigrated',
  { readonly domain: string; readonly accounts: number }
>;

export type InternalDirectoryEvent =
  | RoleHolderChanged
  | SeatTaken
  | SeatReleased
  | DomainUseTaken
  | DomainUseReleased
  | TenantMigrated
  | UserMigrated
  | SeatsMigrated
  | DomainUseMigrated;

/** Every type of InternalDirectoryEvent: bookkeeping, never an activity. */
export const INTERNAL_DIRECTORY_EVENT_TYPES: ReadonlySet<string> = new Set<InternalDirectoryEvent['type']>([
  'RoleHolderChanged',
  'SeatTaken',
  'SeatReleased',
  'DomainUseTaken',
  'DomainUseReleased',
  'TenantMigrated',
  'UserMigrated',
  'SeatsMigrated',
  'DomainUseMigrated',
]);

/** What the directory's rules decide and its streams hold. */
export type DirectoryEvent = TenantEvent | InternalDirectoryEvent;
