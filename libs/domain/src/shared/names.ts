// Normalisers for the names the rules compare: domain names, domain prefixes, user principal names
// and display names. The deciders and the HTTP edge share them so that a value accepted at the edge
// is the exact value the rules see, and two spellings of one name can never become two names.

import { domainToASCII, domainToUnicode } from 'node:url';

import type { DomainConfig } from './decider.js';

export type NameResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const ok = <T>(value: T): NameResult<T> => ({ ok: true, value });
const fail = (reason: string): NameResult<never> => ({ ok: false, reason });

const MAX_DOMAIN_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
const MAX_PREFIX_LENGTH = 27;
const MAX_LOCAL_PART_LENGTH = 64;
const MAX_UPN_LENGTH = 113;
const MAX_DISPLAY_NAME_LENGTH = 256;

// Format characters (bidi overrides and isolates, zero-width spaces and joiners, the BOM, the soft
// hyphen) are invisible: they make a name look like another one, so they are refused, not dropped.
const FORMAT_CHARACTER = /\p{Cf}/u;
const CONTROL_OR_SPACE = /[\p{Cc}\p{Z}\s]/u;
// IDNA treats these as label separators; NFKC already turns U+FF0E into '.'.
const IDEOGRAPHIC_FULL_STOPS = /[\u3002\uFF61]/gu;
// Checked before the WHATWG host parser runs: it percent-decodes, cuts at '/', and turns numeric
// names into IPv4 addresses, so anything but letters, digits, '-' and '.' must not reach it.
const ASCII_OUTSIDE_LDH = /[^A-Za-z0-9.\-\u0080-\u{10FFFF}]/u;
const NON_ASCII_NOT_ALPHANUMERIC = /[^\p{ASCII}\p{L}\p{M}\p{N}]/u;
const LDH_LABEL = /^[a-z0-9-]+$/;
const ALL_DIGITS = /^[0-9]+$/;
// The WHATWG host parser reads a last label like '0x7f' as a number and the name as an IPv4 address.
const HEX_NUMBER = /^0x[0-9a-f]*$/;

/**
 * A domain name in the one form the service stores and compares: trimmed, lower case, without its
 * trailing dot, IDN labels as punycode (`bücher.example` → `xn--bcher-kva.example`).
 */
export function normaliseDomainName(input: string): NameResult<string> {
  // Before trimming: String.prototype.trim silently eats U+FEFF.
  if (FORMAT_CHARACTER.test(input)) return fail('invalid_characters');
  const trimmed = input.trim();
  if (trimmed === '') return fail('empty');
  if (CONTROL_OR_SPACE.test(trimmed)) return fail('invalid_characters');

  let name = trimmed.normalize('NFKC').replace(IDEOGRAPHIC_FULL_STOPS, '.');
  if (ASCII_OUTSIDE_LDH.test(name) || NON_ASCII_NOT_ALPHANUMERIC.test(name))
    return fail('invalid_characters');
  if (name.endsWith('.')) name = name.slice(0, -1);
  name = name.toLowerCase();

  const labels = name.split('.');
  if (labels.some((label) => label === '')) return fail(name === '' ? 'empty' : 'empty_label');
  if (labels.length < 2) return fail('not_a_domain');
  const topLevel = labels[labels.length - 1] ?? '';
  if (ALL_DIGITS.test(topLevel) || HEX_NUMBER.test(topLevel)) return fail('not_a_domain');

  const ascii = domainToASCII(name);
  if (ascii === '') return fail('invalid_idn');
  const asciiLabels = ascii.split('.');
  if (asciiLabels.length !== labels.length) return fail('invalid_idn');

  // Checked on the decoded form so that a homograph sent as punycode is caught as well.
  const unicodeLabels = domainToUnicode(ascii).split('.');
  for (const label of unicodeLabels) {
    if (NON_ASCII_NOT_ALPHANUMERIC.test(label)) return fail('invalid_characters');
    if (!hasSafeScriptMix(label)) return fail('mixed_scripts');
  }

  if (ascii.length > MAX_DOMAIN_LENGTH) return fail('too_long');
  for (const label of asciiLabels) {
    if (label.length > MAX_LABEL_LENGTH) return fail('label_too_long');
    if (!LDH_LABEL.test(label)) return fail('invalid_characters');
    if (label.startsWith('-') || label.endsWith('-')) return fail('invalid_hyphen');
  }
  if (ALL_DIGITS.test(asciiLabels[asciiLabels.length - 1] ?? '')) return fail('not_a_domain');
  return ok(ascii);
}

