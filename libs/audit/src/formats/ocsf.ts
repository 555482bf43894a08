// OCSF 1.8.0 events from audit records. Pure.
//
// Classes (category 3, Identity & Access Management):
//   3001 Account Change          member/guest/personal account created, enabled, disabled, deleted,
//                                password reset, MFA factor enabled; other account changes are
//                                activity 99 (Other) with an activity_name ('Rename', 'Restore', ...)
//   3002 Authentication          sign-ins: 1 Logon, status 1 Success / 2 Failure
//   3004 Entity Management       tenant (Organization), domains, subscriptions, invitations (Other),
//                                the MFA requirement (Policy)
//   3005 User Access Management  roles and licenses: 1 Assign Privileges / 2 Revoke Privileges
// type_uid = class_uid * 100 + activity_id. A refused command is the activity it asked for, with
// status_id 2, status_code = the rejection code and status_detail = its reason. When a refusal
// lacks what its class requires (no target user for 3001/3005, no privilege for 3005) it is
// reported as 3004 Entity Management on what it did name, so that every event stays valid.
//
// Severity (severity_id): 1 Informational by default; 2 Low for account disable/delete/password
// reset, domain removal and non-Global-Administrator role changes; 3 Medium for turning the MFA
// requirement off; 4 High for any Global Administrator role change. Failures are at least 2 Low,
// and 3 Medium when the refusal was 'forbidden'.

import { isIP } from 'node:net';

import type { AuditRecord, TargetResource } from '../record.js';

export const OCSF_VERSION = '1.8.0';
export const PRODUCT_NAME = 'Account Lifecycle Service';

export interface ProductInfo {
  /** metadata.product.vendor_name / CEF Device Vendor. */
  readonly vendorName?: string;
  /** metadata.product.name / CEF Device Product. */
  readonly productName?: string;
  /** metadata.product.version / CEF Device Version. */
  readonly productVersion?: string;
}

export const DEFAULT_PRODUCT = {
  vendorName: 'Account Lifecycle',
  productName: PRODUCT_NAME,
  productVersion: '0.1.0',
} as const satisfies Required<ProductInfo>;

export const product = (info: ProductInfo = {}): Required<ProductInfo> => ({ ...DEFAULT_PRODUCT, ...info });

export type OcsfClassUid = 3001 | 3002 | 3004 | 3005;

export const CLASS_NAMES: Readonly<Record<OcsfClassUid, string>> = {
  3001: 'Account Change',
  3002: 'Authentication',
  3004: 'Entity Management',
  3005: 'User Access Management',
};

/** Activity captions per class (OCSF 1.8.0), plus 0 Unknown and 99 Other from base_event. */
export const ACTIVITY_NAMES: Readonly<Record<OcsfClassUid, Readonly<Record<number, string>>>> = {
  3001: {
    0: 'Unknown',
    1: 'Create',
    2: 'Enable',
    3: 'Password Change',
    4: 'Password Reset',
    5: 'Disable',
    6: 'Delete',
    7: 'Attach Policy',
    8: 'Detach Policy',
    9: 'Lock',
    10: 'MFA Factor Enable',
    11: 'MFA Factor Disable',
    12: 'Unlock',
    99: 'Other',
  },
  3002: {
    0: 'Unknown',
    1: 'Logon',
    2: 'Logoff',
    3: 'Authentication Ticket',
    4: 'Service Ticket Request',
    5: 'Service Ticket Renew',
    6: 'Preauth',
    7: 'Account Switch',
    99: 'Other',
  },
  3004: {
    0: 'Unknown',
    1: 'Create',
    2: 'Read',
    3: 'Update',
    4: 'Delete',
    5: 'Move',
    6: 'Enroll',
    7: 'Unenroll',
    8: 'Enable',
    9: 'Disable',
    10: 'Activate',
    11: 'Deactivate',
    12: 'Suspend',
    13: 'Resume',
    99: 'Other',
  },
  3005: { 0: 'Unknown', 1: 'Assign Privileges', 2: 'Revoke Privileges', 99: 'Other' },
};

export const SEVERITY_NAMES: Readonly<Record<number, string>> = {
  0: 'Unknown',
  1: 'Informational',
  2: 'Low',
  3: 'Medium',
  4: 'High',
  5: 'Critical',
  6: 'Fatal',
  99: 'Other',
};

/** managed_entity.type_id values used here. */
type EntityKind = { readonly typeId: 4 | 5 | 99; readonly type: string };
const ORGANIZATION: EntityKind = { typeId: 4, type: 'Organization' };
const POLICY: EntityKind = { typeId: 5, type: 'Policy' };
const other = (type: string): EntityKind => ({ typeId: 99, type });

interface Classification {
  readonly classUid: OcsfClassUid;
  readonly activityId: number;
  /** For activity 99: what the activity was. */
  readonly otherName?: string;
  /** 3004 only: the kind of managed entity. */
  readonly entity?: EntityKind;
}

