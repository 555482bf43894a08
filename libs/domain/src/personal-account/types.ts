// Personal accounts: self-service, one stream per account (`personal-account-<accountId>`).
// Nothing is synchronised with tenants; a personal account enters a tenant only as a guest.

import type { DomainEvent } from '../shared/decider.js';

interface Cmd<T extends string, D> {
  readonly type: T;
  readonly data: D;
}

export type RegisterPersonalAccount = Cmd<
  'RegisterPersonalAccount',
  {
    readonly accountId: string;
    readonly displayName: string;
    /** Either an address the person already owns ... */
    readonly email?: string;
    /** ... or a new mailbox in one of the consumer domains. */
    readonly newMailbox?: { readonly localPart: string; readonly domain: string };
    /**
     * Context the app read before deciding: true when a tenant has verified the address's domain
     * (the app guards that claim stream, so a verification racing the sign-up is seen).
     */
    readonly domainManaged: boolean;
  }
>;
export type ClosePersonalAccount = Cmd<'ClosePersonalAccount', { readonly accountId: string }>;
export type LinkExternalLogin = Cmd<
  'LinkExternalLogin',
  { readonly accountId: string; readonly provider: string; readonly subject: string }
>;
export type UnlinkExternalLogin = Cmd<
  'UnlinkExternalLogin',
  { readonly accountId: string; readonly provider: string }
>;

export type PersonalAccountCommand =
  RegisterPersonalAccount | ClosePersonalAccount | LinkExternalLogin | UnlinkExternalLogin;

export type PersonalAccountRegistered = DomainEvent<
  'PersonalAccountRegistered',
  {
    readonly accountId: string;
    /** The normalised sign-in address (owned address, or the new mailbox address). */
    readonly email: string;
    readonly displayName: string;
    /** True when the address is a new mailbox in a consumer domain. */
    readonly newMailbox: boolean;
  }
>;
export type PersonalAccountClosed = DomainEvent<'PersonalAccountClosed', { readonly accountId: string }>;
export type ExternalLoginLinked = DomainEvent<
  'ExternalLoginLinked',
  { readonly accountId: string; readonly provider: string; readonly subject: string }
>;
export type ExternalLoginUnlinked = DomainEvent<
  'ExternalLoginUnlinked',
  { readonly accountId: string; readonly provider: string; readonly subject: string }
>;

export type PersonalAccountEvent =
  PersonalAccountRegistered | PersonalAccountClosed | ExternalLoginLinked | ExternalLoginUnlinked;

export interface PersonalAccountState {
  readonly exists: boolean;
  readonly accountId: string;
  readonly email: string;
  readonly displayName: string;
  readonly closed: boolean;
  /** provider → subject */
  readonly externalLogins: ReadonlyMap<string, string>;
}
