import { describe, expect, it } from 'vitest';

import {
  domainOfUpn,
  isConsumerDomain,
  isSameOrSubdomain,
  normaliseDisplayName,
  normaliseDomainName,
  normaliseDomainPrefix,
  parseUserPrincipalName,
  upnKey,
} from './names.js';

const accepted = (value: unknown) => ({ ok: true, value });
const refused = (reason: string) => ({ ok: false, reason });

describe('normaliseDomainName', () => {
  it.each([
    ['contoso.com', 'contoso.com'],
    ['  contoso.com  ', 'contoso.com'],
    ['Contoso.COM', 'contoso.com'],
    ['contoso.com.', 'contoso.com'],
    ['mail.eu.contoso.co.uk', 'mail.eu.contoso.co.uk'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['BÜCHER.example', 'xn--bcher-kva.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['XN--BCHER-KVA.EXAMPLE', 'xn--bcher-kva.example'],
    ['straße.de', 'xn--strae-oqa.de'],
    ['ｃｏｎｔｏｓｏ．ｃｏｍ', 'contoso.com'],
    ['contoso。com', 'contoso.com'],
    ['例え.テスト', 'xn--r8jz45g.xn--zckzah'],
    ['пример.рф', 'xn--e1afmkfd.xn--p1ai'],
    ['123.example', '123.example'],
    ['my-domain.example', 'my-domain.example'],
    ['a1.b2', 'a1.b2'],
    ['contoso.xn--p1ai', 'contoso.xn--p1ai'],
  ])('normalises %j to %j', (input, expected) => {
    expect(normaliseDomainName(input)).toEqual(accepted(expected));
  });

  it('keeps a name that is already normal unchanged', () => {
    const once = normaliseDomainName('Bücher.Example.');
    expect(once.ok && normaliseDomainName(once.value)).toEqual(once);
  });

  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['.', 'empty'],
    ['contoso.com..', 'empty_label'],
    ['contoso..com', 'empty_label'],
    ['.contoso.com', 'empty_label'],
    ['contoso', 'not_a_domain'],
    ['localhost.', 'not_a_domain'],
  ])('refuses %j as %s', (input, reason) => {
    expect(normaliseDomainName(input)).toEqual(refused(reason));
  });

  it.each([
    ['a right-to-left override', 'moc.\u202Eexample'],
    ['a left-to-right mark', 'contoso\u200E.com'],
    ['a bidi isolate', 'contoso.\u2066com\u2069'],
    ['a zero-width space', 'conto\u200Bso.com'],
    ['a zero-width joiner', 'conto\u200Dso.com'],
    ['a word joiner', 'conto\u2060so.com'],
    ['a leading byte order mark', '\uFEFFcontoso.com'],
    ['a soft hyphen', 'conto\u00ADso.com'],
    ['a space inside', 'conto so.com'],
    ['a no-break space inside', 'conto\u00A0so.com'],
    ['a tab inside', 'conto\tso.com'],
    ['a newline inside', 'contoso\n.com'],
    ['a NUL', 'contoso\u0000.com'],
    ['a C1 control', 'contoso\u0085.com'],
    ['an underscore', 'foo_bar.com'],
    ['a percent escape', 'ex%41mple.com'],
    ['a slash', 'contoso.com/evil.com'],
    ['a fullwidth slash', 'contoso.com\uFF0Fevil.com'],
    ['a division slash', 'contoso.com\u2215evil.com'],
    ['a colon (port)', 'contoso.com:443'],
    ['an at sign', 'user@contoso.com'],
    ['brackets (IPv6)', '[::1]'],
    ['an emoji', 'i\u2764.com'],
    ['an emoji sent as punycode', 'xn--n3h.com'],
  ])('refuses a name with %s', (_, input) => {
    expect(normaliseDomainName(input)).toEqual(refused('invalid_characters'));
  });

  it.each([
    ['Cyrillic о inside a Latin label', 'c\u043Entoso.com'],
    ['Cyrillic а inside a Latin label', 'p\u0430ypal.com'],
    ['Greek ο inside a Latin label', 'c\u03BFntoso.com'],
    ['Latin o inside a Cyrillic label', 'пpимep.рф'],
    ['a homograph sent as punycode', 'xn--cntoso-wqf.com'],
    ['Latin with Hebrew', 'a\u05D0.com'],
  ])('refuses %s', (_, input) => {
    expect(normaliseDomainName(input)).toEqual(refused('mixed_scripts'));
  });

  it.each([
    ['Japanese (Han, Hiragana, Katakana)', '日本語のドメイン.jp'],
    ['Japanese with Latin', 'abc日本.jp'],
    ['Korean (Hangul with Han)', '한국韓國.kr'],
    ['a script with digits and hyphens', 'пример-2024.рф'],
    ['one script per label, different scripts across labels', 'contoso.рф'],
    ['Latin with combining marks', 'cafe\u0301.fr'],
  ])('accepts %s', (_, input) => {
    expect(normaliseDomainName(input).ok).toBe(true);
  });

  it('refuses a label of 64 characters and accepts one of 63', () => {
    expect(normaliseDomainName(`${'a'.repeat(64)}.com`)).toEqual(refused('label_too_long'));
    expect(normaliseDomainName(`${'a'.repeat(63)}.com`)).toEqual(accepted(`${'a'.repeat(63)}.com`));
  });

  it('counts an IDN label after punycode', () => {
    // 60 characters as typed, 67 once encoded.
    expect(normaliseDomainName(`${'aü'.repeat(30)}.com`)).toEqual(refused('label_too_long'));
  });

  it('refuses a name longer than 253 characters and accepts 253', () => {
    const label = 'a'.repeat(63);
    const name253 = `${label}.${label}.${label}.${'b'.repeat(57)}.com`;
    expect(name253).toHaveLength(253);
    expect(normaliseDomainName(name253)).toEqual(accepted(name253));
    expect(normaliseDomainName(`c${name253}`)).toEqual(refused('too_long'));
  });

  it('measures the length without the trailing dot', () => {
    const label = 'a'.repeat(63);
    const name253 = `${label}.${label}.${label}.${'b'.repeat(57)}.com`;
    expect(normaliseDomainName(`${name253}.`)).toEqual(accepted(name253));
  });

  it.each(['-contoso.com', 'contoso-.com', 'contoso.-com'])(
    'refuses a label starting or ending with a hyphen: %j',
    (input) => {
      expect(normaliseDomainName(input)).toEqual(refused('invalid_hyphen'));
    },
  );

  it.each(['192.168.0.1', '10.0.0.1.', '0x7f.1', '127.1', 'contoso.0x7f', 'contoso.123'])(
    'refuses an IP address or numeric top-level domain: %j',
    (input) => {
      expect(normaliseDomainName(input)).toEqual(refused('not_a_domain'));
    },
  );

  it.each(['xn--abc.com', 'xn--.com', 'xn--zz.com'])('refuses invalid punycode: %j', (input) => {
    expect(normaliseDomainName(input)).toEqual(refused('invalid_idn'));
  });
});

