// The tenant's rules: which commands on a tenant's directory are accepted, and the facts they
// record: domains, members, guests and their invitations, roles, subscriptions and licenses.
// Uniqueness across tenants (initial domain, verified domains, UPNs, invitation ids) is not decided
// here but by claim streams (../claim), because one tenant's state can't see another's.

import {
  reject,
  type DecideContext,
  type Decider,
  type Decision,
  type Rejection,
} from '../shared/decider.js';
import {
  domainOfUpn,
  isConsumerDomain,
  isSameOrSubdomain,
  normaliseDisplayName,
  normaliseDomainName,
  normaliseDomainPrefix,
  parseUserPrincipalName,
  upnKey,
} from '../shared/names.js';
import { authorise } from './authorisation.js';
import type {
  AddDomain,
  AssignLicense,
  AssignRole,
  BlockUser,
  CancelSubscription,
  ChangeSeats,
  ChangeUserPrincipalName,
  CreateMember,
  DeleteUser,
  DomainState,
  InvitationState,
  InviteGuest,
  OrderPasswordReset,
  PurchaseSubscription,
  RedeemInvitation,
  RegisterMfaMethod,
  RemoveDomain,
  RemoveLicense,
  RemoveRole,
  RenameUser,
  ResendInvitation,
  RestoreUser,
  RevokeInvitation,
  Role,
  SetMfaRequirement,
  SetPrimaryDomain,
  SignUpTenant,
  SubscriptionState,
  TenantCommand,
  TenantCommandType,
  TenantEvent,
  TenantState,
  UnblockUser,
  UserState,
  VerifyDomain,
} from './types.js';

type Events = Decision<TenantEvent>;

const NOTHING: readonly TenantEvent[] = [];
const VERIFICATION_CODE_DIGITS = 8;

export const initialTenantState: TenantState = {
  exists: false,
  tenantId: '',
  displayName: '',
  kind: 'business',
  initialDomain: '',
  primaryDomain: '',
  domains: new Map(),
  mfaRequired: false,
  users: new Map(),
  roles: new Map(),
  invitations: new Map(),
  subscriptions: new Map(),
};

const SKU = /^[A-Z0-9_]{1,64}$/;
const MIN_SEATS = 1;
const MAX_SEATS = 1_000_000;

/**
 * What an administrator of this tenant can't do to a guest: its name, UPN, password and MFA belong
 * to its home directory (the article: "you can't perform any user administration tasks on their
 * account, like renaming them or resetting their password").
 */
export const GUEST_RESTRICTED_COMMANDS: ReadonlySet<TenantCommandType> = new Set<TenantCommandType>([
  'RenameUser',
  'ChangeUserPrincipalName',
  'OrderPasswordReset',
  'RegisterMfaMethod',
]);

// ---------------------------------------------------------------- queries the app needs as well

const isActive = (user: UserState): boolean => !user.blocked && !user.deleted;

/**
 * Members who hold GlobalAdministrator and can use it (neither blocked nor deleted). A guest given
 * the role doesn't count: guests never act (./authorisation.ts), so a tenant left with only a guest
 * Global Administrator could no longer be administered.
 */
export function activeGlobalAdministrators(state: TenantState): string[] {
  const ids: string[] = [];
  for (const [userId, roles] of state.roles) {
    const user = state.users.get(userId);
    if (
      roles.has('GlobalAdministrator') &&
      user !== undefined &&
      user.userType === 'Member' &&
      isActive(user)
    ) {
      ids.push(userId);
    }
  }
  return ids;
}

/** The user of this tenant with that UPN, compared case-insensitively; deleted users included. */
export function findUserByUpn(state: TenantState, upn: string): UserState | undefined {
  const key = upnKey(upn);
  for (const user of state.users.values()) {
    if (upnKey(user.userPrincipalName) === key) return user;
  }
  return undefined;
}

/** The address as invited addresses are compared: normalised when it parses, lower case always. */
const emailKey = (email: string): string => {
  const parsed = parseUserPrincipalName(email);
  return upnKey(parsed.ok ? parsed.value.upn : email.trim());
};

/**
 * The guest of this tenant invited with that address, compared case-insensitively; deleted guests
 * excluded (a removed guest may be invited again). At most one exists: InviteGuest and RestoreUser
 * keep it so.
 */
export function findGuestByEmail(state: TenantState, email: string): UserState | undefined {
  const key = emailKey(email);
  for (const user of state.users.values()) {
    if (user.guest !== undefined && !user.deleted && upnKey(user.guest.email) === key) return user;
  }
  return undefined;
}

/**
 * The SKUs a deleted user still holds: the app's durable reaction to UserDeleted sends one
 * RemoveLicense (initiatedBy 'system', reason 'user_deleted') for each, so the seats are freed.
 * Empty for a user who is unknown or not deleted (restored in the meantime: keep their licenses).
 */
