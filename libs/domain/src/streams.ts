// Every stream name of the service, in one place: which stream an aggregate's events go to, and
// which streams a reader of the global log is looking at. Values that are personal data (a UPN, an
// address, a domain) never appear in a name: those streams are named by a keyed hash the app
// computes (`digest`), so only the service can tell which value a stream is about.

export const streams = {
  /** What is tenant-wide: profile, domains, MFA policy, role holders, subscriptions. */
  tenant: (tenantId: string): string => `tenant-${tenantId}`,
  /** One directory object: a member or a guest of a tenant. */
  user: (userId: string): string => `user-${userId}`,
  /** The seats in use of one subscription. */
  seats: (subscriptionId: string): string => `seats-${subscriptionId}`,
  /** How many accounts of a tenant use one of its custom domains; `digest` names tenant and domain. */
  domainUse: (digest: string): string => `domain-use-${digest}`,
  /** Who holds a unique value (./claim). */
  claim: (kind: string, digest: string): string => `claim-${kind}-${digest}`,
  personalAccount: (accountId: string): string => `personal-account-${accountId}`,
  /** One reported sign-in attempt. */
  signIn: (signInId: string): string => `sign-in-${signInId}`,
  /** Refused commands of a tenant, or of the service when no tenant was found. */
  rejections: (tenantId: string | undefined): string => `rejections-${tenantId ?? 'service'}`,
  /** A command that must take effect once: written in the same append as its events. */
  command: (commandId: string): string => `command-${commandId}`,
  /** The key of the keyed hash that names claim and domain-use streams. */
  claimKey: 'service-claim-key',
  /** Which stream layout the store is written in (./tenant/legacy-layout.ts). */
  layout: 'service-layout',
} as const;

const TENANT = 'tenant-';
const USER = 'user-';
const SEATS = 'seats-';
const PERSONAL_ACCOUNT = 'personal-account-';

/** The directory streams the read models fold: a tenant's own, its objects', its seat ledgers. */
export type DirectoryStreamKind = 'tenant' | 'user' | 'seats';

export function directoryStreamKind(streamId: string): DirectoryStreamKind | undefined {
  if (streamId.startsWith(TENANT)) return 'tenant';
  if (streamId.startsWith(USER)) return 'user';
  if (streamId.startsWith(SEATS)) return 'seats';
  return undefined;
}

/** The tenant a tenant stream is about (undefined for any other stream). */
export const tenantIdOfStream = (streamId: string): string | undefined =>
  streamId.startsWith(TENANT) ? streamId.slice(TENANT.length) : undefined;

export const isPersonalAccountStream = (streamId: string): boolean => streamId.startsWith(PERSONAL_ACCOUNT);

/** A claim stream (./claim): its events are bookkeeping about a value, never about an object. */
export const isClaimStream = (streamId: string): boolean => streamId.startsWith('claim-');