describe('normaliseDomainPrefix', () => {
  it.each([
    ['contoso', 'contoso'],
    ['  Contoso ', 'contoso'],
    ['CONTOSO2026', 'contoso2026'],
    ['a', 'a'],
    ['a'.repeat(27), 'a'.repeat(27)],
  ])('normalises %j to %j', (input, expected) => {
    expect(normaliseDomainPrefix(input)).toEqual(accepted(expected));
  });

  it.each([
    ['', 'empty'],
    ['  ', 'empty'],
    ['a'.repeat(28), 'too_long'],
    ['con-toso', 'invalid_characters'],
    ['con.toso', 'invalid_characters'],
    ['con_toso', 'invalid_characters'],
    ['con toso', 'invalid_characters'],
    ['bücher', 'invalid_characters'],
    ['\u212Aontoso', 'invalid_characters'],
    ['c\u043Entoso', 'invalid_characters'],
  ])('refuses %j as %s', (input, reason) => {
    expect(normaliseDomainPrefix(input)).toEqual(refused(reason));
  });
});

describe('parseUserPrincipalName', () => {
  it('keeps the case of the local part and normalises the domain', () => {
    expect(parseUserPrincipalName(' Alice.Smith@Contoso.COM. ')).toEqual(
      accepted({ localPart: 'Alice.Smith', domain: 'contoso.com', upn: 'Alice.Smith@contoso.com' }),
    );
  });

  it('puts an IDN domain into punycode', () => {
    expect(parseUserPrincipalName('anna@bücher.example')).toEqual(
      accepted({ localPart: 'anna', domain: 'xn--bcher-kva.example', upn: 'anna@xn--bcher-kva.example' }),
    );
  });

  it('accepts every character Entra allows in a local part', () => {
    const local = "a!#$%&'*+/=?^_`{|}~.-z";
    expect(parseUserPrincipalName(`${local}@contoso.com`).ok).toBe(true);
  });

  it.each([
    ['', 'empty'],
    ['alice', 'not_a_user_principal_name'],
    ['alice@bob@contoso.com', 'not_a_user_principal_name'],
    ['@contoso.com', 'empty_local_part'],
    [`${'a'.repeat(65)}@contoso.com`, 'local_part_too_long'],
    ['.alice@contoso.com', 'invalid_local_part'],
    ['alice.@contoso.com', 'invalid_local_part'],
    ['al..ice@contoso.com', 'invalid_local_part'],
    ['al ice@contoso.com', 'invalid_local_part'],
    ['al"ice@contoso.com', 'invalid_local_part'],
    ['alicé@contoso.com', 'invalid_local_part'],
    ['al\u200Bice@contoso.com', 'invalid_local_part'],
    ['alice@', 'empty'],
    ['alice@contoso', 'not_a_domain'],
    ['alice@c\u043Entoso.com', 'mixed_scripts'],
    ['alice@192.168.0.1', 'not_a_domain'],
    ['alice_example.com#EXT#@contoso.onmicrosoft.com', 'reserved_guest_notation'],
    ['a#ext#b@contoso.com', 'reserved_guest_notation'],
  ])('refuses %j as %s', (input, reason) => {
    expect(parseUserPrincipalName(input)).toEqual(refused(reason));
  });

  it('accepts a 64-character local part', () => {
    expect(parseUserPrincipalName(`${'a'.repeat(64)}@contoso.com`).ok).toBe(true);
  });

  it('refuses a UPN longer than 113 characters and accepts 113', () => {
    const domain48 = `${'d'.repeat(44)}.com`;
    expect(parseUserPrincipalName(`${'a'.repeat(64)}@${domain48}`).ok).toBe(true);
    expect(parseUserPrincipalName(`${'a'.repeat(64)}@d${domain48}`)).toEqual(refused('too_long'));
  });

  it('compares UPNs case-insensitively through upnKey', () => {
    expect(upnKey('Alice@contoso.com')).toBe(upnKey('ALICE@contoso.com'));
    expect(domainOfUpn('Alice@contoso.com')).toBe('contoso.com');
  });
});

