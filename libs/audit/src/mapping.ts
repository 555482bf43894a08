// From an event of the global log to an audit record draft (no chain fields yet). Pure.
//
// Every domain event of the tenant, personal-account and sign-in slices maps to a record; so does
// every CommandRejected (result 'failure', named after the activity that was refused, as Entra
// logs a refused "Add member to role" under that activity with result failure). Internal events
// (uniqueness claims, claim hash keys) map to undefined: they are bookkeeping, not activities.
//
// Activity names follow Entra's audit log where it has one ("Add user", "Invite external user",
// "Add member to role", "Verify domain", ...); where Entra has none the name follows its
// "<Verb> <object>" pattern.

import type { RecordedEvent } from '#event-store';
import {
  INTERNAL_DIRECTORY_EVENT_TYPES,
  toDirectoryEvent,
  toPersonalAccountEvent,
  type PersonalAccountEvent,
  type RedeemingIdentity,
  type Role,
  type SignInRecordData,
  type TenantEvent,
} from '#domain';

import {
  SERVICE_CHAIN,
  type AuditCategory,
  type AuditRecordDraft,
  type InitiatedBy,
  type KeyValue,
  type ModifiedProperty,
  type OperationType,
  type TargetResource,
} from './record.js';

export interface ActivityDefinition {
  readonly displayName: string;
  readonly category: AuditCategory;
  readonly operationType: OperationType;
  readonly loggedByService: string;
}

const CORE = 'Core Directory';
const INVITED = 'Invited Users';
const AUTH_METHODS = 'Authentication Methods';
const CONSUMER = 'Consumer Accounts';
const LICENSING = 'Licensing';

const def = (
  displayName: string,
  category: AuditCategory,
  operationType: OperationType,
  loggedByService = CORE,
): ActivityDefinition => ({ displayName, category, operationType, loggedByService });

/**
 * Activity of every audited event type. Where the name depends on the data (a removed domain that
 * was verified or not) the entry holds the name used when the data is unknown (a refusal).
 */
export const ACTIVITIES = {
  TenantCreated: def('Create company', 'DirectoryManagement', 'Add'),
  DomainAdded: def('Add unverified domain', 'DirectoryManagement', 'Add'),
  DomainVerified: def('Verify domain', 'DirectoryManagement', 'Update'),
  PrimaryDomainChanged: def('Set domain as primary', 'DirectoryManagement', 'Update'),
  DomainRemoved: def('Remove domain', 'DirectoryManagement', 'Delete'),
  MfaRequirementChanged: def('Update policy', 'Policy', 'Update'),
  MemberCreated: def('Add user', 'UserManagement', 'Add'),
  UserRenamed: def('Update user', 'UserManagement', 'Update'),
  UserPrincipalNameChanged: def('Update user', 'UserManagement', 'Update'),
  PasswordResetOrdered: def('Reset user password', 'UserManagement', 'Update'),
  UserBlocked: def('Disable account', 'UserManagement', 'Update'),
  UserUnblocked: def('Enable account', 'UserManagement', 'Update'),
  UserDeleted: def('Delete user', 'UserManagement', 'Delete'),
  UserRestored: def('Restore user', 'UserManagement', 'Update'),
  MfaMethodRegistered: def('Register security info', 'UserManagement', 'Add', AUTH_METHODS),
  RoleAssigned: def('Add member to role', 'RoleManagement', 'Assign'),
  RoleRemoved: def('Remove member from role', 'RoleManagement', 'Unassign'),
  GuestInvited: def('Invite external user', 'UserManagement', 'Add', INVITED),
  InvitationResent: def('Resend external user invite', 'UserManagement', 'Update', INVITED),
  InvitationRevoked: def('Revoke external user invite', 'UserManagement', 'Delete', INVITED),
  InvitationRedeemed: def('Redeem external user invite', 'UserManagement', 'Update', INVITED),
  SubscriptionPurchased: def('Add subscription', 'DirectoryManagement', 'Add', LICENSING),
  SeatsChanged: def('Update subscription', 'DirectoryManagement', 'Update', LICENSING),
  SubscriptionCancelled: def('Delete subscription', 'DirectoryManagement', 'Delete', LICENSING),
  LicenseAssigned: def('Change user license', 'UserManagement', 'Assign', LICENSING),
  LicenseRemoved: def('Change user license', 'UserManagement', 'Unassign', LICENSING),
  PersonalAccountRegistered: def('Add personal account', 'UserManagement', 'Add', CONSUMER),
  PersonalAccountClosed: def('Close personal account', 'UserManagement', 'Delete', CONSUMER),
  ExternalLoginLinked: def('Link external login', 'UserManagement', 'Add', CONSUMER),
  ExternalLoginUnlinked: def('Unlink external login', 'UserManagement', 'Delete', CONSUMER),
  SignInSucceeded: def('Sign-in activity', 'SignInLogs', 'Add', 'Authentication'),
  SignInFailed: def('Sign-in activity', 'SignInLogs', 'Add', 'Authentication'),
  CommandRejected: def('Unknown activity', 'Other', 'Update'),
} as const satisfies Record<string, ActivityDefinition>;

