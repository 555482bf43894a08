// class-validator rules that reuse the domain's own normalisers, so the edge and the rules agree.
import { registerDecorator, ValidationOptions } from 'class-validator';
import {
  normaliseDisplayName,
  normaliseDomainName,
  normaliseDomainPrefix,
  parseUserPrincipalName,
} from '#domain';

type Check = (value: string) => { ok: boolean };

function stringRule(name: string, check: Check) {
  return (options?: ValidationOptions) =>
    (target: object, propertyName: string): void =>
      registerDecorator({
        name,
        target: target.constructor,
        propertyName,
        options: { message: `$property must be a valid ${name.replace(/_/g, ' ')}`, ...options },
        validator: { validate: (value: unknown) => typeof value === 'string' && check(value).ok },
      });
}

export const IsDomainName = stringRule('domain_name', normaliseDomainName);
export const IsDomainPrefix = stringRule('domain_prefix', normaliseDomainPrefix);
export const IsUserPrincipalName = stringRule('user_principal_name', parseUserPrincipalName);
export const IsDisplayName = stringRule('display_name', normaliseDisplayName);
/** The local part of a UPN (the admin's user name at sign-up). */
export const IsUserName = stringRule('user_name', (v) => parseUserPrincipalName(`${v}@example.com`));
