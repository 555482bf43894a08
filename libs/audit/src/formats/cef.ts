// ArcSight Common Event Format (CEF:0) lines from audit records. Pure.
//
//   CEF:0|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
//
// Header fields: `\` → `\\` and `|` → `\|`; a header can hold no line break, so CR/LF become a
// space (only the configurable vendor/product/version and the activity name get here).
// Extension values: `\` → `\\`, `=` → `\=`, CR → `\r`, LF → `\n` (CRLF → `\r\n`); `|` is NOT
// escaped there. Keys are fixed ASCII names, emitted in a fixed order; a field with no value is
// left out. Lengths the standard limits are cut by code point (never inside a surrogate pair)
// before escaping: act and outcome 63, externalId 40, cs1-cs6 4000, the others 1023.
//
// Signature ID = OCSF type_uid; Severity from OCSF severity_id: 1→1, 2→3, 3→5, 4→8, 5→10
// (0→0, 6→10, 99→5).
//
// Extension keys:
//   rt                      activityDateTime, epoch milliseconds
//   act                     activityDisplayName
//   outcome                 success | failure
//   reason                  resultReason (failures)
//   msg                     "<activity> <result>" (no personal data in free text)
//   cat                     Graph category
//   externalId              record id (= event id)
//   suid / suser            initiating user id / its UPN (sign-ins: the login)
//   duid / duser            first target resource's id / its UPN or else display name
//   src                     sign-in IP address (only when it is an IP address)
//   requestClientApplication sign-in user agent
//   cs1 tenantId, cs2 correlationId, cs3 modifiedProperties (canonical JSON), cs4 hash,
//   cs5 appId, cs6 targetType; cn1 sequence, cn2 globalPosition, cn3 sign-in errorCode.

import { isIP } from 'node:net';

import { canonicalJson } from '../chain.js';
import type { AuditRecord } from '../record.js';
import { product, severityOf, toOcsf, type ProductInfo } from './ocsf.js';

export const escapeCefHeader = (value: string): string =>
  value
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\r\n|[\r\n]/g, ' ');

export const escapeCefExtension = (value: string): string =>
  value.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r/g, '\\r').replace(/\n/g, '\\n');

/** Cuts to at most `max` code points. */
export const truncateCodePoints = (value: string, max: number): string => {
  const points = Array.from(value);
  return points.length <= max ? value : points.slice(0, max).join('');
};

const CEF_SEVERITY: Readonly<Record<number, number>> = { 0: 0, 1: 1, 2: 3, 3: 5, 4: 8, 5: 10, 6: 10, 99: 5 };
export const cefSeverity = (severityId: number): number => CEF_SEVERITY[severityId] ?? 5;

const LIMITS: Readonly<Record<string, number>> = {
  act: 63,
  outcome: 63,
  externalId: 40,
  cs1: 4000,
  cs2: 4000,
  cs3: 4000,
  cs4: 4000,
  cs5: 4000,
  cs6: 4000,
};
const DEFAULT_LIMIT = 1023;

/** The extension fields of a record, unescaped, in emission order. */
export function cefExtensionFields(record: AuditRecord): Array<[string, string]> {
  const head = record.targetResources[0];
  const modified = record.targetResources.flatMap((t) => t.modifiedProperties);
  const actor = record.initiatedBy.user;
  const signIn = record.recordType === 'signIn';
  // [key, value, label]: a custom field's label goes out just before it, and only with it.
  const fields: Array<[string, string | number | undefined, string?]> = [
    ['rt', Date.parse(record.activityDateTime)],
    ['act', record.activityDisplayName],
    ['outcome', record.result],
    ['reason', record.resultReason],
    ['msg', `${record.activityDisplayName} ${record.result}`],
    ['cat', record.category],
    ['externalId', record.id],
    ['suid', actor?.id],
    ['suser', actor?.userPrincipalName ?? (signIn ? record.userPrincipalName : undefined)],
    ['duid', head?.id],
    ['duser', head?.userPrincipalName ?? head?.displayName],
    ['src', record.ipAddress !== undefined && isIP(record.ipAddress) !== 0 ? record.ipAddress : undefined],
    ['requestClientApplication', record.userAgent],
    ['cs1', record.tenantId, 'tenantId'],
    ['cs2', record.correlationId, 'correlationId'],
    ['cs3', modified.length > 0 ? canonicalJson(modified) : undefined, 'modifiedProperties'],
    ['cs4', record.hash, 'hash'],
    ['cs5', record.initiatedBy.app.appId, 'appId'],
    ['cs6', head?.type, 'targetType'],
    ['cn1', record.sequence, 'sequence'],
    ['cn2', record.globalPosition, 'globalPosition'],
    ['cn3', signIn && record.result === 'failure' ? record.status?.errorCode : undefined, 'errorCode'],
  ];
  const out: Array<[string, string]> = [];
  for (const [key, raw, label] of fields) {
    if (raw === undefined || raw === '') continue;
    if (label !== undefined) out.push([`${key}Label`, label]);
    out.push([key, truncateCodePoints(String(raw), LIMITS[key] ?? DEFAULT_LIMIT)]);
  }
  return out;
}

/** One CEF line (no trailing newline). */
export function toCef(record: AuditRecord, info: ProductInfo = {}): string {
  const p = product(info);
  const typeUid = toOcsf(record, info).type_uid as number;
  const header = [
    'CEF:0',
    escapeCefHeader(p.vendorName),
    escapeCefHeader(p.productName),
    escapeCefHeader(p.productVersion),
    String(typeUid),
    escapeCefHeader(record.activityDisplayName),
    String(cefSeverity(severityOf(record))),
  ].join('|');
  const extension = cefExtensionFields(record)
    .map(([key, value]) => `${key}=${escapeCefExtension(value)}`)
    .join(' ');
  return `${header}|${extension}`;
}
