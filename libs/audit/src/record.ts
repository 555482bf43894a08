// The audit record: one per audited event, shaped like Microsoft Graph's `directoryAudit` (and, for
// sign-ins, Graph's `signIn`), plus the fields of the tenant's hash chain.
//
// Chain key: every record belongs to exactly one chain, named by `tenantId`. An event without a
// tenant (personal accounts, consumer sign-ins, refusals aimed at no existing tenant) belongs to
// the SERVICE chain, whose key is the empty string ''. The key is always a string (never
// undefined) so that a record re-read from storage hashes the same and a chain is one equality
// test away; '' can never collide with a tenant id (tenant ids are UUIDs).
//
// Personal data (names, addresses, IP addresses) stays in named fields (displayName,
// userPrincipalName, modifiedProperties, ipAddress, ...), never in resultReason or ids.

/** The chain of the service itself: tenant-less events. */
export const SERVICE_CHAIN = '';

/** previousHash of a chain's first record. */
export const GENESIS_HASH = '0'.repeat(64);

export type AuditRecordType = 'directoryAudit' | 'signIn';

/** Graph's directoryAudit categories that this service emits, plus 'SignInLogs' for sign-ins. */
export type AuditCategory =
  'UserManagement' | 'RoleManagement' | 'DirectoryManagement' | 'Policy' | 'SignInLogs' | 'Other';

/** Graph's operationType values. */
export type OperationType = 'Add' | 'Assign' | 'Update' | 'Unassign' | 'Delete';

export type AuditResult = 'success' | 'failure';

export interface ModifiedProperty {
  readonly displayName: string;
  /** null when the property had no value before (an Add), as in Graph. */
  readonly oldValue: string | null;
  /** null when the property has no value after (a Delete). */
  readonly newValue: string | null;
}

export interface TargetResource {
  readonly id: string;
  /** 'User', 'Role', 'Domain', 'Company', 'Policy', 'Subscription', 'Invitation', 'PersonalAccount', ... */
  readonly type: string;
  readonly displayName?: string;
  readonly userPrincipalName?: string;
  readonly modifiedProperties: readonly ModifiedProperty[];
}

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

export interface InitiatedBy {
  /** The acting user, when a user acted (absent for sign-up, redemption and service actions). */
  readonly user?: { readonly id: string; readonly userPrincipalName?: string };
  /** The upstream app that sent the command (the envelope's actor.appId). */
  readonly app: { readonly appId: string };
}

/** Graph signIn `status`. */
export interface SignInStatus {
  /** 0 on success; the AADSTS number on failure, where one exists. */
  readonly errorCode?: number;
  /** The service's stable failure code (e.g. 'account_blocked'); absent on success. */
  readonly failureReason?: string;
}

/** A record before it is placed in its chain: what `toAuditRecord` produces. */
export interface AuditRecordDraft {
  /** Stable: the id of the event the record was made from. */
  readonly id: string;
  readonly recordType: AuditRecordType;
  /**
   * The domain event type that names the activity: the event's own type, or for a CommandRejected
   * the type the refused command would have produced (e.g. 'RoleAssigned'); 'CommandRejected'
   * when the command is unknown. Machine-readable key for the SIEM mappings.
   */
  readonly activityType: string;
  readonly category: AuditCategory;
  readonly activityDisplayName: string;
  /** RFC 3339 UTC, from the event's occurredAt. */
  readonly activityDateTime: string;
  readonly loggedByService: string;
  readonly operationType: OperationType;
  readonly result: AuditResult;
  /** '' on success; on failure the rejection code and reason, e.g. 'last_global_admin: ...'. */
  readonly resultReason: string;
  readonly initiatedBy: InitiatedBy;
  readonly targetResources: readonly TargetResource[];
  readonly additionalDetails: readonly KeyValue[];
  readonly correlationId: string;
  /** The chain key: the tenant id, or SERVICE_CHAIN ('') for tenant-less events. */
  readonly tenantId: string;
  /** The event's position in the global log: the feed's global cursor. */
  readonly globalPosition: number;

  // ---- Graph signIn fields (recordType 'signIn' only)
  readonly status?: SignInStatus;
  /** The signing-in user object (member/guest) or personal account, when one was found. */
  readonly userId?: string;
  /** The normalised login. */
  readonly userPrincipalName?: string;
  /** Graph: 'member' | 'guest'. */
  readonly userType?: 'member' | 'guest';
  readonly homeTenantId?: string;
  readonly resourceTenantId?: string;
  /** Graph: 'none' for a member at home, 'b2bCollaboration' for a guest. */
  readonly crossTenantAccessType?: 'none' | 'b2bCollaboration';
  /** Graph resourceDisplayName: the service signed in to ('Consumer services' / 'Business services'). */
  readonly resourceDisplayName?: string;
  readonly ipAddress?: string;
  readonly userAgent?: string;
  readonly isInteractive?: boolean;
  readonly mfaPerformed?: boolean;
}

/** A record placed in its tenant's chain. */
export interface AuditRecord extends AuditRecordDraft {
  /** 1-based, gap-free within the chain (tenantId). */
  readonly sequence: number;
  /** `hash` of the chain's previous record; GENESIS_HASH for sequence 1. */
  readonly previousHash: string;
  /** sha256 hex of the canonical JSON of every other field (see chain.ts). */
  readonly hash: string;
}