describe('normaliseDisplayName', () => {
  it('trims', () => {
    expect(normaliseDisplayName('  Alice Smith ')).toEqual(accepted('Alice Smith'));
  });

  it('keeps non-Latin names', () => {
    expect(normaliseDisplayName('Zoë Ødegård 山田')).toEqual(accepted('Zoë Ødegård 山田'));
  });

  it('counts characters, not UTF-16 units', () => {
    expect(normaliseDisplayName('😀'.repeat(256)).ok).toBe(true);
    expect(normaliseDisplayName('😀'.repeat(257))).toEqual(refused('too_long'));
  });

  it.each([
    ['', 'empty'],
    [' \t ', 'empty'],
    ['a'.repeat(257), 'too_long'],
    ['Alice\nSmith', 'invalid_characters'],
    ['Alice\u0007', 'invalid_characters'],
  ])('refuses %j as %s', (input, reason) => {
    expect(normaliseDisplayName(input)).toEqual(refused(reason));
  });
});

describe('isConsumerDomain', () => {
  const config = { consumerDomains: ['outlook.com', 'hotmail.com'] };

  it.each(['outlook.com', 'hotmail.com', 'eu.outlook.com', 'a.b.hotmail.com'])(
    '%s is a consumer domain',
    (domain) => {
      expect(isConsumerDomain(domain, config)).toBe(true);
    },
  );

  it.each(['contoso.com', 'notoutlook.com', 'outlook.com.evil.example', 'outlook.co'])(
    '%s is not a consumer domain',
    (domain) => {
      expect(isConsumerDomain(domain, config)).toBe(false);
    },
  );

  it('tells a sub-domain from a look-alike suffix', () => {
    expect(isSameOrSubdomain('a.contoso.com', 'contoso.com')).toBe(true);
    expect(isSameOrSubdomain('acontoso.com', 'contoso.com')).toBe(false);
  });
});
