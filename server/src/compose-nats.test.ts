/**
 * The composition root with `POSBRIDGE_NATS_URL` (issue 12 item 2), on a real, throwaway
 * nats-server: the bus health it exposes (`none` without NATS, `up` once connected, `down` after
 * close), and the wake-up bridge it wires: a command row committed by another instance (another
 * store over the same database file) is delivered by the instance holding the agent as soon as
 * the other instance wakes it over NATS, long before the delivery tick
 * (`POSBRIDGE_DISPATCH_RESEND_MS`, 20 s here) would have found it. Without NATS the tick delivers
 * it, NATS down or not (here, and hub/command-delivery-restart.test.ts "the rows are the truth").
 * And a cancellation answered by one instance while the terminal's answer arrives on another,
 * with NATS dead: the waiting request polls the store and answers the outcome within its budget.
 * @requires-program nats-server
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startNats, waitFor, type ThrowawayNats } from '@posbridge/testkit';
import { NatsBus } from './adapters/nats/nats-bus.ts';
import { NatsWakeBridge } from './adapters/nats/nats-wake.ts';
import { openSqliteStore } from './adapters/sqlite/index.ts';
import { buildServer } from './compose.ts';
import { loadServerConfig } from './config.ts';
import { transition, type PaymentEvent } from './domain/payment-machine.ts';
import { WakeSignal } from './hub/wake-signal.ts';
import { startServer, type RunningServer } from './main.ts';
import { commandWritesOf } from './payments/command-rows.ts';
import { PROTOCOL_VERSION } from '@posbridge/protocol/ws';
import { AUTH_HEADERS, connectAgent, createPaymentBody, isServerMessage, nextId, sinkLogger, tempDir, testEnv, type TestAgent } from './testing/helpers.ts';

let nats: ThrowawayNats;
let tmp: ReturnType<typeof tempDir>;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats?.stop();
});
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

/** Another instance binds `paymentId` to SN1 over the same database file (its start row `startId`), telling nobody. */
async function bindElsewhere(dbPath: string, paymentId: string, agentId: string, startId: string): Promise<void> {
  const other = await openSqliteStore({ filename: dbPath });
  try {
    const p = await other.getPayment(paymentId);
    if (!p) throw new Error('no payment');
    const event: PaymentEvent = { type: 'terminal.bound', binding: { serialNumber: 'SN1', agentId, startId } };
    const { state, effects } = transition(p, event, Date.now());
    const bound = await other.applyTransition({
      paymentId: p.paymentId,
      expectedVersion: p.version,
      expectedStatus: p.status,
      next: state,
      event,
      at: Date.now(),
      commands: commandWritesOf(p, { ...p, ...state }, event, effects),
    });
    expect(bound?.status).toBe('dispatched');
  } finally {
    await other.close();
  }
}

/** Creates `paymentId` through `server`'s PPP route. */
async function createPayment(server: RunningServer, paymentId: string): Promise<void> {
  const created = await fetch(`${server.url}/payments`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS },
    body: JSON.stringify(createPaymentBody({ paymentId, callbackUrl: 'http://127.0.0.1:9/cb?X-VTEX-signature=s' })),
  });
  expect(created.status).toBe(200);
}

