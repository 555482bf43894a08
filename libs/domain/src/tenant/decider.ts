// The tenant's rules: which commands on a tenant's directory are accepted, and the facts they
// record. Uniqueness across tenants (initial domain, verified domains, UPNs) is not decided here
// but by claim streams (../claim), because one tenant's state can't see another's.

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
  AssignRole,
  BlockUser,
  ChangeUserPrincipalName,
  CreateMember,
  DeleteUser,
  DomainState,
  OrderPasswordReset,
  RegisterMfaMethod,
  RemoveDomain,
  RemoveRole,
  RenameUser,
  RestoreUser,
  Role,
  SetMfaRequirement,
  SetPrimaryDomain,
  SignUpTenant,
  TenantCommand,
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
};

// ---------------------------------------------------------------- queries the app needs as well

const isActive = (user: UserState): boolean => !user.blocked && !user.deleted;

/** Users who hold GlobalAdministrator and can use it (neither blocked nor deleted). */
export function activeGlobalAdministrators(state: TenantState): string[] {
  const ids: string[] = [];
  for (const [userId, roles] of state.roles) {
    const user = state.users.get(userId);
    if (roles.has('GlobalAdministrator') && user !== undefined && isActive(user)) ids.push(userId);
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

function decide(command: TenantCommand, state: TenantState, context: DecideContext): Events {
  if (command.type === 'SignUpTenant') {
    if (state.exists) return reject('tenant_exists', 'The tenant already exists');
    return signUpTenant(command, context);
  }
  if (!state.exists) return tenantNotFound();
  const forbidden = authorise(command, state);
  if (forbidden !== undefined) return forbidden;

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
        revision: 1,
      });
      return { ...state, users };
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
