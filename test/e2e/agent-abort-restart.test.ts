/**
 * A cancellation that arrives while the terminal agent is dead (issue 10, item 6): the real
 * server (SQLite on disk), the simulated PBL/1 terminal on a real pseudo-terminal with a
 * customer who never presents a card (the sale waits on the terminal), and the agent as a
 * supervised child process with its SQLite journal on disk.
 *
 * The agent is SIGKILLed mid-sale, VTEX cancels the payment while it is down, and the agent is
 * started again: the server must deliver the abort it recorded, the agent must send ABORT to the
 * terminal for the in-flight sale and report the final outcome, so the payment ends `cancelled`
 * (nothing charged) — or, when the terminal approved anyway, voided on the terminal.
 * @requires-program socat
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type PtySimTerminalHandle, type RunningSim } from '@posbridge/hardware-sim';
import { loadServerConfig, startServer, type RunningServer } from '@posbridge/server';
import { Supervised, type LogLine } from '@posbridge/testkit/soak';
import {
  GatewayClient,
  appPayload,
  buildCreatePayment,
  startCallbackReceiver,
  submitTerminal,
  type CallbackReceiver,
  type JsonAnswer,
  waitFor,
} from '@posbridge/testkit';
import { suiteAgentEnv, suiteServerEnv } from './suite-env.ts';

const SERIAL = 'SIMABRT1';

/** Log lines of the supervised agent, with a waiter. */
class AgentLog {
  readonly lines: LogLine[] = [];
  #waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  push(line: LogLine): void {
    this.lines.push(line);
    for (const w of [...this.#waiters]) {
      if (w.pred(line)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  }

  /** The first line (past or future) matching `pred`. */
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
}

describe('cancellation while the agent is dead mid-sale, then an agent restart (pty simulator, agent child process)', () => {
  let dir: string;
  let server: RunningServer;
  let sim: RunningSim;
  let terminal: PtySimTerminalHandle;
  let receiver: CallbackReceiver;
  let gateway: GatewayClient;
  let appKey: string;
  let appToken: string;
  let agentEnv: Record<string, string>;
  const agents: Supervised[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'posbridge-abort-restart-'));
    const logger = pino({ level: 'warn' }, new Writable({ write: (_c, _e, done) => done() }));
    appKey = 'vtexappkey-abort';
    appToken = randomBytes(16).toString('hex');
    server = await startServer({
      config: loadServerConfig(
        suiteServerEnv(dir, { appKey, appToken }, {
          POSBRIDGE_DISPATCH_RESEND_MS: '300',
          POSBRIDGE_HEARTBEAT_INTERVAL_MS: '1000',
          POSBRIDGE_ANSWER_BUDGET_MS: '1000',
        }),
      ),
      logger,
    });
    // A customer who never presents a card: the sale waits on the terminal until aborted.
    sim = await startSim({ terminals: [{ serialNumber: SERIAL }], scenario: { customer: 'manual' }, logger, dir, link: 'pty', stepDelayMs: 50 });
    const t = sim.terminals[0]!;
    if (t.link !== 'pty') throw new Error('expected a pty simulator');
    terminal = t;
    receiver = await startCallbackReceiver();
    gateway = new GatewayClient(server.url, appKey, appToken);
    const { token } = await server.issueAgentToken('abort-restart');
    agentEnv = suiteAgentEnv(server.url, token, {
      POSBRIDGE_TERMINAL_PORT: terminal.path,
      POSBRIDGE_JOURNAL: join(dir, 'agent-journal.sqlite'),
      POSBRIDGE_STATUS_BACKOFF_MS: '50',
      POSBRIDGE_STATUS_TIMEOUT_MS: '1000',
      POSBRIDGE_ACK_TIMEOUT_MS: '1000',
    });
  });

