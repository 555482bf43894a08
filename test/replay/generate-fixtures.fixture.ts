// Regenerates the replay fixtures by driving the real service (not part of `npm test`):
//   npx vitest run --config test/replay/vitest.fixtures.config.ts
// then commit test/fixtures/replay/*.ndjson. The replay specs pin the facts each history leads to.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { exportEvents } from '../../apps/cli/src/commands/export-events.js';
import { startScenario } from './scenario-driver.js';
import { tenantYear } from './tenant-year.scenario.js';

const FIXTURES = path.resolve('test/fixtures/replay');

it('generates tenant-year.ndjson', async () => {
  const driver = await startScenario('2025-01-06T09:00:00Z');
  try {
    await tenantYear(driver);
    const file = path.join(FIXTURES, 'tenant-year.ndjson');
    const out = fs.createWriteStream(file);
    const { events } = await exportEvents(driver.store, out);
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    expect(events).toBeGreaterThan(0);
    process.stdout.write(`wrote ${events} events to ${file}\n`);
  } finally {
    await driver.close();
  }
}, 120_000);
