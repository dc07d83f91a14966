/**
 * Shared set-up of the simulator suites (`sim-*.test.ts`): the local stack (server, simulated
 * terminal on a real pty, agent) with short agent timers so fault paths stay fast, a fake VTEX
 * gateway, and helpers to run one payment and read its outcome as VTEX sees it.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import type { PtySimTerminalHandle, SimScenarioPatch } from '@posbridge/hardware-sim';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.ts';
import {
  GatewayClient,
  appPayload,
  buildCreatePayment,
  startCallbackReceiver,
  submitTerminal,
  type CallbackReceiver,
  type ReceivedCallback,
} from '../../scripts/lib/vtex-gateway.ts';

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
  /** Resets the terminal's scenario to the suite's base scenario plus `patch`, and empties its frame log. */
  scenario(patch?: SimScenarioPatch): void;
  close(): Promise<void>;
}

/** Starts a suite environment. */
export async function startSimSuite(base: SimScenarioPatch = FAST_SCENARIO): Promise<SimSuite> {
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
      stepDelayMs: base.stepDelayMs ?? 5,
      scenario: base,
      simControlPort: 0,
      agentTimings: FAST_AGENT_TIMINGS,
    });
  } catch (err) {
    await receiver.close();
    throw err;
  }
  const terminal = stack.sim.terminals[0];
  if (terminal?.link !== 'pty') throw new Error('the suites need a pty terminal (install socat)');
  const gateway = new GatewayClient(stack.pppBaseUrl, stack.appKey, stack.appToken);
  return {
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
      return String((await gateway.createPayment(body)).body['status']);
    },
    scenario(patch = {}) {
      terminal.setScenario({ ...base, ...patch, faults: { ...(base.faults ?? {}), ...(patch.faults ?? {}) } }, true);
      terminal.clearFrames();
    },
    async close() {
      await stack.close();
      await receiver.close();
    },
  };
}

/** Text of the frames the terminal received (`in`) or sent (`out`), optionally only with a note. */
export function framesOf(terminal: PtySimTerminalHandle, dir: 'in' | 'out', note?: string): string[] {
  return terminal
    .frames()
    .filter((f) => f.dir === dir && (note === undefined || (f.note ?? '').includes(note)))
    .map((f) => f.text);
}

/** Waits until `predicate` holds (polling), or throws after `timeoutMs`. */
export async function eventually(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
