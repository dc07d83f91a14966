/**
 * The fault-injection soak (`npm run soak`): real server and real terminal agent as child
 * processes (SQLite files on disk), simulated PBL/1 terminals on real pseudo-terminals, a TCP
 * proxy between agent and server, and a fake VTEX gateway that creates payments, binds them like
 * the inStore app and polls `POST /payments` like VTEX until each is final. Faults from the
 * seeded plan (./plan.ts) hit the run while it goes; at the end every side's records are read
 * back and checked (./invariants.ts).
 *
 * ```
 *  soak process: gateway + callback receiver ──HTTP──▶ server child (SQLite) ◀── TCP proxy ◀──ws── agent child (journal)
 *                simulator (ptys) ◀══════════════════════════════ serial ═════════════════════════════════╝
 * ```
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import sqlite3 from 'sqlite3';
import { SerialQueue } from '@posbridge/kit/serial-queue';
import { startSim, type PtySimTerminalHandle, type RunningSim, type SimScenarioPatch } from '@posbridge/hardware-sim';
import {
  GatewayClient,
  appPayload,
  buildCreatePayment,
  isDelivered,
  startCallbackReceiver,
  submitTerminal,
  type CallbackAnswer,
  type CallbackReceiver,
  type JsonAnswer,
} from '../vtex-gateway.ts';
import { checkInvariants, type InvariantReport, type PaymentRecord, type ReferenceSales } from './invariants.ts';
import { FAULT_KINDS, countPlannedFaults, planSoak, type FaultKind, type PlannedFault, type PlannedPayment } from './plan.ts';
import { ROOT, Supervised } from './supervised.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

/** Options of {@link runSoak}. */
export interface SoakOptions {
  payments: number;
  seed: number;
  /** Simulated terminals, each running one payment at a time. @default 2 */
  terminals?: number;
  /** Interval of the gateway's `POST /payments` polls, ms. @default 500 */
  pollMs?: number;
  /** A payment not final after this long is a violation. @default 120000 */
  paymentTimeoutMs?: number;
  /** Keep the run folder (logs, databases) even when the run passed. @default false */
  keep?: boolean;
  /** Progress lines (a few per minute). */
  onProgress?: (line: string) => void;
  /** On SIGINT/SIGTERM, stop the children, socat and the proxy, then exit 130 (the CLI sets it). @default false */
  handleSignals?: boolean;
}

/** What a soak run found. */
export interface SoakResult extends InvariantReport {
  seed: number;
  durationMs: number;
  /** Faults that were planned, by kind. */
  faultsPlanned: Record<FaultKind, number>;
  /** Faults that actually acted (a callback fault on a callback that never came did not), by kind. */
  faultsInjected: Record<FaultKind, number>;
  /** Frame-log notes of the simulator (`fault:corrupt`, `dropped:unplugged`, …) counted. */
  wireFaultNotes: Record<string, number>;
  /** WebSocket connections the proxy cut. */
  connectionsCut: number;
  /** WebSocket connections the proxy stalled (half-open for 2.5 s). */
  connectionsStalled: number;
  /** Exits of the children the soak did not cause (restarted by the supervisor), e.g. the agent giving up at start-up. */
  unexpectedExits: { server: string[]; agent: string[] };
  /** Gateway calls that failed (server down, 5xx, 503 terminal offline) and were retried. */
  gatewayRetries: number;
  /**
   * Payments whose amount approves but that ended `denied` with nothing charged (legitimate when
   * a fault stopped the sale before the terminal took it, e.g. a reboot mid-sale or an agent
   * killed before the SALE left it), with their faults, for reading.
   */
  deniedWithoutCharge: { index: number; paymentId: string; faults: string[] }[];
  /** Run folder (logs, databases); removed unless kept or the run failed. */
  dir: string;
  dirKept: boolean;
}

/** Agent timers: short, so recovery paths take seconds, yet well above scheduling noise on 2 busy cores. */
const AGENT_TIMINGS = {
  reconnectBaseMs: 100,
  reconnectCapMs: 1000,
  resendIntervalMs: 500,
  helloTimeoutMs: 5000,
  identTimeoutMs: 1500,
  ackTimeoutMs: 400,
  saleAttempts: 3,
  resultTimeoutMs: 1500,
  statusTimeoutMs: 400,
  statusAttempts: 3,
  statusBackoffMs: 150,
  recoveryIntervalMs: 500,
} as const;