// Scripts whose letters are told apart; Common and Inherited characters (digits, '-', combining
// marks) go with any script. A letter of an unlisted script counts as 'Other'.
const SCRIPTS = [
  'Latin',
  'Greek',
  'Cyrillic',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Syriac',
  'Thaana',
  'Nko',
  'Devanagari',
  'Bengali',
  'Gurmukhi',
  'Gujarati',
  'Oriya',
  'Tamil',
  'Telugu',
  'Kannada',
  'Malayalam',
  'Sinhala',
  'Thai',
  'Lao',
  'Tibetan',
  'Myanmar',
  'Georgian',
  'Hangul',
  'Ethiopic',
  'Cherokee',
  'Canadian_Aboriginal',
  'Khmer',
  'Mongolian',
  'Hiragana',
  'Katakana',
  'Bopomofo',
  'Han',
] as const;
const SCRIPT_PATTERNS = SCRIPTS.map((script) => [script, new RegExp(`\\p{Script=${script}}`, 'u')] as const);
const SCRIPT_NEUTRAL = /[\p{Script=Common}\p{Script=Inherited}]/u;

// Unicode TS #39 "highly restrictive": one script per label, or one of the CJK writing systems
// that mix scripts by nature (Japanese, Chinese, Korean), each allowed with Latin.
const ALLOWED_SCRIPT_MIXES: readonly (readonly string[])[] = [
  ['Latin', 'Han', 'Hiragana', 'Katakana'],
  ['Latin', 'Han', 'Bopomofo'],
  ['Latin', 'Han', 'Hangul'],
];

function hasSafeScriptMix(label: string): boolean {
  const scripts = new Set<string>();
  for (const char of label) {
    if (SCRIPT_NEUTRAL.test(char)) continue;
    scripts.add(SCRIPT_PATTERNS.find(([, pattern]) => pattern.test(char))?.[0] ?? 'Other');
  }
  if (scripts.size <= 1) return true;
  return ALLOWED_SCRIPT_MIXES.some((mix) => [...scripts].every((script) => mix.includes(script)));
}

/** The tenant's initial-domain prefix (`contoso` in `contoso.onmicrosoft.com`). */
export function normaliseDomainPrefix(input: string): NameResult<string> {
  const trimmed = input.trim();
  if (trimmed === '') return fail('empty');
  if (trimmed.length > MAX_PREFIX_LENGTH) return fail('too_long');
  // Tested before lower-casing: 'K' (U+212A KELVIN SIGN) lower-cases to an ASCII 'k'.
  if (!/^[A-Za-z0-9]+$/.test(trimmed)) return fail('invalid_characters');
  return ok(trimmed.toLowerCase());
}

export interface UserPrincipalName {
  /** As sent, case kept: it is shown to people. */
  readonly localPart: string;
  /** Normalised (lower case, punycode). */
  readonly domain: string;
  /** `localPart@domain`; compare with `upnKey`, never as is. */
  readonly upn: string;
}

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/;
// Entra's guest notation (`alice_example.com#EXT#@contoso.onmicrosoft.com`): only the service
// writes it, for guests, so no member UPN and no invited address may contain it.
const GUEST_NOTATION = /#EXT#/i;

export function parseUserPrincipalName(input: string): NameResult<UserPrincipalName> {
  const trimmed = input.trim();
  if (trimmed === '') return fail('empty');
  const parts = trimmed.split('@');
  if (parts.length !== 2) return fail('not_a_user_principal_name');
  const [localPart = '', rawDomain = ''] = parts;
  if (localPart === '') return fail('empty_local_part');
  if (localPart.length > MAX_LOCAL_PART_LENGTH) return fail('local_part_too_long');
  if (!LOCAL_PART.test(localPart)) return fail('invalid_local_part');
  if (localPart.startsWith('.') || localPart.endsWith('.') || localPart.includes('..')) {
    return fail('invalid_local_part');
  }
  if (GUEST_NOTATION.test(localPart)) return fail('reserved_guest_notation');
  const domain = normaliseDomainName(rawDomain);
  if (!domain.ok) return domain;
  const upn = `${localPart}@${domain.value}`;
  if (upn.length > MAX_UPN_LENGTH) return fail('too_long');
  return ok({ localPart, domain: domain.value, upn });
}

/** The form two UPNs are compared in: one account per address whatever its case. */
export const upnKey = (upn: string): string => upn.toLowerCase();

/** The domain part of a stored (already normalised) UPN. */
export const domainOfUpn = (upn: string): string => upn.slice(upn.lastIndexOf('@') + 1).toLowerCase();

export function normaliseDisplayName(input: string): NameResult<string> {
  const trimmed = input.trim();
  if (trimmed === '') return fail('empty');
  if (/\p{Cc}/u.test(trimmed)) return fail('invalid_characters');
  // Counted in code points, as a person counts characters, not in UTF-16 units.
  if ([...trimmed].length > MAX_DISPLAY_NAME_LENGTH) return fail('too_long');
  return ok(trimmed);
}

/** `domain` is `parent` or one of its sub-domains. Both normalised. */
export const isSameOrSubdomain = (domain: string, parent: string): boolean => {
  const d = domain.toLowerCase();
  const p = parent.toLowerCase();
  return d === p || d.endsWith(`.${p}`);
};

/** A consumer domain, or a sub-domain of one, belongs to the personal realm and never to a tenant. */
export const isConsumerDomain = (domain: string, config: Pick<DomainConfig, 'consumerDomains'>): boolean =>
  config.consumerDomains.some((consumer) => isSameOrSubdomain(domain, consumer));
