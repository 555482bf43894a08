// Sample events of every audited type (and the internal ones), with hostile values where a person
// or a client chooses the text: pipes, equals signs, backslashes, CR/LF, quotes, ']', non-ASCII
// and an emoji. Deterministic: fixed ids, times and positions, so golden files stay stable.

import type { RecordedEvent } from '#event-store';
import type { PersonalAccountEvent, SignInEvent, TenantEvent } from '#domain';

import { Chain } from '../chain.js';
import { toAuditRecordDraft, type CommandRejectedData } from '../mapping.js';
import type { AuditRecord } from '../record.js';

export const TENANT_ID = '0190a000-0000-7000-8000-000000000001';
export const ADMIN_ID = '0190a000-0000-7000-8000-0000000000a1';
export const ZOE_ID = '0190a000-0000-7000-8000-0000000000b2';
export const GUEST_ID = '0190a000-0000-7000-8000-0000000000c3';
export const PERSONAL_ID = '0190a000-0000-7000-8000-0000000000d4';
export const INVITATION_ID = '0190a000-0000-7000-8000-0000000000e5';
export const SUBSCRIPTION_ID = '0190a000-0000-7000-8000-0000000000f6';
export const APP_ID = 'admin-portal';

/** A display name no formatter may trust. */
export const HOSTILE_NAME = 'Zoë | O\'Brien = "boss" \\ back]slash\r\nsecond line 🎉';
/** A UPN-ish string with the CEF and SD specials in it. */
export const HOSTILE_UPN = 'zoe|x=y\\z]"q"@contoso.com';
export const HOSTILE_REASON = 'cannot remove the last Global Administrator | a=b \\ c\nnext';

type AllEventType =
  TenantEvent['type'] | PersonalAccountEvent['type'] | SignInEvent['type'] | 'CommandRejected';

let position = 0;
const at = (n: number): string => new Date(Date.UTC(2026, 0, 2, 9, 0, 0) + n * 1000).toISOString();
const id = (n: number): string => `0190b000-0000-7000-8000-${String(n).padStart(12, '0')}`;

function make(
  type: string,
  data: object,
  envelope: { tenantId?: string; streamId?: string; userId?: string } = {},
): RecordedEvent {
  position += 1;
  const tenantId = 'tenantId' in envelope ? envelope.tenantId : TENANT_ID;
  return {
    eventId: id(position),
    type,
    schemaVersion: 1,
    data: data as Record<string, unknown>,
    occurredAt: at(position),
    ...(tenantId !== undefined ? { tenantId } : {}),
    correlationId: `corr-${position}`,
    causationId: `cmd-${position}`,
    actor: {
      appId: APP_ID,
      ...('userId' in envelope
        ? envelope.userId !== undefined
          ? { userId: envelope.userId }
          : {}
        : { userId: ADMIN_ID }),
    },
    streamId: envelope.streamId ?? `tenant-${TENANT_ID}`,
    streamVersion: position - 1,
    globalPosition: position,
  };
}

/** `tenantId` null: a refusal aimed at no existing tenant (the service's rejection stream). */
const rejected = (data: CommandRejectedData, tenantId: string | null = TENANT_ID): RecordedEvent =>
  make('CommandRejected', data, {
    tenantId: tenantId ?? undefined,
    streamId: `rejections-${tenantId ?? 'service'}`,
  });

const signIn = (type: 'SignInSucceeded' | 'SignInFailed', data: object, tenantId?: string) =>
  make(type, data, { tenantId, streamId: `sign-in-${id(position + 1)}`, userId: undefined });

const personal = (type: string, data: object) =>
  make(type, data, { tenantId: undefined, streamId: `personal-account-${PERSONAL_ID}`, userId: undefined });