/**
 * Simulator timings matching {@link AGENT_TIMINGS}: a sale takes ~0.6 s on the terminal (so timed
 * faults land inside sales as well as between them), a slow answer outlasts the agent's result
 * wait and STATUS attempts (→ `unknown`, then resolved).
 */
const BASE_SCENARIO: SimScenarioPatch = { stepDelayMs: 150, slowAnswerDelayMs: 4000, unplugMs: 1500, rebootMs: 800 };

/** The scenario patch of a serial fault. */
function scenarioOf(fault: FaultKind): SimScenarioPatch['faults'] | undefined {
  switch (fault) {
    case 'serial-nak-first':
      return { nakFirst: true };
    case 'serial-drop-ack':
      return { dropAck: 1 };
    case 'serial-delay-ack':
      return { delayAckMs: 700 };
    case 'serial-corrupt':
      return { corruptRate: 0.3 };
    case 'serial-garbage':
      return { garbageRate: 0.5 };
    case 'serial-duplicate-answer':
      return { duplicateAnswer: true };
    case 'serial-wrong-ref':
      return { wrongRef: 1 };
    case 'serial-reboot':
      return { rebootMidTransaction: true };
    default:
      return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Runs a command to completion; resolves with its stdout. @throws Error on a non-zero exit. */
function runToEnd(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** Every row of a query on an SQLite file (opened read-only). */
function queryAll<T>(file: string, sql: string): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (openErr) => {
      if (openErr) return reject(openErr);
      db.all(sql, [], (err, rows) => {
        db.close();
        if (err) reject(err);
        else resolve(rows as T[]);
      });
    });
  });
}

