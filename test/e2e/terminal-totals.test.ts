/**
 * End-of-day totals against the terminal's own (docs/totals.md "Terminal totals"), on real parts:
 * the real server (SQLite on disk), the simulated PBL/1 terminal on a real pseudo-terminal, the
 * agent as a child process. Two payments (one approved, one declined by the issuer) go through;
 * then, with the agent stopped, `posbridge-server totals --json` reports them and
 * `posbridge-agent totals --compare` asks the terminal (`TOTALS`) and lines both up: they match;
 * a report that misses a payment shows the difference and exits 1.
 * @requires-program socat
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type RunningSim } from '@posbridge/hardware-sim';
import { loadServerConfig, startServer, type RunningServer } from '@posbridge/server';
import { GatewayClient, SOURCE_NODE_ARGS, appPayload, buildCreatePayment, startCallbackReceiver, submitTerminal, waitFor, type CallbackReceiver } from '@posbridge/testkit';
import { suiteAgentEnv, suiteServerEnv } from './suite-env.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const SERIAL = 'SIMTOT1';
const exec = promisify(execFile);

async function bin(which: 'server' | 'terminal-agent', name: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [...SOURCE_NODE_ARGS, `${which}/bin/${name}.js`, ...args], { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('posbridge totals beside the terminal totals', () => {
  let dir: string;
  let server: RunningServer;
  let sim: RunningSim;
  let receiver: CallbackReceiver;
  let agent: ChildProcess | undefined;
  let serverEnv: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'posbridge-totals-'));
    const merchant = { appKey: 'vtexappkey-totals', appToken: randomBytes(16).toString('hex') };
    serverEnv = suiteServerEnv(dir, merchant);
    server = await startServer({ config: loadServerConfig(serverEnv), logger: pino({ level: 'silent' }) });
    sim = await startSim({ terminals: [{ serialNumber: SERIAL }], logger: pino({ level: 'silent' }), dir, link: 'pty', stepDelayMs: 5 });
    receiver = await startCallbackReceiver();
    const terminal = sim.terminals[0]!;
    if (terminal.link !== 'pty') throw new Error('expected a pty simulator');
    const { token } = await server.issueAgentToken('totals');
    agent = spawn(process.execPath, [...SOURCE_NODE_ARGS, 'terminal-agent/bin/posbridge-agent.js', 'run'], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', ...suiteAgentEnv(server.url, token, { POSBRIDGE_TERMINAL_PORT: terminal.path, POSBRIDGE_JOURNAL: join(dir, 'journal.sqlite'), LOG_LEVEL: 'info' }) },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    agent.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    await waitFor(() => out.includes('"agent ready"'), { timeoutMs: 30_000, message: 'agent ready' });
    const gateway = new GatewayClient(server.url, merchant.appKey, merchant.appToken);
    for (const value of [31.9, 12.05]) {
      const id = randomBytes(16).toString('hex').toUpperCase();
      const created = await gateway.createPayment(buildCreatePayment({ value, method: 'credit', paymentId: id, transactionId: id, callbackUrl: receiver.callbackUrlFor(id, id) }));
      expect((await submitTerminal(appPayload(created)!.payload['submitUrl'] as string, SERIAL)).status).toBe(200);
      await receiver.waitFor(id, 30_000);
    }
    const exited = new Promise((resolve) => agent!.once('exit', resolve));
    agent.kill('SIGTERM');
    await exited;
  }, 90_000);

  afterAll(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    await receiver?.close();
    await sim?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('match, and a missing payment shows as a difference', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const report = await bin('server', 'posbridge-server', ['totals', '--date', today, '--json'], serverEnv);
    expect(report.code, report.stderr).toBe(0);
    const json = JSON.parse(report.stdout) as { rows: { serialNumber: string; bucket: string; count: number; amountMinor: number }[] };
    expect(json.rows).toEqual([
      expect.objectContaining({ serialNumber: SERIAL, currency: 'BRL', method: 'credit', bucket: 'approved', count: 1, amountMinor: 3190 }),
      expect.objectContaining({ serialNumber: SERIAL, currency: 'BRL', method: 'credit', bucket: 'denied', count: 1, amountMinor: 1205 }),
    ]);
    const reportPath = join(dir, 'report.json');
    await writeFile(reportPath, report.stdout);
    const terminal = sim.terminals[0]!;
    if (terminal.link !== 'pty') throw new Error('expected a pty simulator');
    const agentEnv = { POSBRIDGE_TERMINAL_PORT: terminal.path, POSBRIDGE_TERMINAL_SERIAL: SERIAL };

    const same = await bin('terminal-agent', 'posbridge-agent', ['totals', '--compare', reportPath], agentEnv);
    expect(same.code, same.stderr + same.stdout).toBe(0);
    expect(same.stdout).toContain(`terminal ${SERIAL}`);
    expect(same.stdout).toMatch(/BRL\s+credit approved\s+1 BRL 31\.90\s+1 BRL 31\.90\s+ok/);
    expect(same.stdout).toMatch(/BRL\s+credit denied\s+1 BRL 12\.05\s+1 BRL 12\.05\s+ok/);
    expect(same.stdout).toContain('totals match');

    // A report without the approval: the terminal has one more.
    const missing = { ...json, rows: json.rows.filter((r) => r.bucket !== 'approved') };
    await writeFile(reportPath, JSON.stringify(missing));
    const differs = await bin('terminal-agent', 'posbridge-agent', ['totals', '--compare', reportPath, '--json'], agentEnv);
    expect(differs.code).toBe(1);
    const [result] = JSON.parse(differs.stdout) as { matches: boolean; comparison: { bucket: string; countDifference: number; amountDifferenceMinor: number }[] }[];
    expect(result?.matches).toBe(false);
    expect(result?.comparison).toContainEqual(expect.objectContaining({ bucket: 'approved', countDifference: 1, amountDifferenceMinor: 3190 }));
  }, 60_000);
});
