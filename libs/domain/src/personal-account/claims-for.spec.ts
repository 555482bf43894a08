import { describe, expect, it } from 'vitest';

import { fold } from '../shared/decider.js';
import { personalAccountClaimsFor } from './claims-for.js';
import { personalAccountDecider } from './decider.js';
import type { PersonalAccountEvent } from './types.js';

const ACCOUNT = 'pa-1';
const registered: PersonalAccountEvent = {
  type: 'PersonalAccountRegistered',
  data: { accountId: ACCOUNT, email: 'ann.lee@example.com', displayName: 'Ann', newMailbox: false },
};
const linked = (provider: string, subject: string): PersonalAccountEvent => ({
  type: 'ExternalLoginLinked',
  data: { accountId: ACCOUNT, provider, subject },
});
const externalLogin = (value: string) => ({
  kind: 'external_login' as const,
  value,
  ownerId: ACCOUNT,
  takenCode: 'external_login_taken',
});

describe('personalAccountClaimsFor', () => {
  const before = fold(personalAccountDecider, [registered]);

  it('claims the sign-in address for the account', () => {
    expect(personalAccountClaimsFor(registered, personalAccountDecider.initialState)).toEqual({
      claims: [
        { kind: 'address', value: 'ann.lee@example.com', ownerId: ACCOUNT, takenCode: 'address_taken' },
      ],
      releases: [],
    });
  });

  it("claims a linked login as provider:subject, keeping the subject's case", () => {
    expect(personalAccountClaimsFor(linked('github', 'OctoAnn'), before)).toEqual({
      claims: [externalLogin('github:OctoAnn')],
      releases: [],
    });
  });

  it('releases an unlinked login', () => {
    const state = fold(personalAccountDecider, [registered, linked('github', 'OctoAnn')]);
    expect(
      personalAccountClaimsFor(
        {
          type: 'ExternalLoginUnlinked',
          data: { accountId: ACCOUNT, provider: 'github', subject: 'OctoAnn' },
        },
        state,
      ),
    ).toEqual({ claims: [], releases: [externalLogin('github:OctoAnn')] });
  });

  it('releases every linked login when the account closes, and keeps the address claimed', () => {
    const state = fold(personalAccountDecider, [
      registered,
      linked('github', 'OctoAnn'),
      linked('google', 'G-1'),
    ]);
    expect(
      personalAccountClaimsFor({ type: 'PersonalAccountClosed', data: { accountId: ACCOUNT } }, state),
    ).toEqual({ claims: [], releases: [externalLogin('github:OctoAnn'), externalLogin('google:G-1')] });
  });

  it('releases nothing when an account without logins closes', () => {
    expect(
      personalAccountClaimsFor({ type: 'PersonalAccountClosed', data: { accountId: ACCOUNT } }, before),
    ).toEqual({ claims: [], releases: [] });
  });
});
