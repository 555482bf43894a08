// OUR OWN strict CEF:0 reader, for a spec-conformance check of what cef.ts writes. It is not the
// independent parser the acceptance asks for (that is liblognorm's, see cef.spec.ts); it exists so
// that the conformance rules are checked even where liblognorm is not installed, and it is
// stricter than most parsers:
// - the line holds no CR or LF;
// - the header is 'CEF:0' and six more fields, each ended by an unescaped '|'; inside a header
//   field the only escapes are '\\' and '\|';
// - the extension is space-separated key=value pairs; a key is [A-Za-z0-9_.]+; in a value the only
//   escapes are '\\', '\=', '\n', '\r'; an unescaped '=' only ends a key; a value runs to the last
//   space before the next key.

export interface ParsedCef {
  readonly version: string;
  readonly vendor: string;
  readonly product: string;
  readonly deviceVersion: string;
  readonly signatureId: string;
  readonly name: string;
  readonly severity: string;
  readonly extension: Record<string, string>;
}

export class CefSyntaxError extends Error {}

export function parseCefStrict(line: string): ParsedCef {
  if (/[\r\n]/.test(line)) throw new CefSyntaxError('a CEF line holds no CR or LF');
  if (!line.startsWith('CEF:0|')) throw new CefSyntaxError('not CEF:0');
  const header: string[] = [];
  let i = 'CEF:0|'.length;
  while (header.length < 6) {
    let field = '';
    for (;;) {
      if (i >= line.length) throw new CefSyntaxError(`header field ${header.length + 1} is not ended by '|'`);
      const ch = line[i]!;
      if (ch === '\\') {
        const next = line[i + 1];
        if (next !== '\\' && next !== '|') throw new CefSyntaxError(`bad header escape \\${next ?? ''}`);
        field += next;
        i += 2;
      } else if (ch === '|') {
        i += 1;
        break;
      } else {
        field += ch;
        i += 1;
      }
    }
    header.push(field);
  }
  const extension = parseExtension(line.slice(i));
  const [vendor, product, deviceVersion, signatureId, name, severity] = header as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return { version: '0', vendor, product, deviceVersion, signatureId, name, severity, extension };
}

function parseExtension(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const keyMatch = /^[A-Za-z0-9_.]+=/.exec(text.slice(i));
    if (keyMatch === null) throw new CefSyntaxError(`expected key= at extension offset ${i}`);
    const key = keyMatch[0].slice(0, -1);
    if (key in out) throw new CefSyntaxError(`duplicate key ${key}`);
    i += keyMatch[0].length;
    // Scan the raw value up to the next unescaped '=' (or the end), validating escapes.
    let j = i;
    let lastWordStart = -1;
    let afterSpace = false;
    while (j < text.length) {
      const ch = text[j]!;
      if (ch === '\\') {
        const next = text[j + 1];
        if (next === undefined || !'\\=nr'.includes(next))
          throw new CefSyntaxError(`bad extension escape \\${next ?? ''}`);
        if (afterSpace) {
          lastWordStart = j;
          afterSpace = false;
        }
        j += 2;
        continue;
      }
      if (ch === '=') break;
      if (ch === ' ') afterSpace = true;
      else if (afterSpace) {
        lastWordStart = j;
        afterSpace = false;
      }
      j += 1;
    }
    let end: number;
    if (j >= text.length) end = text.length;
    else if (lastWordStart === -1) throw new CefSyntaxError(`unescaped '=' in the value of ${key}`);
    else end = lastWordStart - 1; // the separating space
    out[key] = unescapeValue(text.slice(i, end));
    i = end === text.length ? end : end + 1;
  }
  return out;
}

const unescapeValue = (raw: string): string =>
  raw.replace(/\\([\\=nr])/g, (_m, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
