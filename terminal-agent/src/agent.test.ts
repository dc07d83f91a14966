/**
 * The agent end to end against a fake hub (a real `ws` WebSocketServer on 127.0.0.1:0) and
 * scripted fake terminals on in-memory byte pairs.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import type { WebSocket } from 'ws';
import { REHELLO_MIN_INTERVAL_MS } from '@posbridge/protocol/ws';
import { loadAgentConfig, type AgentConfig } from './config.ts';
import { startAgent, type RunningAgent } from './agent.ts';
import { readServerStatus } from './server-status.ts';
import { MemoryJournal, type Journal } from './session/journal.ts';
import { MAX_QUEUED_OPERATIONS } from './session/payment-runner.ts';
import { SqliteJournal } from './session/sqlite-journal.ts';
import { newTransaction, type Transaction } from './session/transaction-machine.ts';
import { createMemoryPair } from './transports/memory-pair.ts';
import { FakeLineTerminal, type FakeTerminalScript } from './testing/fake-line-terminal.ts';
import { createLogSink } from './testing/log-sink.ts';
import { startHub, type Hub, type HubOptions, type Msg } from './testing/fake-hub.ts';
import type { Clock } from '@posbridge/kit/clock';
import { ManualClock } from '@posbridge/kit/manual-clock';


const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(
  opts: {
    hub?: HubOptions;
    script?: Partial<FakeTerminalScript>;
    config?: Partial<AgentConfig>;
    journal?: Journal;
    /** Serial the fake terminal on `path` answers (default: the script's). */
    serialOf?: (path: string) => string;
    serverStatusFile?: string;
    /** The agent's clock (default: the real one). */
    clock?: Clock;
  } = {},
) {
  const hub = await startHub(opts.hub);
  cleanups.push(hub.close);
  const base = loadAgentConfig({
    POSBRIDGE_SERVER_URL: hub.url,
    POSBRIDGE_AGENT_TOKEN: 'tok-123',
    POSBRIDGE_TERMINAL_PORT: '/dev/fake0',
  });
  const config: AgentConfig = {
    ...base,
    reconnectBaseMs: 10,
    reconnectCapMs: 50,
    resendIntervalMs: 60,
    identTimeoutMs: 200,
    ackTimeoutMs: 80,
    resultTimeoutMs: 500,
    statusTimeoutMs: 80,
    statusAttempts: 2,
    statusBackoffMs: 10,
    recoveryIntervalMs: 50,
    ...opts.config,
  };
  const terminals: FakeLineTerminal[] = [];
  let script: FakeTerminalScript = { serial: 'SN-1', ...opts.script };
  const sink = createLogSink('debug');
  const journal = opts.journal ?? new MemoryJournal();
  const agent: RunningAgent = await startAgent({
    config,
    logger: sink.logger,
    journal,
    ...(opts.serverStatusFile !== undefined ? { serverStatusFile: opts.serverStatusFile } : {}),
    ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
    openPort: async (port) => {
      const { a, b } = createMemoryPair();
      const t = new FakeLineTerminal(b, opts.serialOf ? { ...script, serial: opts.serialOf(port.path) } : script);
      const prev = terminals.at(-1);
      if (prev) for (const [k, v] of prev.sales) t.sales.set(k, v);
      terminals.push(t);
      return a;
    },
  });
  cleanups.push(() => agent.close());
  return {
    hub,
    agent,
    sink,
    journal,
    terminal: () => terminals.at(-1)!,
    setScript: (s: Partial<FakeTerminalScript>) => {
      script = { ...script, ...s };
      for (const t of terminals) t.script = script;
    },
  };
}

let seq = 0;
const start = (paymentId: string, id = `s-${++seq}`) => ({
  v: 1,
  id,
  type: 'payment.start',
  paymentId,
  serialNumber: 'SN-1',
  amount: { amountMinor: 3190, currency: 'BRL' },
  method: 'credit',
  installments: 1,
});

/** The suite's wait: testkit's {@link waitFor} with its 3 s default, polling through a check that throws. */
const until = <T>(get: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 3000): Promise<T> =>
  waitFor(get, { timeoutMs, intervalMs: 5, retryErrors: true });
const agentPhase = async (journal: Journal, paymentId: string, phase: string) =>
  (await journal.get(paymentId))?.phase === phase;
/** The `payment.result` copies the hub got for one payment. */
const resultsOf = (hub: Hub, paymentId: string) => hub.of('payment.result').filter((m) => m['paymentId'] === paymentId);
/**
 * Proof that the agent's resend timer ran at least `resends` times from now: a probe payment
 * whose result the hub acks only at copy `resends + 1`. Used where a test checks that a report
 * is no longer repeated: had it been, it would have been repeated on those same ticks.
 */