const c = (
  classUid: OcsfClassUid,
  activityId: number,
  extra: Partial<Classification> = {},
): Classification => ({
  classUid,
  activityId,
  ...extra,
});

/** Keyed by the record's activityType. */
export const CLASSIFICATION: Readonly<Record<string, Classification>> = {
  TenantCreated: c(3004, 1, { entity: ORGANIZATION }),
  DomainAdded: c(3004, 1, { entity: other('Domain') }),
  DomainVerified: c(3004, 3, { entity: other('Domain') }),
  PrimaryDomainChanged: c(3004, 3, { entity: other('Domain') }),
  DomainRemoved: c(3004, 4, { entity: other('Domain') }),
  MfaRequirementChanged: c(3004, 3, { entity: POLICY }),
  MemberCreated: c(3001, 1),
  UserRenamed: c(3001, 99, { otherName: 'Rename' }),
  UserPrincipalNameChanged: c(3001, 99, { otherName: 'Rename' }),
  PasswordResetOrdered: c(3001, 4),
  UserBlocked: c(3001, 5),
  UserUnblocked: c(3001, 2),
  UserDeleted: c(3001, 6),
  UserRestored: c(3001, 99, { otherName: 'Restore' }),
  MfaMethodRegistered: c(3001, 10),
  RoleAssigned: c(3005, 1),
  RoleRemoved: c(3005, 2),
  GuestInvited: c(3001, 1),
  InvitationResent: c(3004, 3, { entity: other('Invitation') }),
  InvitationRevoked: c(3004, 4, { entity: other('Invitation') }),
  InvitationRedeemed: c(3001, 99, { otherName: 'Redeem Invitation' }),
  SubscriptionPurchased: c(3004, 1, { entity: other('Subscription') }),
  SeatsChanged: c(3004, 3, { entity: other('Subscription') }),
  SubscriptionCancelled: c(3004, 4, { entity: other('Subscription') }),
  LicenseAssigned: c(3005, 1),
  LicenseRemoved: c(3005, 2),
  PersonalAccountRegistered: c(3001, 1),
  PersonalAccountClosed: c(3001, 6),
  ExternalLoginLinked: c(3001, 99, { otherName: 'Link External Login' }),
  ExternalLoginUnlinked: c(3001, 99, { otherName: 'Unlink External Login' }),
  SignInSucceeded: c(3002, 1),
  SignInFailed: c(3002, 1),
};

const FALLBACK_ACTIVITY: Readonly<Record<string, number>> = { Add: 1, Update: 3, Delete: 4 };

const detailOf = (record: AuditRecord, key: string): string | undefined =>
  record.additionalDetails.find((d) => d.key === key)?.value;

const USER_TYPES: ReadonlySet<string> = new Set(['User', 'PersonalAccount']);
const firstUser = (record: AuditRecord): TargetResource | undefined =>
  record.targetResources.find((t) => USER_TYPES.has(t.type));

/** Privileges a 3005 event names: role display names, or licenses as 'license:<sku>'. */
function privilegesOf(record: AuditRecord): string[] {
  const roles = record.targetResources.filter((t) => t.type === 'Role').map((t) => t.displayName ?? t.id);
  if (roles.length > 0) return roles;
  const sku =
    record.targetResources
      .flatMap((t) => t.modifiedProperties)
      .filter((p) => p.displayName === 'AssignedLicense')
      .map((p) => p.newValue ?? p.oldValue)
      .find((v): v is string => v !== null) ?? record.targetResources.find((t) => t.type === 'Sku')?.id;
  return sku !== undefined ? [`license:${sku}`] : [];
}

/** The class and activity of a record, falling back to 3004 when the class's required data is missing. */
export function classify(record: AuditRecord): Classification {
  const known = CLASSIFICATION[record.activityType];
  if (known !== undefined) {
    const needsUser = known.classUid === 3001 || known.classUid === 3005;
    const missingUser = needsUser && firstUser(record) === undefined;
    const missingPrivileges = known.classUid === 3005 && privilegesOf(record).length === 0;
    if (!missingUser && !missingPrivileges) return known;
  }
  const head = record.targetResources[0];
  return c(3004, FALLBACK_ACTIVITY[record.operationType] ?? 99, {
    entity: other(head?.type ?? 'Unknown'),
    ...(FALLBACK_ACTIVITY[record.operationType] === undefined
      ? { otherName: record.activityDisplayName }
      : {}),
  });
}

const GLOBAL_ADMIN = 'GlobalAdministrator';

/** OCSF severity_id of a record (see the header comment). */
export function severityOf(record: AuditRecord): number {
  let base = 1;
  switch (record.activityType) {
    case 'RoleAssigned':
    case 'RoleRemoved':
      base = record.targetResources.some((t) => t.type === 'Role' && t.id === GLOBAL_ADMIN) ? 4 : 2;
      break;
    case 'MfaRequirementChanged': {
      const change = record.targetResources[0]?.modifiedProperties.find(
        (p) => p.displayName === 'MfaRequired',
      );
      base = change?.newValue === 'false' ? 3 : 1;
      break;
    }
    case 'UserBlocked':
    case 'UserDeleted':
    case 'PasswordResetOrdered':
    case 'DomainRemoved':
    case 'PersonalAccountClosed':
      base = 2;
      break;
  }
  if (record.result === 'failure') {
    base = Math.max(base, detailOf(record, 'rejectionCategory') === 'forbidden' ? 3 : 2);
  }
  return base;
}

