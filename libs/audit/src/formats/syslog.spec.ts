import { Buffer } from 'node:buffer';

import { describe, expect, it } from 'vitest';

import { canonicalJson } from '../chain.js';
import type { AuditRecord } from '../record.js';
import { HOSTILE_NAME, HOSTILE_UPN, sampleRecords } from '../testing/samples.js';
import { toCef } from './cef.js';
import {
  escapeSdParamValue,
  frameOctetCounted,
  headerField,
  syslogSeverity,
  syslogStructuredData,
  toSyslog,
} from './syslog.js';

const records = sampleRecords();
const find = (activityType: string, result = 'success'): AuditRecord =>
  records.find((r) => r.activityType === activityType && r.result === result)!;

/** Our own RFC 5424 reader (the ABNF of §6), for round trips. */
function parse5424(message: string) {
  const head = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(message);
  if (head === null) throw new Error(`not RFC 5424: ${message.slice(0, 80)}`);
  let i = head[0].length;
  const sd: Array<{ id: string; params: Array<[string, string]> }> = [];
  if (message[i] === '-') i += 1;
  while (message[i] === '[') {
    const id = /^\[([^ =\]"]{1,32})/.exec(message.slice(i))!;
    i += id[0].length;
    const params: Array<[string, string]> = [];
    while (message[i] === ' ') {
      const name = /^ ([^ =\]"]{1,32})="/.exec(message.slice(i))!;
      i += name[0].length;
      let value = '';
      for (;;) {
        const ch = message[i]!;
        if (ch === '\\' && '"\\]'.includes(message[i + 1]!)) {
          value += message[i + 1];
          i += 2;
        } else if (ch === '"') {
          i += 1;
          break;
        } else if (ch === ']') {
          throw new Error('unescaped ] in PARAM-VALUE');
        } else {
          value += ch;
          i += 1;
        }
      }
      params.push([name[1]!, value]);
    }
    if (message[i] !== ']') throw new Error(`SD-ELEMENT not closed at ${i}`);
    i += 1;
    sd.push({ id: id[1]!, params });
  }
  if (message[i] !== ' ') throw new Error('no SP before MSG');
  return {
    pri: Number(head[1]),
    timestamp: head[2]!,
    hostname: head[3]!,
    appName: head[4]!,
    procId: head[5]!,
    msgId: head[6]!,
    sd,
    msg: message.slice(i + 1),
  };
}

/** Splits an octet-counted TCP stream back into messages, counting bytes. */
function unframe(stream: string): string[] {
  const bytes = Buffer.from(stream, 'utf8');
  const out: string[] = [];
  let i = 0;
  while (i < bytes.length) {
    const space = bytes.indexOf(0x20, i);
    const length = Number(bytes.subarray(i, space).toString('ascii'));
    expect(Number.isInteger(length) && length > 0).toBe(true);
    out.push(bytes.subarray(space + 1, space + 1 + length).toString('utf8'));
    i = space + 1 + length;
  }
  return out;
}

describe('toSyslog', () => {
  it('writes <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG with facility 13', () => {
    const record = find('MemberCreated');
    const message = toSyslog(record, { hostname: 'audit-1.example' });
    const parsed = parse5424(message);
    expect(parsed).toMatchObject({
      pri: 13 * 8 + 6,
      timestamp: record.activityDateTime,
      hostname: 'audit-1.example',
      appName: 'account-lifecycle',
      procId: '-',
      msgId: 'MemberCreated',
      msg: toCef(record),
    });
    expect(parsed.sd).toEqual([{ id: 'audit@32473', params: syslogStructuredData(record) }]);
  });

  it('derives severity from the OCSF severity', () => {
    expect([1, 2, 3, 4, 5].map(syslogSeverity)).toEqual([6, 5, 4, 3, 2]);
    expect(parse5424(toSyslog(find('RoleAssigned'))).pri).toBe(13 * 8 + 3);
    expect(parse5424(toSyslog(find('SignInFailed', 'failure'))).pri).toBe(13 * 8 + 5);
  });

  it('escapes ", \\ and ] in SD values and gets the hostile values back', () => {
    expect(escapeSdParamValue('a"b\\c]d|e=f')).toBe('a\\"b\\\\c\\]d|e=f');
    const record = find('MemberCreated');
    const params = Object.fromEntries(parse5424(toSyslog(record)).sd[0]!.params);
    expect(params.target).toBe(HOSTILE_UPN);
    const renamed = find('UserRenamed');
    expect(Object.fromEntries(parse5424(toSyslog(renamed)).sd[0]!.params).target).toBe('Zoë Ü. Ñandú');
    const guest = find('GuestInvited');
    expect(Object.fromEntries(parse5424(toSyslog(guest)).sd[0]!.params).target).toBe(
      guest.targetResources[0]!.userPrincipalName,
    );
  });

  it('keeps header fields to printable ASCII, their lengths, and NILVALUE', () => {
    expect(headerField(undefined, 48)).toBe('-');
    expect(headerField('', 48)).toBe('-');
    expect(headerField('app name é]', 48)).toBe('app_name__]');
    expect(headerField('x'.repeat(60), 48)).toHaveLength(48);
    const message = toSyslog(find('UserBlocked'), {
      appName: 'a'.repeat(60),
      hostname: 'host name',
      procId: '4711',
    });
    const parsed = parse5424(message);
    expect(parsed.appName).toHaveLength(48);
    expect(parsed.hostname).toBe('host_name');
    expect(parsed.procId).toBe('4711');
    const longMsgId = toSyslog({ ...find('UserBlocked'), activityType: 'A'.repeat(40) });
    expect(parse5424(longMsgId).msgId).toHaveLength(32);
  });

  it('can carry the record as JSON instead of CEF', () => {
    const record = find('UserRenamed');
    expect(parse5424(toSyslog(record, { msg: 'json' })).msg).toBe(canonicalJson(record));
  });
});

describe('frameOctetCounted', () => {
  it('counts bytes, not characters', () => {
    expect(frameOctetCounted('Zoë')).toBe('4 Zoë');
    expect(frameOctetCounted('🎉')).toBe('4 🎉');
    expect(frameOctetCounted('a\nb')).toBe('3 a\nb');
  });

  it('frames a stream that splits back into the same messages, newlines inside values included', () => {
    const messages = records.map((r) => toSyslog(r));
    expect(messages.some((m) => m.includes('\n'))).toBe(true);
    const stream = messages.map(frameOctetCounted).join('');
    expect(unframe(stream)).toEqual(messages);
    const member = unframe(stream)
      .map(parse5424)
      .find((m) => m.msgId === 'MemberCreated')!;
    expect(Object.fromEntries(member.sd[0]!.params).target).toBe(HOSTILE_UPN);
    expect(member.msg).toContain('Zoë');
    expect(HOSTILE_NAME).toContain('\r\n');
  });
});