export type AuditedEventType = keyof typeof ACTIVITIES;

/** The event each command produces when it succeeds: the activity a CommandRejected names. */
export const COMMAND_ACTIVITY: Readonly<Record<string, AuditedEventType>> = {
  SignUpTenant: 'TenantCreated',
  AddDomain: 'DomainAdded',
  VerifyDomain: 'DomainVerified',
  SetPrimaryDomain: 'PrimaryDomainChanged',
  RemoveDomain: 'DomainRemoved',
  SetMfaRequirement: 'MfaRequirementChanged',
  CreateMember: 'MemberCreated',
  RenameUser: 'UserRenamed',
  ChangeUserPrincipalName: 'UserPrincipalNameChanged',
  OrderPasswordReset: 'PasswordResetOrdered',
  BlockUser: 'UserBlocked',
  UnblockUser: 'UserUnblocked',
  DeleteUser: 'UserDeleted',
  RestoreUser: 'UserRestored',
  RegisterMfaMethod: 'MfaMethodRegistered',
  AssignRole: 'RoleAssigned',
  RemoveRole: 'RoleRemoved',
  InviteGuest: 'GuestInvited',
  ResendInvitation: 'InvitationResent',
  RevokeInvitation: 'InvitationRevoked',
  RedeemInvitation: 'InvitationRedeemed',
  PurchaseSubscription: 'SubscriptionPurchased',
  ChangeSeats: 'SeatsChanged',
  CancelSubscription: 'SubscriptionCancelled',
  AssignLicense: 'LicenseAssigned',
  RemoveLicense: 'LicenseRemoved',
  RegisterPersonalAccount: 'PersonalAccountRegistered',
  ClosePersonalAccount: 'PersonalAccountClosed',
  LinkExternalLogin: 'ExternalLoginLinked',
  UnlinkExternalLogin: 'ExternalLoginUnlinked',
};

/**
 * Event types that are bookkeeping, not activities: no audit record. Among them the directory's
 * ledgers and role holders, and the images a migration writes, so that a migrated store's feed
 * shows no action nobody took.
 */
export const INTERNAL_EVENT_TYPES: ReadonlySet<string> = new Set([
  'UniquenessClaimed',
  'UniquenessReleased',
  'ClaimHashKeyCreated',
  'CommandProcessed',
  'StoreLayoutSet',
  ...INTERNAL_DIRECTORY_EVENT_TYPES,
]);

export const ROLE_DISPLAY_NAMES: Readonly<Record<Role, string>> = {
  GlobalAdministrator: 'Global Administrator',
  UserAdministrator: 'User Administrator',
  LicenseAdministrator: 'License Administrator',
  GuestInviter: 'Guest Inviter',
  SecurityReader: 'Security Reader',
};

const roleName = (role: string): string => (ROLE_DISPLAY_NAMES as Record<string, string>)[role] ?? role;

/** The shape of a CommandRejected event's data (see the command pipeline). */
export interface CommandRejectedData {
  readonly commandType: string;
  readonly code: string;
  readonly category: 'conflict' | 'not_found' | 'forbidden';
  readonly reason: string;
  readonly streamId: string;
  readonly target: {
    readonly userId?: string;
    readonly accountId?: string;
    readonly invitationId?: string;
    readonly subscriptionId?: string;
    readonly sku?: string;
    readonly role?: string;
    readonly name?: string;
  };
}

// ---------------------------------------------------------------- helpers

