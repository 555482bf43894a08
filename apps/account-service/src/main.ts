// Starts the service on the configured store and port.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ApiKeyRegistry, ensureApiKeyFile, parseApiKeyFile } from './common/api-keys.js';
import fs from 'node:fs';
import { loadConfig } from './config/config.js';
import { createApp } from './bootstrap.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = new Logger('AccountService');
  const newKey = ensureApiKeyFile(config.apiKeysFile);
  if (newKey) {
    // Printed once: only its hash is stored.
    logger.warn(
      `No API key file found; created ${config.apiKeysFile} with one key for app "local-admin" (all scopes):`,
    );
    process.stdout.write(
      `\n    API key: ${newKey}\n\n    (shown only now; export it, e.g. export API_KEY=${newKey})\n\n`,
    );
  }
  const apiKeys = ApiKeyRegistry.fromFile(config.apiKeysFile);
  // SIGHUP re-reads the key file: keys rotate without a restart; a broken file keeps the old keys.
  process.on('SIGHUP', () => {
    try {
      apiKeys.replace(parseApiKeyFile(fs.readFileSync(config.apiKeysFile, 'utf8'), config.apiKeysFile));
      logger.log(`reloaded API keys from ${config.apiKeysFile}`);
    } catch (error) {
      logger.error(`API keys not reloaded: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  const { app } = await createApp({ config, apiKeys });
  // A signal closes the whole service (app, leases, store, read models) before the process ends:
  // leases are handed over at once and the last batch is committed or rolled back, not cut.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.log(`${signal}: shutting down`);
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error(`shutdown: ${error instanceof Error ? error.message : String(error)}`);
          process.exit(1);
        },
      );
    });
  }
  await app.listen(config.port, '0.0.0.0');
  logger.log(`listening on port ${config.port} (event store: ${config.eventStore}, data: ${config.dataDir})`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
