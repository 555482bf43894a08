// The rules of what is tenant-wide: signing up, custom domains and their verification, the primary
// domain, and the MFA requirement.

import { reject, type DecideContext, type Decision } from '../shared/decider.js';
import {
  isConsumerDomain,
  isSameOrSubdomain,
  normaliseDisplayName,
  normaliseDomainName,
  normaliseDomainPrefix,
  parseUserPrincipalName,
} from '../shared/names.js';
import type {
  AddDomain,
  RemoveDomain,
  SetMfaRequirement,
  SetPrimaryDomain,
  SignUpTenant,
  VerifyDomain,
} from './commands.js';
import type { DirectoryEvent } from './events.js';
import { domainNotFound, invalidDisplayName, invalidUpn, NOTHING } from './rejections.js';
import type { DomainState, TenantState } from './tenant-state.js';
import type { DirectoryView } from './view.js';

type Events = Decision<DirectoryEvent>;

const VERIFICATION_CODE_DIGITS = 8;

export function signUpTenant(command: SignUpTenant, context: DecideContext): Events {
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
    {
      type: 'RoleHolderChanged',
      data: { userId: adminUserId, userType: 'Member', roles: ['GlobalAdministrator'], active: true },
    },
  ];
}

/** The tenant's own entry for a domain name as sent, if the name is valid and the tenant has it. */
function findDomain(state: TenantState, rawName: string): DomainState | undefined {
  const name = normaliseDomainName(rawName);
  return name.ok ? state.domains.get(name.value) : undefined;
}

export function addDomain(command: AddDomain, view: DirectoryView, context: DecideContext): Events {
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
  if (view.tenant.domains.has(name.value))
    return reject('domain_exists', 'The tenant already has this domain');
  return [
    {
      type: 'DomainAdded',
      data: { name: name.value, verificationCode: `ms${context.randomDigits(VERIFICATION_CODE_DIGITS)}` },
    },
  ];
}

export function verifyDomain(command: VerifyDomain, view: DirectoryView): Events {
  const domain = findDomain(view.tenant, command.data.name);
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

export function setPrimaryDomain(command: SetPrimaryDomain, view: DirectoryView): Events {
  const { tenant } = view;
  const domain = findDomain(tenant, command.data.name);
  if (domain === undefined) return domainNotFound();
  if (!domain.isVerified)
    return reject('domain_not_verified', 'Only a verified domain can be the primary domain');
  if (domain.name === tenant.primaryDomain) return NOTHING;
  return [
    { type: 'PrimaryDomainChanged', data: { previousDomain: tenant.primaryDomain, domain: domain.name } },
  ];
}

export function removeDomain(command: RemoveDomain, view: DirectoryView): Events {
  const { tenant } = view;
  const domain = findDomain(tenant, command.data.name);
  if (domain === undefined) return domainNotFound();
  if (domain.isInitial) return reject('initial_domain', 'The initial domain can never be removed');
  if (domain.name === tenant.primaryDomain) {
    return reject(
      'domain_in_use',
      'The primary domain can not be removed; make another domain primary first',
    );
  }
  // Deleted accounts count: restoring them must find their domain still there. The count is the
  // domain's own ledger (./ledgers.ts), which every account entering the domain writes.
  if (view.domainAccounts(domain.name) > 0) {
    return reject('domain_in_use', 'Accounts (deleted ones included) still use this domain');
  }
  return [{ type: 'DomainRemoved', data: { name: domain.name, wasVerified: domain.isVerified } }];
}

export function setMfaRequirement(command: SetMfaRequirement, view: DirectoryView): Events {
  const { mfaRequired } = view.tenant;
  if (command.data.required === mfaRequired) return NOTHING;
  return [
    {
      type: 'MfaRequirementChanged',
      data: { required: command.data.required, previousRequired: mfaRequired },
    },
  ];
}