export function licensesToFree(state: TenantState, userId: string): string[] {
  const user = state.users.get(userId);
  return user?.deleted === true ? [...user.licenses] : [];
}

/** The active subscription of that SKU; at most one exists (PurchaseSubscription keeps it so). */
export function findActiveSubscription(state: TenantState, sku: string): SubscriptionState | undefined {
  for (const subscription of state.subscriptions.values()) {
    if (subscription.sku === sku && subscription.status === 'active') return subscription;
  }
  return undefined;
}

/** A domain of this tenant that accounts may use: the initial domain or a verified custom one. */
export const isUsableDomain = (state: TenantState, name: string): boolean =>
  state.domains.get(name)?.isVerified === true;

const isLastActiveGlobalAdministrator = (state: TenantState, userId: string): boolean => {
  const active = activeGlobalAdministrators(state);
  return active.length === 1 && active[0] === userId;
};

// ---------------------------------------------------------------- decide

const tenantNotFound = (): Rejection => reject('not_found', 'The tenant does not exist', 'not_found');
const userNotFound = (): Rejection =>
  reject('not_found', 'The user does not exist in this tenant', 'not_found');
const domainNotFound = (): Rejection =>
  reject('not_found', 'The domain is not a domain of this tenant', 'not_found');
const userDeleted = (): Rejection => reject('user_deleted', 'The user is deleted; restore it first');
const lastGlobalAdmin = (): Rejection =>
  reject('last_global_admin', 'The tenant must keep at least one active Global Administrator');
// Messages name no UPN or display name: personal data stays in named fields, never in free text.
const invalidUpn = (reason: string): Rejection =>
  reject('invalid_user_principal_name', `The user principal name is not valid (${reason})`);
const invalidDisplayName = (reason: string): Rejection =>
  reject('invalid_display_name', `The display name is not valid (${reason})`);

const invitationNotFound = (): Rejection =>
  reject('not_found', 'The invitation does not exist in this tenant', 'not_found');
const invitationNotPending = (status: string): Rejection =>
  reject('invitation_not_pending', `The invitation is no longer pending (${status})`);
const subscriptionNotFound = (): Rejection =>
  reject('not_found', 'The subscription does not exist in this tenant or is cancelled', 'not_found');
const invalidSeats = (): Rejection =>
  reject('invalid_seats', `Seats must be a whole number from ${MIN_SEATS} to ${MAX_SEATS}`);

function decide(command: TenantCommand, state: TenantState, context: DecideContext): Events {
  if (command.type === 'SignUpTenant') {
    // Sign-up needs no role, but the service flag must still not be accepted on it.
    const forbidden = authorise(command, state);
    if (forbidden !== undefined) return forbidden;
    if (state.exists) return reject('tenant_exists', 'The tenant already exists');
    return signUpTenant(command, context);
  }
  if (!state.exists) return tenantNotFound();
  const forbidden = authorise(command, state);
  if (forbidden !== undefined) return forbidden;
  // Before the command's own rules, so the answer for a guest is always the same clear refusal.
  if (GUEST_RESTRICTED_COMMANDS.has(command.type) && 'userId' in command.data) {
    if (state.users.get(command.data.userId)?.userType === 'Guest') {
      return reject(
        'guest_not_manageable',
        `${command.type} is not possible for a guest: its home directory manages its account`,
      );
    }
  }

  switch (command.type) {
    case 'AddDomain':
      return addDomain(command, state, context);
    case 'VerifyDomain':
      return verifyDomain(command, state);
    case 'SetPrimaryDomain':
      return setPrimaryDomain(command, state);
    case 'RemoveDomain':
      return removeDomain(command, state);
    case 'SetMfaRequirement':
      return setMfaRequirement(command, state);
    case 'CreateMember':
      return createMember(command, state, context);
    case 'RenameUser':
      return renameUser(command, state);
    case 'ChangeUserPrincipalName':
      return changeUserPrincipalName(command, state);
    case 'OrderPasswordReset':
      return orderPasswordReset(command, state);
    case 'BlockUser':
      return blockUser(command, state);
    case 'UnblockUser':
      return unblockUser(command, state);
    case 'DeleteUser':
      return deleteUser(command, state);
    case 'RestoreUser':
      return restoreUser(command, state);
    case 'RegisterMfaMethod':
      return registerMfaMethod(command, state, context);
    case 'AssignRole':
      return assignRole(command, state);
    case 'RemoveRole':
      return removeRole(command, state);
    case 'InviteGuest':
      return inviteGuest(command, state, context);
    case 'ResendInvitation':
      return resendInvitation(command, state);
    case 'RevokeInvitation':
      return revokeInvitation(command, state);
    case 'RedeemInvitation':
      return redeemInvitation(command, state, context);
    case 'PurchaseSubscription':
      return purchaseSubscription(command, state);
    case 'ChangeSeats':
      return changeSeats(command, state);
    case 'CancelSubscription':
      return cancelSubscription(command, state);
    case 'AssignLicense':
      return assignLicense(command, state);
    case 'RemoveLicense':
      return removeLicense(command, state);
    default:
      return unreachable(command);
  }
}