const prop = (displayName: string, oldValue: string | null, newValue: string | null): ModifiedProperty => ({
  displayName,
  oldValue,
  newValue,
});

interface TargetInit {
  readonly displayName?: string | undefined;
  readonly userPrincipalName?: string | undefined;
}

const target = (
  id: string,
  type: string,
  init: TargetInit = {},
  modifiedProperties: readonly ModifiedProperty[] = [],
): TargetResource => ({
  id,
  type,
  ...(init.displayName !== undefined ? { displayName: init.displayName } : {}),
  ...(init.userPrincipalName !== undefined ? { userPrincipalName: init.userPrincipalName } : {}),
  modifiedProperties,
});

const user = (userId: string, modified: readonly ModifiedProperty[] = [], init: TargetInit = {}) =>
  target(userId, 'User', init, modified);

const role = (r: string): TargetResource => target(r, 'Role', { displayName: roleName(r) });

const detail = (key: string, value: string): KeyValue => ({ key, value });

/** RFC 3339 UTC with milliseconds, whatever precision the event carried. */
const normaliseTime = (occurredAt: string): string => {
  const ms = Date.parse(occurredAt);
  return Number.isNaN(ms) ? occurredAt : new Date(ms).toISOString();
};

interface Body {
  readonly targetResources: readonly TargetResource[];
  readonly additionalDetails?: readonly KeyValue[];
  /** Overrides the table's display name (e.g. verified vs unverified domain). */
  readonly displayName?: string;
}

// ---------------------------------------------------------------- per event type