/** One sample per audited type (the record shows tsc every type is covered), in log order. */
function build(): Record<AllEventType, RecordedEvent> & { extra: RecordedEvent[] } {
  position = 0;
  const s = {
    TenantCreated: make(
      'TenantCreated',
      {
        tenantId: TENANT_ID,
        displayName: 'Contoso | Ltd = "Zoë" \\ ]\r\nEvil Corp',
        kind: 'business',
        domainPrefix: 'contoso',
        initialDomain: 'contoso.onmicrosoft.com',
      },
      { userId: undefined },
    ),
    MemberCreated: make('MemberCreated', {
      userId: ZOE_ID,
      userPrincipalName: HOSTILE_UPN,
      displayName: HOSTILE_NAME,
    }),
    DomainAdded: make('DomainAdded', { name: 'contoso.com', verificationCode: 'ms12345678' }),
    DomainVerified: make('DomainVerified', { name: 'contoso.com' }),
    PrimaryDomainChanged: make('PrimaryDomainChanged', {
      previousDomain: 'contoso.onmicrosoft.com',
      domain: 'contoso.com',
    }),
    MfaRequirementChanged: make('MfaRequirementChanged', { required: false, previousRequired: true }),
    UserRenamed: make('UserRenamed', {
      userId: ZOE_ID,
      previousDisplayName: HOSTILE_NAME,
      displayName: 'Zoë Ü. Ñandú',
    }),
    UserPrincipalNameChanged: make('UserPrincipalNameChanged', {
      userId: ZOE_ID,
      previousUserPrincipalName: HOSTILE_UPN,
      userPrincipalName: 'zoe@contoso.com',
    }),
    PasswordResetOrdered: make('PasswordResetOrdered', { userId: ZOE_ID }),
    UserBlocked: make('UserBlocked', { userId: ZOE_ID }),
    UserUnblocked: make('UserUnblocked', { userId: ZOE_ID }),
    MfaMethodRegistered: make(
      'MfaMethodRegistered',
      { userId: ZOE_ID, methodId: 'method-1', kind: 'authenticator_app' },
      { userId: ZOE_ID },
    ),
    RoleAssigned: make('RoleAssigned', { userId: ZOE_ID, role: 'GlobalAdministrator' }),
    RoleRemoved: make('RoleRemoved', { userId: ZOE_ID, role: 'UserAdministrator' }),
    GuestInvited: make('GuestInvited', {
      userId: GUEST_ID,
      invitationId: INVITATION_ID,
      email: 'bob=x|y@fabrikam.example',
      displayName: 'Bob "the guest" [ext]',
      userPrincipalName: 'bob=x|y_fabrikam.example#EXT#@contoso.onmicrosoft.com',
      redirectUrl: 'https://myapps.example/?a=1&b=2|3',
      redeemCodeHash: 'a'.repeat(64),
      expiresAt: '2026-01-09T09:00:00.000Z',
    }),
    InvitationResent: make('InvitationResent', {
      invitationId: INVITATION_ID,
      userId: GUEST_ID,
      redeemCodeHash: 'b'.repeat(64),
      expiresAt: '2026-01-10T09:00:00.000Z',
    }),
    InvitationRedeemed: make(
      'InvitationRedeemed',
      {
        invitationId: INVITATION_ID,
        userId: GUEST_ID,
        identity: { kind: 'personal', accountId: PERSONAL_ID, email: 'bob=x|y@fabrikam.example' },
      },
      { userId: undefined },
    ),
    InvitationRevoked: make('InvitationRevoked', { invitationId: INVITATION_ID, userId: GUEST_ID }),
    SubscriptionPurchased: make('SubscriptionPurchased', {
      subscriptionId: SUBSCRIPTION_ID,
      sku: 'ENTERPRISEPACK',
      seats: 5,
    }),
    SeatsChanged: make('SeatsChanged', {
      subscriptionId: SUBSCRIPTION_ID,
      sku: 'ENTERPRISEPACK',
      previousSeats: 5,
      seats: 3,
    }),
    LicenseAssigned: make('LicenseAssigned', {
      userId: ZOE_ID,
      sku: 'ENTERPRISEPACK',
      subscriptionId: SUBSCRIPTION_ID,
    }),
    LicenseRemoved: make('LicenseRemoved', {
      userId: ZOE_ID,
      sku: 'ENTERPRISEPACK',
      subscriptionId: SUBSCRIPTION_ID,
      reason: 'removed',
    }),
    SubscriptionCancelled: make('SubscriptionCancelled', {
      subscriptionId: SUBSCRIPTION_ID,
      sku: 'ENTERPRISEPACK',
    }),
    UserDeleted: make('UserDeleted', { userId: ZOE_ID }),
    UserRestored: make('UserRestored', { userId: ZOE_ID }),
    DomainRemoved: make('DomainRemoved', { name: 'contoso.com', wasVerified: true }),
    CommandRejected: rejected({
      commandType: 'RemoveRole',
      code: 'last_global_admin',
      category: 'conflict',
      reason: HOSTILE_REASON,
      streamId: `tenant-${TENANT_ID}`,
      target: { userId: ADMIN_ID, role: 'GlobalAdministrator' },
    }),
    SignInSucceeded: signIn(
      'SignInSucceeded',
      {
        signInId: id(900),
        login: 'zoe@contoso.com',
        serviceKind: 'business',
        resourceTenantId: TENANT_ID,
        homeTenantId: TENANT_ID,
        userId: ZOE_ID,
        userType: 'Member',
        mfaPerformed: true,
        ipAddress: '203.0.113.7',
        userAgent: 'Mozilla/5.0 (X11; Linux) a=b|c\\d',
      },
      TENANT_ID,
    ),
    SignInFailed: signIn(
      'SignInFailed',
      {
        signInId: id(901),
        login: 'zoe@contoso.com',
        serviceKind: 'business',
        resourceTenantId: TENANT_ID,
        homeTenantId: TENANT_ID,
        userId: ZOE_ID,
        userType: 'Member',
        mfaPerformed: false,
        ipAddress: '2001:db8::7',
        userAgent: 'curl/8.0 "quoted" ]',
        code: 'account_blocked',
        errorCode: 50057,
      },
      TENANT_ID,
    ),
    // ---- the service chain
    PersonalAccountRegistered: personal('PersonalAccountRegistered', {
      accountId: PERSONAL_ID,
      email: 'bob=x|y@fabrikam.example',
      displayName: 'Bøb \\ = | 😀',
      newMailbox: false,
    }),
    ExternalLoginLinked: personal('ExternalLoginLinked', {
      accountId: PERSONAL_ID,
      provider: 'github',
      subject: 'Octo=Cat|1',
    }),
    ExternalLoginUnlinked: personal('ExternalLoginUnlinked', {
      accountId: PERSONAL_ID,
      provider: 'github',
      subject: 'Octo=Cat|1',
    }),
    PersonalAccountClosed: personal('PersonalAccountClosed', { accountId: PERSONAL_ID }),
    extra: [] as RecordedEvent[],
  };
  s.extra = [
    // Refusals: forbidden in the tenant; an unknown-tenant one in the service chain; an unknown command.
    rejected({
      commandType: 'AssignRole',
      code: 'forbidden',
      category: 'forbidden',
      reason: 'the acting user may not assign GlobalAdministrator',
      streamId: `tenant-${TENANT_ID}`,
      target: { userId: ZOE_ID, role: 'GlobalAdministrator' },
    }),
    rejected(
      {
        commandType: 'SignUpTenant',
        code: 'domain_prefix_taken',
        category: 'conflict',
        reason: 'the prefix is taken',
        streamId: 'tenant-0190a000-0000-7000-8000-00000000ffff',
        target: {},
      },
      null,
    ),
    rejected({
      commandType: 'FutureCommand',
      code: 'unsupported',
      category: 'conflict',
      reason: 'no such command',
      streamId: `tenant-${TENANT_ID}`,
      target: {},
    }),
    rejected({
      commandType: 'AssignLicense',
      code: 'no_seats',
      category: 'conflict',
      reason: 'CountViolation',
      streamId: `tenant-${TENANT_ID}`,
      target: { userId: ZOE_ID, sku: 'ENTERPRISEPACK' },
    }),
    // A consumer sign-in of an unknown account: service chain, no user id, no AADSTS user.
    signIn('SignInFailed', {
      signInId: id(902),
      login: 'nobody@outlook.example',
      serviceKind: 'consumer',
      mfaPerformed: false,
      ipAddress: 'not-an-ip',
      userAgent: '',
      code: 'unknown_account',
      errorCode: 50034,
    }),
    // A guest signing in with a pending invitation: no AADSTS number.
    signIn(
      'SignInFailed',
      {
        signInId: id(903),
        login: 'bob=x|y@fabrikam.example',
        serviceKind: 'business',
        resourceTenantId: TENANT_ID,
        userId: GUEST_ID,
        personalAccountId: PERSONAL_ID,
        userType: 'Guest',
        mfaPerformed: false,
        ipAddress: '198.51.100.9',
        userAgent: 'Edge',
        code: 'guest_pending',
      },
      TENANT_ID,
    ),
    // Internal bookkeeping: no record.
    make(
      'UniquenessClaimed',
      { kind: 'upn', ownerId: ZOE_ID },
      { tenantId: undefined, streamId: 'claim-abc' },
    ),
    make(
      'UniquenessReleased',
      { kind: 'upn', ownerId: ZOE_ID },
      { tenantId: undefined, streamId: 'claim-abc' },
    ),
    make('ClaimHashKeyCreated', { keyId: 'k1' }, { tenantId: undefined, streamId: 'claim-hash-key' }),
  ];
  return s;
}

/** Every audited event type with its sample. */
export function samplesByType(): Record<AllEventType, RecordedEvent> {
  const { extra: _extra, ...byType } = build();
  return byType;
}

/** All sample events in global order (positions 1..n), including internal ones. */
export function sampleLog(): RecordedEvent[] {
  const { extra, ...byType } = build();
  return [...Object.values(byType), ...extra].sort((a, b) => a.globalPosition - b.globalPosition);
}

export const INTERNAL_SAMPLE_TYPES = [
  'UniquenessClaimed',
  'UniquenessReleased',
  'ClaimHashKeyCreated',
] as const;

/** The sample log mapped and chained, in global order (both chains interleaved). */
export function sampleRecords(): AuditRecord[] {
  const chain = new Chain();
  return sampleLog()
    .map(toAuditRecordDraft)
    .filter((d) => d !== undefined)
    .map((d) => chain.append(d));
}