  // A failed case must not leave its agent running, nor its sale on the terminal, into the next one.
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.stop(500);
    if (terminal.snapshot().state !== 'idle') {
      terminal.reboot();
      await waitFor(() => !terminal.snapshot().rebooting && terminal.snapshot().state === 'idle', { timeoutMs: 10_000, intervalMs: 50, message: 'the terminal back after its reboot' });
    }
  });

  afterAll(async () => {
    await receiver?.close();
    await sim?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const startAgentProcess = async (name: string): Promise<{ agent: Supervised; log: AgentLog }> => {
    const log = new AgentLog();
    const agent = new Supervised({
      name: 'agent',
      args: ['terminal-agent/src/cli.ts', 'run'],
      env: agentEnv,
      logFile: join(dir, `${name}.log`),
      isReady: (l) => l.msg === 'agent ready',
      onLine: (l) => log.push(l),
    });
    agents.push(agent);
    await agent.start();
    return { agent, log };
  };

  const cancel = async (paymentId: string, requestId: string): Promise<JsonAnswer> => {
    const res = await fetch(`${server.url}/payments/${paymentId}/cancellations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-VTEX-API-AppKey': appKey, 'X-VTEX-API-AppToken': appToken },
      body: JSON.stringify({ paymentId, requestId, authorizationId: null }),
      signal: AbortSignal.timeout(20_000),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  /** VTEX's retries of one cancellation (same requestId) until it gets a final answer. */
  const cancelUntilFinal = async (paymentId: string, requestId: string, timeoutMs = 30_000): Promise<JsonAnswer> =>
    waitFor(async () => {
      const answer = await cancel(paymentId, requestId);
      return answer.status === 500 ? undefined : answer;
    }, { timeoutMs, intervalMs: 300, message: `a final answer to cancellation ${requestId}` });

  /** Starts a payment on the terminal, SIGKILLs the agent once the terminal took the sale, cancels while it is down, restarts it. */
  const killMidSaleAndCancel = async (value: number) => {
    const { agent, log } = await startAgentProcess(`agent-${value}`);
    const before = terminal.sales();
    const paymentId = randomBytes(16).toString('hex').toUpperCase();
    const transactionId = randomBytes(16).toString('hex').toUpperCase();
    const body = buildCreatePayment({ value, method: 'credit', paymentId, transactionId, callbackUrl: receiver.callbackUrlFor(transactionId, paymentId) });
    const created = await gateway.createPayment(body);
    expect(created.status).toBe(200);
    const submitUrl = appPayload(created)!.payload['submitUrl'] as string;
    const acked = log.waitFor((l) => l.msg === 'transaction state' && l['to'] === 'acked' && l['paymentId'] === paymentId);
    expect((await submitTerminal(submitUrl, SERIAL)).status).toBe(200);
    await acked;
    expect(terminal.snapshot().state).toBe('waiting_card');
    const rid = terminal.snapshot().running?.rid;
    expect(rid).toBeDefined();

    await agent.crash();
    // VTEX cancels while the agent is dead: recorded, not deliverable now.
    const requestId = `cancel-${paymentId.slice(0, 8)}`;
    const pending = await cancel(paymentId, requestId);
    expect(pending.status).toBe(500);

    const framesBefore = terminal.frames().length;
    await agent.start();
    const final = await cancelUntilFinal(paymentId, requestId);
    const aborts = terminal.frames().slice(framesBefore).filter((f) => f.dir === 'in' && f.text.startsWith(`ABORT ${rid}`));
    return { paymentId, body, final, before, aborts, log };
  };

  it('a sale the customer never finished: the restarted agent sends ABORT, the payment ends cancelled, nothing charged', async () => {
    const { paymentId, body, final, before, aborts, log } = await killMidSaleAndCancel(31.9);
    expect(aborts.length).toBeGreaterThanOrEqual(1);
    expect(terminal.snapshot().state).toBe('idle');
    expect(final.status).toBe(200);
    expect(final.body).toMatchObject({ paymentId, code: null, message: 'cancelled; nothing was charged' });
    expect(terminal.sales().charges - before.charges).toBe(0);
    // VTEX asked for the cancellation: no callback; a poll answers the ended payment.
    expect(receiver.received.filter((c) => c.body['paymentId'] === paymentId)).toHaveLength(0);
    expect((await gateway.createPayment(body)).body).toMatchObject({ paymentId, status: 'denied' });
    await log.waitFor((l) => l.msg === 'abort sent to the terminal' && l['paymentId'] === paymentId);
  }, 60_000);

  it('the terminal approves despite the ABORT: the approval is voided on the terminal, the payment ends cancelled', async () => {
    // Cents 60: the simulator answers an ABORT with an approval (the authorization went through).
    const { paymentId, final, before, aborts } = await killMidSaleAndCancel(31.6);
    expect(aborts.length).toBeGreaterThanOrEqual(1);
    expect(final.status).toBe(200);
    expect(final.body).toMatchObject({ paymentId, code: null, message: 'cancelled; the approval was reversed on the terminal' });
    const after = terminal.sales();
    expect(after.charges - before.charges).toBe(1);
    expect(after.reversals - before.reversals).toBe(1);
    expect(terminal.snapshot().state).toBe('idle');
  }, 60_000);
});