function tenantBody(event: TenantEvent, tenantId: string): Body {
  switch (event.type) {
    case 'TenantCreated': {
      const d = event.data;
      return {
        targetResources: [
          target(d.tenantId || tenantId, 'Company', { displayName: d.displayName }, [
            prop('DisplayName', null, d.displayName),
            prop('TenantKind', null, d.kind),
            prop('InitialDomain', null, d.initialDomain),
          ]),
        ],
      };
    }
    case 'DomainAdded':
      return {
        targetResources: [
          target(event.data.name, 'Domain', { displayName: event.data.name }, [
            prop('VerificationRecord', null, `MS=${event.data.verificationCode}`),
          ]),
        ],
      };
    case 'DomainVerified':
      return {
        targetResources: [
          target(event.data.name, 'Domain', { displayName: event.data.name }, [
            prop('IsVerified', 'false', 'true'),
          ]),
        ],
      };
    case 'PrimaryDomainChanged':
      return {
        targetResources: [
          target(event.data.domain, 'Domain', { displayName: event.data.domain }, [
            prop('PrimaryDomain', event.data.previousDomain, event.data.domain),
          ]),
        ],
      };
    case 'DomainRemoved':
      return {
        displayName: event.data.wasVerified ? 'Remove verified domain' : 'Remove unverified domain',
        targetResources: [
          target(event.data.name, 'Domain', { displayName: event.data.name }, [
            prop('IsVerified', String(event.data.wasVerified), null),
          ]),
        ],
      };
    case 'MfaRequirementChanged':
      return {
        targetResources: [
          target('mfa-requirement', 'Policy', { displayName: 'Require multifactor authentication' }, [
            prop('MfaRequired', String(event.data.previousRequired), String(event.data.required)),
          ]),
        ],
      };
    case 'MemberCreated': {
      const d = event.data;
      return {
        targetResources: [
          user(
            d.userId,
            [
              prop('DisplayName', null, d.displayName),
              prop('UserPrincipalName', null, d.userPrincipalName),
              prop('UserType', null, 'Member'),
            ],
            { displayName: d.displayName, userPrincipalName: d.userPrincipalName },
          ),
        ],
      };
    }
    case 'UserRenamed': {
      const d = event.data;
      return {
        targetResources: [
          user(d.userId, [prop('DisplayName', d.previousDisplayName, d.displayName)], {
            displayName: d.displayName,
          }),
        ],
      };
    }
    case 'UserPrincipalNameChanged': {
      const d = event.data;
      return {
        targetResources: [
          user(d.userId, [prop('UserPrincipalName', d.previousUserPrincipalName, d.userPrincipalName)], {
            userPrincipalName: d.userPrincipalName,
          }),
        ],
      };
    }
    case 'PasswordResetOrdered':
      return { targetResources: [user(event.data.userId, [prop('PasswordResetRequired', null, 'true')])] };
    case 'UserBlocked':
      return { targetResources: [user(event.data.userId, [prop('AccountEnabled', 'true', 'false')])] };
    case 'UserUnblocked':
      return { targetResources: [user(event.data.userId, [prop('AccountEnabled', 'false', 'true')])] };
    case 'UserDeleted':
      return { targetResources: [user(event.data.userId, [prop('Deleted', 'false', 'true')])] };
    case 'UserRestored':
      return { targetResources: [user(event.data.userId, [prop('Deleted', 'true', 'false')])] };
    case 'MfaMethodRegistered':
      return {
        targetResources: [
          user(event.data.userId, [prop('StrongAuthenticationMethod', null, event.data.kind)]),
        ],
        additionalDetails: [detail('methodId', event.data.methodId)],
      };
    case 'RoleAssigned':
      return {
        targetResources: [
          user(event.data.userId, [prop('Role.DisplayName', null, roleName(event.data.role))]),
          role(event.data.role),
        ],
      };
    case 'RoleRemoved':
      return {
        targetResources: [
          user(event.data.userId, [prop('Role.DisplayName', roleName(event.data.role), null)]),
          role(event.data.role),
        ],
      };
    case 'GuestInvited': {
      const d = event.data;
      return {
        targetResources: [
          user(
            d.userId,
            [
              prop('DisplayName', null, d.displayName),
              prop('UserPrincipalName', null, d.userPrincipalName),
              prop('Mail', null, d.email),
              prop('UserType', null, 'Guest'),
              prop('ExternalUserState', null, 'PendingAcceptance'),
            ],
            { displayName: d.displayName, userPrincipalName: d.userPrincipalName },
          ),
          target(d.invitationId, 'Invitation', {}, [prop('ExpiresAt', null, d.expiresAt)]),
        ],
        additionalDetails: d.redirectUrl !== undefined ? [detail('redirectUrl', d.redirectUrl)] : [],
      };
    }
    case 'InvitationResent':
      return {
        targetResources: [
          user(event.data.userId),
          target(event.data.invitationId, 'Invitation', {}, [prop('ExpiresAt', null, event.data.expiresAt)]),
        ],
      };
    case 'InvitationRevoked':
      return {
        targetResources: [
          user(event.data.userId),
          target(event.data.invitationId, 'Invitation', {}, [prop('Status', 'PendingAcceptance', 'Revoked')]),
        ],
      };
    case 'InvitationRedeemed':
      return {
        targetResources: [
          user(event.data.userId, [
            prop('ExternalUserState', 'PendingAcceptance', 'Accepted'),
            ...identityProps(event.data.identity),
          ]),
          target(event.data.invitationId, 'Invitation', {}, [
            prop('Status', 'PendingAcceptance', 'Accepted'),
          ]),
        ],
        additionalDetails: [detail('identityKind', event.data.identity.kind)],
      };
    case 'SubscriptionPurchased':
      return {
        targetResources: [
          target(event.data.subscriptionId, 'Subscription', { displayName: event.data.sku }, [
            prop('Sku', null, event.data.sku),
            prop('Seats', null, String(event.data.seats)),
          ]),
        ],
      };
    case 'SeatsChanged':
      return {
        targetResources: [
          target(event.data.subscriptionId, 'Subscription', { displayName: event.data.sku }, [
            prop('Seats', String(event.data.previousSeats), String(event.data.seats)),
          ]),
        ],
      };
    case 'SubscriptionCancelled':
      return {
        targetResources: [
          target(event.data.subscriptionId, 'Subscription', { displayName: event.data.sku }, [
            prop('Status', 'active', 'cancelled'),
          ]),
        ],
      };
    case 'LicenseAssigned':
      return {
        targetResources: [user(event.data.userId, [prop('AssignedLicense', null, event.data.sku)])],
        additionalDetails: [detail('subscriptionId', event.data.subscriptionId)],
      };
    case 'LicenseRemoved':
      return {
        targetResources: [user(event.data.userId, [prop('AssignedLicense', event.data.sku, null)])],
        additionalDetails: [
          detail('subscriptionId', event.data.subscriptionId),
          detail('reason', event.data.reason),
        ],
      };
  }
}

