// API keys: sha256-hashed in a JSON file (API_KEYS_FILE), each for one upstream app with scopes
// and an optional tenant list. A first start without a file creates one with a single random key.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const SCOPES = ['commands:write', 'directory:read', 'lookup:read', 'audit:read'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKeyRecord {
  readonly appId: string;
  readonly keyHash: string;
  readonly scopes: readonly Scope[];
  readonly tenantIds?: readonly string[];
}

export interface ApiPrincipal {
  readonly appId: string;
  readonly scopes: ReadonlySet<Scope>;
  /** Undefined: every tenant. */
  readonly tenantIds?: ReadonlySet<string>;
}

export const hashApiKey = (key: string): string =>
  'sha256:' + createHash('sha256').update(key, 'utf8').digest('hex');

export class ApiKeyFileError extends Error {}

export function parseApiKeyFile(text: string, source: string): ApiKeyRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiKeyFileError(`${source}: not valid JSON`);
  }
  if (!Array.isArray(parsed)) throw new ApiKeyFileError(`${source}: expected a JSON array of keys`);
  return parsed.map((entry: unknown, i: number) => {
    const e = entry as Partial<Record<keyof ApiKeyRecord, unknown>>;
    const where = `${source}[${i}]`;
    if (typeof e.appId !== 'string' || e.appId.length === 0)
      throw new ApiKeyFileError(`${where}.appId must be a non-empty string`);
    if (typeof e.keyHash !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(e.keyHash)) {
      throw new ApiKeyFileError(`${where}.keyHash must be "sha256:<64 lower-case hex digits>"`);
    }
    if (!Array.isArray(e.scopes) || !e.scopes.every((s) => (SCOPES as readonly unknown[]).includes(s))) {
      throw new ApiKeyFileError(`${where}.scopes must be a list of ${SCOPES.join(', ')}`);
    }
    if (
      e.tenantIds !== undefined &&
      (!Array.isArray(e.tenantIds) || !e.tenantIds.every((t) => typeof t === 'string'))
    ) {
      throw new ApiKeyFileError(`${where}.tenantIds must be a list of tenant ids`);
    }
    return {
      appId: e.appId,
      keyHash: e.keyHash,
      scopes: e.scopes as Scope[],
      ...(e.tenantIds ? { tenantIds: e.tenantIds as string[] } : {}),
    };
  });
}

export class ApiKeyRegistry {
  private byHash: ReadonlyMap<string, ApiKeyRecord> = new Map();

  constructor(records: readonly ApiKeyRecord[]) {
    this.replace(records);
  }

  /** Swaps the whole key set at once (key rotation without a restart). */
  replace(records: readonly ApiKeyRecord[]): void {
    this.byHash = new Map(records.map((r) => [r.keyHash, r]));
  }

  static fromFile(file: string): ApiKeyRegistry {
    return new ApiKeyRegistry(parseApiKeyFile(fs.readFileSync(file, 'utf8'), file));
  }

  authenticate(key: string): ApiPrincipal | undefined {
    const hash = hashApiKey(key);
    const record = this.byHash.get(hash);
    // The map lookup already selected by hash; compare once more in constant time for good measure.
    if (!record || !timingSafeEqual(Buffer.from(record.keyHash), Buffer.from(hash))) return undefined;
    return {
      appId: record.appId,
      scopes: new Set(record.scopes),
      ...(record.tenantIds ? { tenantIds: new Set(record.tenantIds) } : {}),
    };
  }
}

export const newApiKey = (): string => 'als_' + randomBytes(32).toString('base64url');

/** Creates the key file with one all-scopes key when none exists; returns the new key (else undefined). */
export function ensureApiKeyFile(file: string): string | undefined {
  if (fs.existsSync(file)) return undefined;
  const key = newApiKey();
  const records: ApiKeyRecord[] = [{ appId: 'local-admin', keyHash: hashApiKey(key), scopes: [...SCOPES] }];
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(records, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}
