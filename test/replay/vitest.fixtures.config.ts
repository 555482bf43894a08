// Runs only the fixture generators (see generate-fixtures.fixture.ts), with the main config's setup.
import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.js';

export default defineConfig({
  ...base,
  test: { ...base.test, include: ['test/replay/**/*.fixture.ts'], testTimeout: 120_000 },
});
