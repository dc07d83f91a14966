/**
 * The technician CLI as a real process: `--help`, `identify` against the simulator on a pty,
 * and `doctor --json` against the real server (port, permissions, lock, server, token, clock),
 * then on a machine without the port, then with a second hub URL where nothing listens.
 * @requires-program socat
 */
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type RunningSim } from '@posbridge/hardware-sim';
import { loadServerConfig, startServer, type RunningServer } from '@posbridge/server';
import { SOURCE_NODE_ARGS } from '@posbridge/testkit';

const ROOT = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...SOURCE_NODE_ARGS, 'terminal-agent/bin/posbridge-agent.js', ...args], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('posbridge-agent CLI (real process)', () => {
  let dir: string;
  let server: RunningServer;
  let sim: RunningSim;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'posbridge-cli-'));
    const logger = pino({ level: 'silent' }, new Writable({ write: (_c, _e, d) => d() }));
    server = await startServer({
      config: loadServerConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        POSBRIDGE_DB: join(dir, 'server.sqlite'),
        POSBRIDGE_APP_KEY: 'vtexappkey-cli',
        POSBRIDGE_APP_TOKEN: randomBytes(8).toString('hex'),
        POSBRIDGE_CALLBACK_APP_KEY: 'k',
        POSBRIDGE_CALLBACK_APP_TOKEN: 't',
        POSBRIDGE_CALLBACK_ALLOW_HOSTS: '127.0.0.1', // the test's callback receiver
      }),
      logger,
    });
    sim = await startSim({ terminals: [{ serialNumber: 'SIMCLI1' }], logger, dir, link: 'pty', stepDelayMs: 5 });
    const terminal = sim.terminals[0]!;
    if (terminal.link !== 'pty') throw new Error('expected a pty');
    const { token } = await server.issueAgentToken('cli');
    env = {
      POSBRIDGE_SERVER_URL: `${server.url.replace(/^http/, 'ws')}/agent/v1`,
      POSBRIDGE_AGENT_TOKEN: token,
      POSBRIDGE_TERMINAL_PORT: terminal.path,
      POSBRIDGE_JOURNAL: join(dir, 'journal.sqlite'),
    };
  });

  afterAll(async () => {
    await sim?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('--help lists every command', async () => {
    const { code, stdout } = await cli(['--help'], {});
    expect(code).toBe(0);
    for (const c of ['run', 'ports', 'hid', 'identify', 'doctor', 'pair <code>', 'totals', '--json']) expect(stdout).toContain(c);
  });

  it('identify reads the serial number from the terminal', async () => {
    const { code, stdout } = await cli(['identify', '--json'], env);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([expect.objectContaining({ serialNumber: 'SIMCLI1', dialect: 'PBL/1', source: 'read from the terminal' })]);
  });

  it('doctor passes against the real server, and names the fix without the port or with a bad token', async () => {
    const ok = await cli(['doctor', '--json'], env);
    const report = JSON.parse(ok.stdout) as { ok: boolean; checks: { check: string; status: string; fix?: string }[] };
    const failing = report.checks.filter((c) => c.status === 'fail');
    expect(failing).toEqual([]);
    expect(ok.code).toBe(0);
    expect(report.checks.map((c) => c.check)).toEqual(expect.arrayContaining(['server', 'agent token', 'clock', 'journal']));

    const missing = await cli(['doctor', '--json', '--port', join(dir, 'no-such-port')], { ...env, POSBRIDGE_AGENT_TOKEN: 'wrong-token' });
    expect(missing.code).toBe(1);
    const bad = JSON.parse(missing.stdout) as { checks: { check: string; status: string; fix?: string }[] };
    expect(bad.checks.find((c) => c.check.startsWith('port '))).toMatchObject({ status: 'fail', fix: expect.stringContaining('posbridge-agent ports') });
    expect(bad.checks.find((c) => c.check === 'agent token')).toMatchObject({ status: 'fail', fix: expect.stringContaining('posbridge-server agent add') });
  });

  it('doctor with two hub URLs, one of them with nothing listening: passes, with a warning line for the dead one', async () => {
    const dead = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const deadUrl = `ws://127.0.0.1:${dead}/agent/v1`;
    const { code, stdout } = await cli(['doctor', '--json'], { ...env, POSBRIDGE_SERVER_URL: `${deadUrl},${env['POSBRIDGE_SERVER_URL']}` });
    const report = JSON.parse(stdout) as { ok: boolean; checks: { check: string; status: string; detail: string }[] };
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(code).toBe(0);
    expect(report.checks.find((c) => c.check === 'server')).toMatchObject({ status: 'pass', detail: '1 of 2 hub URLs reachable' });
    expect(report.checks.find((c) => c.check === `server ${deadUrl}`)).toMatchObject({ status: 'warn', detail: expect.stringContaining('ECONNREFUSED') });
    expect(report.checks.find((c) => c.check === 'agent token')).toMatchObject({ status: 'pass' });
  });
});
