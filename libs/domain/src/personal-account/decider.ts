// The rules of one personal account: self-service sign-up with an owned address or a new mailbox in
// a consumer domain, closing, and linking external logins (the article: "Link your GitHub account
// and Microsoft account"). Uniqueness of the address and of an external login across accounts is
// not decided here but by claim streams (./claims-for.ts): one account's state can't see another's.

import {
  reject,
  type DecideContext,
  type Decider,
  type Decision,
  type Rejection,
} from '../shared/decider.js';
import {
  normaliseDisplayName,
  normaliseDomainName,
  parseUserPrincipalName,
  upnKey,
  type NameResult,
} from '../shared/names.js';
import type {
  ClosePersonalAccount,
  LinkExternalLogin,
  PersonalAccountCommand,
  PersonalAccountEvent,
  PersonalAccountState,
  RegisterPersonalAccount,
  UnlinkExternalLogin,
} from './types.js';

type Events = Decision<PersonalAccountEvent>;

const NOTHING: readonly PersonalAccountEvent[] = [];

export const initialPersonalAccountState: PersonalAccountState = {
  exists: false,
  accountId: '',
  email: '',
  displayName: '',
  closed: false,
  externalLogins: new Map(),
};

// Tested on the raw input before lower-casing: 'K' (U+212A KELVIN SIGN) lower-cases to ASCII 'k'.
const PROVIDER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
// OpenID Connect: a subject is at most 255 ASCII characters.
const SUBJECT = /^[\x20-\x7E]{1,255}$/;

/** An external login's provider as stored and compared (`GitHub` → `github`). */
export function normaliseExternalLoginProvider(input: string): NameResult<string> {
  if (!PROVIDER.test(input)) return { ok: false, reason: 'invalid_provider' };
  return { ok: true, value: input.toLowerCase() };
}

/** A subject is the provider's id for the person: kept exactly as sent, case included. */
export function validateExternalLoginSubject(input: string): NameResult<string> {
  if (!SUBJECT.test(input)) return { ok: false, reason: 'invalid_subject' };
  return { ok: true, value: input };
}

const accountNotFound = (): Rejection =>
  reject('not_found', 'The personal account does not exist', 'not_found');
const accountClosed = (): Rejection => reject('account_closed', 'The personal account is closed');
// Messages name no address, provider or subject: personal data stays in named fields.
const invalidEmail = (reason: string): Rejection =>
  reject('invalid_email', `The e-mail address is not valid (${reason})`);
const invalidExternalLogin = (reason: string): Rejection =>
  reject('invalid_external_login', `The external login is not valid (${reason})`);

function decide(
  command: PersonalAccountCommand,
  state: PersonalAccountState,
  context: DecideContext,
): Events {
  switch (command.type) {
    case 'RegisterPersonalAccount':
      return register(command, state, context);
    case 'ClosePersonalAccount':
      return close(command, state);
    case 'LinkExternalLogin':
      return link(command, state);
    case 'UnlinkExternalLogin':
      return unlink(command, state);
    default:
      return unreachable(command);
  }
}

function unreachable(command: never): never {
  throw new Error(`Unhandled personal account command ${(command as PersonalAccountCommand).type}`);
}

/** The sign-in address of a registration, or why it is refused. */
function signInAddress(command: RegisterPersonalAccount, context: DecideContext): Rejection | string {
  const { email, newMailbox, domainManaged } = command.data;
  if (newMailbox !== undefined) {
    // Exactly a configured consumer domain: a sub-domain of one is not a mailbox the service hands out.
    const domain = normaliseDomainName(newMailbox.domain);
    if (!domain.ok || !context.config.consumerDomains.includes(domain.value)) {
      return reject('not_consumer_domain', 'A new mailbox must be in one of the consumer domains');
    }
    const address = parseUserPrincipalName(`${newMailbox.localPart}@${domain.value}`);
    if (!address.ok) return invalidEmail(address.reason);
    return upnKey(address.value.upn);
  }
  const address = parseUserPrincipalName(email ?? '');
  if (!address.ok) return invalidEmail(address.reason);
  // A verified domain belongs to a tenant: its addresses are work accounts (the article: "there's
  // no synchronization" between the realms). An owned address in a consumer domain is fine: that
  // it is free is the address claim's question.
  if (domainManaged) {
    return reject(
      'managed_domain',
      "The address's domain is managed by an organisation; sign in with the work account instead",
    );
  }
  return upnKey(address.value.upn);
}

