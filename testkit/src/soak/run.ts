/**
 * The fault-injection soak (`npm run soak`): real server and real terminal agent as child
 * processes (SQLite files on disk; or, with `instances` ≥ 2, a cluster of servers on PostgreSQL
 * and NATS, ./cluster-backend.ts), simulated PBL/1 terminals on real pseudo-terminals, a TCP
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
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
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
import { startSingleBackend, queryAll } from './backend.ts';
import { startClusterBackend } from './cluster-backend.ts';
import { ALL_FAULT_KINDS, countPlannedFaults, planSoak, type FaultKind, type PlannedFault, type PlannedPayment } from './plan.ts';
import { Supervised } from './supervised.ts';
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
  /**
   * Server instances: 1 = one server on SQLite; 2 or more = a cluster on a throwaway
   * PostgreSQL and NATS, with the cluster's faults planned too (plan.ts `CLUSTER_FAULT_KINDS`)
   * and the gateway spreading its calls over the instances. @default 1
   */
  instances?: number;
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
  /** Server instances of the run. */
  instances: number;
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

/**
 * Runs the soak and checks its invariants. Never throws for a violation (they are in the
 * result); throws only when the stack cannot be side.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const started = performance.now();
  const progress = options.onProgress ?? (() => undefined);
  const terminalsWanted = options.terminals ?? 2;
  const pollMs = options.pollMs ?? 500;
  const paymentTimeoutMs = options.paymentTimeoutMs ?? 120_000;
  const instances = options.instances ?? 1;
  const plan = planSoak({ payments: options.payments, seed: options.seed, cluster: instances > 1 });
  const faultsPlanned = countPlannedFaults(plan);
  const faultsInjected = Object.fromEntries(ALL_FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
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

  const journalPath = join(dir, 'agent-journal.sqlite');

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
  let agent: Supervised | undefined;
  const proxies: TcpProxy[] = [];
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

    // The server side (its agent token issued by the server's own CLI on its database).
    const side = instances > 1 ? await startClusterBackend({ dir, instances, seed: options.seed }) : await startSingleBackend(dir);
    cleanups.push(() => side.close());

    // One TCP proxy in front of each instance's hub: the network faults act on every one.
    for (const hubPort of side.hubPorts) {
      const proxy = await startTcpProxy(() => hubPort);
      proxies.push(proxy);
      cleanups.push(() => proxy.close());
    }

    const agentConfigPath = join(dir, 'agent.json');
    await writeFile(
      agentConfigPath,
      JSON.stringify({
        serverUrls: proxies.map((p) => `ws://127.0.0.1:${p.port}/agent/v1`),
        terminals: terminals.map((t) => ({ path: t.path, serialNumber: t.serialNumber })),
        journalPath,
        ...AGENT_TIMINGS,
      }),
    );
    agent = new Supervised({
      name: 'agent',
      args: ['terminal-agent/src/cli.ts', 'run', '--config', agentConfigPath],
      env: { POSBRIDGE_AGENT_TOKEN: side.agentToken, LOG_LEVEL: 'info' },
      logFile: join(dir, 'agent.log'),
      isReady: (l) => l.msg === 'agent ready',
    });
    cleanups.push(() => agent!.stop());
    await agent.start();

    // The gateway (and the inStore app) take the instances in turn, as a load balancer would.
    const gateways = side.pppBaseUrls.map((url) => new GatewayClient(url, side.appKey, side.appToken));
    let turn = 0;
    const nextInstance = () => turn++ % gateways.length;
    const gateway = { createPayment: (body: Record<string, unknown>) => gateways[nextInstance()]!.createPayment(body) };
    /** A minted URL on the next instance (same path and query). */
    const onNextInstance = (url: string) => {
      const u = new URL(url);
      u.host = new URL(side.pppBaseUrls[nextInstance()]!).host;
      return u.toString();
    };

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
          for (const p of proxies) connectionsCut += p.cut();
          faultsInjected['ws-drop']++;
        } else if (fault.kind === 'ws-stall') {
          // Longer than the server's heartbeat (1 s) and the agent's dead-link timer (2 pings).
          for (const p of proxies) connectionsStalled += p.stall(2500);
          faultsInjected['ws-stall']++;
        } else if (fault.kind === 'agent-kill') {
          await processLock.run(async () => {
            faultsInjected['agent-kill']++;
            await agent!.crashAndRestart();
          });
        } else {
          // server-kill, and the cluster's instance, PostgreSQL and NATS restarts.
          await processLock.run(async () => {
            if (await side.inject(fault.kind)) faultsInjected[fault.kind]++;
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
        const bound = await retrying(() => submitTerminal(onNextInstance(submitUrl), terminal.serialNumber), (a) => a.status === 200 || a.status === 410 || a.status === 409, deadline);
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
          `faults injected ${injected} · restarts: ${side.restarts()}, agent ${agent!.starts - 1}`,
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
    await side.stop();

    // Read every side back.
    const { payments: serverRows, unknown: unknownRows, outbox } = await side.readBack();
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
    const unexpectedExits = { server: side.unexpectedExits(), agent: [...agent.exitReasons] };
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
      instances,
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
