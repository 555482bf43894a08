import { describe, expect, it } from 'vitest';

import { ACTIVITIES, COMMAND_ACTIVITY, toAuditRecordDraft } from './mapping.js';
import { SERVICE_CHAIN } from './record.js';
import {
  ADMIN_ID,
  APP_ID,
  GUEST_ID,
  HOSTILE_NAME,
  HOSTILE_REASON,
  HOSTILE_UPN,
  INTERNAL_SAMPLE_TYPES,
  PERSONAL_ID,
  TENANT_ID,
  ZOE_ID,
  sampleLog,
  samplesByType,
} from './testing/samples.js';

const byType = samplesByType();
const draftOf = (type: keyof typeof byType) => {
  const draft = toAuditRecordDraft(byType[type]);
  expect(draft).toBeDefined();
  return draft!;
};

describe('toAuditRecordDraft', () => {
  it('has an activity for exactly the audited event types (the samples cover every type)', () => {
    expect(Object.keys(ACTIVITIES).sort()).toEqual(Object.keys(byType).sort());
  });

  it.each(Object.entries(byType))('maps %s', (type, event) => {
    const draft = toAuditRecordDraft(event);
    expect(draft).toBeDefined();
    expect(draft!.id).toBe(event.eventId);
    expect(draft!.globalPosition).toBe(event.globalPosition);
    expect(draft!.correlationId).toBe(event.correlationId);
    expect(draft!.activityDateTime).toBe(event.occurredAt);
    expect(draft!.tenantId).toBe(event.tenantId ?? SERVICE_CHAIN);
    expect(draft!.initiatedBy.app.appId).toBe(APP_ID);
    expect(draft!.activityDisplayName).not.toBe('');
    expect(draft!.additionalDetails).toContainEqual({ key: 'eventType', value: type });
    if (type !== 'CommandRejected' && type !== 'SignInFailed') expect(draft!.result).toBe('success');
    if (draft!.recordType === 'directoryAudit') expect(draft!.targetResources.length).toBeGreaterThan(0);
  });

  it('names every command that can be refused after an audited activity', () => {
    for (const eventType of Object.values(COMMAND_ACTIVITY)) expect(ACTIVITIES[eventType]).toBeDefined();
  });

  it.each(INTERNAL_SAMPLE_TYPES)('gives no record for the internal %s', (type) => {
    const event = sampleLog().find((e) => e.type === type)!;
    expect(toAuditRecordDraft(event)).toBeUndefined();
  });

  it('skips an event type it does not know', () => {
    expect(toAuditRecordDraft({ ...byType.UserBlocked, type: 'SomethingNew' })).toBeUndefined();
  });

  it('maps a member creation like Entra\'s "Add user", personal data in named fields only', () => {
    const draft = draftOf('MemberCreated');
    expect(draft).toMatchObject({
      recordType: 'directoryAudit',
      activityType: 'MemberCreated',
      category: 'UserManagement',
      activityDisplayName: 'Add user',
      loggedByService: 'Core Directory',
      operationType: 'Add',
      result: 'success',
      resultReason: '',
      initiatedBy: { user: { id: ADMIN_ID }, app: { appId: APP_ID } },
      targetResources: [
        {
          id: ZOE_ID,
          type: 'User',
          displayName: HOSTILE_NAME,
          userPrincipalName: HOSTILE_UPN,
          modifiedProperties: [
            { displayName: 'DisplayName', oldValue: null, newValue: HOSTILE_NAME },
            { displayName: 'UserPrincipalName', oldValue: null, newValue: HOSTILE_UPN },
            { displayName: 'UserType', oldValue: null, newValue: 'Member' },
          ],
        },
      ],
    });
    expect(draft.activityDisplayName + draft.resultReason + draft.id).not.toContain('Zoë');
  });

  it('records old and new values of an update', () => {
    expect(draftOf('UserRenamed').targetResources[0]!.modifiedProperties).toEqual([
      { displayName: 'DisplayName', oldValue: HOSTILE_NAME, newValue: 'Zoë Ü. Ñandú' },
    ]);
    expect(draftOf('SeatsChanged').targetResources[0]!.modifiedProperties).toEqual([
      { displayName: 'Seats', oldValue: '5', newValue: '3' },
    ]);
  });

  it.each([
    ['TenantCreated', 'Create company', 'DirectoryManagement'],
    ['DomainAdded', 'Add unverified domain', 'DirectoryManagement'],
    ['DomainVerified', 'Verify domain', 'DirectoryManagement'],
    ['PrimaryDomainChanged', 'Set domain as primary', 'DirectoryManagement'],
    ['DomainRemoved', 'Remove verified domain', 'DirectoryManagement'],
    ['MfaRequirementChanged', 'Update policy', 'Policy'],
    ['PasswordResetOrdered', 'Reset user password', 'UserManagement'],
    ['UserBlocked', 'Disable account', 'UserManagement'],
    ['UserUnblocked', 'Enable account', 'UserManagement'],
    ['UserDeleted', 'Delete user', 'UserManagement'],
    ['UserRestored', 'Restore user', 'UserManagement'],
    ['MfaMethodRegistered', 'Register security info', 'UserManagement'],
    ['RoleAssigned', 'Add member to role', 'RoleManagement'],
    ['RoleRemoved', 'Remove member from role', 'RoleManagement'],
    ['GuestInvited', 'Invite external user', 'UserManagement'],
    ['InvitationRedeemed', 'Redeem external user invite', 'UserManagement'],
    ['SubscriptionPurchased', 'Add subscription', 'DirectoryManagement'],
    ['LicenseAssigned', 'Change user license', 'UserManagement'],
    ['LicenseRemoved', 'Change user license', 'UserManagement'],
  ] as const)('%s is "%s" in %s', (type, name, category) => {
    expect(draftOf(type)).toMatchObject({ activityDisplayName: name, category });
  });

  it('chains a TenantCreated by the tenant id in its data when the envelope lacks one', () => {
    const { tenantId: _t, ...envelope } = byType.TenantCreated;
    expect(toAuditRecordDraft(envelope)!.tenantId).toBe(TENANT_ID);
  });

  it('names an unverified domain removal apart from a verified one', () => {
    const event = { ...byType.DomainRemoved, data: { name: 'x.example', wasVerified: false } };
    expect(toAuditRecordDraft(event)!.activityDisplayName).toBe('Remove unverified domain');
  });

  it('puts role assignments on the user and the role', () => {
    expect(draftOf('RoleAssigned').targetResources).toEqual([
      {
        id: ZOE_ID,
        type: 'User',
        modifiedProperties: [
          { displayName: 'Role.DisplayName', oldValue: null, newValue: 'Global Administrator' },
        ],
      },
      {
        id: 'GlobalAdministrator',
        type: 'Role',
        displayName: 'Global Administrator',
        modifiedProperties: [],
      },
    ]);
  });

  it('logs guest invitations under "Invited Users"', () => {
    const draft = draftOf('GuestInvited');
    expect(draft.loggedByService).toBe('Invited Users');
    expect(draft.targetResources.map((t) => t.id)).toEqual([GUEST_ID, expect.any(String)]);
  });

  describe('CommandRejected', () => {
    it('is the refused activity with result failure and reason = code + reason', () => {
      expect(draftOf('CommandRejected')).toMatchObject({
        recordType: 'directoryAudit',
        activityType: 'RoleRemoved',
        activityDisplayName: 'Remove member from role',
        category: 'RoleManagement',
        operationType: 'Unassign',
        result: 'failure',
        resultReason: `last_global_admin: ${HOSTILE_REASON}`,
        tenantId: TENANT_ID,
        targetResources: [
          { id: ADMIN_ID, type: 'User', modifiedProperties: [] },
          {
            id: 'GlobalAdministrator',
            type: 'Role',
            displayName: 'Global Administrator',
            modifiedProperties: [],
          },
        ],
      });
      expect(draftOf('CommandRejected').additionalDetails).toEqual(
        expect.arrayContaining([
          { key: 'commandType', value: 'RemoveRole' },
          { key: 'rejectionCode', value: 'last_global_admin' },
          { key: 'rejectionCategory', value: 'conflict' },
        ]),
      );
    });

    it('goes to the service chain when it was aimed at no existing tenant', () => {
      const event = sampleLog().find(
        (e) =>
          e.type === 'CommandRejected' && (e.data as { commandType: string }).commandType === 'SignUpTenant',
      )!;
      expect(toAuditRecordDraft(event)).toMatchObject({
        tenantId: SERVICE_CHAIN,
        activityType: 'TenantCreated',
        activityDisplayName: 'Create company',
        result: 'failure',
        targetResources: [],
      });
    });

    it('keeps an unknown command under its own name', () => {
      const event = sampleLog().find(
        (e) =>
          e.type === 'CommandRejected' && (e.data as { commandType: string }).commandType === 'FutureCommand',
      )!;
      expect(toAuditRecordDraft(event)).toMatchObject({
        activityType: 'CommandRejected',
        activityDisplayName: 'FutureCommand',
        category: 'Other',
        result: 'failure',
      });
    });
  });

  describe('sign-ins', () => {
    it('maps a success to a signIn record of the resource tenant', () => {
      expect(draftOf('SignInSucceeded')).toMatchObject({
        recordType: 'signIn',
        activityDisplayName: 'Sign-in activity',
        category: 'SignInLogs',
        result: 'success',
        resultReason: '',
        status: { errorCode: 0 },
        tenantId: TENANT_ID,
        userId: ZOE_ID,
        userPrincipalName: 'zoe@contoso.com',
        userType: 'member',
        crossTenantAccessType: 'none',
        homeTenantId: TENANT_ID,
        resourceTenantId: TENANT_ID,
        resourceDisplayName: 'Business services',
        ipAddress: '203.0.113.7',
        isInteractive: true,
        mfaPerformed: true,
        initiatedBy: { user: { id: ZOE_ID, userPrincipalName: 'zoe@contoso.com' }, app: { appId: APP_ID } },
        targetResources: [],
      });
    });

    it('maps a failure with its AADSTS code', () => {
      expect(draftOf('SignInFailed')).toMatchObject({
        recordType: 'signIn',
        result: 'failure',
        resultReason: 'account_blocked (AADSTS50057)',
        status: { errorCode: 50057, failureReason: 'account_blocked' },
      });
    });

    it('puts a consumer sign-in of an unknown account in the service chain, without a user', () => {
      const event = sampleLog().find(
        (e) => e.type === 'SignInFailed' && (e.data as { serviceKind: string }).serviceKind === 'consumer',
      )!;
      const draft = toAuditRecordDraft(event)!;
      expect(draft).toMatchObject({
        tenantId: SERVICE_CHAIN,
        status: { errorCode: 50034, failureReason: 'unknown_account' },
        resourceDisplayName: 'Consumer services',
        userPrincipalName: 'nobody@outlook.example',
      });
      expect(draft.initiatedBy.user).toBeUndefined();
      expect(draft.userId).toBeUndefined();
    });

    it('marks a guest as b2bCollaboration and keeps a failure without an AADSTS number', () => {
      const event = sampleLog().find(
        (e) => e.type === 'SignInFailed' && (e.data as { code?: string }).code === 'guest_pending',
      )!;
      const draft = toAuditRecordDraft(event)!;
      expect(draft).toMatchObject({
        userType: 'guest',
        crossTenantAccessType: 'b2bCollaboration',
        status: { failureReason: 'guest_pending' },
        resultReason: 'guest_pending',
      });
      expect(draft.status!.errorCode).toBeUndefined();
    });
  });

  it('puts personal accounts in the service chain', () => {
    for (const type of [
      'PersonalAccountRegistered',
      'PersonalAccountClosed',
      'ExternalLoginLinked',
      'ExternalLoginUnlinked',
    ] as const) {
      expect(draftOf(type)).toMatchObject({
        tenantId: SERVICE_CHAIN,
        targetResources: [{ id: PERSONAL_ID }],
      });
    }
  });
});
