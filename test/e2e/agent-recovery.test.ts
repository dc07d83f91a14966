/**
 * Crash recovery of the terminal agent on real parts: the real server (`startServer`, SQLite on
 * disk), the simulated PBL/1 terminal on a real pseudo-terminal (`startSim`), and the agent as a
 * real child process (`node --import tsx terminal-agent/src/cli.ts run`) with its SQLite
 * journal on disk. For each step of a payment the agent is SIGKILLed at that step and started
 * again on the same journal; the payment must end approved, with exactly one sale on the
 * terminal (`salesCount(rid)`) and exactly one callback to VTEX.
 * @requires-program socat
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONCERT_EPLUS, startSim, type RunningSim } from '@posbridge/hardware-sim';
import { loadServerConfig, startServer, type RunningServer } from '@posbridge/server';
import {
  GatewayClient,
  appPayload,
  buildCreatePayment,
  startCallbackReceiver,
  submitTerminal,
  type CallbackReceiver,
} from '@posbridge/testkit';
import { suiteAgentEnv, suiteServerEnv } from './suite-env.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const SERIAL = 'SIMKILL1';

type LogLine = Record<string, unknown> & { msg?: string };

/** One agent child process, with its JSON log lines. */
class AgentProcess {
  readonly lines: LogLine[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  #waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--conditions=@posbridge/source', '--import', 'tsx', 'terminal-agent/src/cli.ts', 'run'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          continue;
        }
        this.lines.push(line);
        for (const w of [...this.#waiters]) {
          if (w.pred(line)) {
            this.#waiters.splice(this.#waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    });
    this.child.stderr!.on('data', () => undefined);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first log line (past or future) matching `pred`. */
  waitFor(pred: (l: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    const seen = this.lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent log line not seen within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    await this.exited;
  }
}

/** The steps of a payment at which the agent is killed, as predicates on its log. */
const KILL_POINTS: { name: string; at: (l: LogLine) => boolean }[] = [
  { name: 'payment.start received, before the journal write', at: (l) => l.msg === 'payment received' },
  { name: 'journaled and acked, before the SALE line', at: (l) => l.msg === 'transaction state' && l['to'] === 'requested' },
  { name: 'SALE written to the terminal', at: (l) => l.msg === 'line sent' && String(l['line']).startsWith('SALE ') },
  { name: 'terminal acknowledged the SALE', at: (l) => l.msg === 'line received' && String(l['line']).startsWith('ACK ') },
  { name: 'customer progress on the terminal', at: (l) => l.msg === 'line received' && String(l['line']).startsWith('PROGRESS ') },
  { name: 'RESULT received, before the report', at: (l) => l.msg === 'line received' && String(l['line']).startsWith('RESULT ') },
  { name: 'result reported, before the server ack', at: (l) => l.msg === 'transaction state' && l['to'] === 'result' },
  { name: 'after the server acknowledged the result', at: (l) => l.msg === 'result acknowledged by server' },
];

describe('agent SIGKILLed at each step of a payment (real server, pty simulator, agent child process)', () => {
  let dir: string;
  let server: RunningServer;
  let sim: RunningSim;
  let receiver: CallbackReceiver;
  let gateway: GatewayClient;
  let agentEnv: Record<string, string>;
  let simPath: string;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'posbridge-kill-'));
    const logger = pino({ level: 'warn' }, new Writable({ write: (_c, _e, done) => done() }));
    const appKey = 'vtexappkey-kill';
    const appToken = randomBytes(16).toString('hex');
    server = await startServer({
      config: loadServerConfig(
        suiteServerEnv(dir, { appKey, appToken }, {
          POSBRIDGE_DISPATCH_RESEND_MS: '300',
          POSBRIDGE_HEARTBEAT_INTERVAL_MS: '1000',
        }),
      ),
      logger,
    });
    sim = await startSim({ terminals: [{ serialNumber: SERIAL }], logger, dir, link: 'pty', stepDelayMs: 150 });
    const terminal = sim.terminals[0]!;
    if (terminal.link !== 'pty') throw new Error('expected a pty simulator');
    simPath = terminal.path;
    receiver = await startCallbackReceiver();
    gateway = new GatewayClient(server.url, appKey, appToken);
    const { token } = await server.issueAgentToken('kill-test');
    agentEnv = suiteAgentEnv(server.url, token, {
      POSBRIDGE_TERMINAL_PORT: simPath,
      POSBRIDGE_JOURNAL: join(dir, 'agent-journal.sqlite'),
      POSBRIDGE_STATUS_BACKOFF_MS: '50',
      POSBRIDGE_STATUS_TIMEOUT_MS: '1000',
      POSBRIDGE_ACK_TIMEOUT_MS: '1000',
    });
  });

  // A failed case must not leave its agent running into the next one.
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.kill('SIGKILL');
  });

  afterAll(async () => {
    await receiver?.close();
    await sim?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /**
   * Proof that the agent, the terminal and the server's outbox dealt with everything before: one
   * more payment (approved, one sale on the terminal) runs to its callback. The terminal runs one
   * transaction at a time and the callbacks keep their order.
   */
  const settle = async (): Promise<void> => {
    const paymentId = randomBytes(16).toString('hex').toUpperCase();
    const transactionId = randomBytes(16).toString('hex').toUpperCase();
    const created = await gateway.createPayment(buildCreatePayment({ value: 11.11, method: 'credit', paymentId, transactionId, callbackUrl: receiver.callbackUrlFor(transactionId, paymentId) }));
    expect((await submitTerminal(appPayload(created)!.payload['submitUrl'] as string, SERIAL)).status).toBe(200);
    expect((await receiver.waitFor(paymentId, 30_000)).body).toMatchObject({ status: 'approved' });
  };

  const startAgentProcess = async (): Promise<AgentProcess> => {
    const agent = new AgentProcess(agentEnv);
    agents.push(agent);
    await agent.waitFor((l) => l.msg === 'agent ready');
    return agent;
  };

  it.each(KILL_POINTS.map((k) => [k.name, k] as const))('killed at: %s → no lost and no doubled charge', async (_name, point) => {
    const salesBefore = sim.terminals[0]!.salesCount();
    let agent = await startAgentProcess();

    const paymentId = randomBytes(16).toString('hex').toUpperCase();
    const transactionId = randomBytes(16).toString('hex').toUpperCase();
    const body = buildCreatePayment({ value: 31.9, method: 'credit', paymentId, transactionId, callbackUrl: receiver.callbackUrlFor(transactionId, paymentId) });
    const first = await gateway.createPayment(body);
    expect(first.status).toBe(200);
    const submitUrl = appPayload(first)!.payload['submitUrl'] as string;
    const armed = agent.waitFor((l) => point.at(l) && (l['paymentId'] === undefined || l['paymentId'] === paymentId || l.msg !== 'payment received'));
    expect((await submitTerminal(submitUrl, SERIAL)).status).toBe(200);

    await armed;
    await agent.kill('SIGKILL');

    // Restart on the same journal: it re-reports, recovers with STATUS, or takes the resent start.
    agent = await startAgentProcess();
    const callback = await receiver.waitFor(paymentId, 30_000);

    // Let any duplicate settle, then count. The invariant: the server's final answer matches what
    // the terminal did. Killed before the SALE bytes left the process (SIGKILL may drop an
    // unflushed write), the terminal never saw it: STATUS answers NOT_FOUND and the payment is
    // denied with nothing charged. Otherwise it is approved and charged exactly once.
    const chargedBeforeSettle = sim.terminals[0]!.salesCount() - salesBefore;
    await settle(); // one more payment through the restarted agent: a duplicate would have come first
    const charged = sim.terminals[0]!.salesCount() - salesBefore - 1; // less the settling payment's sale
    expect(charged).toBe(chargedBeforeSettle);
    const expected = charged === 1 ? 'approved' : 'denied';
    expect(charged).toBeLessThanOrEqual(1);
    expect(callback.body).toMatchObject({ paymentId, status: expected });
    if (charged === 0) expect(point.name).toMatch(/SALE written|before the SALE|before the journal/);
    expect(receiver.received.filter((c) => c.body['paymentId'] === paymentId)).toHaveLength(1);
    const final = await gateway.createPayment(body);
    expect(final.body).toMatchObject({ paymentId, status: expected });

    await agent.kill('SIGTERM');
  });
});

