/**
 * Commands survive the process (issue 11 "Done when"): a server dies between the commit of a
 * bind and the delivery of its `payment.start`, a fresh server starts over the same SQLite file,
 * and the agent receives the start exactly once; a start that was sent but not acknowledged when
 * the process died is sent again after the restart.
 *
 * "Between" is made deterministic at the port boundary: the first server's agent-command log is
 * wrapped so that `markCommandSent` (the write-ahead that precedes every send) never resolves.
 * The first server is then abandoned like a killed process: the agent's socket is terminated, its
 * database connection is left open (nothing flushed, nothing closed) while the second server
 * opens the file; it is only torn down after the assertions.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type ServerMessage } from '@posbridge/protocol/ws';
import { loadServerConfig } from '../config.ts';
import { startServer, type RunningServer } from '../main.ts';
import { commandWritesOf } from '../payments/command-rows.ts';
import { transition, type PaymentEvent } from '../domain/payment-machine.ts';
import { openSqliteStore } from '../adapters/sqlite/index.ts';
import type { AgentCommandsPort } from '../ports/agent-commands.ts';
import {
  AUTH_HEADERS,
  connectAgent,
  createPaymentBody,
  nextId,
  sinkLogger,
  tempDir,
  testEnv,
  type TestAgent,
  isServerMessage,
} from '../testing/helpers.ts';
import { waitFor } from '@posbridge/testkit';

type Start = Extract<ServerMessage, { type: 'payment.start' }>;
const isStart = isServerMessage('payment.start');
const RESEND_MS = 300;

let tmp: ReturnType<typeof tempDir>;
const servers: RunningServer[] = [];
const agents: TestAgent[] = [];

beforeEach(() => {
  tmp = tempDir();
});
afterEach(async () => {
  for (const a of agents.splice(0)) a.ws.terminate();
  for (const s of servers.splice(0)) await s.close();
  tmp.cleanup();
});

async function start(agentCommands?: (port: AgentCommandsPort) => AgentCommandsPort, env: Record<string, string> = {}): Promise<RunningServer> {
  const config = loadServerConfig(testEnv(join(tmp.dir, 'db.sqlite'), { POSBRIDGE_DISPATCH_RESEND_MS: String(RESEND_MS), ...env }));
  const server = await startServer({ config, logger: sinkLogger().logger, manualDeadlines: true, ...(agentCommands ? { agentCommands } : {}) });
  servers.push(server);
  return server;
}

/** The payment.start frames with `startId` an agent's socket received, counted on the wire. */
function countStarts(a: TestAgent, startId: () => string | undefined): () => number {
  let n = 0;
  a.ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as { type?: string; id?: string };
    if (m.type === 'payment.start' && m.id === startId()) n += 1;
  });
  return () => n;
}

async function connect(server: RunningServer, token: string): Promise<TestAgent> {
  const a = await connectAgent(server.url, token);
  agents.push(a);
  return a;
}

/** Creates `paymentId` (PAYK) and binds `serialNumber` (SN1); the bind commits its payment.start row. */
async function bind(server: RunningServer, paymentId = 'PAYK', serialNumber = 'SN1'): Promise<string> {
  const created = await fetch(`${server.url}/payments`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS },
    body: JSON.stringify(createPaymentBody({ paymentId, callbackUrl: 'http://127.0.0.1:9/cb?X-VTEX-signature=s' })),
  });
  const json = (await created.json()) as { paymentAppData: { payload: string } };
  const { submitUrl } = JSON.parse(json.paymentAppData.payload) as { submitUrl: string };
  const bound = await fetch(submitUrl, { method: 'POST', body: JSON.stringify({ serialNumber }), headers: { 'Content-Type': 'application/json' } });
  expect(bound.status).toBe(200);
  const p = await server.store.getPayment(paymentId);
  expect(p?.status).toBe('dispatched');
  if (!p?.binding) throw new Error('not bound');
  return p.binding.startId;
}

/**
 * Proves `server`'s delivery made `passes` more passes over `a`'s session: a probe payment bound
 * to SN9 (another terminal of that session) is left unacknowledged until its start has come
 * `passes` more times, then acknowledged. Every pass lists what is due on all the session's
 * terminals, so another command still due would have been re-sent in those passes.
 */
async function resendPasses(server: RunningServer, a: TestAgent, passes = 3): Promise<void> {
  const probeId = await bind(server, 'PROBE', 'SN9');
  const isProbe = (m: ServerMessage): m is Start => isStart(m) && m.id === probeId;
  await a.waitForMessage(isProbe, 1 + passes, RESEND_MS * (passes + 3));
  a.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: probeId });
  await waitFor(async () => (await server.store.getPayment('PROBE'))?.status === 'accepted', { timeoutMs: 5000, message: 'probe accepted' });
}

/** Kills the process's link to the agent: no close handshake. */
function kill(a: TestAgent): Promise<void> {
  const closed = new Promise<void>((resolve) => a.ws.once('close', () => resolve()));
  a.ws.terminate();
  return closed;
}