function identityProps(identity: RedeemingIdentity): ModifiedProperty[] {
  return [
    prop('RedeemedBy.Mail', null, identity.email),
    ...(identity.accountId !== undefined ? [prop('RedeemedBy.AccountId', null, identity.accountId)] : []),
  ];
}

function personalBody(event: PersonalAccountEvent): Body {
  const account = (id: string, modified: readonly ModifiedProperty[], init: TargetInit = {}) =>
    target(id, 'PersonalAccount', init, modified);
  switch (event.type) {
    case 'PersonalAccountRegistered': {
      const d = event.data;
      return {
        targetResources: [
          account(d.accountId, [prop('DisplayName', null, d.displayName), prop('Mail', null, d.email)], {
            displayName: d.displayName,
            userPrincipalName: d.email,
          }),
        ],
        additionalDetails: [detail('newMailbox', String(d.newMailbox))],
      };
    }
    case 'PersonalAccountClosed':
      return { targetResources: [account(event.data.accountId, [prop('Closed', 'false', 'true')])] };
    case 'ExternalLoginLinked':
      return {
        targetResources: [
          account(event.data.accountId, [
            prop(`ExternalLogin.${event.data.provider}`, null, event.data.subject),
          ]),
        ],
        additionalDetails: [detail('provider', event.data.provider)],
      };
    case 'ExternalLoginUnlinked':
      return {
        targetResources: [
          account(event.data.accountId, [
            prop(`ExternalLogin.${event.data.provider}`, event.data.subject, null),
          ]),
        ],
        additionalDetails: [detail('provider', event.data.provider)],
      };
  }
}

/** What a refused command was aimed at, as target resources (ids only: no personal data). */
function rejectionTargets(data: CommandRejectedData): TargetResource[] {
  const t = data.target ?? {};
  const out: TargetResource[] = [];
  if (t.userId !== undefined) out.push(user(t.userId));
  if (t.accountId !== undefined) out.push(target(t.accountId, 'PersonalAccount'));
  if (t.role !== undefined) out.push(role(t.role));
  if (t.invitationId !== undefined) out.push(target(t.invitationId, 'Invitation'));
  if (t.subscriptionId !== undefined) out.push(target(t.subscriptionId, 'Subscription'));
  if (t.sku !== undefined) out.push(target(t.sku, 'Sku', { displayName: t.sku }));
  if (t.name !== undefined) out.push(target(t.name, 'Domain', { displayName: t.name }));
  return out;
}

function initiatedBy(event: RecordedEvent): InitiatedBy {
  return {
    ...(event.actor.userId !== undefined ? { user: { id: event.actor.userId } } : {}),
    app: { appId: event.actor.appId },
  };
}

const isAudited = (type: string): type is AuditedEventType => Object.hasOwn(ACTIVITIES, type);

/**
 * The audit record draft of one event, or undefined for internal bookkeeping events and event
 * types this version does not know (a newer writer's event: skipped, never guessed at).
 */
export function toAuditRecordDraft(event: RecordedEvent): AuditRecordDraft | undefined {
  if (INTERNAL_EVENT_TYPES.has(event.type) || !isAudited(event.type)) return undefined;
  // TenantCreated names its tenant in its data too, should an old writer have left the envelope's out.
  const createdTenant =
    event.type === 'TenantCreated' ? (event.data.tenantId as string | undefined) : undefined;
  const tenantId = event.tenantId ?? createdTenant ?? SERVICE_CHAIN;
  const common = {
    id: event.eventId,
    activityDateTime: normaliseTime(event.occurredAt),
    initiatedBy: initiatedBy(event),
    correlationId: event.correlationId,
    tenantId,
    globalPosition: event.globalPosition,
  };
  const eventDetails = [
    detail('eventType', event.type),
    detail('streamId', event.streamId),
    ...(event.causationId !== undefined ? [detail('causationId', event.causationId)] : []),
  ];

  if (event.type === 'SignInSucceeded' || event.type === 'SignInFailed') {
    return signInDraft(event, event.data as unknown as SignInRecordData, common, eventDetails);
  }

  if (event.type === 'CommandRejected') {
    const data = event.data as unknown as CommandRejectedData;
    const activityType = COMMAND_ACTIVITY[data.commandType] ?? 'CommandRejected';
    const activity = ACTIVITIES[activityType];
    return {
      ...common,
      recordType: 'directoryAudit',
      activityType,
      category: activity.category,
      activityDisplayName: activityType === 'CommandRejected' ? data.commandType : activity.displayName,
      loggedByService: activity.loggedByService,
      operationType: activity.operationType,
      result: 'failure',
      resultReason: `${data.code}: ${data.reason}`,
      targetResources: rejectionTargets(data),
      additionalDetails: [
        ...eventDetails,
        detail('commandType', data.commandType),
        detail('rejectionCode', data.code),
        detail('rejectionCategory', data.category),
      ],
    };
  }

  // Read through the domain's one conversion; internal (unaudited) types were returned above.
  const body = PERSONAL_TYPES.has(event.type)
    ? personalBody(toPersonalAccountEvent(event))
    : tenantBody(toDirectoryEvent(event) as TenantEvent, tenantId);
  const activity = ACTIVITIES[event.type];
  return {
    ...common,
    recordType: 'directoryAudit',
    activityType: event.type,
    category: activity.category,
    activityDisplayName: body.displayName ?? activity.displayName,
    loggedByService: activity.loggedByService,
    operationType: activity.operationType,
    result: 'success',
    resultReason: '',
    targetResources: body.targetResources,
    additionalDetails: [...eventDetails, ...(body.additionalDetails ?? [])],
  };
}

