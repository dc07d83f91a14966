/**
 * Agent enrolment end to end (docs/agent-enrolment.md), on real parts: the real server
 * (`startServer`, SQLite on disk), the simulated PBL/1 terminal on a real pseudo-terminal, and
 * the agent's CLI as real processes. An operator's pairing code is exchanged by
 * `posbridge-agent pair` for a token saved with mode 0600; `posbridge-agent run --config` then
 * connects with it (no token in the environment) and takes a payment through the simulator to
 * VTEX's callback. The same code cannot pair twice; a revoked agent is disconnected at once and
 * its terminal goes offline.
 * @requires-program socat
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type RunningSim } from '@posbridge/hardware-sim';
import { loadServerConfig, startServer, type RunningServer } from '@posbridge/server';
import { GatewayClient, SOURCE_NODE_ARGS, appPayload, buildCreatePayment, startCallbackReceiver, submitTerminal, waitFor, type CallbackReceiver } from '@posbridge/testkit';
import { suiteServerEnv } from './suite-env.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const SERIAL = 'SIMPAIR1';
const exec = promisify(execFile);

/** Runs the agent's CLI to its end. */
async function agentCli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [...SOURCE_NODE_ARGS, 'terminal-agent/bin/posbridge-agent.js', ...args], {
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

describe('pairing a real agent process, then a payment through the simulator', () => {
  let dir: string;
  let server: RunningServer;
  let sim: RunningSim;
  let receiver: CallbackReceiver;
  let gateway: GatewayClient;
  let agent: ChildProcess | undefined;
  const serverLogs: Record<string, unknown>[] = [];
  const agentLogs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'posbridge-pair-'));
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) serverLogs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const appKey = 'vtexappkey-pair';
    const appToken = randomBytes(16).toString('hex');
    server = await startServer({
      config: loadServerConfig(suiteServerEnv(dir, { appKey, appToken }, { POSBRIDGE_DISPATCH_RESEND_MS: '300', LOG_LEVEL: 'info' })),
      logger: pino({ level: 'info' }, sink),
    });
    sim = await startSim({ terminals: [{ serialNumber: SERIAL }], logger: pino({ level: 'silent' }), dir, link: 'pty', stepDelayMs: 5 });
    receiver = await startCallbackReceiver();
    gateway = new GatewayClient(server.url, appKey, appToken);
  });

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((resolve) => agent!.once('exit', resolve));
      agent.kill('SIGTERM');
      await exited;
    }
    await receiver?.close();
    await sim?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pairs, runs on the saved token, takes a payment; the code is single-use; revocation cuts the agent off', async () => {
    const terminal = sim.terminals[0]!;
    if (terminal.link !== 'pty') throw new Error('expected a pty simulator');
    const configPath = join(dir, 'agent.json');
    // The technician's file already holds the terminal; pairing keeps it.
    await writeFile(configPath, JSON.stringify({ terminals: [{ path: terminal.path, serialNumber: SERIAL }] }));
    const { code } = await server.enrolment.createPairingCode({ merchantId: 'mch_bootstrap', storeId: 'sto_bootstrap', agentName: 'front till', actor: 'cli:test' });

    const paired = await agentCli(['pair', code.toLowerCase(), '--server', server.url, '--config', configPath], {});
    expect(paired.code, paired.stderr).toBe(0);
    expect(paired.stdout).toContain(`paired with ${server.url.replace(/^http/, 'ws')}/agent/v1`);
    expect(paired.stdout).toContain('agent:      front till (ag_');
    expect(paired.stdout).toContain('(mode 0600)');
    const tokenPath = join(dir, 'posbridge-agent.token');
    expect((await stat(tokenPath)).mode & 0o777).toBe(0o600);
    expect((await stat(configPath)).mode & 0o777).toBe(0o600);
    const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    expect(config).toEqual({
      terminals: [{ path: terminal.path, serialNumber: SERIAL }],
      tokenFile: 'posbridge-agent.token',
      serverUrl: `${server.url.replace(/^http/, 'ws')}/agent/v1`,
    });
    const token = (await readFile(tokenPath, 'utf8')).trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(serverLogs)).not.toContain(token);

    const again = await agentCli(['pair', code, '--server', server.url, '--config', join(dir, 'other.json')], {});
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('AGENT_PAIRING_CODE_USED');
    expect(again.stderr).toContain('nothing was changed');

    // The agent runs on what pairing saved: no token or server URL in its environment.
    agent = spawn(process.execPath, [...SOURCE_NODE_ARGS, 'terminal-agent/bin/posbridge-agent.js', 'run', '--config', configPath], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', POSBRIDGE_JOURNAL: join(dir, 'journal.sqlite'), POSBRIDGE_RECONNECT_BASE_MS: '50', POSBRIDGE_RECONNECT_CAP_MS: '300' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    agent.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          agentLogs.push(JSON.parse(text) as Record<string, unknown>);
        } catch {
          // not a log line
        }
      }
    });
    agent.stderr!.on('data', () => undefined);
    await waitFor(() => agentLogs.some((l) => l['msg'] === 'agent ready'), { timeoutMs: 30_000, message: 'agent ready' });

    const paymentId = randomBytes(16).toString('hex').toUpperCase();
    const transactionId = randomBytes(16).toString('hex').toUpperCase();
    const created = await gateway.createPayment(buildCreatePayment({ value: 31.9, method: 'credit', paymentId, transactionId, callbackUrl: receiver.callbackUrlFor(transactionId, paymentId) }));
    expect(created.status).toBe(200);
    expect((await submitTerminal(appPayload(created)!.payload['submitUrl'] as string, SERIAL)).status).toBe(200);
    expect((await receiver.waitFor(paymentId, 30_000)).body).toMatchObject({ status: 'approved', paymentId });

    const agentId = /\((ag_[0-9a-f]+)\)/.exec(paired.stdout)?.[1] ?? '';
    expect(await server.enrolment.revoke(agentId, 'cli:test', 'till replaced')).toBe(true);
    await waitFor(() => serverLogs.some((l) => l['msg'] === 'revoked agent disconnected' && l['agentId'] === agentId), { timeoutMs: 5_000, message: 'revoked agent disconnected' });
    await waitFor(() => !server.hub.onlineSerials().has(SERIAL), { timeoutMs: 5_000, message: 'terminal offline' });
    // Its reconnects are refused: the next payment cannot reach the terminal.
    await waitFor(() => serverLogs.some((l) => l['msg'] === 'agent upgrade with unknown token'), { timeoutMs: 5_000, message: 'reconnect refused' });
    const next = randomBytes(16).toString('hex').toUpperCase();
    const second = await gateway.createPayment(buildCreatePayment({ value: 10, method: 'credit', paymentId: next, transactionId: next, callbackUrl: receiver.callbackUrlFor(next, next) }));
    const refused = await submitTerminal(appPayload(second)!.payload['submitUrl'] as string, SERIAL);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ code: 'POS_TERMINAL_OFFLINE' });
  }, 90_000);
});