describe('buildServer with POSBRIDGE_NATS_URL', () => {
  it('exposes the bus health: none without a bus; up once connected, down after close', async () => {
    const single = await buildServer({ config: loadServerConfig(testEnv(join(tmp.dir, 'a.sqlite'))), logger: sinkLogger().logger });
    expect(single.bus.state()).toBe('none');
    await single.close();

    const { logger, lines } = sinkLogger();
    const env = testEnv(join(tmp.dir, 'b.sqlite'), { POSBRIDGE_NATS_URL: `nats://svc:hunter2@127.0.0.1:${nats.port}` });
    const clustered = await buildServer({ config: loadServerConfig(env), logger });
    try {
      await waitFor(() => clustered.bus.state() === 'up', { message: 'bus up' });
    } finally {
      await clustered.close();
    }
    expect(clustered.bus.state()).toBe('down');
    expect(lines.some((l) => l['msg'] === 'NATS bus up')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('hunter2');
  });

  it('delivers a command committed on another instance as soon as that instance wakes it over NATS', async () => {
    const dbPath = join(tmp.dir, 'shared.sqlite');
    const config = loadServerConfig(testEnv(dbPath, { POSBRIDGE_NATS_URL: nats.url, POSBRIDGE_DISPATCH_RESEND_MS: '20000' }));
    let holder: RunningServer | undefined;
    let agent: TestAgent | undefined;
    // The other instance: its store over the same file, its wake-up signal bridged to the bus.
    const otherBus = new NatsBus({ url: nats.url, subjectPrefix: config.natsSubjectPrefix, instanceId: 'other', logger: sinkLogger().logger });
    const otherWakes = new WakeSignal();
    const bridge = new NatsWakeBridge(otherBus, otherWakes);
    otherBus.start();
    try {
      holder = await startServer({ config, logger: sinkLogger().logger, manualDeadlines: true });
      const { token, agentId } = await holder.issueAgentToken('till-1');
      agent = await connectAgent(holder.url, token);
      await agent.hello(['SN1']);
      await createPayment(holder, 'PAYX');
      await waitFor(() => otherBus.state() === 'up', { message: 'other bus up' });
      await otherBus.flush();

      await bindElsewhere(dbPath, 'PAYX', agentId, 'st_remote');
      const began = performance.now();
      otherWakes.wake(['SN1']);
      const got = await agent.waitForMessage(isServerMessage('payment.start'), 1, 3000);
      expect(got).toMatchObject({ id: 'st_remote', paymentId: 'PAYX', serialNumber: 'SN1' });
      expect(performance.now() - began).toBeLessThan(3000);
    } finally {
      agent?.ws.terminate();
      await holder?.close();
      bridge.close();
      await otherBus.close();
    }
  });

  it('with NATS down, a command committed on another instance is still delivered, by the delivery tick', async () => {
    const dbPath = join(tmp.dir, 'shared.sqlite');
    const config = loadServerConfig(testEnv(dbPath, { POSBRIDGE_NATS_URL: nats.url, POSBRIDGE_DISPATCH_RESEND_MS: '300' }));
    let holder: RunningServer | undefined;
    let agent: TestAgent | undefined;
    try {
      holder = await startServer({ config, logger: sinkLogger().logger, manualDeadlines: true });
      const { token, agentId } = await holder.issueAgentToken('till-1');
      agent = await connectAgent(holder.url, token);
      await agent.hello(['SN1']);
      await createPayment(holder, 'PAYD');
      await nats.kill();
      await bindElsewhere(dbPath, 'PAYD', agentId, 'st_down');
      const got = await agent.waitForMessage(isServerMessage('payment.start'), 1, 3000);
      expect(got).toMatchObject({ id: 'st_down', paymentId: 'PAYD' });
    } finally {
      agent?.ws.terminate();
      await holder?.close();
      await nats.start();
    }
  });

  it('with NATS down, a cancellation on one instance still sees the outcome the other instance commits, within its budget', async () => {
    const dbPath = join(tmp.dir, 'shared.sqlite');
    const env = testEnv(dbPath, { POSBRIDGE_NATS_URL: nats.url, POSBRIDGE_DISPATCH_RESEND_MS: '200', POSBRIDGE_ANSWER_BUDGET_MS: '4000' });
    const servers: RunningServer[] = [];
    let agent: TestAgent | undefined;
    try {
      const holder = await startServer({ config: loadServerConfig(env), logger: sinkLogger().logger, manualDeadlines: true });
      servers.push(holder);
      const answering = await startServer({ config: loadServerConfig(env), logger: sinkLogger().logger, manualDeadlines: true });
      servers.push(answering);
      agent = await connectAgent(holder.url, (await holder.issueAgentToken('till-1')).token);
      await agent.hello(['SN1']);
      const created = await fetch(`${holder.url}/payments`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS },
        body: JSON.stringify(createPaymentBody({ paymentId: 'PAYC', callbackUrl: 'http://127.0.0.1:9/cb?X-VTEX-signature=s' })),
      });
      const { submitUrl } = JSON.parse(((await created.json()) as { paymentAppData: { payload: string } }).paymentAppData.payload) as { submitUrl: string };
      const bound = await fetch(submitUrl, { method: 'POST', body: JSON.stringify({ serialNumber: 'SN1' }), headers: { 'Content-Type': 'application/json' } });
      expect(bound.status).toBe(200);
      const start = await agent.waitForMessage(isServerMessage('payment.start'));
      agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: start.id });
      await waitFor(async () => (await holder.store.getPayment('PAYC'))?.status === 'accepted', { message: 'accepted' });

      await nats.kill();
      const began = performance.now();
      const cancelled = fetch(`${answering.url}/payments/PAYC/cancellations`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS },
        body: JSON.stringify({ paymentId: 'PAYC', requestId: 'R1', authorizationId: 'AUTH1', transactionId: 'TX1' }),
      });
      // The holder's delivery tick finds the abort row; the terminal never started the sale.
      const abort = await agent.waitForMessage(isServerMessage('payment.abort'), 1, 3000);
      agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: abort.id });
      // Answered after more than one poll step: a wait that gave up at its first step would answer "pending".
      await new Promise((r) => setTimeout(r, 1500));
      agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'payment.rejected', paymentId: 'PAYC', code: 'TERM_UNKNOWN', message: 'never started' });
      const res = await cancelled;
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ code: null, message: 'cancelled; nothing was charged' });
      expect(performance.now() - began).toBeLessThan(4000);
    } finally {
      agent?.ws.terminate();
      for (const server of servers) await server.close();
      await nats.start();
    }
  });
});