function unreachable(command: never): never {
  throw new Error(`Unhandled tenant command ${(command as TenantCommand).type}`);
}

function signUpTenant(command: SignUpTenant, context: DecideContext): Events {
  const { tenantId, kind, admin } = command.data;
  const prefix = normaliseDomainPrefix(command.data.domainPrefix);
  if (!prefix.ok) return reject('invalid_domain_prefix', `The domain prefix is not valid (${prefix.reason})`);
  const initialDomain = normaliseDomainName(`${prefix.value}.${context.config.initialDomainSuffix}`);
  if (!initialDomain.ok)
    return reject('invalid_domain_prefix', `The initial domain is not valid (${initialDomain.reason})`);
  const displayName = normaliseDisplayName(command.data.displayName);
  if (!displayName.ok) return invalidDisplayName(displayName.reason);
  const upn = parseUserPrincipalName(`${admin.userName}@${initialDomain.value}`);
  if (!upn.ok) return invalidUpn(upn.reason);
  const adminDisplayName = normaliseDisplayName(admin.displayName);
  if (!adminDisplayName.ok) return invalidDisplayName(adminDisplayName.reason);

  const adminUserId = context.newId();
  return [
    {
      type: 'TenantCreated',
      data: {
        tenantId,
        displayName: displayName.value,
        kind,
        domainPrefix: prefix.value,
        initialDomain: initialDomain.value,
      },
    },
    {
      type: 'MemberCreated',
      data: { userId: adminUserId, userPrincipalName: upn.value.upn, displayName: adminDisplayName.value },
    },
    { type: 'RoleAssigned', data: { userId: adminUserId, role: 'GlobalAdministrator' } },
  ];
}

/** The tenant's own entry for a domain name as sent, if the name is valid and the tenant has it. */
function findDomain(state: TenantState, rawName: string): DomainState | undefined {
  const name = normaliseDomainName(rawName);
  return name.ok ? state.domains.get(name.value) : undefined;
}

function addDomain(command: AddDomain, state: TenantState, context: DecideContext): Events {
  const name = normaliseDomainName(command.data.name);
  if (!name.ok) return reject('invalid_domain_name', `The domain name is not valid (${name.reason})`);
  if (isConsumerDomain(name.value, context.config)) {
    return reject(
      'consumer_domain',
      'A consumer domain belongs to personal accounts and can not be added to a tenant',
    );
  }
  if (isSameOrSubdomain(name.value, context.config.initialDomainSuffix)) {
    return reject(
      'reserved_domain',
      `Domains under ${context.config.initialDomainSuffix} are reserved for initial domains`,
    );
  }
  if (state.domains.has(name.value)) return reject('domain_exists', 'The tenant already has this domain');
  return [
    {
      type: 'DomainAdded',
      data: { name: name.value, verificationCode: `ms${context.randomDigits(VERIFICATION_CODE_DIGITS)}` },
    },
  ];
}

function verifyDomain(command: VerifyDomain, state: TenantState): Events {
  const domain = findDomain(state, command.data.name);
  if (domain === undefined) return domainNotFound();
  if (domain.isVerified) return NOTHING;
  // DNS answers keep the case the tenant typed; only the digits make the proof.
  const expected = `ms=${domain.verificationCode}`.toLowerCase();
  const found = command.data.txtRecords.some((record) => record.trim().toLowerCase() === expected);
  if (!found) {
    return reject(
      'verification_record_not_found',
      `No TXT record MS=${domain.verificationCode} was found for the domain`,
    );
  }
  return [{ type: 'DomainVerified', data: { name: domain.name } }];
}

function setPrimaryDomain(command: SetPrimaryDomain, state: TenantState): Events {
  const domain = findDomain(state, command.data.name);
  if (domain === undefined) return domainNotFound();
  if (!domain.isVerified)
    return reject('domain_not_verified', 'Only a verified domain can be the primary domain');
  if (domain.name === state.primaryDomain) return NOTHING;
  return [
    { type: 'PrimaryDomainChanged', data: { previousDomain: state.primaryDomain, domain: domain.name } },
  ];
}

function removeDomain(command: RemoveDomain, state: TenantState): Events {
  const domain = findDomain(state, command.data.name);
  if (domain === undefined) return domainNotFound();
  if (domain.isInitial) return reject('initial_domain', 'The initial domain can never be removed');
  if (domain.name === state.primaryDomain) {
    return reject(
      'domain_in_use',
      'The primary domain can not be removed; make another domain primary first',
    );
  }
  // Soft-deleted users count: restoring them must find their domain still there.
  for (const user of state.users.values()) {
    if (domainOfUpn(user.userPrincipalName) === domain.name) {
      return reject('domain_in_use', 'Accounts (deleted ones included) still use this domain');
    }
  }
  return [{ type: 'DomainRemoved', data: { name: domain.name, wasVerified: domain.isVerified } }];
}

