/**
 * The installable programs (issue 13 item 2, docs/adr/0004): `npm run pack` builds and packs the
 * server, the agent, the simulator and posbridge-homologate; they install with `npm install -g --prefix <tmp>` into a
 * temporary prefix outside the repository (dependencies from the npm registry, sqlite3 compiled
 * from source), and the installed bins — compiled JavaScript, no tsx — run: `posbridge-agent
 * --help`, `posbridge-agent doctor --json`, and one payment through the installed server +
 * simulator + agent (created like VTEX, bound like the inStore app, final callback received), then
 * the installed posbridge-homologate passes every case against that server.
 *
 * Slow (two sqlite3 compiles, minutes): runs under `CI=true` or `POSBRIDGE_PACK_TEST=1`, and is
 * skipped with one loud line otherwise (docs/testing.md).
 * @requires-program socat
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient, appPayload, buildCreatePayment, startCallbackReceiver, submitTerminal, waitFor, type CallbackReceiver } from '@posbridge/testkit';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENABLED = process.env['CI'] === 'true' || process.env['POSBRIDGE_PACK_TEST'] === '1';
if (!ENABLED) process.stderr.write('SKIPPED test/e2e/pack-install.test.ts: set POSBRIDGE_PACK_TEST=1 (or CI=true) to pack, install and run the programs (minutes)\n');

const exec = promisify(execFile);
/** Native dependencies whose install scripts npm 11 must be allowed to run in a global install. */
const ALLOW_SCRIPTS = '@serialport/bindings-cpp,sqlite3,node-hid';

/**
 * The machine's environment without what ties a child to this repository or this test run:
 * NODE_OPTIONS (it may carry the source condition or tsx), npm's script variables (`npm_*`, the
 * package's paths; the `npm_config_nodedir` setting stays), vitest's and NODE_ENV.
 */
function cleanEnv(from: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(from)) {
    if (value === undefined || key === 'NODE_OPTIONS' || key === 'NODE_ENV' || key === 'INIT_CWD' || key.startsWith('VITEST')) continue;
    if (key.startsWith('npm_') && key !== 'npm_config_nodedir') continue;
    out[key] = value;
  }
  return out;
}