describe('agent commands across a server restart', () => {
  it('killed between the commit of a bind and the delivery of its start: after the restart the agent gets the start exactly once', async () => {
    const stalled: string[] = [];
    const first = await start((port) => ({
      ...bindPort(port),
      // Delivery reaches the write-ahead of the send and the process "dies" there.
      markCommandSent: (commandId) => {
        stalled.push(commandId);
        return new Promise<boolean>(() => undefined);
      },
    }));
    const { token } = await first.issueAgentToken('till-1');
    const a = await connect(first, token);
    await a.hello(['SN1']);
    const startId = await bind(first);
    await waitFor(() => stalled.includes(startId), { timeoutMs: 5000, message: 'delivery at the write-ahead' });
    expect(a.messages.filter(isStart)).toEqual([]);
    expect(await first.commands.getCommand(startId)).toMatchObject({ status: 'open', attempts: 0, sentSessionId: null });
    await kill(a);

    // A fresh process over the same file; the agent reconnects.
    const second = await start();
    const b = await connect(second, token);
    const starts = countStarts(b, () => startId);
    await b.hello(['SN1', 'SN9']);
    const got = await b.waitForMessage(isStart);
    expect(got).toMatchObject({ id: startId, paymentId: 'PAYK', serialNumber: 'SN1' });
    b.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: startId });
    await waitFor(async () => (await second.store.getPayment('PAYK'))?.status === 'accepted', { timeoutMs: 5000, message: 'accepted' });
    await resendPasses(second, b);
    expect(starts()).toBe(1);
    expect(b.messages.filter((m) => isStart(m) && m.id === startId)).toHaveLength(1);
    expect(await second.commands.getCommand(startId)).toMatchObject({ status: 'closed', closeReason: 'agent.acked', attempts: 1 });
  });

  it('a start sent but not acknowledged when the process died is delivered again after the restart, then never repeated after its ack', async () => {
    const first = await start();
    const { token } = await first.issueAgentToken('till-1');
    const a = await connect(first, token);
    await a.hello(['SN1']);
    const startId = await bind(first);
    expect((await a.waitForMessage(isStart)).id).toBe(startId);
    const before = await first.commands.getCommand(startId);
    expect(before).toMatchObject({ status: 'open', ackedAt: null });
    expect(before?.attempts).toBeGreaterThanOrEqual(1);
    await kill(a);

    const second = await start();
    const b = await connect(second, token);
    const starts = countStarts(b, () => startId);
    await b.hello(['SN1', 'SN9']);
    expect((await b.waitForMessage(isStart)).id).toBe(startId);
    b.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: startId });
    await waitFor(async () => (await second.store.getPayment('PAYK'))?.status === 'accepted', { timeoutMs: 5000, message: 'accepted' });
    await resendPasses(second, b);
    expect(starts()).toBe(1);
    expect(await second.commands.getCommand(startId)).toMatchObject({ status: 'closed', closeReason: 'agent.acked' });
  });
});

describe('the rows are the truth', () => {
  it('a command committed by another process (no wake-up reaches this one) is delivered by the next tick', async () => {
    const server = await start();
    const { token, agentId } = await server.issueAgentToken('till-1');
    const a = await connect(server, token);
    await a.hello(['SN1']);
    const created = await fetch(`${server.url}/payments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS },
      body: JSON.stringify(createPaymentBody({ paymentId: 'PAYO', callbackUrl: 'http://127.0.0.1:9/cb?X-VTEX-signature=s' })),
    });
    expect(created.status).toBe(200);
    // Another process binds it over the same file, with its start row, and tells nobody.
    const other = await openSqliteStore({ filename: join(tmp.dir, 'db.sqlite') });
    try {
      const p = await other.getPayment('PAYO');
      if (!p) throw new Error('no payment');
      const event: PaymentEvent = { type: 'terminal.bound', binding: { serialNumber: 'SN1', agentId, startId: 'st_other' } };
      const { state, effects } = transition(p, event, Date.now());
      const bound = await other.applyTransition({
        paymentId: p.paymentId, expectedVersion: p.version, expectedStatus: p.status, next: state, event, at: Date.now(),
        commands: commandWritesOf(p, { ...p, ...state }, event, effects),
      });
      expect(bound?.status).toBe('dispatched');
    } finally {
      await other.close();
    }
    const got = await a.waitForMessage(isStart, 1, RESEND_MS * 3);
    expect(got).toMatchObject({ id: 'st_other', paymentId: 'PAYO' });
  });
});

describe('on the memory store', () => {
  it("a bind's start row is delivered, repeated until acked, and closed by the ack", async () => {
    const server = await start(undefined, { POSBRIDGE_STORE: 'memory' });
    expect(existsSync(join(tmp.dir, 'db.sqlite'))).toBe(false);
    const { token } = await server.issueAgentToken('till-1');
    const a = await connect(server, token);
    await a.hello(['SN1', 'SN9']);
    const startId = await bind(server);
    expect((await a.waitForMessage(isStart)).id).toBe(startId);
    expect((await a.waitForMessage(isStart, 2, RESEND_MS * 3)).id).toBe(startId);
    a.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: startId });
    await waitFor(async () => (await server.store.getPayment('PAYK'))?.status === 'accepted', { timeoutMs: 5000, message: 'accepted' });
    expect(await server.commands.getCommand(startId)).toMatchObject({ status: 'closed', closeReason: 'agent.acked' });
    const copies = a.messages.filter((m) => isStart(m) && m.id === startId).length;
    await resendPasses(server, a);
    expect(a.messages.filter((m) => isStart(m) && m.id === startId)).toHaveLength(copies);
  });
});

/** The port's methods bound to it (a wrapper may replace some). */
function bindPort(port: AgentCommandsPort): AgentCommandsPort {
  return {
    listDeliverableCommands: (...a) => port.listDeliverableCommands(...a),
    listDeliverableCommandsByPrefix: (...a) => port.listDeliverableCommandsByPrefix(...a),
    markCommandSent: (...a) => port.markCommandSent(...a),
    passCommand: (...a) => port.passCommand(...a),
    ackCommand: (...a) => port.ackCommand(...a),
    closeCommand: (...a) => port.closeCommand(...a),
    getCommand: (...a) => port.getCommand(...a),
    listCommands: (...a) => port.listCommands(...a),
    countOpenCommands: () => port.countOpenCommands(),
  };
}