function setMfaRequirement(command: SetMfaRequirement, state: TenantState): Events {
  if (command.data.required === state.mfaRequired) return NOTHING;
  return [
    {
      type: 'MfaRequirementChanged',
      data: { required: command.data.required, previousRequired: state.mfaRequired },
    },
  ];
}

/** The checks a UPN must pass to be given to `userId` (undefined: a new user). */
function checkNewUpn(state: TenantState, rawUpn: string, userId?: string): Rejection | string {
  const upn = parseUserPrincipalName(rawUpn);
  if (!upn.ok) return invalidUpn(upn.reason);
  if (!isUsableDomain(state, upn.value.domain)) {
    return reject(
      'domain_not_verified',
      "The user principal name's domain is not a verified domain of this tenant",
    );
  }
  const holder = findUserByUpn(state, upn.value.upn);
  if (holder !== undefined && holder.userId !== userId) {
    return reject('upn_taken', 'Another account of this tenant already has this user principal name');
  }
  return upn.value.upn;
}

function createMember(command: CreateMember, state: TenantState, context: DecideContext): Events {
  const upn = checkNewUpn(state, command.data.userPrincipalName);
  if (typeof upn !== 'string') return upn;
  const displayName = normaliseDisplayName(command.data.displayName);
  if (!displayName.ok) return invalidDisplayName(displayName.reason);
  return [
    {
      type: 'MemberCreated',
      data: { userId: context.newId(), userPrincipalName: upn, displayName: displayName.value },
    },
  ];
}

/** The user a command is about, if it exists and is not deleted. */
function liveUser(state: TenantState, userId: string): UserState | Rejection {
  const user = state.users.get(userId);
  if (user === undefined) return userNotFound();
  if (user.deleted) return userDeleted();
  return user;
}

const isUser = (value: UserState | Rejection): value is UserState => !('kind' in value);

function renameUser(command: RenameUser, state: TenantState): Events {
  const user = liveUser(state, command.data.userId);
  if (!isUser(user)) return user;
  const displayName = normaliseDisplayName(command.data.displayName);
  if (!displayName.ok) return invalidDisplayName(displayName.reason);
  if (displayName.value === user.displayName) return NOTHING;
  return [
    {
      type: 'UserRenamed',
      data: { userId: user.userId, previousDisplayName: user.displayName, displayName: displayName.value },
    },
  ];
}

function changeUserPrincipalName(command: ChangeUserPrincipalName, state: TenantState): Events {
  const user = liveUser(state, command.data.userId);
  if (!isUser(user)) return user;
  const upn = checkNewUpn(state, command.data.userPrincipalName, user.userId);
  if (typeof upn !== 'string') return upn;
  if (upn === user.userPrincipalName) return NOTHING;
  return [
    {
      type: 'UserPrincipalNameChanged',
      data: {
        userId: user.userId,
        previousUserPrincipalName: user.userPrincipalName,
        userPrincipalName: upn,
      },
    },
  ];
}

function orderPasswordReset(command: OrderPasswordReset, state: TenantState): Events {
  // A blocked user may still get a reset: unblocking often follows a compromise clean-up.
  const user = liveUser(state, command.data.userId);
  if (!isUser(user)) return user;
  return [{ type: 'PasswordResetOrdered', data: { userId: user.userId } }];
}

function blockUser(command: BlockUser, state: TenantState): Events {
  const user = liveUser(state, command.data.userId);
  if (!isUser(user)) return user;
  if (user.blocked) return NOTHING;
  if (isLastActiveGlobalAdministrator(state, user.userId)) return lastGlobalAdmin();
  return [{ type: 'UserBlocked', data: { userId: user.userId } }];
}

function unblockUser(command: UnblockUser, state: TenantState): Events {
  const user = liveUser(state, command.data.userId);
  if (!isUser(user)) return user;
  if (!user.blocked) return NOTHING;
  return [{ type: 'UserUnblocked', data: { userId: user.userId } }];
}

function deleteUser(command: DeleteUser, state: TenantState): Events {
  const user = state.users.get(command.data.userId);
  if (user === undefined) return userNotFound();
  if (user.deleted) return NOTHING;
  if (isLastActiveGlobalAdministrator(state, user.userId)) return lastGlobalAdmin();
  return [{ type: 'UserDeleted', data: { userId: user.userId } }];
}