describe.runIf(ENABLED)('npm run pack → npm install -g → the installed programs', () => {
  let dir: string;
  let prefix: string;
  /** Environment of the installed programs: no NODE_OPTIONS, no repository on any path. */
  let env: Record<string, string>;
  const children: ChildProcess[] = [];
  let receiver: CallbackReceiver;
  const measured: Record<string, number> = {};

  const bin = (name: string): string => join(prefix, 'bin', name);

  /** Starts an installed program from `dir`; resolves once a stderr/stdout JSON line satisfies `ready`. */
  const startProgram = (name: string, args: string[], extraEnv: Record<string, string>, ready: (l: Record<string, unknown>) => boolean) => {
    const child = spawn(bin(name), args, { cwd: dir, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const tail: string[] = [];
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} not ready in 30 s:\n${tail.join('\n')}`)), 30_000);
      child.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${tail.join('\n')}`)));
      for (const stream of [child.stdout, child.stderr]) {
        createInterface({ input: stream }).on('line', (line) => {
          tail.push(line);
          if (tail.length > 40) tail.shift();
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(line) as Record<string, unknown>;
          } catch {
            return;
          }
          if (ready(parsed)) {
            clearTimeout(timer);
            resolve(parsed);
          }
        });
      }
    });
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'posbridge-pack-'));
    prefix = join(dir, 'prefix');
    const started = performance.now();
    const packed = await exec(process.execPath, ['--conditions=@posbridge/source', '--import', 'tsx', 'scripts/pack.ts', '--out', join(dir, 'tarballs')], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    measured['packMs'] = Math.round(performance.now() - started);
    const { tarballs } = JSON.parse(packed.stdout.trim().split('\n').at(-1) ?? '{}') as { tarballs: { name: string; file: string; bytes: number }[] };
    expect(tarballs.map((t) => t.name).sort()).toEqual(['@posbridge/hardware-sim', '@posbridge/homologate', '@posbridge/server', '@posbridge/terminal-agent']);
    for (const t of tarballs) measured[`${t.name} bytes`] = t.bytes;

    // Installed from a folder outside the repository, with an environment that names none of it:
    // the machine's own (network, CA certificates) minus what the test runner and npm add.
    env = { ...cleanEnv(process.env), PATH: `${join(prefix, 'bin')}:${process.env['PATH'] ?? ''}`, LOG_LEVEL: 'info' };
    if (env['npm_config_nodedir'] === undefined && existsSync('/usr/include/node')) env['npm_config_nodedir'] = '/usr';
    const installStarted = performance.now();
    await exec('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', `--allow-scripts=${ALLOW_SCRIPTS}`, ...tarballs.map((t) => t.file)], {
      cwd: dir,
      env,
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    measured['installMs'] = Math.round(performance.now() - installStarted);
    receiver = await startCallbackReceiver();
  }, 900_000);

  afterAll(async () => {
    for (const child of children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await receiver?.close();
    process.stderr.write(`pack-install measured: ${JSON.stringify(measured)}\n`);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('installs the three bins as compiled JavaScript, with no TypeScript sources and no tsx', async () => {
    for (const name of ['posbridge-server', 'posbridge-agent', 'posbridge-sim', 'posbridge-homologate']) expect(existsSync(bin(name))).toBe(true);
    const lib = join(prefix, 'lib', 'node_modules', '@posbridge');
    for (const pkg of ['server', 'terminal-agent', 'hardware-sim']) {
      expect(existsSync(join(lib, pkg, 'dist'))).toBe(true);
      expect(existsSync(join(lib, pkg, 'src'))).toBe(false);
      expect(existsSync(join(lib, pkg, 'node_modules', 'tsx'))).toBe(false);
      expect(existsSync(join(lib, pkg, 'dist', 'node_modules', '@posbridge', 'protocol', 'dist', 'index.js'))).toBe(true);
    }
    const { stdout } = await exec(bin('posbridge-agent'), ['--help'], { cwd: dir, env, encoding: 'utf8' });
    expect(stdout).toMatch(/^Usage: posbridge-agent/);
  });

  it('runs one payment through the installed server, simulator and agent; doctor --json passes', async () => {
    const db = join(dir, 'posbridge.sqlite');
    const added = await exec(bin('posbridge-server'), ['agent', 'add', '--name', 'pack-install', '--db', db], { cwd: dir, env, encoding: 'utf8' });
    const token = /token:\s+(\S+)/.exec(added.stdout)?.[1];
    expect(token).toBeDefined();
    const appKey = 'vtexappkey-pack';
    const appToken = randomBytes(24).toString('base64url');
    const listening = await startProgram(
      'posbridge-server',
      ['run'],
      {
        HOST: '127.0.0.1',
        PORT: '0',
        POSBRIDGE_DB: db,
        POSBRIDGE_APP_KEY: appKey,
        POSBRIDGE_APP_TOKEN: appToken,
        POSBRIDGE_CALLBACK_APP_KEY: 'partner-key',
        POSBRIDGE_CALLBACK_APP_TOKEN: randomBytes(24).toString('base64url'),
        POSBRIDGE_CALLBACK_ALLOW_HOSTS: '127.0.0.1',
        POSBRIDGE_MERCHANT_NAME: 'mystore',
      },
      (l) => l['msg'] === 'server listening',
    );
    const baseUrl = String(listening['url']);
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The Payment App ships inside the server package.
    expect((await fetch(`${baseUrl}/pos/app/app.html`)).status).toBe(200);

    const ptyDir = join(dir, 'pty');
    const simStarted = startProgram('posbridge-sim', ['--serial', 'SIM0001', '--dir', ptyDir, '--step-delay-ms', '20'], {}, () => false);
    simStarted.catch(() => undefined);
    await waitFor(() => existsSync(join(ptyDir, 'SIM0001')), { timeoutMs: 20_000, message: 'the simulator pty link' });

    const agentEnv = {
      POSBRIDGE_SERVER_URL: `${baseUrl.replace(/^http/, 'ws')}/agent/v1`,
      POSBRIDGE_AGENT_TOKEN: token!,
      POSBRIDGE_TERMINAL_PORT: join(ptyDir, 'SIM0001'),
      POSBRIDGE_JOURNAL: join(dir, 'agent-journal.sqlite'),
    };
    const doctor = await exec(bin('posbridge-agent'), ['doctor', '--json'], { cwd: dir, env: { ...env, ...agentEnv }, encoding: 'utf8' });
    const report = JSON.parse(doctor.stdout) as { ok?: unknown };
    expect(report.ok).toBe(true);

    await startProgram('posbridge-agent', ['run'], agentEnv, (l) => l['msg'] === 'agent ready');
    const gateway = new GatewayClient(baseUrl, appKey, appToken);
    const body = buildCreatePayment({ value: 10.5, method: 'debit', callbackUrl: '' });
    body['callbackUrl'] = receiver.callbackUrlFor(String(body['transactionId']), String(body['paymentId']));
    const created = await gateway.createPayment(body);
    expect(created.status).toBe(200);
    expect(created.body['status']).toBe('undefined');
    const submitUrl = appPayload(created)?.payload['submitUrl'];
    expect(typeof submitUrl).toBe('string');
    expect((await submitTerminal(String(submitUrl), 'SIM0001')).status).toBe(200);
    const callback = await receiver.waitFor(String(body['paymentId']), 30_000);
    expect(callback.body).toMatchObject({ paymentId: body['paymentId'], status: 'approved' });
    expect((await gateway.createPayment(body)).body['status']).toBe('approved');

    // The installed posbridge-homologate (its own spec copy, compiled) against the installed
    // server, the merchant in Test Suite mode set with the installed CLI; the POS sales on SIM0001.
    await exec(bin('posbridge-server'), ['merchant', 'set', 'mystore', '--test-suite', 'on', '--operator', 'pack-install', '--db', db], { cwd: dir, env, encoding: 'utf8' });
    // Another process's merchant write reaches the server's merchant cache within 1 s (server/src/adapters/sqlite/directory.ts).
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const homologate = await exec(
      bin('posbridge-homologate'),
      ['--url', baseUrl, '--app-key', appKey, '--app-token', appToken, '--merchant-name', 'mystore', '--serial', 'SIM0001', '--json'],
      { cwd: dir, env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
    ).catch((err: { stdout?: string; code?: number }) => ({ stdout: err.stdout ?? '', code: err.code }));
    const homologation = JSON.parse(homologate.stdout) as { passed: boolean; cases: { name: string; passed: boolean; failures: string[] }[] };
    expect(homologation.cases.filter((c) => !c.passed)).toEqual([]);
    expect(homologation.passed).toBe(true);
    expect(homologate.stdout).not.toContain(appToken);
  }, 180_000);
});