/**
 * Runs the soak and checks its invariants. Never throws for a violation (they are in the
 * result); throws only when the stack cannot be started.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const started = performance.now();
  const progress = options.onProgress ?? (() => undefined);
  const terminalsWanted = options.terminals ?? 2;
  const pollMs = options.pollMs ?? 500;
  const paymentTimeoutMs = options.paymentTimeoutMs ?? 120_000;
  const plan = planSoak({ payments: options.payments, seed: options.seed });
  const faultsPlanned = countPlannedFaults(plan);
  const faultsInjected = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const dir = await mkdtemp(join(tmpdir(), 'posbridge-soak-'));
  const cleanups: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: stopping the children (run folder ${dir})`);
    void closeAll().finally(() => process.exit(130));
  };
  if (options.handleSignals === true) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    cleanups.unshift(async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
  }

  const appKey = 'vtexappkey-soak';
  const appToken = randomBytes(18).toString('base64url');
  const dbPath = join(dir, 'server.sqlite');
  const journalPath = join(dir, 'agent-journal.sqlite');
  const serverEnv = {
    POSBRIDGE_DB: dbPath,
    POSBRIDGE_APP_KEY: appKey,
    POSBRIDGE_APP_TOKEN: appToken,
    POSBRIDGE_CALLBACK_APP_KEY: 'vtexappkey-partner-soak',
    POSBRIDGE_CALLBACK_APP_TOKEN: randomBytes(18).toString('base64url'),
    POSBRIDGE_CALLBACK_ALLOW_HOSTS: '127.0.0.1', // the fake gateway's callback receiver
  };

  // Callback faults: the first `attempts` callbacks of a payment answer 503 or hang.
  const callbackFaults = new Map<string, { kind: FaultKind; left: number; total: number }[]>();
  const respond = (cb: { body: Record<string, unknown> }): CallbackAnswer => {
    const list = callbackFaults.get(String(cb.body['paymentId']));
    const f = list?.find((x) => x.left > 0);
    if (!f) return 200;
    if (f.left === f.total) faultsInjected[f.kind]++;
    f.left--;
    return f.kind === 'callback-hang' ? 'hang' : 503;
  };

  let receiver: CallbackReceiver | undefined;
  let sim: RunningSim | undefined;
  let server: Supervised | undefined;
  let agent: Supervised | undefined;
  let proxy: TcpProxy | undefined;
  const records = new Map<string, { index: number; polled: string }>();
  let gatewayRetries = 0;
  let connectionsCut = 0;
  let connectionsStalled = 0;
  const faultTasks: Promise<void>[] = [];
  // One process fault at a time (a kill waits for the previous restart).
  const processLock = new SerialQueue();

  try {
    receiver = await startCallbackReceiver({ respond });
    cleanups.push(() => receiver!.close());

    const simLogger = pino({ level: 'info' }, pino.destination({ dest: join(dir, 'sim.log'), sync: false }));
    const serials = Array.from({ length: terminalsWanted }, (_, i) => `SOAK${String(i + 1).padStart(4, '0')}`);
    sim = await startSim({
      terminals: serials.map((serialNumber) => ({ serialNumber })),
      logger: simLogger,
      dir,
      link: 'pty',
      stepDelayMs: BASE_SCENARIO.stepDelayMs ?? 150,
      scenario: BASE_SCENARIO,
    });
    cleanups.push(() => sim!.close());
    const terminals = sim.terminals.map((t) => {
      if (t.link !== 'pty') throw new Error('the soak needs pty terminals (install socat)');
      return t;
    });

    // The agent's token, issued by the server's own CLI on the database the server will use.
    const added = await runToEnd(['server/src/cli-main.ts', 'agent', 'add', '--name', 'soak-agent', '--db', dbPath], serverEnv);
    const token = /token:\s+(\S+)/.exec(added)?.[1];
    if (!token) throw new Error(`agent add printed no token: ${added}`);

    const port = await freePort();
    server = new Supervised({
      name: 'server',
      args: ['server/src/cli-main.ts', 'run'],
      env: {
        ...serverEnv,
        PORT: String(port),
        HOST: '127.0.0.1',
        POSBRIDGE_PUBLIC_URL: `http://127.0.0.1:${port}`,
        LOG_LEVEL: 'info',
        POSBRIDGE_DISPATCH_RESEND_MS: '300',
        POSBRIDGE_HEARTBEAT_INTERVAL_MS: '1000',
        POSBRIDGE_CALLBACK_TIMEOUT_MS: '1000',
        POSBRIDGE_CALLBACK_BASE_DELAY_MS: '100',
        POSBRIDGE_CALLBACK_MAX_DELAY_MS: '1000',
        POSBRIDGE_CALLBACK_POLL_MS: '100',
        POSBRIDGE_DEADLINE_POLL_MS: '500',
      },
      logFile: join(dir, 'server.log'),
      isReady: (l) => l.msg === 'server listening',
    });
    cleanups.push(() => server!.stop());
    await server.start();

    proxy = await startTcpProxy(() => port);
    cleanups.push(() => proxy!.close());

    const agentConfigPath = join(dir, 'agent.json');
    await writeFile(
      agentConfigPath,
      JSON.stringify({
        serverUrl: `ws://127.0.0.1:${proxy.port}/agent/v1`,
        terminals: terminals.map((t) => ({ path: t.path, serialNumber: t.serialNumber })),
        journalPath,
        ...AGENT_TIMINGS,
      }),
    );
    agent = new Supervised({
      name: 'agent',
      args: ['terminal-agent/src/cli.ts', 'run', '--config', agentConfigPath],
      env: { POSBRIDGE_AGENT_TOKEN: token, LOG_LEVEL: 'info' },
      logFile: join(dir, 'agent.log'),
      isReady: (l) => l.msg === 'agent ready',
    });
    cleanups.push(() => agent!.stop());
    await agent.start();

    const gateway = new GatewayClient(`http://127.0.0.1:${port}`, appKey, appToken);

    /** Runs a gateway call until it gets an answer the caller accepts; network errors and 5xx are retried. */
    const retrying = async (call: () => Promise<JsonAnswer>, done: (a: JsonAnswer) => boolean, deadline: number): Promise<JsonAnswer | undefined> => {
      for (;;) {
        try {
          const a = await call();
          if (done(a)) return a;
        } catch {
          // server down (killed): VTEX and the app retry
        }
        gatewayRetries++;
        if (Date.now() > deadline) return undefined;
        await sleep(300);
      }
    };

    const injectTimed = (fault: PlannedFault) => {
      const task = (async () => {
        await sleep(fault.afterMs ?? 0);
        if (fault.kind === 'ws-drop') {
          connectionsCut += proxy!.cut();
          faultsInjected['ws-drop']++;
        } else if (fault.kind === 'ws-stall') {
          // Longer than the server's heartbeat (1 s) and the agent's dead-link timer (2 pings).
          connectionsStalled += proxy!.stall(2500);
          faultsInjected['ws-stall']++;
        } else if (fault.kind === 'agent-kill') {
          await processLock.run(async () => {
            faultsInjected['agent-kill']++;
            await agent!.crashAndRestart();
          });
        } else if (fault.kind === 'server-kill') {
          await processLock.run(async () => {
            faultsInjected['server-kill']++;
            await server!.crashAndRestart();
          });
        }
      })().catch((err: unknown) => progress(`fault ${fault.kind} failed: ${String(err)}`));
      faultTasks.push(task);
    };

    const runPayment = async (p: PlannedPayment, terminal: PtySimTerminalHandle): Promise<void> => {
      const serialFault = p.faults.find((f) => scenarioOf(f.kind) !== undefined);
      terminal.setScenario({ ...BASE_SCENARIO, faults: serialFault ? scenarioOf(serialFault.kind) : {} }, true);
      if (serialFault) faultsInjected[serialFault.kind]++;
      for (const f of p.faults) if (f.kind === 'serial-lost-answer' || f.kind === 'serial-cable-pulled' || f.kind === 'serial-slow-answer') faultsInjected[f.kind]++;

      const paymentId = randomUUID().replaceAll('-', '').toUpperCase();
      const transactionId = randomUUID().replaceAll('-', '').toUpperCase();
      const cbFaults = p.faults.filter((f) => f.kind === 'callback-5xx' || f.kind === 'callback-hang');
      if (cbFaults.length > 0) callbackFaults.set(paymentId, cbFaults.map((f) => ({ kind: f.kind, left: f.attempts ?? 1, total: f.attempts ?? 1 })));
      const record = { index: p.index, polled: 'not created' };
      records.set(paymentId, record);
      const body = buildCreatePayment({
        value: p.amountMinor / 100,
        method: p.method,
        paymentId,
        transactionId,
        callbackUrl: receiver!.callbackUrlFor(transactionId, paymentId),
      });
      const deadline = Date.now() + paymentTimeoutMs;
      const isOk = (a: JsonAnswer) => a.status === 200;
      const created = await retrying(() => gateway.createPayment(body), (a) => isOk(a) && appPayload(a) !== undefined, deadline);
      if (!created) return;
      record.polled = String(created.body['status']);

      const bind = async (answer: JsonAnswer): Promise<boolean> => {
        const submitUrl = appPayload(answer)?.payload['submitUrl'];
        if (typeof submitUrl !== 'string') return false;
        // 200 bound (or repeat); 410 already final; 503 terminal offline, 404 not announced yet, network: retry.
        const bound = await retrying(() => submitTerminal(submitUrl, terminal.serialNumber), (a) => a.status === 200 || a.status === 410 || a.status === 409, deadline);
        return bound !== undefined;
      };
      if (!(await bind(created))) return;
      for (const f of p.faults) if (f.afterMs !== undefined) injectTimed(f);

      // Poll like VTEX until final. A payment back at the terminal-connector app (the terminal
      // refused it before charging) is bound again, as the clerk would.
      for (;;) {
        if (Date.now() > deadline) return;
        await sleep(pollMs);
        const polled = await retrying(() => gateway.createPayment(body), isOk, deadline);
        if (!polled) return;
        record.polled = String(polled.body['status']);
        if (record.polled === 'approved' || record.polled === 'denied') break;
        if (appPayload(polled)?.appName.includes('terminal-connector')) await bind(polled);
      }
    };

    // Workers: one per terminal, each taking the next planned payment.
    let next = 0;
    let finished = 0;
    let lastReport = performance.now();
    const report = (force = false) => {
      if (!force && performance.now() - lastReport < 5000) return;
      lastReport = performance.now();
      const finals = [...records.values()];
      const injected = Object.values(faultsInjected).reduce((a, b) => a + b, 0);
      progress(
        `[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${finished}/${plan.length} payments final ` +
          `(approved ${finals.filter((r) => r.polled === 'approved').length}, denied ${finals.filter((r) => r.polled === 'denied').length}) · ` +
          `faults injected ${injected} · restarts: server ${server!.starts - 1}, agent ${agent!.starts - 1}`,
      );
    };
    const ticker = setInterval(() => report(), 1000);
    await Promise.all(
      terminals.map(async (terminal) => {
        for (;;) {
          const p = plan[next++];
          if (!p) return;
          await runPayment(p, terminal);
          finished++;
        }
      }),
    );
    clearInterval(ticker);
    report(true);

    // Let faults in flight finish, then wait for every callback to be delivered.
    await Promise.all(faultTasks);
    const quietDeadline = Date.now() + 30_000;
    while (Date.now() < quietDeadline) {
      const missing = [...records.keys()].filter((id) => !receiver!.received.some((c) => c.body['paymentId'] === id && isDelivered(c)));
      if (missing.length === 0) break;
      await sleep(250);
    }
    await sleep(1500); // late duplicates (at-least-once) show up in the counts
    for (const t of terminals) t.setScenario({ ...BASE_SCENARIO }, true);

    await agent.stop();
    await server.stop();

    // Read every side back.
    const serverRows = await queryAll<{ payment_id: string; state: string }>(dbPath, 'SELECT payment_id, state FROM payments');
    const unknownRows = await queryAll<{ payment_id: string }>(dbPath, "SELECT DISTINCT payment_id FROM payment_events WHERE to_state = 'unknown'");
    const outbox = await queryAll<{ payment_id: string; status: string; attempts: number }>(dbPath, 'SELECT payment_id, status, attempts FROM callback_outbox');
    const journalStates = await queryAll<{ state: string }>(journalPath, 'SELECT state FROM transaction_events UNION ALL SELECT state FROM transactions');
    const referenceOwner = new Map<string, string>();
    for (const row of journalStates) {
      const tx = JSON.parse(row.state) as { paymentId: string; rid: string; kind?: string };
      if ((tx.kind === undefined || tx.kind === 'sale') && typeof tx.rid === 'string') referenceOwner.set(tx.rid, tx.paymentId);
    }
    const sales = new Map<string, ReferenceSales>();
    const saleReferencesOnWire = new Set<string>();
    const wireFaultNotes: Record<string, number> = {};
    for (const t of terminals) {
      for (const [ref, c] of Object.entries(t.sales().byReference)) sales.set(ref, c);
      for (const f of t.frames()) {
        if (f.note !== undefined) wireFaultNotes[f.note] = (wireFaultNotes[f.note] ?? 0) + 1;
        if (f.dir === 'in' && f.text.startsWith('SALE ')) {
          const rid = f.text.split(' ')[1];
          if (rid) saleReferencesOnWire.add(rid);
        }
      }
    }
    const stateOf = new Map(serverRows.map((r) => [r.payment_id, r.state]));
    const unknownSet = new Set(unknownRows.map((r) => r.payment_id));
    const payments: PaymentRecord[] = [...records].map(([paymentId, r]) => ({
      paymentId,
      index: r.index,
      polled: r.polled,
      serverStatus: stateOf.get(paymentId) ?? null,
      passedUnknown: unknownSet.has(paymentId),
    }));
    const checked = checkInvariants({
      payments,
      callbacks: receiver.received.map((c) => ({ paymentId: String(c.body['paymentId']), status: String(c.body['status']), answer: c.answer ?? 200 })),
      outbox: outbox.map((r) => ({ paymentId: r.payment_id, status: r.status, attempts: r.attempts })),
      referenceOwner,
      sales,
      saleReferencesOnWire,
    });
    const unexpectedExits = { server: [...server.exitReasons], agent: [...agent.exitReasons] };
    const deniedWithoutCharge = payments
      .filter((p) => p.polled === 'denied' && plan[p.index]!.behaviour !== 'decline' && plan[p.index]!.behaviour !== 'customer-cancel')
      .map((p) => ({ index: p.index, paymentId: p.paymentId, faults: plan[p.index]!.faults.map((f) => f.kind) }));
    await closeAll();
    const dirKept = options.keep === true || checked.violations.length > 0;
    if (!dirKept) await rm(dir, { recursive: true, force: true });
    return {
      ...checked,
      seed: options.seed,
      durationMs: performance.now() - started,
      faultsPlanned,
      faultsInjected,
      wireFaultNotes,
      connectionsCut,
      connectionsStalled,
      unexpectedExits,
      deniedWithoutCharge,
      gatewayRetries,
      dir,
      dirKept,
    };
  } catch (err) {
    await closeAll();
    throw Object.assign(err instanceof Error ? err : new Error(String(err)), { soakDir: dir });
  }
}