describe('agent SIGKILLed during a Concert E+ sale (no status query: unknown, never denied)', () => {
  let dir: string;
  let server: RunningServer;
  let sim: RunningSim;
  let receiver: CallbackReceiver;
  let gateway: GatewayClient;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'posbridge-kill-concert-'));
    const logger = pino({ level: 'warn' }, new Writable({ write: (_c, _e, done) => done() }));
    const appToken = randomBytes(16).toString('hex');
    server = await startServer({
      config: loadServerConfig(
        suiteServerEnv(dir, { appKey: 'vtexappkey-kill', appToken }, {
          POSBRIDGE_DISPATCH_RESEND_MS: '300',
        }),
      ),
      logger,
    });
    sim = await startSim({ terminals: [{ serialNumber: 'INGKILL1', dialect: CONCERT_EPLUS }], logger, dir, link: 'pty', stepDelayMs: 300 });
    receiver = await startCallbackReceiver();
    gateway = new GatewayClient(server.url, 'vtexappkey-kill', appToken);
  });

  afterAll(async () => {
    for (const a of agents) await a.kill('SIGKILL');
    await receiver?.close();
    await sim?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('killed after the terminal took the request: reported unknown or resolved approved, charged once, never denied', async () => {
    const terminal = sim.terminals[0]!;
    if (terminal.link !== 'pty') throw new Error('expected a pty simulator');
    const { token } = await server.issueAgentToken('kill-concert');
    const env = suiteAgentEnv(server.url, token, {
      POSBRIDGE_TERMINAL_PORT: terminal.path,
      POSBRIDGE_TERMINAL_DRIVER: 'concert-serial',
      POSBRIDGE_TERMINAL_SERIAL: 'INGKILL1',
      POSBRIDGE_JOURNAL: join(dir, 'agent-journal.sqlite'),
    });
    let agent = new AgentProcess(env);
    agents.push(agent);
    await agent.waitFor((l) => l.msg === 'agent ready');
    const charges = terminal.sales().charges;

    const paymentId = randomBytes(16).toString('hex').toUpperCase();
    const transactionId = randomBytes(16).toString('hex').toUpperCase();
    const body = buildCreatePayment({ value: 31.9, method: 'credit', paymentId, transactionId, callbackUrl: receiver.callbackUrlFor(transactionId, paymentId) });
    const submitUrl = appPayload(await gateway.createPayment(body))!.payload['submitUrl'] as string;
    const delivered = agent.waitFor((l) => l.msg === 'transaction state' && l['to'] === 'acked' && l['paymentId'] === paymentId);
    expect((await submitTerminal(submitUrl, 'INGKILL1')).status).toBe(200);
    await delivered;
    await agent.kill('SIGKILL');

    agent = new AgentProcess(env);
    agents.push(agent);
    await agent.waitFor((l) => l.msg === 'agent ready');
    // The restarted agent reports the in-flight sale: unknown (or approved if the late answer reached it).
    await agent.waitFor((l) => l.msg === 'result acknowledged by server' && l['paymentId'] === paymentId);
    // Real time on purpose: a late answer of the killed agent's sale may still come over the real
    // pty to the restarted agent process, and nothing marks that none will.
    await new Promise((r) => setTimeout(r, 1500));
    expect(terminal.sales().charges - charges).toBe(1);
    const polled = await gateway.createPayment(body);
    expect(['undefined', 'approved']).toContain(polled.body['status']);
    expect(receiver.received.filter((c) => c.body['paymentId'] === paymentId && c.body['status'] === 'denied')).toHaveLength(0);
    await agent.kill('SIGTERM');
  });
});
