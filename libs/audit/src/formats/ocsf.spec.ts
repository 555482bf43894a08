import { describe, expect, it } from 'vitest';

import { Chain } from '../chain.js';
import { toAuditRecordDraft } from '../mapping.js';
import type { AuditRecord } from '../record.js';
import { validateOcsf } from '../testing/ocsf-validator.js';
import { ADMIN_ID, APP_ID, sampleLog, sampleRecords, TENANT_ID, ZOE_ID } from '../testing/samples.js';
import { toOcsf } from './ocsf.js';

const records = sampleRecords();
const byActivity = (activityType: string, result: 'success' | 'failure' = 'success'): AuditRecord =>
  records.find((r) => r.activityType === activityType && r.result === result)!;

describe('toOcsf', () => {
  it.each(records.map((r) => [`${r.activityType} (${r.result}, #${r.globalPosition})`, r] as const))(
    'emits a valid OCSF 1.8.0 event for %s',
    (_name, record) => {
      const event = toOcsf(record);
      expect(validateOcsf(event)).toEqual([]);
      // Our own rule on top of the schema (actor is only recommended there): always say who acted.
      expect(event.actor).toBeDefined();
      expect(JSON.parse(JSON.stringify(event))).toEqual(event);
    },
  );

  it.each([
    ['TenantCreated', 3004, 1, 4],
    ['DomainAdded', 3004, 1, 99],
    ['DomainVerified', 3004, 3, 99],
    ['DomainRemoved', 3004, 4, 99],
    ['MfaRequirementChanged', 3004, 3, 5],
    ['SubscriptionPurchased', 3004, 1, 99],
    ['InvitationRevoked', 3004, 4, 99],
  ] as const)('maps %s to %i/%i on an entity of type_id %i', (type, classUid, activityId, typeId) => {
    const event = toOcsf(byActivity(type));
    expect(event).toMatchObject({
      class_uid: classUid,
      activity_id: activityId,
      type_uid: classUid * 100 + activityId,
    });
    expect(event.entity).toMatchObject({ type_id: typeId });
  });

  it.each([
    ['MemberCreated', 3001, 1],
    ['GuestInvited', 3001, 1],
    ['InvitationRedeemed', 3001, 99],
    ['UserBlocked', 3001, 5],
    ['UserUnblocked', 3001, 2],
    ['PasswordResetOrdered', 3001, 4],
    ['UserDeleted', 3001, 6],
    ['MfaMethodRegistered', 3001, 10],
    ['RoleAssigned', 3005, 1],
    ['RoleRemoved', 3005, 2],
    ['LicenseAssigned', 3005, 1],
    ['LicenseRemoved', 3005, 2],
    ['SignInSucceeded', 3002, 1],
  ] as const)('maps %s to %i/%i', (type, classUid, activityId) => {
    expect(toOcsf(byActivity(type))).toMatchObject({ class_uid: classUid, activity_id: activityId });
  });

  it('names an Other activity', () => {
    expect(toOcsf(byActivity('InvitationRedeemed'))).toMatchObject({
      activity_id: 99,
      activity_name: 'Redeem Invitation',
      type_uid: 300199,
      type_name: 'Account Change: Redeem Invitation',
    });
  });

  it('fills metadata, actor and the target user', () => {
    const record = byActivity('MemberCreated');
    expect(toOcsf(record)).toMatchObject({
      category_uid: 3,
      category_name: 'Identity & Access Management',
      class_name: 'Account Change',
      activity_name: 'Create',
      type_name: 'Account Change: Create',
      severity_id: 1,
      severity: 'Informational',
      status_id: 1,
      status: 'Success',
      time: Date.parse(record.activityDateTime),
      message: 'Add user',
      metadata: {
        version: '1.8.0',
        product: { name: 'Account Lifecycle Service', vendor_name: 'Account Lifecycle', version: '0.1.0' },
        uid: record.id,
        correlation_uid: record.correlationId,
        tenant_uid: TENANT_ID,
        log_name: 'directoryAudit',
        sequence: record.sequence,
      },
      actor: { user: { uid: ADMIN_ID }, app_name: APP_ID, app_uid: APP_ID },
      user: { uid: ZOE_ID, name: record.targetResources[0]!.userPrincipalName },
      unmapped: {
        hash: record.hash,
        previous_hash: record.previousHash,
        global_position: record.globalPosition,
      },
    });
  });

  it('rates a Global Administrator role change severity 4 and other roles 2', () => {
    expect(toOcsf(byActivity('RoleAssigned'))).toMatchObject({
      severity_id: 4,
      privileges: ['Global Administrator'],
    });
    expect(toOcsf(byActivity('RoleRemoved'))).toMatchObject({
      severity_id: 2,
      privileges: ['User Administrator'],
    });
    expect(toOcsf(byActivity('LicenseAssigned'))).toMatchObject({ privileges: ['license:ENTERPRISEPACK'] });
  });

  it('reports a refusal as the refused activity with status 2, its code and reason', () => {
    const refused = records.find((r) => r.result === 'failure' && r.activityType === 'RoleRemoved')!;
    expect(toOcsf(refused)).toMatchObject({
      class_uid: 3005,
      activity_id: 2,
      status_id: 2,
      status: 'Failure',
      status_code: 'last_global_admin',
      status_detail: refused.resultReason,
      severity_id: 4,
    });
    const forbidden = records.find((r) => r.result === 'failure' && r.activityType === 'RoleAssigned')!;
    expect(toOcsf(forbidden)).toMatchObject({ status_code: 'forbidden', severity_id: 4 });
  });

  it('falls back to Entity Management when a refusal lacks what its class requires', () => {
    const signUp = records.find((r) => r.result === 'failure' && r.activityType === 'TenantCreated')!;
    expect(toOcsf(signUp)).toMatchObject({ class_uid: 3004, activity_id: 1, entity: { type_id: 4 } });
    const noTarget = { ...byActivity('RoleAssigned', 'failure'), targetResources: [] };
    const event = toOcsf(noTarget);
    expect(event).toMatchObject({ class_uid: 3004, activity_id: 99, status_id: 2 });
    expect(validateOcsf(event)).toEqual([]);
  });

  it('maps sign-ins to Authentication with service, is_mfa and the source IP', () => {
    expect(toOcsf(byActivity('SignInSucceeded'))).toMatchObject({
      class_uid: 3002,
      activity_id: 1,
      type_uid: 300201,
      status_id: 1,
      is_mfa: true,
      user: { uid: ZOE_ID, name: 'zoe@contoso.com', type: 'Member' },
      service: { name: 'Business services', uid: TENANT_ID },
      src_endpoint: { ip: '203.0.113.7' },
      metadata: { log_name: 'signIn' },
    });
    expect(toOcsf(byActivity('SignInFailed', 'failure'))).toMatchObject({
      status_id: 2,
      status_code: '50057',
      status_detail: 'account_blocked',
      is_mfa: false,
      src_endpoint: { ip: '2001:db8::7' },
    });
  });

  it('leaves tenant_uid and an invalid IP out for the service chain', () => {
    const consumer = records.find((r) => r.recordType === 'signIn' && r.tenantId === '')!;
    const event = toOcsf(consumer);
    expect((event.metadata as Record<string, unknown>).tenant_uid).toBeUndefined();
    expect(event.src_endpoint).toBeUndefined();
    expect(event.service).toEqual({ name: 'Consumer services', uid: 'consumer' });
  });

  it('takes the product from options', () => {
    const event = toOcsf(records[0]!, {
      vendorName: 'Fabrikam',
      productName: 'ALS',
      productVersion: '2.0.0',
    });
    expect((event.metadata as Record<string, unknown>).product).toEqual({
      name: 'ALS',
      vendor_name: 'Fabrikam',
      version: '2.0.0',
    });
  });
});