function restoreUser(command: RestoreUser, state: TenantState): Events {
  const user = state.users.get(command.data.userId);
  if (user === undefined) return userNotFound();
  if (!user.deleted) return NOTHING;
  // The address may have been invited again since: two live guests for one address would make
  // sign-in ambiguous.
  if (user.guest !== undefined && findGuestByEmail(state, user.guest.email) !== undefined) {
    return reject(
      'already_member',
      'Another guest of this tenant was invited with the same address since; remove it first',
    );
  }
  return [{ type: 'UserRestored', data: { userId: user.userId } }];
}

function registerMfaMethod(command: RegisterMfaMethod, state: TenantState, context: DecideContext): Events {
  const user = liveUser(state, command.data.userId);
  if (!isUser(user)) return user;
  if (user.mfaMethods.some((method) => method.kind === command.data.kind)) return NOTHING;
  return [
    {
      type: 'MfaMethodRegistered',
      data: { userId: user.userId, methodId: context.newId(), kind: command.data.kind },
    },
  ];
}

function assignRole(command: AssignRole, state: TenantState): Events {
  const user = liveUser(state, command.data.userId);
  if (!isUser(user)) return user;
  if (state.roles.get(user.userId)?.has(command.data.role) === true) return NOTHING;
  return [{ type: 'RoleAssigned', data: { userId: user.userId, role: command.data.role } }];
}

function removeRole(command: RemoveRole, state: TenantState): Events {
  // Deleted users are allowed here: cleaning up a deleted account's roles is legitimate.
  const user = state.users.get(command.data.userId);
  if (user === undefined) return userNotFound();
  const { role } = command.data;
  if (state.roles.get(user.userId)?.has(role) !== true) {
    return reject('role_not_assigned', `The user does not hold the role ${role}`);
  }
  if (role === 'GlobalAdministrator' && isLastActiveGlobalAdministrator(state, user.userId))
    return lastGlobalAdmin();
  return [{ type: 'RoleRemoved', data: { userId: user.userId, role } }];
}

// ---------------------------------------------------------------- guests and invitations

function inviteGuest(command: InviteGuest, state: TenantState, context: DecideContext): Events {
  const { invitationId, redeemCodeHash, expiresAt, redirectUrl } = command.data;
  const email = parseUserPrincipalName(command.data.email);
  if (!email.ok) return reject('invalid_email', `The e-mail address is not valid (${email.reason})`);
  const address = email.value.upn;
  // Deleted members count: they can be restored, and a tenant can't invite its own members.
  const member = findUserByUpn(state, address);
  if (member !== undefined && member.userType === 'Member') {
    return reject('already_member', 'An account of this tenant already has this address');
  }
  const guest = findGuestByEmail(state, address);
  if (guest !== undefined) {
    const invitation =
      guest.guest === undefined ? undefined : state.invitations.get(guest.guest.invitationId);
    return reject(
      'already_member',
      invitation?.status === 'PendingAcceptance'
        ? 'A guest of this tenant is already invited with this address; resend the invitation instead'
        : 'A guest of this tenant already has this address; remove it to invite the address again',
    );
  }
  if (state.invitations.has(invitationId)) {
    return reject('invitation_exists', 'An invitation with this id already exists');
  }
  const displayName = normaliseDisplayName(command.data.displayName ?? email.value.localPart);
  if (!displayName.ok) return invalidDisplayName(displayName.reason);
  // Entra's guest notation; lower case so that the same address always gives the same name.
  const userPrincipalName = `${upnKey(address).replace('@', '_')}#EXT#@${state.initialDomain}`;
  return [
    {
      type: 'GuestInvited',
      data: {
        userId: context.newId(),
        invitationId,
        email: address,
        displayName: displayName.value,
        userPrincipalName,
        ...(redirectUrl === undefined ? {} : { redirectUrl }),
        redeemCodeHash,
        expiresAt,
      },
    },
  ];
}

function resendInvitation(command: ResendInvitation, state: TenantState): Events {
  const invitation = state.invitations.get(command.data.invitationId);
  if (invitation === undefined) return invitationNotFound();
  if (invitation.status !== 'PendingAcceptance') return invitationNotPending(invitation.status);
  if (state.users.get(invitation.userId)?.deleted !== false) return userDeleted();
  const { redeemCodeHash, expiresAt } = command.data;
  return [
    {
      type: 'InvitationResent',
      data: { invitationId: invitation.invitationId, userId: invitation.userId, redeemCodeHash, expiresAt },
    },
  ];
}

function revokeInvitation(command: RevokeInvitation, state: TenantState): Events {
  const invitation = state.invitations.get(command.data.invitationId);
  if (invitation === undefined) return invitationNotFound();
  if (invitation.status !== 'PendingAcceptance') return invitationNotPending(invitation.status);
  return [
    { type: 'InvitationRevoked', data: { invitationId: invitation.invitationId, userId: invitation.userId } },
  ];
}

