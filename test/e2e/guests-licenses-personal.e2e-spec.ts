// The domain beyond the directory over HTTP: guests and invitations, subscriptions and licenses
// under a 50-way race, personal accounts, and recorded refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, Harness, startHarness } from '../support/harness.js';

const auth = { Authorization: `Bearer ${ADMIN_KEY}` };

describe('guests, licenses and personal accounts over HTTP', () => {
  let h: Harness;
  let second: Harness;
  let tenantId: string;
  let adminId: string;

  beforeAll(async () => {
    h = await startHarness();
    second = await startHarness({ DATA_DIR: h.config.dataDir, DNS_SERVERS: h.config.dnsServers.join(',') });
    const res = await h
      .http()
      .post('/v1/tenants')
      .set(auth)
      .send({
        displayName: 'Contoso',
        kind: 'business',
        domainPrefix: 'contoso',
        admin: { displayName: 'Admin', userName: 'admin' },
      });
    tenantId = res.body.tenantId;
    adminId = res.body.adminUserId;
  });
  afterAll(async () => {
    await second?.close();
    await h?.close();
  });

  const asAdmin = () => ({ ...auth, 'X-Acting-User': adminId });

  describe('guests', () => {
    let invitation: {
      invitationId: string;
      guestUserId: string;
      redeemCode: string;
      guestUserPrincipalName: string;
    };

    it('invites bob@gmail.example: the guest exists at once, pending acceptance', async () => {
      const res = await h
        .http()
        .post(`/v1/tenants/${tenantId}/invitations`)
        .set(asAdmin())
        .send({ email: 'Bob@Gmail.example', displayName: 'Bob' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({
        status: 'PendingAcceptance',
        guestUserPrincipalName: 'bob_gmail.example#EXT#@contoso.onmicrosoft.com',
      });
      expect(res.body.redeemCode).toMatch(/^rc_/);
      invitation = res.body;
      const guest = await h.http().get(`/v1/tenants/${tenantId}/users/${invitation.guestUserId}`).set(auth);
      expect(guest.body).toMatchObject({
        userType: 'Guest',
        externalUserState: 'PendingAcceptance',
        mail: 'Bob@gmail.example',
      });
      const guests = await h.http().get(`/v1/tenants/${tenantId}/users?userType=Guest`).set(auth);
      expect(guests.body.value.map((u: { userId: string }) => u.userId)).toEqual([invitation.guestUserId]);
    });

    it('refuses to rename the guest, change its UPN or reset its password', async () => {
      const url = `/v1/tenants/${tenantId}/users/${invitation.guestUserId}`;
      const rename = await h.http().patch(url).set(asAdmin()).send({ displayName: 'Robert' });
      expect(rename.status).toBe(409);
      expect(rename.body.code).toBe('guest_not_manageable');
      const reset = await h.http().post(`${url}/password-resets`).set(asAdmin());
      expect(reset.body.code).toBe('guest_not_manageable');
    });

    it('refuses a wrong code, then redeems and the guest is accepted; a second redeem is refused', async () => {
      const redeem = (code: string, email = 'bob@gmail.example') =>
        h
          .http()
          .post(`/v1/invitations/${invitation.invitationId}/redeem`)
          .set(auth)
          .send({ redeemCode: code, identity: { kind: 'personal', email } });
      const wrong = await redeem('rc_' + 'A'.repeat(32));
      expect(wrong.status).toBe(409);
      expect(wrong.body.code).toBe('redeem_code_invalid');
      const ok = await redeem(invitation.redeemCode);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body).toMatchObject({ status: 'Accepted', tenantId, guestUserId: invitation.guestUserId });
      const guest = await h.http().get(`/v1/tenants/${tenantId}/users/${invitation.guestUserId}`).set(auth);
      expect(guest.body.externalUserState).toBe('Accepted');
      expect((await redeem(invitation.redeemCode)).body.code).toBe('invitation_not_pending');
    });

    it('a member cannot be invited; resend keeps the guest id; revoke stops redemption', async () => {
      const member = await h
        .http()
        .post(`/v1/tenants/${tenantId}/invitations`)
        .set(asAdmin())
        .send({ email: 'admin@contoso.onmicrosoft.com' });
      expect(member.body.code).toBe('already_member');
      const carol = await h
        .http()
        .post(`/v1/tenants/${tenantId}/invitations`)
        .set(asAdmin())
        .send({ email: 'carol@fabrikam.example' });
      const resent = await h
        .http()
        .post(`/v1/tenants/${tenantId}/invitations/${carol.body.invitationId}/resend`)
        .set(asAdmin());
      expect(resent.status).toBe(200);
      expect(resent.body.guestUserId).toBe(carol.body.guestUserId);
      expect(resent.body.redeemCode).not.toBe(carol.body.redeemCode);
      const old = await h
        .http()
        .post(`/v1/invitations/${carol.body.invitationId}/redeem`)
        .set(auth)
        .send({
          redeemCode: carol.body.redeemCode,
          identity: { kind: 'external', email: 'carol@fabrikam.example' },
        });
      expect(old.body.code).toBe('redeem_code_invalid');
      expect(
        (
          await h
            .http()
            .delete(`/v1/tenants/${tenantId}/invitations/${carol.body.invitationId}`)
            .set(asAdmin())
        ).status,
      ).toBe(204);
      const after = await h
        .http()
        .post(`/v1/invitations/${carol.body.invitationId}/redeem`)
        .set(auth)
        .send({
          redeemCode: resent.body.redeemCode,
          identity: { kind: 'external', email: 'carol@fabrikam.example' },
        });
      expect(after.body.code).toBe('invitation_not_pending');
      expect(
        (await h.http().delete(`/v1/tenants/${tenantId}/users/${carol.body.guestUserId}`).set(asAdmin()))
          .status,
      ).toBe(204);
    });

    it('an expired invitation is refused', async () => {
      const short = await startHarness({ INVITATION_TTL_HOURS: '0.0000001' });
      try {
        const t = await short
          .http()
          .post('/v1/tenants')
          .set(auth)
          .send({
            displayName: 'T',
            kind: 'business',
            domainPrefix: 'expiring',
            admin: { displayName: 'A', userName: 'a' },
          });
        const inv = await short
          .http()
          .post(`/v1/tenants/${t.body.tenantId}/invitations`)
          .set(auth)
          .set('X-Acting-User', t.body.adminUserId)
          .send({ email: 'late@example.org' });
        await new Promise((r) => setTimeout(r, 20));
        const res = await short
          .http()
          .post(`/v1/invitations/${inv.body.invitationId}/redeem`)
          .set(auth)
          .send({
            redeemCode: inv.body.redeemCode,
            identity: { kind: 'external', email: 'late@example.org' },
          });
        expect(res.body.code).toBe('invitation_expired');
      } finally {
        await short.close();
      }
    });
  });

  describe('subscriptions and licenses', () => {
    let subscriptionId: string;
    const users: string[] = [];

    it('buys 10 seats', async () => {
      const res = await h
        .http()
        .post(`/v1/tenants/${tenantId}/subscriptions`)
        .set(asAdmin())
        .send({ sku: 'ENTERPRISE_E3', seats: 10 });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ sku: 'ENTERPRISE_E3', seats: 10, assignedSeats: 0 });
      subscriptionId = res.body.subscriptionId;
      for (let i = 0; i < 50; i++) {
        const user = await h
          .http()
          .post(`/v1/tenants/${tenantId}/users`)
          .set(asAdmin())
          .send({ userPrincipalName: `seat${i}@contoso.onmicrosoft.com`, displayName: `Seat ${i}` });
        users.push(user.body.userId);
      }
    });

    it('50 concurrent assignments from two instances: exactly 10 succeed, the rest count_violation', async () => {
      const results = await Promise.all(
        users.map((userId, i) =>
          (i % 2 === 0 ? h : second)
            .http()
            .post(`/v1/tenants/${tenantId}/users/${userId}/licenses`)
            .set(asAdmin())
            .send({ sku: 'ENTERPRISE_E3' }),
        ),
      );
      const ok = results.filter((r) => r.status === 201);
      const refused = results.filter((r) => r.status === 409);
      expect(ok).toHaveLength(10);
      expect(refused).toHaveLength(40);
      expect(new Set(refused.map((r) => r.body.code))).toEqual(new Set(['count_violation']));
      const tenant = await h.http().get(`/v1/tenants/${tenantId}`).set(auth);
      expect(tenant.body.subscriptions).toEqual([
        expect.objectContaining({ subscriptionId, seats: 10, assignedSeats: 10 }),
      ]);
    });

    it('reducing seats below the assigned count gives seats_in_use', async () => {
      const res = await h
        .http()
        .patch(`/v1/tenants/${tenantId}/subscriptions/${subscriptionId}`)
        .set(asAdmin())
        .send({ seats: 5 });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('seats_in_use');
    });

    it('deleting a licensed user frees the seat through the durable reaction', async () => {
      const tenant = await h.http().get(`/v1/tenants/${tenantId}/users?limit=200`).set(auth);
      const licensed = tenant.body.value.find((u: { licenses: unknown[] }) => u.licenses.length > 0);
      const del = await h.http().delete(`/v1/tenants/${tenantId}/users/${licensed.userId}`).set(asAdmin());
      expect(del.status).toBe(204);
      const deadline = Date.now() + 5000;
      let assigned = 10;
      while (Date.now() < deadline && assigned !== 9) {
        assigned = (await h.http().get(`/v1/tenants/${tenantId}`).set(auth)).body.subscriptions[0]
          .assignedSeats;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(assigned).toBe(9);
      const user = await h.http().get(`/v1/tenants/${tenantId}/users/${licensed.userId}`).set(auth);
      expect(user.body.licenses).toEqual([]);
    });

    it('removing a license that is not assigned gives license_not_assigned', async () => {
      const res = await h
        .http()
        .delete(`/v1/tenants/${tenantId}/users/${adminId}/licenses/ENTERPRISE_E3`)
        .set(asAdmin());
      expect(res.body.code).toBe('license_not_assigned');
    });
  });

  describe('personal accounts', () => {
    it('registers with an owned address and refuses the same address in any case', async () => {
      const res = await h
        .http()
        .post('/v1/personal-accounts')
        .set(auth)
        .send({ email: 'dana@example.net', displayName: 'Dana' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ email: 'dana@example.net', state: 'active' });
      const again = await h
        .http()
        .post('/v1/personal-accounts')
        .set(auth)
        .send({ email: 'DANA@Example.NET', displayName: 'Dana' });
      expect(again.body.code).toBe('address_taken');
      const link = await h
        .http()
        .post(`/v1/personal-accounts/${res.body.accountId}/external-logins`)
        .set(auth)
        .send({ provider: 'github', subject: '583231' });
      expect(link.status).toBe(201);
      const other = await h
        .http()
        .post('/v1/personal-accounts')
        .set(auth)
        .send({ newMailbox: { localPart: 'dana.k', domain: 'outlook.com' }, displayName: 'Dana K' });
      expect(other.status).toBe(201);
      expect(other.body.email).toBe('dana.k@outlook.com');
      const taken = await h
        .http()
        .post(`/v1/personal-accounts/${other.body.accountId}/external-logins`)
        .set(auth)
        .send({ provider: 'github', subject: '583231' });
      expect(taken.body.code).toBe('external_login_taken');
    });

    it('refuses an address in a domain a tenant has verified: managed_domain', async () => {
      const added = await h
        .http()
        .post(`/v1/tenants/${tenantId}/domains`)
        .set(asAdmin())
        .send({ name: 'contoso.com' });
      h.dns.setTxt('contoso.com', [added.body.verificationRecord.value]);
      expect(
        (await h.http().post(`/v1/tenants/${tenantId}/domains/contoso.com/verify`).set(asAdmin())).status,
      ).toBe(200);
      const res = await h
        .http()
        .post('/v1/personal-accounts')
        .set(auth)
        .send({ email: 'erin@contoso.com', displayName: 'Erin' });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('managed_domain');
      const sub = await h
        .http()
        .post('/v1/personal-accounts')
        .set(auth)
        .send({ email: 'erin@eu.contoso.com', displayName: 'Erin' });
      expect(sub.body.code).toBe('managed_domain');
    });

    it('a new mailbox must be in a consumer domain', async () => {
      const res = await h
        .http()
        .post('/v1/personal-accounts')
        .set(auth)
        .send({ newMailbox: { localPart: 'x', domain: 'example.org' }, displayName: 'X' });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('not_consumer_domain');
    });

    it('closes an account', async () => {
      const res = await h
        .http()
        .post('/v1/personal-accounts')
        .set(auth)
        .send({ email: 'frank@example.net', displayName: 'Frank' });
      expect((await h.http().delete(`/v1/personal-accounts/${res.body.accountId}`).set(auth)).status).toBe(
        204,
      );
      expect((await h.http().get(`/v1/personal-accounts/${res.body.accountId}`).set(auth)).body.state).toBe(
        'closed',
      );
    });
  });

  describe('refusals are recorded without touching the aggregate', () => {
    it('a forbidden command leaves the tenant stream as it was and adds one CommandRejected', async () => {
      const plain = await h
        .http()
        .post(`/v1/tenants/${tenantId}/users`)
        .set(asAdmin())
        .send({ userPrincipalName: 'plain@contoso.onmicrosoft.com', displayName: 'Plain' });
      const before = await h.store.readStream(`tenant-${tenantId}`);
      const rejectionsBefore = await h.store.readStream(`rejections-${tenantId}`);
      const res = await h
        .http()
        .post(`/v1/tenants/${tenantId}/subscriptions`)
        .set(auth)
        .set('X-Acting-User', plain.body.userId)
        .send({ sku: 'BASIC', seats: 1 });
      expect(res.status).toBe(403);
      expect((await h.store.readStream(`tenant-${tenantId}`)).version).toBe(before.version);
      const rejections = await h.store.readStream(`rejections-${tenantId}`);
      expect(rejections.version).toBe(rejectionsBefore.version + 1);
      const last = rejections.events.at(-1)!;
      expect(last.type).toBe('CommandRejected');
      expect(last.data).toMatchObject({
        commandType: 'PurchaseSubscription',
        code: 'forbidden_role',
        category: 'forbidden',
      });
      expect(last.actor).toEqual({ appId: 'admin-portal', userId: plain.body.userId });
    });
  });

  describe('bad input on every new route: 400/415 problem+json, nothing written', () => {
    const cases: Array<[string, () => string, unknown]> = [
      ['invite: not an address', () => `/v1/tenants/${tenantId}/invitations`, { email: 'bob' }],
      [
        'invite: unknown field',
        () => `/v1/tenants/${tenantId}/invitations`,
        { email: 'b@x.example', role: 'GlobalAdministrator' },
      ],
      [
        'invite: redirect not https',
        () => `/v1/tenants/${tenantId}/invitations`,
        { email: 'b@x.example', redirectUrl: 'javascript:alert(1)' },
      ],
      [
        'invite: huge display name',
        () => `/v1/tenants/${tenantId}/invitations`,
        { email: 'b@x.example', displayName: 'x'.repeat(5000) },
      ],
      ['resend: invitation id not a UUID', () => `/v1/tenants/${tenantId}/invitations/abc/resend`, undefined],
      [
        'redeem: malformed code',
        () => `/v1/invitations/00000000-0000-4000-8000-000000000000/redeem`,
        { redeemCode: 'x', identity: { kind: 'personal', email: 'b@x.example' } },
      ],
      [
        'redeem: unknown identity kind',
        () => `/v1/invitations/00000000-0000-4000-8000-000000000000/redeem`,
        { redeemCode: 'rc_' + 'A'.repeat(32), identity: { kind: 'robot', email: 'b@x.example' } },
      ],
      [
        'redeem: identity missing',
        () => `/v1/invitations/00000000-0000-4000-8000-000000000000/redeem`,
        { redeemCode: 'rc_' + 'A'.repeat(32) },
      ],
      [
        'subscription: lower-case SKU',
        () => `/v1/tenants/${tenantId}/subscriptions`,
        { sku: 'e3', seats: 1 },
      ],
      ['subscription: zero seats', () => `/v1/tenants/${tenantId}/subscriptions`, { sku: 'E3', seats: 0 }],
      [
        'subscription: fractional seats',
        () => `/v1/tenants/${tenantId}/subscriptions`,
        { sku: 'E3', seats: 1.5 },
      ],
      [
        'subscription: seats as a string',
        () => `/v1/tenants/${tenantId}/subscriptions`,
        { sku: 'E3', seats: '10' },
      ],
      [
        'license: SKU with a pipe',
        () => `/v1/tenants/${tenantId}/users/${adminId}/licenses`,
        { sku: 'E3|X' },
      ],
      [
        'personal: both address and mailbox',
        () => '/v1/personal-accounts',
        { email: 'a@x.example', newMailbox: { localPart: 'a', domain: 'outlook.com' }, displayName: 'A' },
      ],
      ['personal: neither address nor mailbox', () => '/v1/personal-accounts', { displayName: 'A' }],
      [
        'personal: homograph domain',
        () => '/v1/personal-accounts',
        { email: 'a@c\u043entoso.com', displayName: 'A' },
      ],
      [
        'personal: mailbox local part with a space',
        () => '/v1/personal-accounts',
        { newMailbox: { localPart: 'a b', domain: 'outlook.com' }, displayName: 'A' },
      ],
      [
        'external login: provider upper-case',
        () => `/v1/personal-accounts/00000000-0000-4000-8000-000000000000/external-logins`,
        { provider: 'GitHub', subject: '1' },
      ],
      [
        'external login: subject with a newline',
        () => `/v1/personal-accounts/00000000-0000-4000-8000-000000000000/external-logins`,
        { provider: 'github', subject: 'a\nb' },
      ],
    ];

    it.each(cases.map(([name, url, body]) => ({ name, url, body })))('$name', async ({ url, body }) => {
      const head = await h.store.headPosition();
      const req = h.http().post(url()).set(asAdmin());
      const res = body === undefined ? await req : await req.send(body as object);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('validation_failed');
      expect(await h.store.headPosition()).toBe(head);
    });

    it('wrong content type on a new route', async () => {
      const head = await h.store.headPosition();
      const res = await h
        .http()
        .post('/v1/personal-accounts')
        .set(auth)
        .set('Content-Type', 'application/xml')
        .send('<a/>');
      expect(res.status).toBe(415);
      expect(await h.store.headPosition()).toBe(head);
    });
  });
});
