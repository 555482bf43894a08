// "A tenant's year": Contoso signs up in January and lives through 2025 — domains added, verified,
// made primary and removed; members created, renamed, moved, blocked, deleted and restored; roles
// granted and withdrawn; guests invited, resent, revoked and redeemed; seats bought, used up,
// extended and freed; personal accounts and their external logins; sign-ins every month, and the
// refusals an administrator meets along the way. A second tenant, Fabrikam, arrives in October.
//
// The final state (asserted by tenant-year.e2e-spec.ts after a replay):
//   Contoso: 4 domains (initial, contoso.com primary, contoso.co.uk, contoso.de unverified) of
//   which 3 verified; 46 members: 41 active, 2 blocked, 3 deleted; ENTERPRISE_E3 10 of 12 seats
//   used; ENTERPRISE_E5 cancelled; MFA required; guests: bob (personal), erin (external) and
//   lee (work_or_school, from Fabrikam) accepted, dana pending, frank's invitation revoked.
//   Personal accounts: 5 registered, jo's closed, dana linked to github and gus to google.
import type { Json, ScenarioDriver } from './scenario-driver.js';

const FIRST = [
  'Alex',
  'Adele',
  'Allan',
  'Christie',
  'Diego',
  'Emily',
  'Enrico',
  'Grady',
  'Henrietta',
  'Irvin',
];
const LAST = [
  'Wilber',
  'Vance',
  'Deyoung',
  'Cline',
  'Siciliani',
  'Braun',
  'Cattaneo',
  'Archie',
  'Mueller',
  'Sink',
];

/** Member n (1-based): a stable name. */
export const memberName = (n: number): { first: string; last: string; userName: string } => {
  const first = FIRST[(n - 1) % FIRST.length]!;
  const last = LAST[Math.floor((n - 1) / FIRST.length) % LAST.length]!;
  return { first, last, userName: `${first}.${last}`.toLowerCase() };
};

export interface TenantYearFacts {
  readonly contosoId: string;
  readonly fabrikamId: string;
  readonly adminId: string;
  /** userId of member n at index n (index 0 unused). */
  readonly members: readonly string[];
  readonly guests: Readonly<Record<'bob' | 'dana' | 'erin' | 'frank' | 'lee', string>>;
  readonly personalAccounts: Readonly<Record<'dana' | 'gus' | 'hana' | 'ivan' | 'jo', string>>;
}

