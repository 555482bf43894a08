import { describe, expect, it } from 'vitest';

import { fold } from '../shared/decider.js';
import { given, TEST_CONFIG } from '../testing/given.js';
import {
  initialPersonalAccountState,
  normaliseExternalLoginProvider,
  personalAccountDecider,
  validateExternalLoginSubject,
} from './decider.js';
import type { PersonalAccountCommand, PersonalAccountEvent, RegisterPersonalAccount } from './types.js';

const ACCOUNT = 'pa-1';
const account = (events: readonly PersonalAccountEvent[]) => given(personalAccountDecider, events);

const registered = (email = 'ann@example.com', newMailbox = false): PersonalAccountEvent => ({
  type: 'PersonalAccountRegistered',
  data: { accountId: ACCOUNT, email, displayName: 'Ann', newMailbox },
});
const closed: PersonalAccountEvent = { type: 'PersonalAccountClosed', data: { accountId: ACCOUNT } };
const linked = (provider = 'github', subject = 'OctoAnn-42'): PersonalAccountEvent => ({
  type: 'ExternalLoginLinked',
  data: { accountId: ACCOUNT, provider, subject },
});
const unlinked = (provider = 'github', subject = 'OctoAnn-42'): PersonalAccountEvent => ({
  type: 'ExternalLoginUnlinked',
  data: { accountId: ACCOUNT, provider, subject },
});

const register = (data: Partial<RegisterPersonalAccount['data']> = {}): PersonalAccountCommand => ({
  type: 'RegisterPersonalAccount',
  data: { accountId: ACCOUNT, displayName: ' Ann ', domainManaged: false, ...data },
});
const link = (provider: string, subject: string): PersonalAccountCommand => ({
  type: 'LinkExternalLogin',
  data: { accountId: ACCOUNT, provider, subject },
});
const unlink = (provider: string): PersonalAccountCommand => ({
  type: 'UnlinkExternalLogin',
  data: { accountId: ACCOUNT, provider },
});
const close: PersonalAccountCommand = { type: 'ClosePersonalAccount', data: { accountId: ACCOUNT } };

describe('RegisterPersonalAccount', () => {
  it('registers an owned address, normalised and lower case', () => {
    const state = account([])
      .when(register({ email: ' Ann.Lee@Example.COM. ' }))
      .then([registered('ann.lee@example.com')]);
    expect(state).toEqual({
      exists: true,
      accountId: ACCOUNT,
      email: 'ann.lee@example.com',
      displayName: 'Ann',
      closed: false,
      externalLogins: new Map(),
    });
  });

  it("registers an owned address in a consumer domain: whether it is free is the claim's question", () => {
    account([])
      .when(register({ email: 'someone@outlook.com' }))
      .then([registered('someone@outlook.com')]);
  });

  it('registers an owned IDN address in punycode', () => {
    account([])
      .when(register({ email: 'anna@bücher.example' }))
      .then([registered('anna@xn--bcher-kva.example')]);
  });

  it('registers a new mailbox in a consumer domain', () => {
    account([])
      .when(register({ newMailbox: { localPart: 'Ann.Lee', domain: 'Outlook.com' } }))
      .then([registered('ann.lee@outlook.com', true)]);
  });

  it('uses the configured consumer domains', () => {
    account([])
      .when(register({ newMailbox: { localPart: 'ann', domain: 'mail.example' } }), {
        config: { ...TEST_CONFIG, consumerDomains: ['mail.example'] },
      })
      .then([registered('ann@mail.example', true)]);
  });

  it('refuses an account that exists with account_exists', () => {
    account([registered()])
      .when(register({ email: 'ann@example.com' }))
      .thenRejects('account_exists', 'conflict');
  });

  it.each<[string, Partial<RegisterPersonalAccount['data']>]>([
    ['neither an address nor a mailbox', {}],
    [
      'both an address and a mailbox',
      { email: 'ann@example.com', newMailbox: { localPart: 'ann', domain: 'outlook.com' } },
    ],
  ])('refuses %s with invalid_registration', (_, data) => {
    account([]).when(register(data)).thenRejects('invalid_registration', 'conflict');
  });

  it.each(['', '  ', 'Ann\u0007', 'a'.repeat(257)])('refuses the display name %j', (displayName) => {
    account([])
      .when(register({ email: 'ann@example.com', displayName }))
      .thenRejects('invalid_display_name');
  });

  it.each([
    '',
    'ann',
    'ann@',
    'an n@example.com',
    'ann@example',
    `bob_example.com#EXT#@contoso.onmicrosoft.com`,
  ])('refuses the address %j with invalid_email', (email) => {
    account([]).when(register({ email })).thenRejects('invalid_email', 'conflict');
  });

  it.each(['', '.ann', 'an n', 'ann@x', 'a'.repeat(65)])(
    'refuses the mailbox name %j with invalid_email',
    (localPart) => {
      account([])
        .when(register({ newMailbox: { localPart, domain: 'outlook.com' } }))
        .thenRejects('invalid_email');
    },
  );

  it.each(['example.com', 'eu.outlook.com', 'outlook', ''])(
    'refuses a new mailbox in %j, not exactly a consumer domain, with not_consumer_domain',
    (domain) => {
      account([])
        .when(register({ newMailbox: { localPart: 'ann', domain } }))
        .thenRejects('not_consumer_domain', 'conflict');
    },
  );

  it("refuses an owned address in a tenant's verified domain with managed_domain", () => {
    const rejection = account([])
      .when(register({ email: 'ann@contoso.com', domainManaged: true }))
      .thenRejects('managed_domain', 'conflict');
    expect(rejection.message).not.toContain('contoso');
  });
});

