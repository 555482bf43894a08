// Records a store written by the one-stream-per-tenant layout (the service before per-object
// streams), for the compatibility test: the year's events, and the audit records and chain heads
// that version built from them, byte for byte. Generated once from that version's code:
//   npx vitest run --config test/replay/vitest.fixtures.config.ts generate-legacy
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { exportEvents } from '../../apps/cli/src/commands/export-events.js';
import { replay } from '../../apps/cli/src/commands/replay.js';
import { openReadSide } from '../../apps/cli/src/commands/read-side.js';
import { loadConfig } from '../../apps/account-service/src/config/config.js';
import { startScenario } from './scenario-driver.js';
import { tenantYear } from './tenant-year.scenario.js';

const DIR = path.resolve('test/fixtures/legacy');

it('generates the legacy-layout fixture', async () => {
  const driver = await startScenario('2025-01-06T09:00:00Z');
  const events = path.join(DIR, 'tenant-year-v1.ndjson');
  try {
    await tenantYear(driver);
    const out = fs.createWriteStream(events);
    const written = await exportEvents(driver.store, out);
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    expect(written.events).toBeGreaterThan(0);
  } finally {
    await driver.close();
  }
  // The audit feed exactly as that version stores it: every row of the records table and every
  // chain head, in order.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'als-legacy-'));
  try {
    const config = loadConfig({ DATA_DIR: dataDir, EVENT_STORE: 'sqlite' });
    await replay(events, config);
    const readSide = await openReadSide(config, { requireBuilt: true });
    try {
      const prefix = await readSide.runner.prefix('audit');
      const db = readSide.runner.db;
      const records = await db.all<Record<string, unknown>>(
        `SELECT chain, sequence, position, id, json, hash, previous_hash FROM ${prefix}records ORDER BY position, chain, sequence`,
      );
      const heads = await db.all<Record<string, unknown>>(
        `SELECT * FROM ${prefix}chain_heads ORDER BY chain`,
      );
      fs.writeFileSync(
        path.join(DIR, 'tenant-year-v1.audit.ndjson'),
        records.map((r) => JSON.stringify(r)).join('\n') + '\n',
      );
      fs.writeFileSync(
        path.join(DIR, 'tenant-year-v1.chain-heads.json'),
        JSON.stringify(heads, null, 2) + '\n',
      );
      expect(records.length).toBeGreaterThan(0);
    } finally {
      await readSide.close();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 300_000);