const PERSONAL_TYPES: ReadonlySet<string> = new Set([
  'PersonalAccountRegistered',
  'PersonalAccountClosed',
  'ExternalLoginLinked',
  'ExternalLoginUnlinked',
]);

function signInDraft(
  event: RecordedEvent,
  d: SignInRecordData,
  common: Pick<
    AuditRecordDraft,
    'id' | 'activityDateTime' | 'initiatedBy' | 'correlationId' | 'tenantId' | 'globalPosition'
  >,
  eventDetails: readonly KeyValue[],
): AuditRecordDraft {
  const succeeded = event.type === 'SignInSucceeded';
  const activity = ACTIVITIES[succeeded ? 'SignInSucceeded' : 'SignInFailed'];
  const subjectId = d.userId ?? d.personalAccountId;
  const userType = d.userType === 'Guest' ? 'guest' : d.userType === 'Member' ? 'member' : undefined;
  return {
    ...common,
    // The user signing in is the initiator; the envelope's app is the front end that reported it.
    initiatedBy: {
      ...(subjectId !== undefined ? { user: { id: subjectId, userPrincipalName: d.login } } : {}),
      app: common.initiatedBy.app,
    },
    recordType: 'signIn',
    activityType: event.type,
    category: activity.category,
    activityDisplayName: activity.displayName,
    loggedByService: activity.loggedByService,
    operationType: activity.operationType,
    result: succeeded ? 'success' : 'failure',
    resultReason: succeeded
      ? ''
      : `${d.code ?? 'denied'}${d.errorCode !== undefined ? ` (AADSTS${d.errorCode})` : ''}`,
    targetResources: [],
    additionalDetails: [
      ...eventDetails,
      detail('signInId', d.signInId),
      detail('serviceKind', d.serviceKind),
      ...(d.personalAccountId !== undefined ? [detail('personalAccountId', d.personalAccountId)] : []),
    ],
    status: succeeded
      ? { errorCode: 0 }
      : {
          ...(d.errorCode !== undefined ? { errorCode: d.errorCode } : {}),
          failureReason: d.code ?? 'denied',
        },
    ...(subjectId !== undefined ? { userId: subjectId } : {}),
    userPrincipalName: d.login,
    ...(userType !== undefined ? { userType } : {}),
    ...(d.homeTenantId !== undefined ? { homeTenantId: d.homeTenantId } : {}),
    ...(d.resourceTenantId !== undefined ? { resourceTenantId: d.resourceTenantId } : {}),
    ...(userType !== undefined
      ? { crossTenantAccessType: userType === 'guest' ? 'b2bCollaboration' : 'none' }
      : {}),
    resourceDisplayName: d.serviceKind === 'consumer' ? 'Consumer services' : 'Business services',
    ipAddress: d.ipAddress,
    userAgent: d.userAgent,
    isInteractive: true,
    mfaPerformed: d.mfaPerformed,
  };
}

/** The brief's name for it. */
export const toAuditRecord = toAuditRecordDraft;