describe('validateOcsf (the validator itself)', () => {
  const good = toOcsf(byActivity('RoleAssigned'));
  it.each([
    ['a missing required attribute', { ...good, time: undefined }, 'missing required time'],
    [
      'an illegal activity',
      { ...good, activity_id: 3, type_uid: 300503 },
      'activity_id 3 is not legal for class 3005',
    ],
    ['an inconsistent type_uid', { ...good, type_uid: 300502 }, 'type_uid is not class_uid*100+activity_id'],
    ['an illegal severity', { ...good, severity_id: 7 }, 'severity_id 7 is not legal'],
    ['an illegal status', { ...good, status_id: 3 }, 'status_id is not legal'],
    [
      'a wrong version',
      { ...good, metadata: { ...(good.metadata as object), version: '1.7.0' } },
      'metadata.version 1.7.0 is not 1.8.0',
    ],
    ['no product', { ...good, metadata: { version: '1.8.0' } }, 'metadata.product is required'],
    ['a missing class object', { ...good, privileges: undefined }, 'class 3005 requires privileges'],
    [
      'an attribute of another class',
      { ...good, entity: { name: 'x' } },
      'attribute entity is not defined for class 3005',
    ],
    [
      'a time in seconds as a string',
      { ...good, time: '1767344400' },
      'time is not an integer epoch in milliseconds',
    ],
    [
      'an empty actor',
      { ...good, actor: {} },
      'actor needs one of process, user, invoked_by, session, app_name, app_uid',
    ],
    ['another category', { ...good, category_uid: 6 }, 'category_uid 6 is not 3 (iam)'],
  ])('rejects %s', (_name, event, message) => {
    expect(validateOcsf(event)).toContain(message);
  });

  it('rejects a 3002 event without service or dst_endpoint, and a 3004 entity without a name', () => {
    const signIn = toOcsf(byActivity('SignInSucceeded'));
    expect(validateOcsf({ ...signIn, service: undefined })).toContain(
      'class 3002 needs service or dst_endpoint',
    );
    const entity = toOcsf(byActivity('DomainAdded'));
    expect(validateOcsf({ ...entity, entity: { type_id: 42 } })).toEqual(
      expect.arrayContaining(['entity.type_id 42 is not legal']),
    );
  });

  it('validates every sample the long way round too (fresh chain, each event once)', () => {
    const chain = new Chain();
    for (const event of sampleLog()) {
      const draft = toAuditRecordDraft(event);
      if (draft !== undefined) expect(validateOcsf(toOcsf(chain.append(draft)))).toEqual([]);
    }
  });
});
