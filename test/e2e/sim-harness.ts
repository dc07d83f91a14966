/**
 * Shared set-up of the simulator suites (`sim-*.test.ts`): the local stack (server, simulated
 * terminal on a real pty — PBL/1 or Concert E+ — and the agent with the matching driver) with
 * short agent timers so fault paths stay fast, a fake VTEX gateway, and helpers to run one
 * payment, cancel it, and read its outcome as VTEX sees it.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { PBL1, type PtySimTerminalHandle, type ReferenceCounts, type SimDialect, type SimScenarioPatch } from '@posbridge/hardware-sim';
import type { AgentTimingConfig } from '@posbridge/terminal-agent';
import { startLocalStack, type LocalStack } from '@posbridge/testkit/stack';
import {
  GatewayClient,
  appPayload,
  buildCreatePayment,
  startCallbackReceiver,
  submitTerminal,
  type CallbackReceiver,
  type ReceivedCallback,
  waitFor,
} from '@posbridge/testkit';

/** Agent timers for the suites: every recovery path completes in a second or two. */
export const FAST_AGENT_TIMINGS = {
  identTimeoutMs: 1_000,
  ackTimeoutMs: 150,
  saleAttempts: 3,
  resultTimeoutMs: 600,
  statusTimeoutMs: 250,
  statusAttempts: 4,
  statusBackoffMs: 100,
  recoveryIntervalMs: 300,
  resendIntervalMs: 300,
} as const;

/** Simulator timings matching {@link FAST_AGENT_TIMINGS}: a slow answer is slower than one result wait. */
export const FAST_SCENARIO: SimScenarioPatch = {
  stepDelayMs: 5,
  slowAnswerDelayMs: 1_500,
  unplugMs: 1_200,
  rebootMs: 800,
};

/**
 * Agent timers for a Concert E+ terminal: the answer wait (`concertAnswerTimeoutMs`, 120 s by
 * default) is what ends a lost answer as `unknown`; the Concert link timers (3 s ACK, 1 s ENQ
 * pause) are the protocol's and not configurable.
 */
export const FAST_CONCERT_AGENT_TIMINGS = { ...FAST_AGENT_TIMINGS, concertAnswerTimeoutMs: 1_500 } as const;

/** Simulator timings matching {@link FAST_CONCERT_AGENT_TIMINGS}: a slow answer comes after the agent gave up. */
export const FAST_CONCERT_SCENARIO: SimScenarioPatch = { ...FAST_SCENARIO, slowAnswerDelayMs: 2_500 };

/** Options of {@link startSimSuite}. */
export interface SimSuiteOptions {
  /** Dialect of the simulated terminal (and driver of the agent). @default "PBL/1" */
  dialect?: SimDialect;
  /** Base scenario every test starts from. @default FAST_SCENARIO (PBL/1) or FAST_CONCERT_SCENARIO */
  base?: SimScenarioPatch;
  /** Agent timers. @default FAST_AGENT_TIMINGS (PBL/1) or FAST_CONCERT_AGENT_TIMINGS */
  agentTimings?: Partial<AgentTimingConfig>;
}

/** A PPP answer: HTTP status and JSON body. */
export interface PppAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** A running suite environment. */
export interface SimSuite {
  stack: LocalStack;
  terminal: PtySimTerminalHandle;
  gateway: GatewayClient;
  receiver: CallbackReceiver;
  logs: Record<string, unknown>[];
  /** Creates a payment and binds it to the terminal; returns its id and body (for polls). */
  pay(value: number, method?: 'credit' | 'debit'): Promise<{ paymentId: string; body: Record<string, unknown> }>;
  /** The callback VTEX receives for `paymentId`. */
  callback(paymentId: string, timeoutMs?: number): Promise<ReceivedCallback>;
  /** The status a PPP poll answers now. */
  pppStatus(body: Record<string, unknown>): Promise<string>;
  /** The whole answer of a PPP poll (Create Payment again with the same body). */
  poll(body: Record<string, unknown>): Promise<PppAnswer>;
  /** VTEX's `POST /payments/{id}/cancellations` with `requestId`. */
  cancel(body: Record<string, unknown>, requestId: string): Promise<PppAnswer>;
  /** Callbacks VTEX received so far for `paymentId`. */
  callbacksOf(paymentId: string): Record<string, unknown>[];
  /** Resolves once the agent reported the payment's outcome `unknown` (its log line). */
  unknownReported(paymentId: string, timeoutMs?: number): Promise<void>;
  /**
   * Proof that everything before this point has been dealt with: the scenario back to the suite's
   * base (the frame log emptied), one more payment (11.11, an approving amount) runs on the
   * terminal and VTEX gets its callback. The terminal runs one transaction at a time and the agent
   * and the callbacks keep their order, so a second result or callback the earlier payment still
   * owed would have arrived first. Changes `lastReference()`.
   */
  settle(): Promise<void>;
  /** Host reference (PBL/1 rid, Concert private data) of the last transaction the terminal finished. */
  lastReference(): string;
  /** The terminal's counts for one host reference (zeros when it never saw it). */
  countsOf(reference: string): ReferenceCounts;
  /** Resets the terminal's scenario to the suite's base scenario plus `patch`, and empties its frame log. */
  scenario(patch?: SimScenarioPatch): void;
  close(): Promise<void>;
}

