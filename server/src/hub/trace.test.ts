/**
 * One trace across hops on the real server (HTTP on port 0, SQLite on disk) with agents over
 * real WebSockets and a loopback callback receiver (docs/tracing.md): the trace id of an incoming
 * `traceparent` is adopted (an invalid one is not), commands carry it to agents that speak the
 * `trace` link feature (and only to them), the callback POST carries it, and an agent's
 * `payment.events` are stored only from the owner of the payment's terminal, bounded and redacted.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LINK_FEATURE_TRACE,
  LINK_FEATURES_HEADER,
  PROTOCOL_VERSION,
  parseTraceparent,
  type PaymentEvents,
  type ServerMessage,
  type TraceEvent,
} from '@posbridge/protocol/ws';
import { waitFor } from '@posbridge/testkit';
import { MAX_TRACE_EVENTS_PER_PAYMENT } from '../ports/events.ts';
import { AUTH_HEADERS, connectAgent, createPaymentBody, isServerMessage, nextId, startCallbackReceiver, startTestServer, type TestAgent, type TestServer } from '../testing/helpers.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const isStart = isServerMessage('payment.start');
const isError = isServerMessage('error');
const isAck = isServerMessage('ack');

let t: TestServer & { dir: string };
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
const agents: TestAgent[] = [];

beforeEach(async () => {
  t = await startTestServer();
  receiver = await startCallbackReceiver();
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
  await t.close();
  await receiver.close();
});

/** An agent of the bootstrap store driving `serial`; `traced`: it names the trace link feature. */
async function agentWith(name: string, serial: string, traced: boolean): Promise<TestAgent> {
  const { token } = await t.server.issueAgentToken(name);
  const a = await connectAgent(t.server.url, token, traced ? { [LINK_FEATURES_HEADER]: LINK_FEATURE_TRACE } : {});
  agents.push(a);
  expect((await a.hello([serial])).accepted).toEqual([serial]);
  return a;
}

