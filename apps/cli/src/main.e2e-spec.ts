// The built CLI as an operator runs it (`npm run cli -- …` is `node dist/apps/cli/src/main.js …`):
// exit codes, usage, and replay → digest → export on a real store.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../account-service/src/common/api-keys.js';

const MAIN = path.resolve('dist/apps/cli/src/main.js');
const SERVICE = path.resolve('dist/apps/account-service/src/main.js');
const FIXTURE = path.resolve('test/fixtures/replay/tenant-year.ndjson');

/** The CLI as a child process that does not block the test's event loop (a service runs beside it). */
async function cliAsync(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, EVENT_STORE: 'sqlite', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function cli(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, [MAIN, ...args], {
    env: { ...process.env, EVENT_STORE: 'sqlite', ...env },
    encoding: 'utf8',
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('npm run cli', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'als-cli-e2e-'));
  const dataDir = path.join(root, 'data');

  beforeAll(() => {
    if (!fs.existsSync(MAIN))
      throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('explains itself: usage with 0 on help, 2 on a wrong command or argument', () => {
    expect(cli(['help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('rebuild <name|all>') });
    expect(cli([])).toMatchObject({ code: 2, stderr: expect.stringContaining('usage:') });
    expect(cli(['rebuld', 'all'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown command rebuld'),
    });
    expect(cli(['rebuild'])).toMatchObject({ code: 2 });
    expect(cli(['export-events', '--after', 'x'])).toMatchObject({ code: 2 });
    expect(cli(['digest', '--verbose'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--verbose'),
    });
  });

  it('replays a log into a fresh store, then digests, exports and rebuilds it', () => {
    const replayed = cli(['replay', FIXTURE, '--data-dir', dataDir, '--json']);
    expect(replayed.code, replayed.stderr).toBe(0);
    const result = JSON.parse(replayed.stdout) as {
      events: number;
      readModels: { name: string; digest: string; events: number }[];
    };
    const lines = fs.readFileSync(FIXTURE, 'utf8').trim().split('\n').length;
    expect(result.events).toBe(lines);
    expect(result.readModels.length).toBeGreaterThan(0);

    const digest = cli(['digest', '--json'], { DATA_DIR: dataDir });
    expect(digest.code, digest.stderr).toBe(0);
    const live = JSON.parse(digest.stdout) as {
      head: number;
      readModels: { name: string; digest: string; position: number }[];
    };
    expect(live.head).toBe(lines);
    expect(live.readModels.map((r) => [r.name, r.digest, r.position])).toEqual(
      result.readModels.map((r) => [r.name, r.digest, lines]),
    );

    const out = path.join(root, 'export.ndjson');
    expect(cli(['export-events', '--out', out], { DATA_DIR: dataDir }).code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe(fs.readFileSync(FIXTURE, 'utf8'));
    const tail = cli(['export-events', '--after', String(lines - 2)], { DATA_DIR: dataDir });
    expect(tail.stdout.trim().split('\n')).toHaveLength(2);

    const first = result.readModels[0]!;
    const rebuilt = cli(['rebuild', first.name], { DATA_DIR: dataDir });
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stdout).toContain(`${first.name}: ${lines} events in`);
    expect(rebuilt.stdout).toContain(`digest ${first.digest}`);
    expect(rebuilt.stderr).toContain('100.0%');
  });

  it('fails with 1 and a clear message on a store that is not fresh, or a broken line', () => {
    const again = cli(['replay', FIXTURE, '--data-dir', dataDir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is not empty/);
    const broken = path.join(root, 'broken.ndjson');
    const [first, second] = fs.readFileSync(FIXTURE, 'utf8').split('\n');
    fs.writeFileSync(broken, `${first}\n${second!.replace('"type":', '"typ":')}\n`);
    const bad = cli(['replay', broken, '--data-dir', path.join(root, 'other')]);
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringContaining('line 2: unknown field "typ"') });
    expect(cli(['rebuild', 'nope'], { DATA_DIR: dataDir })).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no read model "nope"'),
    });
  });

  it('rebuilds all read models while the service runs on the same store and takes commands', async () => {
    const key = 'cli-e2e-key';
    const keys = path.join(root, 'service-keys.json');
    fs.writeFileSync(
      keys,
      JSON.stringify([{ appId: 'cli-e2e', keyHash: hashApiKey(key), scopes: ['commands:write'] }]),
    );
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const service: ChildProcess = spawn(process.execPath, [SERVICE], {
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        EVENT_STORE: 'sqlite',
        PORT: String(port),
        API_KEYS_FILE: keys,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    service.stdout!.on('data', (d) => (output += d));
    service.stderr!.on('data', (d) => (output += d));
    const ready = async () =>
      (await (await fetch(`${base}/readyz`)).json()) as {
        checks: {
          eventStore: { headPosition: string };
          readModels: { name: string; state: string; position: string }[];
        };
      };
    try {
      for (let tries = 0; ; tries++) {
        if (service.exitCode !== null || tries > 400) throw new Error(`service did not start:\n${output}`);
        if (
          await fetch(`${base}/readyz`).then(
            (r) => r.ok,
            () => false,
          )
        )
          break;
        await new Promise((r) => setTimeout(r, 50));
      }
      // Sign-ins keep coming while the CLI rebuilds beside the live generations and switches.
      let streaming = true;
      let accepted = 0;
      const traffic = (async () => {
        while (streaming) {
          const res = await fetch(`${base}/v1/sign-ins`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
            body: JSON.stringify({
              login: 'megan@contoso.onmicrosoft.com',
              service: { kind: 'consumer' },
              mfaPerformed: false,
              ipAddress: '192.0.2.1',
              userAgent: 'cli-e2e',
            }),
          });
          if (res.ok) accepted += 1;
        }
      })();
      const rebuilt = await cliAsync(['rebuild', 'all'], { DATA_DIR: dataDir });
      streaming = false;
      await traffic;
      expect(rebuilt.code, rebuilt.stderr).toBe(0);
      expect(accepted).toBeGreaterThan(0);

      // The service follows on the generations the CLI switched to, and catches up with the head.
      let status = await ready();
      for (
        let tries = 0;
        status.checks.readModels.some((m) => m.position !== status.checks.eventStore.headPosition);
        tries++
      ) {
        if (tries > 200) throw new Error(`read models did not catch up: ${JSON.stringify(status)}`);
        await new Promise((r) => setTimeout(r, 50));
        status = await ready();
      }
      expect(status.checks.readModels.filter((m) => m.state !== 'live')).toEqual([]);
      // What the service built live is what a rebuild from the log builds.
      const live = JSON.parse((await cliAsync(['digest', '--json'], { DATA_DIR: dataDir })).stdout) as {
        readModels: { name: string; digest: string }[];
      };
      const again = JSON.parse(
        (await cliAsync(['rebuild', 'all', '--json'], { DATA_DIR: dataDir })).stdout,
      ) as {
        name: string;
        digest: string;
      }[];
      expect(again.map((r) => [r.name, r.digest])).toEqual(live.readModels.map((r) => [r.name, r.digest]));
    } finally {
      const exited = new Promise((resolve) => service.once('exit', resolve));
      service.kill('SIGTERM');
      await exited;
    }
  }, 60_000);

  it('still issues API keys', () => {
    const file = path.join(root, 'keys.json');
    const issued = cli(['keys', 'create', '--app-id', 'ops', '--file', file]);
    expect(issued.code, issued.stderr).toBe(0);
    expect(issued.stdout).toMatch(/^als_/);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual([
      expect.objectContaining({ appId: 'ops', scopes: ['commands:write'] }),
    ]);
  });
});