/** Expired once the clock has passed `expiresAt`; an unreadable expiry counts as expired. */
const hasExpired = (invitation: InvitationState, now: Date): boolean => {
  const expiresAt = Date.parse(invitation.expiresAt);
  return Number.isNaN(expiresAt) || now.getTime() > expiresAt;
};

function redeemInvitation(command: RedeemInvitation, state: TenantState, context: DecideContext): Events {
  const invitation = state.invitations.get(command.data.invitationId);
  if (invitation === undefined) return invitationNotFound();
  if (invitation.status !== 'PendingAcceptance') return invitationNotPending(invitation.status);
  const guest = state.users.get(invitation.userId);
  // A removed guest's invitation can't bring it back; restoring the guest makes it redeemable again.
  if (guest?.guest === undefined || guest.deleted) return invitationNotPending('guest removed');
  if (hasExpired(invitation, context.now)) {
    return reject('invitation_expired', 'The invitation has expired; ask for it to be resent');
  }
  // Hashes of random codes: comparing them leaks nothing an attacker could use, so no constant-time
  // comparison is needed.
  if (command.data.redeemCodeHash !== invitation.redeemCodeHash) {
    return reject('redeem_code_invalid', 'The redeem code is not the one of this invitation');
  }
  const { identity } = command.data;
  const email = parseUserPrincipalName(identity.email);
  if (!email.ok || upnKey(email.value.upn) !== upnKey(guest.guest.email)) {
    return reject(
      'redeem_identity_mismatch',
      'The invitation is for another address than the one of the redeeming identity',
    );
  }
  return [
    {
      type: 'InvitationRedeemed',
      data: {
        invitationId: invitation.invitationId,
        userId: guest.userId,
        identity: { ...identity, email: email.value.upn },
      },
    },
  ];
}

// ---------------------------------------------------------------- subscriptions and licenses

const isValidSeats = (seats: number): boolean =>
  Number.isInteger(seats) && seats >= MIN_SEATS && seats <= MAX_SEATS;

function purchaseSubscription(command: PurchaseSubscription, state: TenantState): Events {
  const { subscriptionId, sku, seats } = command.data;
  if (!SKU.test(sku)) return reject('invalid_sku', 'The SKU must be 1 to 64 characters A-Z, 0-9 or _');
  if (!isValidSeats(seats)) return invalidSeats();
  if (state.subscriptions.has(subscriptionId)) {
    return reject('subscription_exists', 'A subscription with this id already exists');
  }
  // One active subscription per SKU, so that a license names its subscription without ambiguity.
  if (findActiveSubscription(state, sku) !== undefined) {
    return reject(
      'subscription_exists',
      `The tenant already has an active ${sku} subscription; change its seats instead`,
    );
  }
  return [{ type: 'SubscriptionPurchased', data: { subscriptionId, sku, seats } }];
}

/** The subscription a command is about, if it exists and is not cancelled. */
function activeSubscription(state: TenantState, subscriptionId: string): SubscriptionState | undefined {
  const subscription = state.subscriptions.get(subscriptionId);
  return subscription?.status === 'active' ? subscription : undefined;
}

function changeSeats(command: ChangeSeats, state: TenantState): Events {
  const subscription = activeSubscription(state, command.data.subscriptionId);
  if (subscription === undefined) return subscriptionNotFound();
  const { seats } = command.data;
  if (!isValidSeats(seats)) return invalidSeats();
  if (seats < subscription.assignedTo.size) {
    return reject(
      'seats_in_use',
      `${subscription.assignedTo.size} seats are assigned; remove licenses before reducing below that`,
    );
  }
  if (seats === subscription.seats) return NOTHING;
  return [
    {
      type: 'SeatsChanged',
      data: {
        subscriptionId: subscription.subscriptionId,
        sku: subscription.sku,
        previousSeats: subscription.seats,
        seats,
      },
    },
  ];
}

function cancelSubscription(command: CancelSubscription, state: TenantState): Events {
  const subscription = state.subscriptions.get(command.data.subscriptionId);
  if (subscription === undefined) return subscriptionNotFound();
  if (subscription.status === 'cancelled') return NOTHING;
  if (subscription.assignedTo.size > 0) {
    return reject('seats_in_use', 'Licenses of this subscription are still assigned; remove them first');
  }
  return [
    {
      type: 'SubscriptionCancelled',
      data: { subscriptionId: subscription.subscriptionId, sku: subscription.sku },
    },
  ];
}