export async function tenantYear(d: ScenarioDriver): Promise<TenantYearFacts> {
  const { call, dns } = d;

  // ------------------------------------------------------------------ January: sign-up and setup
  d.at('2025-01-06T09:00:00Z');
  const contoso = await call('POST', '/v1/tenants', {
    displayName: 'Contoso Ltd',
    kind: 'business',
    domainPrefix: 'contoso',
    admin: { displayName: 'Megan Bowen', userName: 'megan' },
  });
  const T = contoso.tenantId as string;
  const admin = contoso.adminUserId as string;
  const t = `/v1/tenants/${T}`;
  const as = { as: admin };
  await call('POST', `${t}/users/${admin}/mfa-methods`, { kind: 'authenticator_app' }, as);

  const addAndVerify = async (name: string, tenant = t, actor = as) => {
    const added = await call('POST', `${tenant}/domains`, { name }, actor);
    dns.setTxt(name, [added.verificationRecord.value as string]);
    await call('POST', `${tenant}/domains/${name}/verify`, undefined, actor);
  };
  d.at('2025-01-07T10:00:00Z');
  await addAndVerify('contoso.com');
  await call('PATCH', `${t}/domains/contoso.com`, { isPrimary: true }, as);
  d.at('2025-01-08T10:00:00Z');
  const e3 = await call('POST', `${t}/subscriptions`, { sku: 'ENTERPRISE_E3', seats: 10 }, as);
  const e5 = await call('POST', `${t}/subscriptions`, { sku: 'ENTERPRISE_E5', seats: 2 }, as);
  await call('POST', `${t}/users/${admin}/licenses`, { sku: 'ENTERPRISE_E5' }, as);

  const members: string[] = [''];
  const createMember = async (n: number, domain: string, actor = as) => {
    const { first, last, userName } = memberName(n);
    const created = await call(
      'POST',
      `${t}/users`,
      { userPrincipalName: `${userName}@${domain}`, displayName: `${first} ${last}` },
      actor,
    );
    members[n] = created.userId as string;
  };
  for (let n = 1; n <= 30; n++) {
    d.at(`2025-01-${String(9 + Math.floor(n / 3)).padStart(2, '0')}T08:00:00Z`);
    await createMember(n, 'contoso.com');
  }
  const m = (n: number) => members[n]!;
  await call('POST', `${t}/role-assignments`, { userId: m(1), role: 'UserAdministrator' }, as);
  await call('POST', `${t}/role-assignments`, { userId: m(2), role: 'LicenseAdministrator' }, as);
  await call('POST', `${t}/role-assignments`, { userId: m(3), role: 'GuestInviter' }, as);
  await call('POST', `${t}/role-assignments`, { userId: m(4), role: 'SecurityReader' }, as);
  await call('POST', `${t}/role-assignments`, { userId: m(8), role: 'GlobalAdministrator' }, as);
  for (let n = 1; n <= 21; n++) {
    const kind = n === 21 ? 'fido2' : n % 2 === 1 ? 'authenticator_app' : 'sms';
    await call('POST', `${t}/users/${m(n)}/mfa-methods`, { kind }, { as: m(n) });
  }
  await call('POST', `${t}/users/${m(1)}/licenses`, { sku: 'ENTERPRISE_E5' }, as);

  // The license administrator hands out E3 until it runs out.
  d.at('2025-01-27T09:00:00Z');
  for (let n = 1; n <= 10; n++)
    await call('POST', `${t}/users/${m(n)}/licenses`, { sku: 'ENTERPRISE_E3' }, { as: m(2) });
  await call('POST', `${t}/users/${m(11)}/licenses`, { sku: 'ENTERPRISE_E3' }, { as: m(2), expect: 409 });

  const signIn = async (
    login: string,
    service: 'business' | 'consumer',
    mfaPerformed: boolean,
    tenantId = T,
  ) =>
    call(
      'POST',
      '/v1/sign-ins',
      {
        login,
        service: service === 'business' ? { kind: 'business', tenantId } : { kind: 'consumer' },
        mfaPerformed,
        ipAddress: '203.0.113.7',
        userAgent: 'Mozilla/5.0 (scenario)',
      },
      { app: 'signInFrontEnd' },
    );
  const upn = (n: number, domain = 'contoso.com') => `${memberName(n).userName}@${domain}`;
  const monthlySignIns = async (month: string, members_: readonly number[], mfa: boolean) => {
    d.at(`2025-${month}-15T07:30:00Z`);
    await signIn('megan@contoso.onmicrosoft.com', 'business', true);
    for (const n of members_) await signIn(upn(n), 'business', mfa);
  };
  await monthlySignIns('01', [1, 2, 3, 4, 12], false);

  // ------------------------------------------------------------------ February: more seats
  d.at('2025-02-03T09:00:00Z');
  await call('PATCH', `${t}/subscriptions/${e3.subscriptionId}`, { seats: 12 }, as);
  await call('POST', `${t}/users/${m(11)}/licenses`, { sku: 'ENTERPRISE_E3' }, { as: m(2) });
  await call('POST', `${t}/users/${m(12)}/licenses`, { sku: 'ENTERPRISE_E3' }, { as: m(2) });
  // A user administrator may not grant Global Administrator.
  await call(
    'POST',
    `${t}/role-assignments`,
    { userId: m(9), role: 'GlobalAdministrator' },
    { as: m(1), expect: 403 },
  );
  await monthlySignIns('02', [5, 6, 7, 13, 14, 15], false);

  // ------------------------------------------------------------------ March: guests
  d.at('2025-03-03T09:00:00Z');
  const invite = (email: string, displayName: string) =>
    call('POST', `${t}/invitations`, { email, displayName }, { as: m(3) });
  const bob = await invite('bob@gmail.example', 'Bob Kelly');
  const dana = await invite('dana@example.net', 'Dana Kim');
  const erin = await invite('erin@partner.example', 'Erin Hale');
  const frank = await invite('frank@gmail.example', 'Frank Moss');
  d.at('2025-03-04T12:00:00Z');
  await call(
    'POST',
    `/v1/invitations/${bob.invitationId}/redeem`,
    { redeemCode: bob.redeemCode, identity: { kind: 'personal', email: 'bob@gmail.example' } },
    { app: 'selfService' },
  );
  d.at('2025-03-10T12:00:00Z');
  const erinAgain = await call('POST', `${t}/invitations/${erin.invitationId}/resend`, undefined, {
    as: m(3),
  });
  // The first code no longer works once a new one was sent.
  await call(
    'POST',
    `/v1/invitations/${erin.invitationId}/redeem`,
    { redeemCode: erin.redeemCode, identity: { kind: 'external', email: 'erin@partner.example' } },
    { app: 'selfService', expect: 409 },
  );
  await call(
    'POST',
    `/v1/invitations/${erin.invitationId}/redeem`,
    { redeemCode: erinAgain.redeemCode, identity: { kind: 'external', email: 'erin@partner.example' } },
    { app: 'selfService' },
  );
  d.at('2025-03-20T12:00:00Z');
  await call('DELETE', `${t}/invitations/${frank.invitationId}`, undefined, { as: m(3) });
  await monthlySignIns('03', [1, 8, 16, 17], false);
  await signIn('bob@gmail.example', 'business', false);

  // ------------------------------------------------------------------ April: the UK office
  d.at('2025-04-01T08:00:00Z');
  await addAndVerify('contoso.co.uk');
  for (let n = 31; n <= 45; n++) {
    d.at(`2025-04-${String(2 + (n - 31)).padStart(2, '0')}T08:00:00Z`);
    await createMember(n, 'contoso.co.uk', { as: m(1) });
  }
  d.at('2025-04-22T10:00:00Z');
  const renames: Record<number, string> = {
    1: 'Alex Wilber-Vance',
    2: 'Adele Vance (Finance)',
    3: 'Allan Deyoung Sr.',
    4: 'Christie Cline-Braun',
    5: 'Diego Siciliani Jr.',
  };
  for (const [n, displayName] of Object.entries(renames)) {
    await call('PATCH', `${t}/users/${m(Number(n))}`, { displayName }, { as: m(1) });
  }
  // Two UK colleagues move to headquarters.
  await call('PATCH', `${t}/users/${m(31)}`, { userPrincipalName: upn(31) }, { as: m(1) });
  await call('PATCH', `${t}/users/${m(32)}`, { userPrincipalName: upn(32) }, { as: m(1) });
  await call('POST', `${t}/users/${m(33)}/password-resets`, undefined, { as: m(1) });
  await monthlySignIns('04', [31, 32, 33, 34], false);
  await signIn(upn(31, 'contoso.co.uk'), 'business', false);

  // ------------------------------------------------------------------ May: blocks
  d.at('2025-05-05T09:00:00Z');
  for (const n of [5, 6, 7]) await call('POST', `${t}/users/${m(n)}/block`, undefined, { as: m(1) });
  d.at('2025-05-06T09:00:00Z');
  await call('POST', `${t}/users/${m(7)}/unblock`, undefined, { as: m(1) });
  await monthlySignIns('05', [5, 7, 18], false);

  // ------------------------------------------------------------------ June: leavers
  d.at('2025-06-02T09:00:00Z');
  for (const n of [10, 11, 40, 41]) await call('DELETE', `${t}/users/${m(n)}`, undefined, { as: m(1) });
  // The durable reaction frees the leavers' E3 seats; wait for it so the log order is the same every time.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const tenant = await call('GET', t);
    const used = (tenant.subscriptions as Json[]).find((s) => s.sku === 'ENTERPRISE_E3')?.assignedSeats;
    if (used === 10) break;
    if (Date.now() > deadline) throw new Error(`license release did not happen (E3 used: ${String(used)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  d.at('2025-06-09T09:00:00Z');
  await call('POST', `${t}/users/${m(11)}/restore`, undefined, { as: m(1) });
  await monthlySignIns('06', [11, 19, 20], false);
  await signIn(upn(10), 'business', false);

  // ------------------------------------------------------------------ July: a lab domain, briefly
  d.at('2025-07-01T09:00:00Z');
  const labs = await call('POST', `${t}/domains`, { name: 'contoso-labs.com' }, as);
  await call('POST', `${t}/domains/contoso-labs.com/verify`, undefined, { ...as, expect: 409 });
  dns.setTxt('contoso-labs.com', [labs.verificationRecord.value as string]);
  d.at('2025-07-02T09:00:00Z');
  await call('POST', `${t}/domains/contoso-labs.com/verify`, undefined, as);
  await call('POST', `${t}/domains`, { name: 'contoso.de' }, as);
  await call('POST', `${t}/domains`, { name: 'outlook.com' }, { ...as, expect: 409 });
  await monthlySignIns('07', [21, 22, 23], false);

  // ------------------------------------------------------------------ August: MFA for everyone
  d.at('2025-08-04T09:00:00Z');
  await call('DELETE', `${t}/domains/contoso-labs.com`, undefined, as);
  await call('PUT', `${t}/policies/mfa`, { required: true }, as);
  await monthlySignIns('08', [1, 2, 21], true);
  await signIn(upn(20), 'business', false); // mfa_required
  await signIn(upn(5), 'business', true); // account_blocked
  await signIn('nobody@contoso.com', 'business', true); // unknown_account

  // ------------------------------------------------------------------ September: personal accounts
  d.at('2025-09-01T10:00:00Z');
  const self = { app: 'selfService' as const };
  const pDana = await call(
    'POST',
    '/v1/personal-accounts',
    { email: 'dana@example.net', displayName: 'Dana Kim' },
    self,
  );
  const pGus = await call(
    'POST',
    '/v1/personal-accounts',
    { email: 'gus@example.org', displayName: 'Gus Ortiz' },
    self,
  );
  const pHana = await call(
    'POST',
    '/v1/personal-accounts',
    { newMailbox: { localPart: 'hana.k', domain: 'outlook.com' }, displayName: 'Hana K' },
    self,
  );
  const pIvan = await call(
    'POST',
    '/v1/personal-accounts',
    { newMailbox: { localPart: 'ivan.p', domain: 'hotmail.com' }, displayName: 'Ivan P' },
    self,
  );
  const pJo = await call(
    'POST',
    '/v1/personal-accounts',
    { email: 'jo@example.net', displayName: 'Jo' },
    self,
  );
  await call(
    'POST',
    '/v1/personal-accounts',
    { email: 'dana@example.net', displayName: 'Dana again' },
    { ...self, expect: 409 },
  );
  await call(
    'POST',
    '/v1/personal-accounts',
    { email: upn(12), displayName: 'Not mine' },
    { ...self, expect: 409 },
  );
  d.at('2025-09-02T10:00:00Z');
  await call(
    'POST',
    `/v1/personal-accounts/${pDana.accountId}/external-logins`,
    { provider: 'github', subject: '583231' },
    self,
  );
  await call(
    'POST',
    `/v1/personal-accounts/${pGus.accountId}/external-logins`,
    { provider: 'google', subject: '1180' },
    self,
  );
  d.at('2025-09-20T10:00:00Z');
  await call('DELETE', `/v1/personal-accounts/${pJo.accountId}`, undefined, self);
  d.at('2025-09-15T07:30:00Z');
  await signIn('dana@example.net', 'consumer', false);
  await signIn('hana.k@outlook.com', 'consumer', false);
  await signIn('jo@example.net', 'consumer', false);
  await monthlySignIns('09', [24, 25], true);

  // ------------------------------------------------------------------ October: Fabrikam
  d.at('2025-10-01T09:00:00Z');
  const fabrikam = await call('POST', '/v1/tenants', {
    displayName: 'Fabrikam School',
    kind: 'education',
    domainPrefix: 'fabrikam',
    admin: { displayName: 'Lee Gu', userName: 'lee' },
  });
  const F = fabrikam.tenantId as string;
  const fAdmin = fabrikam.adminUserId as string;
  // contoso.com is Contoso's: Fabrikam can add the name but never verify it.
  const taken = await call('POST', `/v1/tenants/${F}/domains`, { name: 'contoso.com' }, { as: fAdmin });
  dns.setTxt('contoso.com', [taken.verificationRecord.value as string]);
  await call('POST', `/v1/tenants/${F}/domains/contoso.com/verify`, undefined, { as: fAdmin, expect: 409 });
  await call('DELETE', `/v1/tenants/${F}/domains/contoso.com`, undefined, { as: fAdmin });
  await call(
    'POST',
    `/v1/tenants/${F}/users`,
    { userPrincipalName: 'pat@fabrikam.onmicrosoft.com', displayName: 'Pat Fabrikam' },
    { as: fAdmin },
  );
  d.at('2025-10-06T09:00:00Z');
  const lee = await invite('lee@fabrikam.onmicrosoft.com', 'Lee Gu (Fabrikam)');
  await call(
    'POST',
    `/v1/invitations/${lee.invitationId}/redeem`,
    {
      redeemCode: lee.redeemCode,
      identity: { kind: 'work_or_school', accountId: fAdmin, email: 'lee@fabrikam.onmicrosoft.com' },
    },
    self,
  );
  await monthlySignIns('10', [26, 27], true);
  await signIn('lee@fabrikam.onmicrosoft.com', 'business', true);
  await signIn('lee@fabrikam.onmicrosoft.com', 'business', false, F);

  // ------------------------------------------------------------------ November: licences tidied
  d.at('2025-11-03T09:00:00Z');
  await call('PATCH', `${t}/subscriptions/${e3.subscriptionId}`, { seats: 8 }, { ...as, expect: 409 });
  await call('DELETE', `${t}/users/${admin}/licenses/ENTERPRISE_E5`, undefined, { as: m(2) });
  await call('DELETE', `${t}/users/${m(1)}/licenses/ENTERPRISE_E5`, undefined, { as: m(2) });
  await call('DELETE', `${t}/subscriptions/${e5.subscriptionId}`, undefined, as);
  await monthlySignIns('11', [28, 29], true);

  // ------------------------------------------------------------------ December: roles reviewed
  d.at('2025-12-01T09:00:00Z');
  await call('DELETE', `${t}/role-assignments/GlobalAdministrator/${m(8)}`, undefined, as);
  await call('DELETE', `${t}/role-assignments/GlobalAdministrator/${admin}`, undefined, {
    ...as,
    expect: 409,
  });
  await call('DELETE', `${t}/role-assignments/SecurityReader/${m(4)}`, undefined, as);
  await monthlySignIns('12', [30, 31, 32], true);

  return {
    contosoId: T,
    fabrikamId: F,
    adminId: admin,
    members,
    guests: {
      bob: bob.guestUserId,
      dana: dana.guestUserId,
      erin: erin.guestUserId,
      frank: frank.guestUserId,
      lee: lee.guestUserId,
    },
    personalAccounts: {
      dana: pDana.accountId,
      gus: pGus.accountId,
      hana: pHana.accountId,
      ivan: pIvan.accountId,
      jo: pJo.accountId,
    },
  };
}
