// One directory object (a member or a guest), folded from its own stream (`user-<userId>`): its
// names, lifecycle, MFA methods, roles, licenses and, for a guest, its invitation. Every event of
// the stream concerns the user, so the stream's length is the user resource's revision (its ETag).

import type { MfaMethodKind, RedeemingIdentity, Role } from './commands.js';
import type { DirectoryEvent, UserImage, UserType } from './events.js';

export type GuestState = 'PendingAcceptance' | 'Accepted';

export interface InvitationState {
  readonly invitationId: string;
  readonly userId: string;
  readonly status: 'PendingAcceptance' | 'Accepted' | 'Revoked';
  readonly redeemCodeHash: string;
  readonly expiresAt: string;
  readonly redirectUrl?: string;
}

export interface UserState {
  readonly userId: string;
  readonly userType: UserType;
  /** Guests only: the invited address, the invitation and its acceptance. */
  readonly guest?: {
    readonly email: string;
    readonly invitationId: string;
    readonly state: GuestState;
    readonly identity?: RedeemingIdentity;
  };
  /** Guests only: the invitation that created it. */
  readonly invitation?: InvitationState;
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly blocked: boolean;
  readonly deleted: boolean;
  readonly mfaMethods: ReadonlyArray<{ readonly methodId: string; readonly kind: MfaMethodKind }>;
  /** In the order assigned (a role removed and given again goes to the end). */
  readonly roles: readonly Role[];
  /** SKU → the subscription whose seat it takes, in the order assigned. */
  readonly licenses: ReadonlyMap<string, string>;
  /** How many events concern this user: the user resource's ETag. */
  readonly revision: number;
}

/** A user's stream folds to undefined until the user exists. */
export type UserStreamState = UserState | undefined;

export const isActive = (user: UserState): boolean => !user.blocked && !user.deleted;

function fromImage(image: UserImage): UserState {
  const { licenses, invitation, guest, ...rest } = image;
  return {
    ...rest,
    licenses: new Map(licenses.map((l) => [l.sku, l.subscriptionId])),
    ...(guest === undefined ? {} : { guest }),
    ...(invitation === undefined || guest === undefined
      ? {}
      : { invitation: { ...invitation, invitationId: guest.invitationId, userId: image.userId } }),
  };
}

/** The image of a user (what UserMigrated carries). */
export function userImage(user: UserState): UserImage {
  const { licenses, invitation, guest, ...rest } = user;
  return {
    ...rest,
    licenses: [...licenses].map(([sku, subscriptionId]) => ({ sku, subscriptionId })),
    ...(guest === undefined ? {} : { guest }),
    ...(invitation === undefined
      ? {}
      : {
          invitation: {
            status: invitation.status,
            redeemCodeHash: invitation.redeemCodeHash,
            expiresAt: invitation.expiresAt,
            ...(invitation.redirectUrl === undefined ? {} : { redirectUrl: invitation.redirectUrl }),
          },
        }),
  };
}

const created = (
  userId: string,
  userType: UserType,
  userPrincipalName: string,
  displayName: string,
): UserState => ({
  userId,
  userType,
  userPrincipalName,
  displayName,
  blocked: false,
  deleted: false,
  mfaMethods: [],
  roles: [],
  licenses: new Map(),
  revision: 1,
});

/** The user's state after one more event about it; `change` gives the fields that change. */
const next = (user: UserStreamState, change: (user: UserState) => Partial<UserState>): UserStreamState =>
  user === undefined ? undefined : { ...user, ...change(user), revision: user.revision + 1 };

const withLicense = (licenses: ReadonlyMap<string, string>, sku: string, subscriptionId?: string) => {
  const copy = new Map(licenses);
  if (subscriptionId === undefined) copy.delete(sku);
  else copy.set(sku, subscriptionId);
  return copy;
};

const withInvitation = (user: UserState, change: Partial<InvitationState>): Partial<UserState> =>
  user.invitation === undefined ? {} : { invitation: { ...user.invitation, ...change } };

export function evolveUser(user: UserStreamState, event: DirectoryEvent): UserStreamState {
  switch (event.type) {
    case 'MemberCreated': {
      const { userId, userPrincipalName, displayName } = event.data;
      return created(userId, 'Member', userPrincipalName, displayName);
    }
    case 'GuestInvited': {
      const { userId, invitationId, email, displayName, userPrincipalName, redirectUrl } = event.data;
      return {
        ...created(userId, 'Guest', userPrincipalName, displayName),
        guest: { email, invitationId, state: 'PendingAcceptance' },
        invitation: {
          invitationId,
          userId,
          status: 'PendingAcceptance',
          redeemCodeHash: event.data.redeemCodeHash,
          expiresAt: event.data.expiresAt,
          ...(redirectUrl === undefined ? {} : { redirectUrl }),
        },
      };
    }
    case 'UserMigrated':
      return fromImage(event.data.user);
    case 'InvitationResent': {
      const { redeemCodeHash, expiresAt } = event.data;
      return next(user, (u) => withInvitation(u, { redeemCodeHash, expiresAt }));
    }
    case 'InvitationRevoked':
      return next(user, (u) => withInvitation(u, { status: 'Revoked' }));
    case 'InvitationRedeemed': {
      const { identity } = event.data;
      return next(user, (u) => ({
        ...withInvitation(u, { status: 'Accepted' }),
        ...(u.guest === undefined ? {} : { guest: { ...u.guest, state: 'Accepted', identity } }),
      }));
    }
    case 'UserRenamed':
      return next(user, () => ({ displayName: event.data.displayName }));
    case 'UserPrincipalNameChanged':
      return next(user, () => ({ userPrincipalName: event.data.userPrincipalName }));
    case 'PasswordResetOrdered':
      return next(user, () => ({}));
    case 'UserBlocked':
      return next(user, () => ({ blocked: true }));
    case 'UserUnblocked':
      return next(user, () => ({ blocked: false }));
    case 'UserDeleted':
      return next(user, () => ({ deleted: true }));
    case 'UserRestored':
      return next(user, () => ({ deleted: false }));
    case 'MfaMethodRegistered': {
      const { methodId, kind } = event.data;
      return next(user, (u) => ({ mfaMethods: [...u.mfaMethods, { methodId, kind }] }));
    }
    case 'RoleAssigned': {
      const { role } = event.data;
      return next(user, (u) => ({ roles: u.roles.includes(role) ? u.roles : [...u.roles, role] }));
    }
    case 'RoleRemoved': {
      const { role } = event.data;
      return next(user, (u) => ({ roles: u.roles.filter((r) => r !== role) }));
    }
    case 'LicenseAssigned': {
      const { sku, subscriptionId } = event.data;
      return next(user, (u) => ({ licenses: withLicense(u.licenses, sku, subscriptionId) }));
    }
    case 'LicenseRemoved':
      return next(user, (u) => ({ licenses: withLicense(u.licenses, event.data.sku) }));
    default:
      // An event type of a newer version: the user is unchanged by what this version can't read.
      return user;
  }
}