function register(
  command: RegisterPersonalAccount,
  state: PersonalAccountState,
  context: DecideContext,
): Events {
  if (state.exists) return reject('account_exists', 'The personal account already exists');
  const { accountId, email, newMailbox } = command.data;
  if ((email === undefined) === (newMailbox === undefined)) {
    return reject(
      'invalid_registration',
      'A registration has either an owned e-mail address or a new mailbox, not both and not neither',
    );
  }
  const displayName = normaliseDisplayName(command.data.displayName);
  if (!displayName.ok) {
    return reject('invalid_display_name', `The display name is not valid (${displayName.reason})`);
  }
  const address = signInAddress(command, context);
  if (typeof address !== 'string') return address;
  return [
    {
      type: 'PersonalAccountRegistered',
      data: {
        accountId,
        email: address,
        displayName: displayName.value,
        newMailbox: newMailbox !== undefined,
      },
    },
  ];
}

function close(_command: ClosePersonalAccount, state: PersonalAccountState): Events {
  if (!state.exists) return accountNotFound();
  if (state.closed) return NOTHING;
  return [{ type: 'PersonalAccountClosed', data: { accountId: state.accountId } }];
}

function link(command: LinkExternalLogin, state: PersonalAccountState): Events {
  if (!state.exists) return accountNotFound();
  if (state.closed) return accountClosed();
  const provider = normaliseExternalLoginProvider(command.data.provider);
  if (!provider.ok) return invalidExternalLogin(provider.reason);
  const subject = validateExternalLoginSubject(command.data.subject);
  if (!subject.ok) return invalidExternalLogin(subject.reason);
  const linked = state.externalLogins.get(provider.value);
  if (linked === subject.value) return NOTHING;
  // One login per provider and account: a second one would make "which GitHub account is mine?"
  // ambiguous; unlink the first to switch.
  if (linked !== undefined) {
    return reject(
      'external_login_taken',
      'Another login of this provider is linked to the account; unlink it first',
    );
  }
  return [
    {
      type: 'ExternalLoginLinked',
      data: { accountId: state.accountId, provider: provider.value, subject: subject.value },
    },
  ];
}

function unlink(command: UnlinkExternalLogin, state: PersonalAccountState): Events {
  if (!state.exists) return accountNotFound();
  // Closing gave every login back already.
  if (state.closed) return accountClosed();
  const provider = normaliseExternalLoginProvider(command.data.provider);
  if (!provider.ok) return invalidExternalLogin(provider.reason);
  const subject = state.externalLogins.get(provider.value);
  if (subject === undefined) {
    return reject('external_login_not_linked', 'No login of this provider is linked to the account');
  }
  return [
    {
      type: 'ExternalLoginUnlinked',
      data: { accountId: state.accountId, provider: provider.value, subject },
    },
  ];
}

// ---------------------------------------------------------------- evolve

const withLogins = (
  state: PersonalAccountState,
  change: (logins: Map<string, string>) => void,
): PersonalAccountState => {
  const externalLogins = new Map(state.externalLogins);
  change(externalLogins);
  return { ...state, externalLogins };
};

function evolve(state: PersonalAccountState, event: PersonalAccountEvent): PersonalAccountState {
  switch (event.type) {
    case 'PersonalAccountRegistered': {
      const { accountId, email, displayName } = event.data;
      return { ...state, exists: true, accountId, email, displayName };
    }
    case 'PersonalAccountClosed':
      // Its external logins' claims are released with it (./claims-for.ts), so they are unlinked.
      return { ...state, closed: true, externalLogins: new Map() };
    case 'ExternalLoginLinked': {
      const { provider, subject } = event.data;
      return withLogins(state, (logins) => logins.set(provider, subject));
    }
    case 'ExternalLoginUnlinked': {
      const { provider } = event.data;
      return withLogins(state, (logins) => logins.delete(provider));
    }
    default:
      // A reader that meets an event type it doesn't know (written by a newer version) keeps going.
      return state;
  }
}

export const personalAccountDecider: Decider<
  PersonalAccountCommand,
  PersonalAccountState,
  PersonalAccountEvent
> = {
  initialState: initialPersonalAccountState,
  decide,
  evolve,
};
