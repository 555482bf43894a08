// RFC 5424 syslog messages from audit records, and RFC 6587 octet-counting framing for TCP. Pure.
//
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID PARAM="VALUE" ...] MSG
//
// - PRI = facility × 8 + severity; facility 13 (log audit); severity from OCSF severity_id:
//   1 Informational → 6 informational, 2 Low → 5 notice, 3 Medium → 4 warning, 4 High → 3 error,
//   5 Critical → 2 critical, 6 Fatal → 1 alert, 0/99 → 5 notice.
// - TIMESTAMP: activityDateTime (RFC 3339, UTC, milliseconds).
// - HOSTNAME, APP-NAME (≤ 48), PROCID (≤ 128), MSGID (≤ 32): printable US-ASCII (33..126) only;
//   anything else is replaced by '_', then cut to length; empty → '-' (NILVALUE).
//   MSGID is the record's activityType (e.g. 'RoleAssigned').
// - SD: one element `[audit@<PEN> ...]` with the chain and routing fields and the (personal)
//   actor and target names; PARAM-VALUE escapes `"`, `\` and `]` with a backslash (RFC 5424
//   §6.3.3) and is otherwise UTF-8 as is. The default PEN 32473 is the one RFC 5612 reserves for
//   documentation: a deployment with its own Private Enterprise Number configures it.
// - MSG: the record as a CEF line (CEF over syslog, as ArcSight and Microsoft Sentinel collectors
//   expect), or with `msg: 'json'` the record's canonical JSON. MSG is sent without a BOM, as
//   MSG-ANY (RFC 5424 §6.4): CEF collectors look for 'CEF:' at the start of MSG. It is UTF-8.
//
// Framing (RFC 6587 §3.4.1, octet counting): "<length in bytes> <message>". The length counts
// UTF-8 bytes (Buffer.byteLength), not characters: 'Zoë' is 4 bytes, an emoji 4.

import { Buffer } from 'node:buffer';

import { canonicalJson } from '../chain.js';
import type { AuditRecord } from '../record.js';
import { toCef } from './cef.js';
import { severityOf, type ProductInfo } from './ocsf.js';

export const FACILITY_LOG_AUDIT = 13;
export const NILVALUE = '-';

export interface SyslogOptions extends ProductInfo {
  readonly hostname?: string;
  readonly appName?: string;
  readonly procId?: string;
  /** SD-ID of the audit element: `name@PEN`. */
  readonly sdId?: string;
  readonly facility?: number;
  /** What MSG holds: the CEF line (default) or the record's canonical JSON. */
  readonly msg?: 'cef' | 'json';
}

export const DEFAULT_SYSLOG = {
  hostname: NILVALUE,
  appName: 'account-lifecycle',
  procId: NILVALUE,
  sdId: 'audit@32473',
  facility: FACILITY_LOG_AUDIT,
  msg: 'cef',
} as const;

const SYSLOG_SEVERITY: Readonly<Record<number, number>> = { 0: 5, 1: 6, 2: 5, 3: 4, 4: 3, 5: 2, 6: 1, 99: 5 };
export const syslogSeverity = (severityId: number): number => SYSLOG_SEVERITY[severityId] ?? 5;

/** A header field: printable US-ASCII only, at most `max` characters, NILVALUE when empty. */
export function headerField(value: string | undefined, max: number): string {
  if (value === undefined || value === '' || value === NILVALUE) return NILVALUE;
  const cleaned = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return cleaned === '' ? NILVALUE : cleaned;
}

/** SD-NAME (SD-ID and PARAM-NAME): printable US-ASCII except '=', ' ', ']', '"'; at most 32. */
export function sdName(value: string): string {
  return value.replace(/[^\x21-\x7e]|[= \]"]/g, '_').slice(0, 32) || '_';
}

export const escapeSdParamValue = (value: string): string => value.replace(/[\\"\]]/g, (ch) => `\\${ch}`);

/** The SD-PARAMs of a record, unescaped, in emission order; empty values are left out. */
export function syslogStructuredData(record: AuditRecord): Array<[string, string]> {
  const head = record.targetResources[0];
  const params: Array<[string, string | number | undefined]> = [
    ['tenantId', record.tenantId],
    ['sequence', record.sequence],
    ['globalPosition', record.globalPosition],
    ['recordId', record.id],
    ['correlationId', record.correlationId],
    ['result', record.result],
    ['actorId', record.initiatedBy.user?.id],
    ['actor', record.initiatedBy.user?.userPrincipalName],
    ['appId', record.initiatedBy.app.appId],
    ['targetId', head?.id],
    ['target', head?.userPrincipalName ?? head?.displayName],
    ['previousHash', record.previousHash],
    ['hash', record.hash],
  ];
  return params
    .filter((p): p is [string, string | number] => p[1] !== undefined && p[1] !== '')
    .map(([k, v]) => [k, String(v)]);
}

/** One RFC 5424 message, unframed. */
export function toSyslog(record: AuditRecord, options: SyslogOptions = {}): string {
  const o = { ...DEFAULT_SYSLOG, ...options };
  const pri = o.facility * 8 + syslogSeverity(severityOf(record));
  const sd = syslogStructuredData(record)
    .map(([k, v]) => ` ${sdName(k)}="${escapeSdParamValue(v)}"`)
    .join('');
  const msg = o.msg === 'json' ? canonicalJson(record) : toCef(record, options);
  return [
    `<${pri}>1`,
    headerField(record.activityDateTime, 64),
    headerField(o.hostname, 255),
    headerField(o.appName, 48),
    headerField(o.procId, 128),
    headerField(record.activityType, 32),
    `[${sdName(o.sdId)}${sd}]`,
    msg,
  ].join(' ');
}

/** RFC 6587 octet counting: "<byte length> <message>". */
export const frameOctetCounted = (message: string): string =>
  `${Buffer.byteLength(message, 'utf8')} ${message}`;
