// `keys create`: issues an API key, prints it once and stores only its hash in the key file.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../../account-service/src/config/config.js';
import {
  ApiKeyRecord,
  hashApiKey,
  newApiKey,
  parseApiKeyFile,
  Scope,
  SCOPES,
} from '../../../account-service/src/common/api-keys.js';
import { UsageError } from '../errors.js';

export function keysCreate(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: {
      'app-id': { type: 'string' },
      scope: { type: 'string', multiple: true },
      tenant: { type: 'string', multiple: true },
      file: { type: 'string' },
    },
  });
  const appId = values['app-id'];
  if (!appId) throw new UsageError('--app-id is required');
  const scopes = (values.scope ?? ['commands:write']) as Scope[];
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.join(', ')}`);
  const file = values.file ?? loadConfig().apiKeysFile;
  const existing = fs.existsSync(file) ? parseApiKeyFile(fs.readFileSync(file, 'utf8'), file) : [];
  const key = newApiKey();
  const record: ApiKeyRecord = {
    appId,
    keyHash: hashApiKey(key),
    scopes,
    ...(values.tenant ? { tenantIds: values.tenant } : {}),
  };
  fs.writeFileSync(file, JSON.stringify([...existing, record], null, 2) + '\n', { mode: 0o600 });
  process.stdout.write(`${key}\n`);
  process.stderr.write(
    `stored the hash for app "${appId}" in ${file}; the key above is not stored anywhere\n`,
  );
}