describe('ClosePersonalAccount', () => {
  it('closes the account and gives back its external logins', () => {
    const state = account([registered(), linked()]).when(close).then([closed]);
    expect(state.closed).toBe(true);
    expect(state.externalLogins.size).toBe(0);
    expect(state.email).toBe('ann@example.com');
  });

  it('does nothing when already closed', () => {
    account([registered(), closed]).when(close).then([]);
  });

  it('refuses an account that does not exist with not_found', () => {
    account([]).when(close).thenRejects('not_found', 'not_found');
  });
});

describe('LinkExternalLogin', () => {
  it('links a login, provider lower case, subject as sent', () => {
    const state = account([registered()])
      .when(link('GitHub', 'OctoAnn-42'))
      .then([linked('github', 'OctoAnn-42')]);
    expect(state.externalLogins).toEqual(new Map([['github', 'OctoAnn-42']]));
  });

  it('links logins of several providers', () => {
    const state = account([registered(), linked()])
      .when(link('google', '1234567890'))
      .then([linked('google', '1234567890')]);
    expect([...state.externalLogins.keys()]).toEqual(['github', 'google']);
  });

  it('does nothing when the same login is linked already', () => {
    account([registered(), linked()]).when(link('GITHUB', 'OctoAnn-42')).then([]);
  });

  it('refuses another login of a provider already linked with external_login_taken', () => {
    account([registered(), linked()])
      .when(link('github', 'octoann-42'))
      .thenRejects('external_login_taken', 'conflict');
  });

  it('links another login of a provider once the first is unlinked', () => {
    account([registered(), linked(), unlinked()])
      .when(link('github', 'someone-else'))
      .then([linked('github', 'someone-else')]);
  });

  it.each([
    ['', 'x'],
    ['-github', 'x'],
    ['git hub', 'x'],
    ['g'.repeat(33), 'x'],
    ['\u212Aeycloak', 'x'],
    ['github', ''],
    ['github', 's'.repeat(256)],
    ['github', 'tab\there'],
    ['github', 'é'],
  ])('refuses provider %j with subject %j as invalid_external_login', (provider, subject) => {
    account([registered()]).when(link(provider, subject)).thenRejects('invalid_external_login', 'conflict');
  });

  it('accepts the longest provider and subject', () => {
    account([registered()])
      .when(link('g'.repeat(32), 's'.repeat(255)))
      .then([linked('g'.repeat(32), 's'.repeat(255))]);
  });

  it('refuses a closed account with account_closed', () => {
    account([registered(), closed]).when(link('github', 'x')).thenRejects('account_closed', 'conflict');
  });

  it('refuses an account that does not exist with not_found', () => {
    account([]).when(link('github', 'x')).thenRejects('not_found', 'not_found');
  });
});

describe('UnlinkExternalLogin', () => {
  it("unlinks a provider's login, recording its subject", () => {
    const state = account([registered(), linked()]).when(unlink('GitHub')).then([unlinked()]);
    expect(state.externalLogins.size).toBe(0);
  });

  it('refuses a provider not linked with external_login_not_linked', () => {
    account([registered(), linked()])
      .when(unlink('google'))
      .thenRejects('external_login_not_linked', 'conflict');
    account([registered(), linked(), unlinked()])
      .when(unlink('github'))
      .thenRejects('external_login_not_linked');
  });

  it('refuses an invalid provider with invalid_external_login', () => {
    account([registered()]).when(unlink('not a provider')).thenRejects('invalid_external_login');
  });

  it('refuses a closed account with account_closed: closing unlinked everything', () => {
    account([registered(), linked(), closed]).when(unlink('github')).thenRejects('account_closed');
  });

  it('refuses an account that does not exist with not_found', () => {
    account([]).when(unlink('github')).thenRejects('not_found', 'not_found');
  });
});

describe('evolve', () => {
  it('starts from an account that does not exist', () => {
    expect(personalAccountDecider.initialState).toBe(initialPersonalAccountState);
    expect(initialPersonalAccountState.exists).toBe(false);
  });

  it('never changes the state it was given', () => {
    const before = fold(personalAccountDecider, [registered(), linked()]);
    const after = [unlinked(), linked('google', 'g-1')].reduce(personalAccountDecider.evolve, before);
    expect(before.externalLogins).toEqual(new Map([['github', 'OctoAnn-42']]));
    expect(after.externalLogins).toEqual(new Map([['google', 'g-1']]));
  });

  it('leaves the state as it is for an event type it does not know', () => {
    const state = fold(personalAccountDecider, [registered()]);
    const unknown = { type: 'SomethingNew', data: {} } as unknown as PersonalAccountEvent;
    expect(personalAccountDecider.evolve(state, unknown)).toBe(state);
  });
});

describe('external login names', () => {
  it('lower-cases a provider only after checking it is ASCII', () => {
    expect(normaliseExternalLoginProvider('GitHub')).toEqual({ ok: true, value: 'github' });
    expect(normaliseExternalLoginProvider('\u212A').ok).toBe(false);
  });

  it('keeps a subject exactly as sent', () => {
    expect(validateExternalLoginSubject('Ab C')).toEqual({ ok: true, value: 'Ab C' });
  });
});