/** Starts a suite environment. */
export async function startSimSuite(options: SimSuiteOptions = {}): Promise<SimSuite> {
  const dialect = options.dialect ?? PBL1;
  const concert = dialect !== PBL1;
  const base = options.base ?? (concert ? FAST_CONCERT_SCENARIO : FAST_SCENARIO);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const receiver = await startCallbackReceiver();
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      logger: pino({ level: 'debug' }, sink),
      link: 'pty',
      dialect,
      serialNumber: concert ? 'CON0001' : 'SIM0001',
      stepDelayMs: base.stepDelayMs ?? 5,
      scenario: base,
      simControlPort: 0,
      agentTimings: options.agentTimings ?? (concert ? FAST_CONCERT_AGENT_TIMINGS : FAST_AGENT_TIMINGS),
    });
  } catch (err) {
    await receiver.close();
    throw err;
  }
  const terminal = stack.sim.terminals[0];
  if (terminal?.link !== 'pty') throw new Error('the suites need a pty terminal (install socat)');
  const gateway = new GatewayClient(stack.pppBaseUrl, stack.appKey, stack.appToken);
  const poll = (body: Record<string, unknown>) => gateway.createPayment(body);
  const suite: SimSuite = {
    stack,
    terminal,
    gateway,
    receiver,
    logs,
    async pay(value, method = 'credit') {
      const paymentId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
      const transactionId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
      const callbackUrl = receiver.callbackUrlFor(transactionId, paymentId);
      const body = buildCreatePayment({ value, method, paymentId, transactionId, callbackUrl });
      const first = await gateway.createPayment(body);
      const app = appPayload(first);
      if (first.status !== 200 || app === undefined) throw new Error(`create payment answered ${first.status}: ${JSON.stringify(first.body)}`);
      const submitted = await submitTerminal(app.payload['submitUrl'] as string, terminal.serialNumber);
      if (submitted.status !== 200) throw new Error(`submitUrl answered ${submitted.status}: ${JSON.stringify(submitted.body)}`);
      return { paymentId, body };
    },
    callback: (paymentId, timeoutMs = 20_000) => receiver.waitFor(paymentId, timeoutMs),
    async pppStatus(body) {
      return String((await poll(body)).body['status']);
    },
    poll,
    async cancel(body, requestId) {
      const paymentId = String(body['paymentId']);
      const res = await fetch(`${stack.pppBaseUrl}/payments/${paymentId}/cancellations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-VTEX-API-AppKey': stack.appKey, 'X-VTEX-API-AppToken': stack.appToken },
        body: JSON.stringify({ paymentId, requestId, authorizationId: '', transactionId: body['transactionId'] }),
        signal: AbortSignal.timeout(20_000),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    callbacksOf: (paymentId) => receiver.received.filter((c) => c.body['paymentId'] === paymentId).map((c) => c.body),
    unknownReported: (paymentId, timeoutMs = 10_000) =>
      waitFor(() => logs.some((l) => l['msg'] === 'payment outcome unknown' && l['paymentId'] === paymentId), { timeoutMs, intervalMs: 50, message: 'outcome unknown' }).then(() => undefined),
    async settle() {
      suite.scenario();
      const { paymentId } = await suite.pay(11.11);
      await suite.callback(paymentId);
    },
    lastReference: () => terminal.snapshot().last?.reference ?? '',
    countsOf: (reference) => terminal.sales().byReference[reference] ?? { finals: 0, charges: 0, reversals: 0 },
    scenario(patch = {}) {
      terminal.setScenario({ ...base, ...patch, faults: { ...(base.faults ?? {}), ...(patch.faults ?? {}) } }, true);
      terminal.clearFrames();
    },
    async close() {
      await stack.close();
      await receiver.close();
    },
  };
  return suite;
}

/** Text of the frames the terminal received (`in`) or sent (`out`), optionally only with a note. */
export function framesOf(terminal: PtySimTerminalHandle, dir: 'in' | 'out', note?: string): string[] {
  return terminal
    .frames()
    .filter((f) => f.dir === dir && (note === undefined || (f.note ?? '').includes(note)))
    .map((f) => f.text);
}