function assignLicense(command: AssignLicense, state: TenantState): Events {
  const user = liveUser(state, command.data.userId);
  if (!isUser(user)) return user;
  const { sku } = command.data;
  const subscription = findActiveSubscription(state, sku);
  if (subscription === undefined) {
    return reject('not_found', `The tenant has no active ${sku} subscription`, 'not_found');
  }
  if (user.licenses.has(sku)) return NOTHING;
  // Decided on the tenant stream under its expected version: two racing assignments can't both
  // take the last seat.
  if (subscription.assignedTo.size >= subscription.seats) {
    return reject(
      'count_violation',
      `All ${subscription.seats} seats of the ${sku} subscription are assigned`,
    );
  }
  return [
    {
      type: 'LicenseAssigned',
      data: { userId: user.userId, sku, subscriptionId: subscription.subscriptionId },
    },
  ];
}

function removeLicense(command: RemoveLicense, state: TenantState): Events {
  // The service's own reaction to UserDeleted may run more than once, or after an administrator
  // removed the license already: for it, nothing to remove is success.
  const bySystem = command.initiatedBy === 'system';
  // Deleted users are allowed here: that is how a deleted account's seats are freed.
  const user = state.users.get(command.data.userId);
  if (user === undefined) return bySystem ? NOTHING : userNotFound();
  const { sku } = command.data;
  const holder = [...state.subscriptions.values()].find(
    (subscription) => subscription.sku === sku && subscription.assignedTo.has(user.userId),
  );
  if (holder === undefined) {
    return bySystem ? NOTHING : reject('license_not_assigned', `The user holds no ${sku} license`);
  }
  return [
    {
      type: 'LicenseRemoved',
      data: {
        userId: user.userId,
        sku,
        subscriptionId: holder.subscriptionId,
        reason: command.data.reason ?? 'removed',
      },
    },
  ];
}

// ---------------------------------------------------------------- evolve

const withUser = (
  state: TenantState,
  userId: string,
  change: (user: UserState) => Partial<UserState>,
): TenantState => {
  const user = state.users.get(userId);
  if (user === undefined) return state;
  const users = new Map(state.users);
  users.set(userId, { ...user, ...change(user), revision: user.revision + 1 });
  return { ...state, users };
};

const withDomain = (state: TenantState, name: string, change: Partial<DomainState>): TenantState => {
  const domain = state.domains.get(name);
  if (domain === undefined) return state;
  const domains = new Map(state.domains);
  domains.set(name, { ...domain, ...change });
  return { ...state, domains };
};

const withInvitation = (
  state: TenantState,
  invitationId: string,
  change: Partial<InvitationState>,
): TenantState => {
  const invitation = state.invitations.get(invitationId);
  if (invitation === undefined) return state;
  const invitations = new Map(state.invitations);
  invitations.set(invitationId, { ...invitation, ...change });
  return { ...state, invitations };
};

const withSubscription = (
  state: TenantState,
  subscriptionId: string,
  change: (subscription: SubscriptionState) => Partial<SubscriptionState>,
): TenantState => {
  const subscription = state.subscriptions.get(subscriptionId);
  if (subscription === undefined) return state;
  const subscriptions = new Map(state.subscriptions);
  subscriptions.set(subscriptionId, { ...subscription, ...change(subscription) });
  return { ...state, subscriptions };
};

/** A copy of `set` with `value` added or removed: the state's sets are never changed in place. */
const toggled = <T>(set: ReadonlySet<T>, value: T, present: boolean): ReadonlySet<T> => {
  const copy = new Set(set);
  if (present) copy.add(value);
  else copy.delete(value);
  return copy;
};

const withRoles = (state: TenantState, userId: string, change: (roles: Set<Role>) => void): TenantState => {
  const roles = new Set(state.roles.get(userId));
  change(roles);
  const assignments = new Map(state.roles);
  if (roles.size === 0) assignments.delete(userId);
  else assignments.set(userId, roles);
  return { ...state, roles: assignments };
};