async function resendTicks(hub: Hub, probe: string, resends: number): Promise<void> {
  hub.send(start(probe));
  await until(() => resultsOf(hub, probe).length >= resends + 1);
}
/** Whether the hub acks a probe's copy: only from copy `resends + 1` on (see {@link resendTicks}). */
const probeAcked = (msg: Msg, copy: number, resends: number) => String(msg['paymentId'] ?? '').startsWith('probe') && copy >= resends + 1;
/** Waits for `get`, moving the agent's manual clock on by `stepMs` between polls. */
const untilAdvancing = <T>(clock: ManualClock, stepMs: number, get: () => T | undefined | false | Promise<T | undefined | false>) =>
  until(async () => {
    const v = await get();
    if (v === undefined || v === false) await clock.advance(stepMs);
    return v;
  });
/** A ping/pong round trip on the hub's last socket: everything the agent sent before the pong is in. */
async function roundTrip(hub: { sockets: WebSocket[] }): Promise<void> {
  const ws = hub.sockets.at(-1)!;
  const pong = once(ws, 'pong');
  ws.ping();
  await pong;
}
/** Epoch ms the manual clocks start at. */
const T0 = 1_700_000_000_000;

describe('agent ⇄ hub', () => {
  it('authenticates with the bearer token and announces the identified terminal', async () => {
    const { hub, agent, sink } = await setup();
    await agent.ready;
    expect(hub.upgrades[0]?.headers.authorization).toBe('Bearer tok-123');
    expect(hub.upgrades[0]?.url).toBe('/agent/v1');
    const [hello] = hub.of('agent.hello');
    expect(hello).toMatchObject({
      v: 1,
      agentVersion: '0.1.0',
      terminals: [{ serialNumber: 'SN-1', dialect: 'PBL/1', model: 'FAKE-1', vendor: 'posbridge' }],
    });
    expect(sink.find('connected to server')[0]).toMatchObject({ component: 'link', accepted: ['SN-1'] });
    expect(JSON.stringify(sink.records)).not.toContain('tok-123');
  });

  it('journals, acks, sends the SALE and reports the result until acked', async () => {
    const journal = new MemoryJournal();
    const { hub, agent, terminal, sink } = await setup({ journal });
    await agent.ready;
    // Journal first: at put() time, neither the ack nor the SALE may have left.
    const seen: { acksAtPut: number; salesAtPut: number }[] = [];
    const put = journal.put.bind(journal);
    journal.put = async (tx: Transaction) => {
      seen.push({ acksAtPut: hub.of('ack').length, salesAtPut: terminal().count('SALE') });
      await put(tx);
    };
    hub.send(start('pay-1', 'start-1'));
    const result = await until(() => hub.of('payment.result')[0]);
    expect(seen).toEqual([{ acksAtPut: 0, salesAtPut: 0 }]);
    expect(hub.of('ack')[0]).toMatchObject({ ackOf: 'start-1' });
    const tx = await journal.get('pay-1');
    expect(terminal().received.find((l) => l.verb === 'SALE')).toMatchObject({ verb: 'SALE', rid: tx?.rid, amountMinor: 3190, currency: '986' });
    expect(tx?.rid).toMatch(/^p[a-z2-7]{16}$/);
    expect(result).toEqual({
      v: 1,
      id: expect.any(String),
      type: 'payment.result',
      paymentId: 'pay-1',
      outcome: 'approved',
      amount: { amountMinor: 3190, currency: 'BRL' },
      terminalRef: tx?.rid,
      authorizationId: 'A1B2C3',
      nsu: '000123',
      tid: 'T-9',
      responseCode: '00',
      card: { brand: 'visa', firstDigits: '411111', lastDigits: '1111' },
    });
    expect(hub.of('payment.progress')).toContainEqual(expect.objectContaining({ paymentId: 'pay-1', stage: 'waiting_card' }));
    await until(() => sink.find('result acknowledged by server')[0]);
    expect(sink.find('payment received')[0]).toMatchObject({ paymentId: 'pay-1', serialNumber: 'SN-1' });
    expect(sink.find('terminal result')[0]).toMatchObject({ paymentId: 'pay-1', outcome: 'approved' });
    await until(() => agentPhase(journal, 'pay-1', 'reported'));
  }, 10_000);

  it('with a server that speaks the trace feature: logs the trace id, maps the rid to the payment and reports its stages', async () => {
    const { hub, agent, sink, journal } = await setup({ hub: { features: 'trace' } });
    await agent.ready;
    expect(hub.upgrades[0]?.headers['x-posbridge-link-features']).toBe('trace');
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    hub.send({ ...start('pay-t', 'start-t'), traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    await until(() => hub.of('payment.result')[0]);
    const tx = await journal.get('pay-t');
    expect(tx?.traceId).toBe(traceId);
    expect(sink.find('payment received')[0]).toMatchObject({ paymentId: 'pay-t', traceId });
    expect(sink.find('request sent to terminal')[0]).toMatchObject({ paymentId: 'pay-t', traceId, rid: tx?.rid, serialNumber: 'SN-1' });
    const stages = await until(() => {
      const all = hub.of('payment.events').filter((m) => m['paymentId'] === 'pay-t').flatMap((m) => m['events'] as { stage: string; at: number; detail?: Record<string, unknown> }[]);
      return all.some((e) => e.stage === 'result.acked') ? all : undefined;
    });
    expect(stages.map((e) => e.stage)).toEqual(
      expect.arrayContaining(['command.received', 'terminal.request', 'terminal.ack', 'terminal.answer', 'result.sent', 'result.acked']),
    );
    expect(stages.find((e) => e.stage === 'terminal.request')?.detail).toEqual({ rid: tx?.rid, serialNumber: 'SN-1' });
    expect(stages.find((e) => e.stage === 'terminal.answer')?.detail).toMatchObject({ rid: tx?.rid, outcome: 'approved', responseCode: '00' });
    const times = stages.map((e) => e.at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // Never card data: the terminal answered a PAN-prefixed card, the events carry none of it.
    expect(JSON.stringify(hub.of('payment.events'))).not.toMatch(/411111|visa/i);
  }, 10_000);

  it('with a server that does not name the trace feature: sends no payment.events (it would refuse them)', async () => {
    const { hub, agent } = await setup();
    await agent.ready;
    hub.send({ ...start('pay-old', 'start-old'), traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    await until(() => hub.of('payment.result')[0]);
    await until(() => hub.of('payment.result').length >= 1 && hub.of('ack').length >= 1);
    await new Promise((r) => setTimeout(r, 150));
    expect(hub.of('payment.events')).toEqual([]);
  }, 10_000);

  it('repeats payment.result until the server acks it, then stops', async () => {
    const clock = new ManualClock(T0);
    const { hub, agent, sink } = await setup({ hub: { ackReport: (_m, copy) => copy >= 3 }, clock });
    await agent.ready;
    hub.send(start('pay-2'));
    await untilAdvancing(clock, 30, () => hub.of('payment.result').length >= 3);
    await until(() => sink.find('result acknowledged by server')[0]);
    await clock.advance(300); // > 4 resend intervals on the agent's clock
    await roundTrip(hub);
    const results = hub.of('payment.result');
    expect(results).toHaveLength(3);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
  });

  it('reconnects after the server drops the socket, says hello again and resends the outbox', async () => {
    let acking = false;
    const { hub, agent } = await setup({ hub: { ackReport: (m, copy) => acking && (m['paymentId'] === 'pay-3' || probeAcked(m, copy, 4)) } });
    await agent.ready;
    hub.send(start('pay-3'));
    const first = await until(() => hub.of('payment.result')[0]);
    hub.sockets[0]!.terminate();
    acking = true;
    await until(() => hub.of('agent.hello').length === 2);
    await until(() => hub.sockets.length === 2 && hub.messages.filter((m) => m.type === 'payment.result' && m.id === first.id).length >= 2);
    expect(hub.upgrades[1]?.headers.authorization).toBe('Bearer tok-123');
    const countAfterAck = resultsOf(hub, 'pay-3').length;
    await resendTicks(hub, 'probe-3', 4); // four resend intervals after the ack
    expect(resultsOf(hub, 'pay-3').length).toBe(countAfterAck);
  });

  it('treats a duplicate payment.start as already taken: re-ack, no second SALE', async () => {
    const { hub, agent, terminal } = await setup();
    await agent.ready;
    hub.send(start('pay-4', 'dup-1'));
    hub.send(start('pay-4', 'dup-1'));
    hub.send(start('pay-4', 'dup-2'));
    await until(() => hub.of('payment.result')[0]);
    await until(() => hub.of('ack').length >= 3);
    expect(hub.of('ack').map((a) => a['ackOf'])).toEqual(['dup-1', 'dup-1', 'dup-2']);
    expect(terminal().count('SALE')).toBe(1);
    // Once finished, a repeat re-sends the same report.
    const firstId = hub.of('payment.result')[0]!.id;
    hub.send(start('pay-4', 'dup-3'));
    await until(() => hub.of('payment.result').length === 2);
    expect(hub.of('payment.result')[1]!.id).toBe(firstId);
    expect(terminal().count('SALE')).toBe(1);
  });

  it('rejects a second payment for a busy terminal with TERM_BUSY', async () => {
    const { hub, agent, terminal } = await setup({ script: { hold: true } });
    await agent.ready;
    hub.send(start('pay-5'));
    await until(() => terminal().sales.size === 1);
    hub.send(start('pay-6'));
    const rejected = await until(() => hub.of('payment.rejected')[0]);
    expect(rejected).toMatchObject({ paymentId: 'pay-6', code: 'TERM_BUSY' });
    terminal().finish([...terminal().sales.keys()][0]!);
    await until(() => hub.of('payment.result')[0]);
    expect(terminal().count('SALE')).toBe(1);
  });

  it('rejects a payment for a terminal it does not drive with TERM_UNKNOWN', async () => {
    const { hub, agent } = await setup();
    await agent.ready;
    hub.send({ ...start('pay-7'), serialNumber: 'SN-OTHER' });
    await expect(until(() => hub.of('payment.rejected')[0])).resolves.toMatchObject({ paymentId: 'pay-7', code: 'TERM_UNKNOWN' });
  });

  it('reports unknown when the terminal goes silent, then resolves it in the background', async () => {
    // The terminal answers IDENT, then every answer to the sale is lost.
    const { hub, agent, setScript, sink } = await setup({ script: { drop: (l) => l.verb !== 'IDENT' } });
    await agent.ready;
    hub.send(start('pay-8'));
    const unknown = await until(() => hub.of('payment.result')[0]);
    expect(unknown).toMatchObject({ outcome: 'unknown', paymentId: 'pay-8' });
    expect(sink.find('payment outcome unknown')[0]).toMatchObject({ level: 40, paymentId: 'pay-8' });
    setScript({ drop: () => false });
    const resolved = await until(() => hub.of('payment.result').find((m) => m['outcome'] === 'approved'));
    expect(resolved.id).not.toBe(unknown.id);
    expect(sink.find('unknown outcome resolved')[0]).toMatchObject({ paymentId: 'pay-8', outcome: 'approved' });
  }, 10_000);

  it('rejects ready clearly when the server refuses the token', async () => {
    const { agent, sink } = await setup({ hub: { refuseStatus: 401 } });
    await expect(agent.ready).rejects.toMatchObject({ code: 'WS_UNAUTHORIZED', message: expect.stringContaining('agent token rejected by server') });
    expect(sink.find('agent token rejected by server')[0]).toMatchObject({ level: 50, httpStatus: 401 });
  });

  it('refuses a terminal whose serial differs from the configured one', async () => {
    const { agent, hub } = await setup({
      script: { serial: 'SN-WRONG' },
      config: { terminals: [{ path: '/dev/fake0', baudRate: 9600, dialect: 'PBL/1', driver: 'pbl1-serial', dataBits: 8, parity: 'none', posNumber: 1, serialNumber: 'SN-1' }] },
    });
    await expect(agent.ready).rejects.toMatchObject({ code: 'TERM_MISMATCH', message: expect.stringContaining('SN-WRONG') });
    await until(() => hub.of('agent.hello')[0]);
    expect(hub.of('agent.hello')[0]).toMatchObject({ terminals: [] });
  });

  it('reconnects when the server stops pinging', async () => {
    const { hub, agent } = await setup({ hub: { heartbeatIntervalMs: 40 } });
    await agent.ready;
    await until(() => hub.of('agent.hello').length >= 2, 2000);
  });
});

describe('agent: payment.abort and operation.start', () => {
  it('acks payment.abort, sends ABORT to the running sale and reports the aborted sale as denied', async () => {
    const { hub, agent, journal, terminal } = await setup({ script: { hold: true } });
    await agent.ready;
    hub.send(start('pay-ab'));
    await until(() => agentPhase(journal, 'pay-ab', 'acked'));
    hub.send({ v: 1, id: 'abort-1', type: 'payment.abort', paymentId: 'pay-ab', reason: 'cancelled' });
    await until(() => hub.of('ack').find((m) => m['ackOf'] === 'abort-1'));
    const result = await until(() => hub.of('payment.result').find((m) => m['paymentId'] === 'pay-ab'));
    expect(result).toMatchObject({ outcome: 'denied' });
    expect(terminal().count('ABORT')).toBe(1);
    expect((await journal.get('pay-ab'))?.abortRequested).toBe(true);
  });

  it('answers payment.abort of a finished payment by sending its result again (approved: the server voids it)', async () => {
    const { hub, agent, journal } = await setup();
    await agent.ready;
    hub.send(start('pay-done'));
    await until(() => agentPhase(journal, 'pay-done', 'reported'));
    const before = hub.of('payment.result').length;
    hub.send({ v: 1, id: 'abort-2', type: 'payment.abort', paymentId: 'pay-done', reason: 'expired' });
    await until(() => hub.of('payment.result').length > before);
    expect(hub.of('payment.result').at(-1)).toMatchObject({ paymentId: 'pay-done', outcome: 'approved' });
    expect(hub.of('ack').some((m) => m['ackOf'] === 'abort-2')).toBe(true);
  });

  it('an abort of a sale left unknown asks the terminal to abort, again while it still runs, and reports the aborted outcome', async () => {
    // Every answer to the sale is lost (outcome unknown, the terminal still runs it); the first ABORT is NAKed.
    const { hub, agent, terminal, setScript } = await setup({
      script: { hold: true, drop: (l) => l.verb !== 'IDENT', nak: (l, n) => l.verb === 'ABORT' && n === 0 },
    });
    await agent.ready;
    hub.send(start('pay-reabort'));
    await until(() => hub.of('payment.result').find((m) => m['paymentId'] === 'pay-reabort' && m['outcome'] === 'unknown'), 5000);
    setScript({ drop: () => false });
    hub.send({ v: 1, id: 'abort-5', type: 'payment.abort', paymentId: 'pay-reabort', reason: 'cancelled' });
    await until(() => hub.of('ack').find((m) => m['ackOf'] === 'abort-5'));
    const denied = await until(() => hub.of('payment.result').find((m) => m['paymentId'] === 'pay-reabort' && m['outcome'] === 'denied'), 5000);
    expect(denied).toMatchObject({ responseCode: 'ABORTED' });
    expect(terminal().count('ABORT')).toBeGreaterThanOrEqual(2);
    expect(terminal().count('SALE')).toBeGreaterThanOrEqual(1);
    expect(terminal().sales.size).toBe(1);
  });

  it('acks an abort for a payment it never took, and starts nothing', async () => {
    const { hub, agent, terminal } = await setup();
    await agent.ready;
    hub.send({ v: 1, id: 'abort-3', type: 'payment.abort', paymentId: 'never', reason: 'cancelled' });
    await until(() => hub.of('ack').find((m) => m['ackOf'] === 'abort-3'));
    expect(terminal().count('ABORT')).toBe(0);
  });

  it('answers an abort for a payment its durable journal never took with payment.rejected (nothing charged), journaled so a late start never runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'posbridge-agent-abort-'));
    const journal = await SqliteJournal.open(join(dir, 'journal.sqlite'));
    cleanups.push(async () => {
      await journal.close();
      await rm(dir, { recursive: true, force: true });
    });
    const { hub, agent, terminal } = await setup({ journal });
    await agent.ready;
    // The start reached an agent that died before journaling it; the server then cancelled.
    hub.send({ v: 1, id: 'abort-4', type: 'payment.abort', paymentId: 'pay-lost', reason: 'cancelled' });
    await until(() => hub.of('ack').find((m) => m['ackOf'] === 'abort-4'));
    const rejected = await until(() => hub.of('payment.rejected').find((m) => m['paymentId'] === 'pay-lost'));
    expect(rejected).toMatchObject({ code: 'TERM_UNKNOWN' });
    expect(rejected['startId']).toBeUndefined();
    expect(await journal.get('pay-lost')).toMatchObject({ phase: expect.stringMatching(/rejected|reported/), abortRequested: true });
    // A start of that payment still on the wire never runs a sale.
    hub.send(start('pay-lost', 'late-start'));
    await until(() => hub.of('ack').find((m) => m['ackOf'] === 'late-start'));
    // Proof that the late start was dealt with: the next payment on the terminal runs its sale
    // to the end (a late sale would have reached the terminal first, one sale at a time).
    hub.send(start('pay-after-lost'));
    await until(() => resultsOf(hub, 'pay-after-lost')[0]);
    expect(terminal().count('SALE')).toBe(1);
    expect(resultsOf(hub, 'pay-lost')).toEqual([]);
    expect(terminal().count('ABORT')).toBe(0);
  });

  it('runs a void once per operationId (journal first, ack, VOID with ref), repeated until acked', async () => {
    const { hub, agent, journal, terminal } = await setup();
    await agent.ready;
    hub.send(start('pay-v'));
    await until(() => agentPhase(journal, 'pay-v', 'reported'));
    const sale = await journal.get('pay-v');
    const op = {
      v: 1,
      type: 'operation.start',
      operationId: 'op-1',
      paymentId: 'pay-v',
      kind: 'void',
      serialNumber: 'SN-1',
      amount: { amountMinor: 3190, currency: 'BRL' },
      originalTerminalRef: sale!.rid,
    };
    hub.send({ ...op, id: 'op-msg-1' });
    const result = await until(() => hub.of('operation.result').find((m) => m['operationId'] === 'op-1'));
    expect(result).toMatchObject({ paymentId: 'pay-v', kind: 'void', outcome: 'approved', amount: { amountMinor: 3190, currency: 'BRL' } });
    expect(hub.of('ack').some((m) => m['ackOf'] === 'op-msg-1')).toBe(true);
    await until(() => agentPhase(journal, 'op:op-1', 'reported'));
    // A repeat never reverses twice: re-acked, result sent again.
    hub.send({ ...op, id: 'op-msg-2' });
    await until(() => hub.of('ack').find((m) => m['ackOf'] === 'op-msg-2'));
    await until(() => hub.of('operation.result').filter((m) => m['operationId'] === 'op-1').length >= 2);
    expect(terminal().received.filter((l) => l.verb === 'VOID')).toEqual([
      expect.objectContaining({ verb: 'VOID', ref: sale!.rid, amountMinor: 3190, currency: '986' }),
    ]);
  });

  it('a new payment.start (new startId) after a TERM_BUSY rejection is a new attempt: the sale runs, the old rejection is not replayed', async () => {
    const { hub, agent, journal, terminal } = await setup({ script: { hold: true } });
    await agent.ready;
    hub.send(start('pay-busy-1st'));
    await until(() => agentPhase(journal, 'pay-busy-1st', 'acked'));
    hub.send(start('pay-busy-2nd', 'attempt-1'));
    const rejected = await until(() => hub.of('payment.rejected').find((m) => m['paymentId'] === 'pay-busy-2nd'));
    expect(rejected).toMatchObject({ code: 'TERM_BUSY', startId: 'attempt-1' });
    await until(() => agentPhase(journal, 'pay-busy-2nd', 'reported'));
    // A repeat of the same attempt keeps its answer: re-acked, the same rejection again.
    hub.send(start('pay-busy-2nd', 'attempt-1'));
    await until(() => hub.of('payment.rejected').filter((m) => m['paymentId'] === 'pay-busy-2nd').length === 2);
    expect(hub.of('payment.rejected').filter((m) => m['paymentId'] === 'pay-busy-2nd').map((m) => m.id)).toEqual([rejected.id, rejected.id]);

    // The terminal is idle again; the server binds the payment anew (a new startId).
    terminal().finish([...terminal().sales.keys()][0]!);
    await until(() => agentPhase(journal, 'pay-busy-1st', 'reported'));
    const rejectionsBefore = hub.of('payment.rejected').length;
    hub.send(start('pay-busy-2nd', 'attempt-2'));
    await until(() => hub.of('ack').find((m) => m['ackOf'] === 'attempt-2'));
    await until(() => terminal().sales.size === 2);
    // A repeat of the new attempt never starts a second sale.
    hub.send(start('pay-busy-2nd', 'attempt-2'));
    await until(() => hub.of('ack').filter((m) => m['ackOf'] === 'attempt-2').length === 2);
    const newRid = (await journal.get('pay-busy-2nd'))!.rid;
    terminal().finish(newRid);
    const result = await until(() => hub.of('payment.result').find((m) => m['paymentId'] === 'pay-busy-2nd'));
    expect(result).toMatchObject({ outcome: 'approved', terminalRef: newRid });
    expect(hub.of('payment.rejected').length).toBe(rejectionsBefore);
    expect(terminal().received.filter((l) => l.verb === 'SALE' && l.rid === newRid)).toHaveLength(1);
    expect(await journal.get('pay-busy-2nd')).toMatchObject({ startMessageId: 'attempt-2', phase: expect.stringMatching(/result|reported/) });
  });

  it('answers a second transaction on a busy terminal with payment.rejected TERM_BUSY', async () => {
    const { hub, agent, journal } = await setup({ script: { hold: true } });
    await agent.ready;
    hub.send(start('pay-1st'));
    await until(() => agentPhase(journal, 'pay-1st', 'acked'));
    hub.send(start('pay-2nd'));
    const rejected = await until(() => hub.of('payment.rejected').find((m) => m['paymentId'] === 'pay-2nd'));
    expect(rejected).toMatchObject({ code: 'TERM_BUSY' });
  });
});

describe('operations on a busy terminal', () => {
  const refund = (operationId: string, amountMinor: number, id = `m-${operationId}`, kind: 'refund' | 'void' = 'refund') => ({
    v: 1,
    id,
    type: 'operation.start',
    operationId,
    paymentId: 'pay-r',
    kind,
    serialNumber: 'SN-1',
    amount: { amountMinor, currency: 'BRL' },
    originalTerminalRef: 'sale-ref',
  });
  const heldRid = async (terminal: () => FakeLineTerminal, n: number) => {
    await until(() => terminal().sales.size === n);
    return [...terminal().sales.keys()][n - 1]!;
  };

  it('queues voids and refunds for a busy terminal (journaled, acked) and runs them one after another, in order', async () => {
    const { hub, agent, journal, terminal } = await setup({ script: { hold: true } });
    await agent.ready;
    hub.send(start('pay-busy'));
    const saleRid = await heldRid(terminal, 1);
    hub.send(refund('rf-1', 100));
    hub.send(refund('rf-2', 200, 'm-rf-2', 'void'));
    hub.send(refund('rf-3', 300));
    // Taken at once: journaled as queued and acknowledged; nothing refused, nothing on the terminal yet.
    await until(() => ['rf-1', 'rf-2', 'rf-3'].every((id) => hub.of('ack').some((a) => a['ackOf'] === `m-${id}`)));
    for (const id of ['rf-1', 'rf-2', 'rf-3']) expect((await journal.get(`op:${id}`))?.phase).toBe('queued');
    expect(terminal().count('REFUND')).toBe(0);
    // A sale does not jump the line: refused while operations wait.
    hub.send(start('pay-jump'));
    expect(await until(() => hub.of('payment.rejected').find((m) => m['paymentId'] === 'pay-jump'))).toMatchObject({ code: 'TERM_BUSY' });
    // A repeat of a queued operation is only acknowledged again.
    hub.send(refund('rf-2', 200, 'm-rf-2-again', 'void'));
    await until(() => hub.of('ack').some((a) => a['ackOf'] === 'm-rf-2-again'));

    terminal().finish(saleRid);
    for (const [n, verb, amount] of [[2, 'REFUND', 100], [3, 'VOID', 200], [4, 'REFUND', 300]] as const) {
      const rid = await heldRid(terminal, n);
      // One at a time: the next refund reaches the terminal only after this one finished. The
      // agent answers a repeat meanwhile (a round trip through its message handling), and still
      // nothing more is on the terminal.
      hub.send(refund('rf-3', 300, `m-rf-3-probe-${n}`));
      await until(() => hub.of('ack').some((a) => a['ackOf'] === `m-rf-3-probe-${n}`));
      expect(terminal().sales.size).toBe(n);
      expect(terminal().sales.get(rid)!.line).toMatchObject({ verb, amountMinor: amount });
      terminal().finish(rid);
    }
    const results = await until(() => {
      const r = hub.of('operation.result');
      return r.length === 3 ? r : undefined;
    });
    expect(results.map((r) => [r['operationId'], r['outcome']])).toEqual([['rf-1', 'approved'], ['rf-2', 'approved'], ['rf-3', 'approved']]);
    expect(hub.of('operation.result').some((r) => String(r['message'] ?? '').includes('TERM_BUSY'))).toBe(false);
    expect(terminal().count('REFUND')).toBe(2);
    expect(terminal().count('VOID')).toBe(1);
  });

  it('an operation the terminal itself refuses as busy waits and runs once the terminal is free, never reported denied TERM_BUSY', async () => {
    // The terminal runs something the agent does not know of (a sale left running across an agent
    // restart, the clerk on the terminal's menu): it answers ERR BUSY.
    const { hub, agent, journal, terminal, setScript, sink } = await setup({ script: { busy: true } });
    await agent.ready;
    hub.send(refund('vd-busy', 3190, 'm-vd-busy', 'void'));
    await until(() => hub.of('ack').some((a) => a['ackOf'] === 'm-vd-busy'));
    // Proof the busy answer was taken as "wait": the agent has tried again.
    await until(() => terminal().count('VOID') >= 2 && sink.find('terminal busy; operation waits and is tried again').length > 0);
    expect(hub.of('operation.result')).toEqual([]);
    expect((await journal.get('op:vd-busy'))?.phase).toBe('queued');
    // Nothing jumps the line meanwhile.
    hub.send(start('pay-after'));
    expect(await until(() => hub.of('payment.rejected').find((m) => m['paymentId'] === 'pay-after'))).toMatchObject({ code: 'TERM_BUSY' });
    setScript({ busy: false });
    const result = await until(() => hub.of('operation.result').find((m) => m['operationId'] === 'vd-busy'));
    expect(result).toMatchObject({ kind: 'void', outcome: 'approved' });
    expect(sink.find('terminal busy; operation waits and is tried again').length).toBeGreaterThan(0);
  });

  it('refuses an operation for a terminal it does not drive with denied + code TERM_UNKNOWN (nothing reversed)', async () => {
    const { hub, agent } = await setup();
    await agent.ready;
    hub.send({ ...refund('rf-elsewhere', 100), serialNumber: 'SN-OTHER' });
    expect(await until(() => hub.of('operation.result')[0])).toMatchObject({ operationId: 'rf-elsewhere', outcome: 'denied', code: 'TERM_UNKNOWN' });
  });

  it('after a restart, runs the operations that were queued (oldest first)', async () => {
    const journal = new MemoryJournal();
    for (const [i, id] of ['rf-old', 'rf-new'].entries()) {
      await journal.put({
        ...newTransaction(
          { paymentId: 'pay-r', kind: 'refund', operationId: id, originalTerminalRef: 'sale-ref', serialNumber: 'SN-1', rid: `R${id}`, amount: { amountMinor: 100 + i, currency: 'BRL' }, method: 'credit', installments: 1, startMessageId: `m-${id}` },
          1_000 + i,
        ),
        phase: 'queued',
      });
    }
    const { hub, agent, terminal } = await setup({ journal });
    await agent.ready;
    const results = await until(() => {
      const r = hub.of('operation.result');
      return r.length === 2 ? r : undefined;
    });
    expect(results.map((r) => [r['operationId'], r['outcome']])).toEqual([['rf-old', 'approved'], ['rf-new', 'approved']]);
    expect(terminal().received.filter((l) => l.verb === 'REFUND').map((l) => l.rid)).toEqual(['Rrf-old', 'Rrf-new']);
  });

  it(`takes at most ${MAX_QUEUED_OPERATIONS} waiting operations per terminal; one more is not acknowledged (the server repeats it)`, async () => {
    const { hub, agent, journal, terminal } = await setup({ script: { hold: true } });
    await agent.ready;
    hub.send(start('pay-full'));
    const saleRid = await heldRid(terminal, 1);
    for (let i = 0; i < MAX_QUEUED_OPERATIONS; i++) hub.send(refund(`q-${i}`, 1));
    await until(() => hub.of('ack').filter((a) => String(a['ackOf']).startsWith('m-q-')).length === MAX_QUEUED_OPERATIONS);
    hub.send(refund('q-over', 1));
    // Proof q-over was handled: the repeat of a queued operation sent after it is acknowledged.
    hub.send(refund('q-0', 1, 'm-q-0-again'));
    await until(() => hub.of('ack').some((a) => a['ackOf'] === 'm-q-0-again'));
    expect(hub.of('ack').some((a) => a['ackOf'] === 'm-q-over')).toBe(false);
    expect(await journal.get('op:q-over')).toBeUndefined();
    expect(hub.of('operation.result')).toEqual([]);
    // Once the line moves, the repeat is taken.
    terminal().finish(saleRid);
    await until(() => terminal().sales.size === 2);
    hub.send(refund('q-over', 1, 'm-q-over-2'));
    await until(() => hub.of('ack').some((a) => a['ackOf'] === 'm-q-over-2'));
    expect((await journal.get('op:q-over'))?.phase).toBe('queued');
  });
});

describe('terminals the server refuses', () => {
  const port = (path: string) => ({ path, baudRate: 9600, dialect: 'PBL/1' as const, driver: 'pbl1-serial' as const, dataBits: 8 as const, parity: 'none' as const, posNumber: 1 });

  it('keeps running for its other terminals and announces a refused serial again, with backoff, until accepted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'posbridge-agent-refused-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const statusFile = join(dir, 'journal.sqlite.server-status.json');
    const clock = new ManualClock(T0);
    const { hub, agent, sink } = await setup({
      clock,
      hub: { refuse: (serial, hello) => (serial === 'SN-2' && hello < 3 ? { code: 'WS_SERIAL_CLAIMED', message: 'another agent already drives it' } : undefined) },
      config: { terminals: [port('/dev/fake0'), port('/dev/fake1')] },
      serialOf: (path) => (path.endsWith('1') ? 'SN-2' : 'SN-1'),
      serverStatusFile: statusFile,
    });
    await agent.ready;
    expect(hub.of('agent.hello')[0]!['terminals']).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ serialNumber: 'SN-1', serialSource: 'device' }),
        expect.objectContaining({ serialNumber: 'SN-2', serialSource: 'device' }),
      ]),
    );
    expect(agent.refusedSerials().get('SN-2')).toMatchObject({ code: 'WS_SERIAL_CLAIMED' });
    expect(sink.find('terminal refused by server')[0]).toMatchObject({ level: 50, serialNumber: 'SN-2', code: 'WS_SERIAL_CLAIMED', fix: expect.stringContaining('stop that agent') });
    // What doctor reads.
    expect(await until(() => readServerStatus(statusFile))).toMatchObject({ agentId: 'agent-1', accepted: ['SN-1'], refused: [{ serialNumber: 'SN-2', code: 'WS_SERIAL_CLAIMED' }] });

    // SN-1 works meanwhile.
    hub.send(start('pay-r1'));
    expect(await until(() => hub.of('payment.result')[0])).toMatchObject({ paymentId: 'pay-r1', outcome: 'approved' });

    // Announced again on the same connection, no sooner than the protocol allows, until accepted.
    await clock.advance(REHELLO_MIN_INTERVAL_MS - 1);
    await roundTrip(hub);
    expect(hub.of('agent.hello')).toHaveLength(1);
    await untilAdvancing(clock, 50, () => agent.refusedSerials().size === 0);
    const hellos = hub.messages.filter((m) => m.type === 'agent.hello');
    expect(hellos).toHaveLength(3);
    expect(hub.sockets).toHaveLength(1);
    expect(sink.find('terminal accepted by server after a refusal')[0]).toMatchObject({ serialNumber: 'SN-2' });
    expect(await until(async () => ((await readServerStatus(statusFile))?.refused.length === 0 ? true : undefined))).toBe(true);
    const retries = sink.find('refused terminals will be announced again').map((l) => l['retryInMs'] as number);
    expect(retries).toHaveLength(2);
    for (const ms of retries) expect(ms).toBeGreaterThanOrEqual(1000);
  }, 15_000);

  it('gives up only when nothing was accepted and no refusal can clear', async () => {
    const { agent } = await setup({ hub: { refuse: () => ({ code: 'WS_SERIAL_INVALID', message: 'serial number must match …' }) } });
    await expect(agent.ready).rejects.toMatchObject({ code: 'WS_SERIAL_INVALID', message: expect.stringContaining('SN-1') });
  });

  it('stops repeating a report the server refuses for good', async () => {
    const clock = new ManualClock(T0);
    const { hub, agent, sink } = await setup({ hub: { refuseReport: () => true }, clock });
    await agent.ready;
    hub.send(start('pay-refused'));
    await until(() => hub.of('payment.result')[0]);
    await until(() => sink.find('report refused by server; no longer repeated (kept in the journal)')[0]);
    await clock.advance(300); // > 4 resend intervals on the agent's clock
    await roundTrip(hub);
    expect(hub.of('payment.result')).toHaveLength(1);
  });
});
