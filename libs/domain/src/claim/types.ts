// Uniqueness claims: a value that must be unique across the whole service (a UPN, a verified
// domain, an invitation id, a guest's address within its tenant, a personal account's address, an
// external login) gets a stream of its own, and whoever appends the claim to it first holds it.
// The app writes that stream with an expected version, so of two racing claims exactly one wins.

import type { DomainEvent } from '../shared/decider.js';

export const CLAIM_KINDS = ['upn', 'domain', 'invitation', 'guest', 'address', 'external_login'] as const;
export type ClaimKind = (typeof CLAIM_KINDS)[number];

export interface ClaimRequest {
  readonly kind: ClaimKind;
  /**
   * Normalised, and lower case except an external login's subject (`github:OctoCat` and
   * `github:octocat` may be two people). The app names the claim stream by a keyed hash of it,
   * never by it.
   */
  readonly value: string;
  /**
   * The id of what holds the value: a userId for a UPN, a guest address or an invitation (the
   * claim's envelope names the tenant, so an invitation id leads to its guest and tenant), a
   * tenantId for a domain, a personal accountId for an address or an external login. Invitations
   * claimed by the one-stream layout named their tenant; the migration hands them to their guest.
   */
  readonly ownerId: string;
  /** The rejection code when someone else holds the value, e.g. 'upn_taken'. */
  readonly takenCode: string;
}

export type Claim = { readonly type: 'Claim'; readonly request: ClaimRequest };
export type Release = { readonly type: 'Release'; readonly request: ClaimRequest };
export type ClaimCommand = Claim | Release;

// The claimed value is not in the events: it is personal data (a UPN), and the stream's name
// already says which value the stream is about.
export type UniquenessClaimed = DomainEvent<
  'UniquenessClaimed',
  { readonly kind: ClaimKind; readonly ownerId: string }
>;
export type UniquenessReleased = DomainEvent<
  'UniquenessReleased',
  { readonly kind: ClaimKind; readonly ownerId: string }
>;
export type ClaimEvent = UniquenessClaimed | UniquenessReleased;

export interface ClaimState {
  /** The ownerId that holds the value now; undefined when nobody does. */
  readonly holder?: string;
}

export interface ClaimsForEvent {
  readonly claims: ClaimRequest[];
  readonly releases: ClaimRequest[];
}