function evolve(state: TenantState, event: TenantEvent): TenantState {
  switch (event.type) {
    case 'TenantCreated': {
      const { tenantId, displayName, kind, initialDomain } = event.data;
      return {
        ...state,
        exists: true,
        tenantId,
        displayName,
        kind,
        initialDomain,
        primaryDomain: initialDomain,
        domains: new Map([
          [initialDomain, { name: initialDomain, isInitial: true, isVerified: true, verificationCode: '' }],
        ]),
      };
    }
    case 'DomainAdded': {
      const { name, verificationCode } = event.data;
      const domains = new Map(state.domains);
      domains.set(name, { name, isInitial: false, isVerified: false, verificationCode });
      return { ...state, domains };
    }
    case 'DomainVerified':
      return withDomain(state, event.data.name, { isVerified: true });
    case 'PrimaryDomainChanged':
      return { ...state, primaryDomain: event.data.domain };
    case 'DomainRemoved': {
      const domains = new Map(state.domains);
      domains.delete(event.data.name);
      return { ...state, domains };
    }
    case 'MfaRequirementChanged':
      return { ...state, mfaRequired: event.data.required };
    case 'MemberCreated': {
      const { userId, userPrincipalName, displayName } = event.data;
      const users = new Map(state.users);
      users.set(userId, {
        userId,
        userType: 'Member',
        userPrincipalName,
        displayName,
        blocked: false,
        deleted: false,
        mfaMethods: [],
        licenses: new Set(),
        revision: 1,
      });
      return { ...state, users };
    }
    case 'GuestInvited': {
      const { userId, invitationId, email, displayName, userPrincipalName, redirectUrl } = event.data;
      const users = new Map(state.users);
      users.set(userId, {
        userId,
        userType: 'Guest',
        guest: { email, invitationId, state: 'PendingAcceptance' },
        userPrincipalName,
        displayName,
        blocked: false,
        deleted: false,
        mfaMethods: [],
        licenses: new Set(),
        revision: 1,
      });
      const invitations = new Map(state.invitations);
      invitations.set(invitationId, {
        invitationId,
        userId,
        status: 'PendingAcceptance',
        redeemCodeHash: event.data.redeemCodeHash,
        expiresAt: event.data.expiresAt,
        ...(redirectUrl === undefined ? {} : { redirectUrl }),
      });
      return { ...state, users, invitations };
    }
    case 'InvitationResent': {
      const { invitationId, userId, redeemCodeHash, expiresAt } = event.data;
      return withUser(withInvitation(state, invitationId, { redeemCodeHash, expiresAt }), userId, () => ({}));
    }
    case 'InvitationRevoked': {
      const { invitationId, userId } = event.data;
      return withUser(withInvitation(state, invitationId, { status: 'Revoked' }), userId, () => ({}));
    }
    case 'InvitationRedeemed': {
      const { invitationId, userId, identity } = event.data;
      return withUser(withInvitation(state, invitationId, { status: 'Accepted' }), userId, (user) =>
        user.guest === undefined ? {} : { guest: { ...user.guest, state: 'Accepted', identity } },
      );
    }
    case 'SubscriptionPurchased': {
      const { subscriptionId, sku, seats } = event.data;
      const subscriptions = new Map(state.subscriptions);
      subscriptions.set(subscriptionId, {
        subscriptionId,
        sku,
        seats,
        status: 'active',
        assignedTo: new Set(),
      });
      return { ...state, subscriptions };
    }
    case 'SeatsChanged':
      return withSubscription(state, event.data.subscriptionId, () => ({ seats: event.data.seats }));
    case 'SubscriptionCancelled':
      return withSubscription(state, event.data.subscriptionId, () => ({ status: 'cancelled' }));
    case 'LicenseAssigned': {
      const { userId, sku, subscriptionId } = event.data;
      return withUser(
        withSubscription(state, subscriptionId, (subscription) => ({
          assignedTo: toggled(subscription.assignedTo, userId, true),
        })),
        userId,
        (user) => ({ licenses: toggled(user.licenses, sku, true) }),
      );
    }
    case 'LicenseRemoved': {
      const { userId, sku, subscriptionId } = event.data;
      return withUser(
        withSubscription(state, subscriptionId, (subscription) => ({
          assignedTo: toggled(subscription.assignedTo, userId, false),
        })),
        userId,
        (user) => ({ licenses: toggled(user.licenses, sku, false) }),
      );
    }
    case 'UserRenamed':
      return withUser(state, event.data.userId, () => ({ displayName: event.data.displayName }));
    case 'UserPrincipalNameChanged':
      return withUser(state, event.data.userId, () => ({ userPrincipalName: event.data.userPrincipalName }));
    case 'PasswordResetOrdered':
      return withUser(state, event.data.userId, () => ({}));
    case 'UserBlocked':
      return withUser(state, event.data.userId, () => ({ blocked: true }));
    case 'UserUnblocked':
      return withUser(state, event.data.userId, () => ({ blocked: false }));
    case 'UserDeleted':
      return withUser(state, event.data.userId, () => ({ deleted: true }));
    case 'UserRestored':
      return withUser(state, event.data.userId, () => ({ deleted: false }));
    case 'MfaMethodRegistered': {
      const { userId, methodId, kind } = event.data;
      return withUser(state, userId, (user) => ({ mfaMethods: [...user.mfaMethods, { methodId, kind }] }));
    }
    case 'RoleAssigned': {
      const { userId, role } = event.data;
      return withUser(
        withRoles(state, userId, (roles) => roles.add(role)),
        userId,
        () => ({}),
      );
    }
    case 'RoleRemoved': {
      const { userId, role } = event.data;
      return withUser(
        withRoles(state, userId, (roles) => roles.delete(role)),
        userId,
        () => ({}),
      );
    }
    default:
      // A reader that meets an event type it doesn't know (written by a newer version) keeps going.
      return state;
  }
}

export const tenantDecider: Decider<TenantCommand, TenantState, TenantEvent> = {
  initialState: initialTenantState,
  decide,
  evolve,
};