/** An OCSF event: a plain JSON object. */
export type OcsfEvent = Record<string, unknown>;

const compact = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;

function ocsfUser(t: TargetResource): Record<string, unknown> {
  return compact({
    uid: t.id,
    name: t.userPrincipalName,
    display_name: t.displayName,
    type: t.type === 'PersonalAccount' ? 'Personal Account' : undefined,
  });
}

function entityOf(record: AuditRecord, kind: EntityKind): Record<string, unknown> {
  const head = record.targetResources[0];
  const uid = head?.id;
  const name = head?.displayName ?? record.activityDisplayName;
  const base = compact({ type_id: kind.typeId, type: kind.type, uid, name });
  if (kind.typeId === 4) return { ...base, org: compact({ uid, name }) };
  if (kind.typeId === 5) return { ...base, policy: compact({ uid, name }) };
  return base;
}

/** The OCSF 1.8.0 event of a record. */
export function toOcsf(record: AuditRecord, info: ProductInfo = {}): OcsfEvent {
  const p = product(info);
  const cls = classify(record);
  const className = CLASS_NAMES[cls.classUid];
  const activityName =
    cls.activityId === 99 && cls.otherName !== undefined
      ? cls.otherName
      : (ACTIVITY_NAMES[cls.classUid][cls.activityId] ?? 'Other');
  const severityId = severityOf(record);
  const failed = record.result === 'failure';
  const actorUser = record.initiatedBy.user;

  const event: Record<string, unknown> = {
    activity_id: cls.activityId,
    activity_name: activityName,
    category_uid: 3,
    category_name: 'Identity & Access Management',
    class_uid: cls.classUid,
    class_name: className,
    type_uid: cls.classUid * 100 + cls.activityId,
    type_name: `${className}: ${activityName}`,
    severity_id: severityId,
    severity: SEVERITY_NAMES[severityId],
    time: Date.parse(record.activityDateTime),
    message: record.activityDisplayName,
    status_id: failed ? 2 : 1,
    status: failed ? 'Failure' : 'Success',
    metadata: compact({
      version: OCSF_VERSION,
      product: { name: p.productName, vendor_name: p.vendorName, version: p.productVersion },
      uid: record.id,
      original_event_uid: record.id,
      event_code: record.activityType,
      correlation_uid: record.correlationId,
      tenant_uid: record.tenantId,
      log_name: record.recordType,
      log_provider: record.loggedByService,
      sequence: record.sequence,
    }),
    actor: compact({
      user:
        actorUser !== undefined
          ? compact({ uid: actorUser.id, name: actorUser.userPrincipalName })
          : undefined,
      app_name: record.initiatedBy.app.appId,
      app_uid: record.initiatedBy.app.appId,
    }),
    unmapped: compact({
      category: record.category,
      operation_type: record.operationType,
      global_position: record.globalPosition,
      previous_hash: record.previousHash,
      hash: record.hash,
    }),
  };

  if (failed) {
    if (record.recordType === 'signIn') {
      event.status_code =
        record.status?.errorCode !== undefined
          ? String(record.status.errorCode)
          : record.status?.failureReason;
      event.status_detail = record.status?.failureReason;
    } else {
      event.status_code = detailOf(record, 'rejectionCode');
      event.status_detail = record.resultReason;
    }
  }

  const subject = firstUser(record);
  switch (cls.classUid) {
    case 3001:
    case 3005:
      // classify() chose these classes only when there is a target user (and privileges).
      if (subject !== undefined) event.user = ocsfUser(subject);
      if (cls.classUid === 3005) event.privileges = privilegesOf(record);
      break;
    case 3004:
      event.entity = entityOf(record, cls.entity ?? other('Unknown'));
      break;
    case 3002:
      event.user = compact({
        uid: record.userId,
        name: record.userPrincipalName,
        type: record.userType === 'guest' ? 'Guest' : record.userType === 'member' ? 'Member' : undefined,
      });
      event.service = compact({
        name: record.resourceDisplayName ?? 'Account Lifecycle Service',
        uid: record.resourceTenantId ?? detailOf(record, 'serviceKind'),
      });
      event.is_mfa = record.mfaPerformed ?? false;
      event.is_remote = true;
      if (record.ipAddress !== undefined && isIP(record.ipAddress) !== 0) {
        event.src_endpoint = { ip: record.ipAddress };
      }
      if (record.userAgent !== undefined && record.userAgent !== '') {
        event.http_request = { user_agent: record.userAgent };
      }
      break;
  }
  return compact(event);
}