/** Creates `paymentId` (with these extra request headers) and submits it to `serial`. */
async function payOn(paymentId: string, serial: string, headers: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${t.server.url}/payments`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS, ...headers },
    body: JSON.stringify(createPaymentBody({ paymentId, callbackUrl: `${receiver.url}/cb/${paymentId}` })),
  });
  expect(res.status).toBe(200);
  const json = (await res.json()) as { paymentAppData: { payload: string } };
  const { submitUrl } = JSON.parse(json.paymentAppData.payload) as { submitUrl: string };
  const submitted = await fetch(submitUrl, { method: 'POST', body: JSON.stringify({ serialNumber: serial }), headers: { 'Content-Type': 'application/json' } });
  expect(submitted.status).toBe(200);
}

function eventsOf(paymentId: string, events: TraceEvent[]): PaymentEvents {
  return { v: PROTOCOL_VERSION, id: nextId(), type: 'payment.events', paymentId, events };
}

/** Waits until `a`'s earlier frames were handled (frames are handled in order; a bad probe frame is answered). */
async function handled(a: TestAgent): Promise<void> {
  const errors = a.messages.filter(isError).length;
  a.sendRaw('probe: not json');
  await a.waitForMessage(isError, errors + 1);
}

describe('one trace across hops', () => {
  it('adopts an incoming traceparent, carries it on the start and the callback, and keeps the agent stages of the owner only, redacted', async () => {
    const a = await agentWith('till-a', 'SN-A', true);
    const b = await agentWith('till-b', 'SN-B', false);
    await payOn('PAY-A', 'SN-A', { traceparent: `00-${TRACE}-${PARENT}-01` });
    await payOn('PAY-B', 'SN-B');

    expect((await t.server.store.getPayment('PAY-A'))?.traceId).toBe(TRACE);
    const traceB = (await t.server.store.getPayment('PAY-B'))?.traceId;
    expect(traceB).toMatch(/^[0-9a-f]{32}$/);
    expect(traceB).not.toBe(TRACE);

    // The traced agent gets the payment's trace with a new span; the other one gets no field (its schema is strict).
    const startA = await a.waitForMessage(isStart);
    expect(parseTraceparent(startA.traceparent)).toMatchObject({ traceId: TRACE });
    expect(parseTraceparent(startA.traceparent)?.parentId).not.toBe(PARENT);
    const startB = await b.waitForMessage(isStart);
    expect(startB).not.toHaveProperty('traceparent');
    const dispatched = t.lines.find((l) => l['msg'] === 'payment dispatched' && l['paymentId'] === 'PAY-A');
    expect(dispatched).toMatchObject({ traceId: TRACE });
    expect(t.lines.find((l) => l['msg'] === 'payment created' && l['paymentId'] === 'PAY-A')).toMatchObject({ traceId: TRACE });

    // Agent A reports stages of its payment (a PAN-like text in a reason) and of B's payment.
    a.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: startA.id });
    a.send(
      eventsOf('PAY-A', [
        { at: 1000, stage: 'command.received', detail: { messageId: startA.id } },
        { at: 1001, stage: 'terminal.request', detail: { rid: 'rA1', serialNumber: 'SN-A' } },
        { at: 1002, stage: 'terminal.recovering', detail: { reason: 'terminal said card 4111 1111 1111 1111 read' } },
      ]),
    );
    const foreign = eventsOf('PAY-B', [{ at: 1000, stage: 'terminal.answer', detail: { outcome: 'approved' } }]);
    a.send(foreign);
    const refused = await a.waitForMessage((m): m is Extract<ServerMessage, { type: 'error' }> => m.type === 'error' && m.ref === foreign.id);
    expect(refused).toMatchObject({ code: 'WS_REPORT_REFUSED' });
    expect(t.lines.find((l) => l['msg'] === 'agent report refused' && l['type'] === 'payment.events')).toMatchObject({ paymentId: 'PAY-B', reason: 'not_owner' });
    const refusedMetric = (await (await fetch(`${t.server.url}/metrics`)).text()).split('\n').find((l) => l.startsWith('posbridge_agent_reports_refused_total') && l.includes('payment.events'));
    expect(refusedMetric).toMatch(/ 1$/);
    await handled(a);

    const stored = await t.server.store.listTraceEvents('PAY-A');
    expect(stored.map((e) => e.stage)).toEqual(['command.received', 'terminal.request', 'terminal.recovering']);
    expect(stored[1]).toMatchObject({ agentId: expect.any(String), detail: { rid: 'rA1', serialNumber: 'SN-A' } });
    expect(stored[2]?.detail['reason']).toBe('terminal said card [redacted] read');
    expect(JSON.stringify(stored)).not.toMatch(/4111/);
    expect(await t.server.store.listTraceEvents('PAY-B')).toEqual([]);

    // The result ends the payment: the callback POST carries the payment's trace id with a new span.
    a.send({
      v: PROTOCOL_VERSION,
      id: nextId(),
      type: 'payment.result',
      paymentId: 'PAY-A',
      outcome: 'approved',
      amount: { amountMinor: 3190, currency: 'BRL' },
      terminalRef: 'rA1',
      authorizationId: 'AUTH1',
      responseCode: '00',
    });
    await waitFor(() => receiver.received.find((c) => c.url.startsWith('/cb/PAY-A')), { timeoutMs: 5000, message: 'callback of PAY-A' });
    const callback = receiver.received.find((c) => c.url.startsWith('/cb/PAY-A'));
    const ctx = parseTraceparent(callback?.headers['traceparent']);
    expect(ctx).toMatchObject({ traceId: TRACE });
    expect(ctx?.parentId).not.toBe(startA.traceparent?.slice(36, 52));
    // Logged once the delivery is settled, just after the receiver answered.
    const delivered = await waitFor(() => t.lines.find((l) => l['msg'] === 'callback delivered' && l['paymentId'] === 'PAY-A'), { timeoutMs: 5000, message: 'callback delivered' });
    expect(delivered).toMatchObject({ traceId: TRACE });
  });

  it('starts a fresh trace for an invalid traceparent', async () => {
    await agentWith('till-a', 'SN-A', true);
    await payOn('PAY-UP', 'SN-A', { traceparent: `00-${TRACE.toUpperCase()}-${PARENT}-01` });
    await payOn('PAY-ZERO', 'SN-A', { traceparent: `00-${'0'.repeat(32)}-${PARENT}-01` });
    await payOn('PAY-V2', 'SN-A', { traceparent: `01-${TRACE}-${PARENT}-01` });
    for (const id of ['PAY-UP', 'PAY-ZERO', 'PAY-V2']) {
      const traceId = (await t.server.store.getPayment(id))?.traceId;
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(traceId).not.toBe(TRACE);
      expect(traceId).not.toBe('0'.repeat(32));
    }
  });

  it('bounds the events kept per payment and per agent, counting what it drops', async () => {
    const a = await agentWith('till-a', 'SN-A', true);
    await payOn('PAY-MANY', 'SN-A');
    await a.waitForMessage(isStart);
    const batch = Array.from({ length: 16 }, (_, i) => ({ at: 2000 + i, stage: 'terminal.progress' as const, detail: { stage: 'pin' as const } }));
    for (let i = 0; i < 20; i++) a.send(eventsOf('PAY-MANY', batch));
    await handled(a);
    const kept = await t.server.store.listTraceEvents('PAY-MANY');
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThanOrEqual(MAX_TRACE_EVENTS_PER_PAYMENT);
    const dropped = (await (await fetch(`${t.server.url}/metrics`)).text()).split('\n').filter((l) => l.startsWith('posbridge_trace_events_dropped_total{'));
    const total = dropped.reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    expect(kept.length + total).toBe(20 * 16);
    // A frame with a detail key outside the allow-list is refused whole by the codec.
    a.sendRaw(JSON.stringify({ ...eventsOf('PAY-MANY', [{ at: 1, stage: 'terminal.answer' }]), events: [{ at: 1, stage: 'terminal.answer', detail: { pan: '4111111111111111' } }] }));
    await a.waitForMessage((m): m is Extract<ServerMessage, { type: 'error' }> => m.type === 'error' && m.code === 'WS_BAD_MESSAGE' && m.message.includes('pan'));
    expect(JSON.stringify(await t.server.store.listTraceEvents('PAY-MANY'))).not.toContain('4111111111111111');
    expect(a.messages.filter(isAck)).toEqual([]);
  });
});
