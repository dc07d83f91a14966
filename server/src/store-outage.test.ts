/**
 * Issue 12 item 6: when the store fails or hangs, every PPP and Payment App route answers a
 * retryable 503 (JSON, `Retry-After`) within the PPP budget of 5 s — never a 500, never a hang —
 * and a late completion never writes a second answer; `/readyz` reports the store (and the bus)
 * by component, `/healthz` stays a liveness check naming the instance and its agents.
 *
 * Tested at the port boundary: the server runs on a store kind registered for this file, the
 * memory store behind a switch that makes its methods reject `STORE_FAILED` or wait (hang) until
 * released.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CodedError } from '@posbridge/protocol/errors';
import { waitFor } from '@posbridge/testkit';
import { createMemoryStore } from './adapters/memory/index.ts';
import { buildServer, type ComposedServer } from './compose.ts';
import { loadServerConfig } from './config.ts';
import type { BusState } from './ports/bus-health.ts';
import type { PaymentStore } from './ports/index.ts';
import type { StoreFactory } from './store-factory.ts';
import { AUTH_HEADERS, connectAgent, createPaymentBody, sinkLogger, testEnv } from './testing/helpers.ts';

/** The switch in front of the memory store. */
const outage = {
  mode: 'ok' as 'ok' | 'fail' | 'hang',
  /** Methods the outage applies to; undefined: every method but `close`. */
  only: undefined as ReadonlySet<string> | undefined,
  /** Calls waiting for {@link release}. */
  waiting: [] as (() => void)[],
  /** Calls per method name. */
  calls: new Map<string, number>(),
};

/** Ends the outage; hung calls go through now (their late completion is what some tests watch). */
function release(): void {
  outage.mode = 'ok';
  outage.only = undefined;
  for (const go of outage.waiting.splice(0)) go();
}

const switchable: StoreFactory = () => {
  const inner = createMemoryStore();
  return Promise.resolve(
    new Proxy(inner, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        const method = value as (...args: unknown[]) => unknown;
        const name = String(prop);
        if (name === 'close') return method.bind(target);
        return (...args: unknown[]) => {
          outage.calls.set(name, (outage.calls.get(name) ?? 0) + 1);
          const affected = outage.mode !== 'ok' && (outage.only === undefined || outage.only.has(name));
          if (!affected) return method.apply(target, args);
          if (outage.mode === 'fail') return Promise.reject(new CodedError('STORE_FAILED', 'connect ECONNREFUSED 10.9.9.9:5432 (test outage)'));
          return new Promise((resolve, reject) => {
            outage.waiting.push(() => Promise.resolve(method.apply(target, args)).then(resolve, reject));
          });
        };
      },
    }) as PaymentStore,
  );
};

let bus: BusState = 'none';
const { logger, lines } = sinkLogger();
let composed: ComposedServer;
let base = '';
// Answer budget 300 ms → request deadline 800 ms (compose.ts requestDeadlineMsOf).
const DEADLINE_MS = 800;

beforeAll(async () => {
  const config = loadServerConfig(
    testEnv(':memory:', { POSBRIDGE_STORE: 'switchable', POSBRIDGE_ANSWER_BUDGET_MS: '300', POSBRIDGE_INSTANCE_ID: 'outage-test-1', POSBRIDGE_SUBMIT_SECRET: 'outage-test-secret-0123456789' }),
  );
  composed = await buildServer({ config, logger, stores: new Map([['switchable', switchable]]), bus: { state: () => bus } });
  await new Promise<void>((resolve) => composed.server.listen(0, '127.0.0.1', resolve));
  const { port } = composed.server.address() as AddressInfo;
  base = composed.start(port);
});
afterEach(() => {
  release();
  bus = 'none';
});
afterAll(async () => {
  release();
  await composed.close();
});

async function timed(path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; json: Record<string, unknown>; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, init);
  const json = (await res.json()) as Record<string, unknown>;
  return { status: res.status, headers: res.headers, json, ms: performance.now() - started };
}

const post = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS }, body: JSON.stringify(body) });

/** Creates a payment while the store is up; returns its Payment App URLs. */
async function payment(paymentId: string): Promise<{ statusUrl: string; submitUrl: string }> {
  const created = await timed('/payments', post(createPaymentBody({ paymentId })));
  expect(created.status).toBe(200);
  return JSON.parse((created.json['paymentAppData'] as { payload: string }).payload) as { statusUrl: string; submitUrl: string };
}

function refusals(paymentId: string): Record<string, unknown>[] {
  return lines.filter((l) => l['msg'] === 'request refused: unavailable' && l['paymentId'] === paymentId);
}

describe('store down: PPP and Payment App routes answer a retryable 503 within the budget', () => {
  it('Create Payment, store rejecting: 503 STORE_FAILED, Retry-After, PPP shape with retryable, the adapter message kept out; one log line per refusal', async () => {
    // The payment rows fail (credentials still readable): the refusal names the payment.
    outage.mode = 'fail';
    outage.only = new Set(['getPayment', 'createPayment']);
    const r = await timed('/payments', post(createPaymentBody({ paymentId: 'OUT-C1' })));
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('2');
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.json).toEqual({ status: 'error', code: 'STORE_FAILED', message: expect.stringContaining('repeat the same request'), retryable: true });
    expect(JSON.stringify(r.json)).not.toContain('10.9.9.9');
    expect(r.ms).toBeLessThan(5000);
    expect(refusals('OUT-C1')).toEqual([
      expect.objectContaining({ level: 40, code: 'STORE_FAILED', status: 503, path: '/payments', instanceId: 'outage-test-1', reason: expect.stringContaining('ECONNREFUSED') }),
    ]);
    // Every method fails (the credential lookup first): the body was not read yet, the line names the path.
    outage.only = undefined;
    const all = await timed('/payments', post(createPaymentBody({ paymentId: 'OUT-C1' })));
    expect(all.status).toBe(503);
    expect(all.json).toMatchObject({ code: 'STORE_FAILED', retryable: true });
    expect(lines.filter((l) => l['msg'] === 'request refused: unavailable').at(-1)).toMatchObject({ code: 'STORE_FAILED', path: '/payments' });
    expect(JSON.stringify(lines)).not.toContain('merchant-token');
    expect(lines.filter((l) => l['msg'] === 'request failed')).toEqual([]);
    // The store is back: the same request succeeds (VTEX repeats it).
    release();
    expect((await timed('/payments', post(createPaymentBody({ paymentId: 'OUT-C1' })))).status).toBe(200);
  });

  it('Create Payment, store hanging: 503 PPP_UNAVAILABLE at the deadline; the work that finishes later writes no second answer; the repeat answers the payment', async () => {
    outage.mode = 'hang';
    outage.only = new Set(['createPayment']);
    const r = await timed('/payments', post(createPaymentBody({ paymentId: 'OUT-H1' })));
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('2');
    expect(r.json).toEqual({ status: 'error', code: 'PPP_UNAVAILABLE', message: expect.stringContaining('repeat the same request'), retryable: true });
    expect(r.ms).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(r.ms).toBeLessThan(5000);
    expect(refusals('OUT-H1')).toEqual([expect.objectContaining({ code: 'PPP_UNAVAILABLE', reason: `no answer within ${DEADLINE_MS} ms` })]);
    // The hung insert goes through now; its answer is dropped (debug), nothing fails.
    release();
    await waitFor(() => lines.some((l) => l['msg'] === 'late completion dropped: answered already' && l['paymentId'] === 'OUT-H1'), { timeoutMs: 3000, message: 'late completion dropped' });
    expect(lines.filter((l) => l['msg'] === 'request failed')).toEqual([]);
    const again = await timed('/payments', post(createPaymentBody({ paymentId: 'OUT-H1' })));
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ paymentId: 'OUT-H1', status: 'undefined' });
  });

  it('Create Payment, the credential lookup hanging: 503 at the deadline and the route never runs late', async () => {
    outage.mode = 'hang';
    outage.only = new Set(['findMerchantByAppKey']);
    const r = await timed('/payments', post(createPaymentBody({ paymentId: 'OUT-H2' })));
    expect(r.status).toBe(503);
    expect(r.json['code']).toBe('PPP_UNAVAILABLE');
    expect(r.ms).toBeLessThan(5000);
    const inserts = outage.calls.get('createPayment') ?? 0;
    release();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(outage.calls.get('createPayment') ?? 0).toBe(inserts);
    expect(await composed.store.getPayment('OUT-H2')).toBeNull();
  });

  it('cancellation, store rejecting and hanging: 503 in the PPP shape, with the paymentId logged', async () => {
    await payment('OUT-X1');
    const cancel = { paymentId: 'OUT-X1', requestId: 'CR-1', authorizationId: null };
    outage.mode = 'fail';
    outage.only = new Set(['getPayment', 'recordOperation', 'findOperation', 'findOperationByRequest']);
    const failed = await timed('/payments/OUT-X1/cancellations', post(cancel));
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('2');
    expect(failed.json).toMatchObject({ status: 'error', code: 'STORE_FAILED', retryable: true });
    outage.mode = 'hang';
    outage.only = undefined;
    const hung = await timed('/payments/OUT-X1/cancellations', post(cancel));
    expect(hung.status).toBe(503);
    expect(hung.json).toMatchObject({ status: 'error', code: 'PPP_UNAVAILABLE', retryable: true });
    expect(hung.ms).toBeLessThan(5000);
    expect(refusals('OUT-X1').map((l) => l['code'])).toEqual(['STORE_FAILED', 'PPP_UNAVAILABLE']);
  });

  it('Payment App status and submit: 503 in the Payment App shape {code, message, retryable}, Retry-After, within the budget', async () => {
    const { statusUrl, submitUrl } = await payment('OUT-A1');
    outage.mode = 'fail';
    const failed = await timed(new URL(statusUrl).pathname);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('2');
    expect(failed.json).toEqual({ code: 'STORE_FAILED', message: expect.stringContaining('repeat the same request'), retryable: true });
    outage.mode = 'hang';
    const hung = await timed(new URL(submitUrl).pathname, { method: 'POST', body: JSON.stringify({ serialNumber: 'SN1' }) });
    expect(hung.status).toBe(503);
    expect(hung.json).toEqual({ code: 'PPP_UNAVAILABLE', message: expect.any(String), retryable: true });
    expect(hung.ms).toBeLessThan(5000);
    expect(refusals('OUT-A1').map((l) => l['code'])).toEqual(['STORE_FAILED', 'PPP_UNAVAILABLE']);
  });
});

describe('/readyz reports components; /healthz is liveness', () => {
  const readyz = () => timed('/readyz');

  it('ready with the store up and no bus; store down (rejecting, then hanging) → 503 unready within ~1 s; back → ready', async () => {
    const up = await readyz();
    expect(up.status).toBe(200);
    expect(up.json).toEqual({
      status: 'ready',
      instanceId: 'outage-test-1',
      agentsConnected: 0,
      components: { server: { status: 'serving' }, store: { status: 'up', kind: 'switchable', latencyMs: expect.any(Number) }, bus: { status: 'none' } },
    });
    outage.mode = 'fail';
    const down = await waitFor(async () => {
      const r = await readyz();
      return r.status === 503 ? r : undefined;
    }, { timeoutMs: 3000, message: 'readyz unready' });
    expect(down.json).toMatchObject({ status: 'unready', components: { store: { status: 'down', kind: 'switchable', error: 'STORE_FAILED' } } });
    expect(JSON.stringify(down.json)).not.toContain('10.9.9.9');
    expect(lines.filter((l) => l['msg'] === 'store down: readiness unready')).toHaveLength(1);
    outage.mode = 'hang';
    const hung = await waitFor(async () => {
      const r = await readyz();
      return (r.json['components'] as { store: { error?: string } }).store.error === 'timeout' ? r : undefined;
    }, { timeoutMs: 5000, message: 'readyz store timeout' });
    expect(hung.status).toBe(503);
    expect(hung.ms).toBeLessThan(1500);
    release();
    await waitFor(async () => (await readyz()).status === 200, { timeoutMs: 3000, message: 'readyz ready again' });
    expect(lines.some((l) => l['msg'] === 'store up again: readiness restored')).toBe(true);
  });

  it('a load balancer polling hard costs the store at most one ping per second', async () => {
    const before = outage.calls.get('getMeta') ?? 0;
    await Promise.all(Array.from({ length: 20 }, () => readyz()));
    await Promise.all(Array.from({ length: 20 }, () => readyz()));
    expect((outage.calls.get('getMeta') ?? 0) - before).toBeLessThanOrEqual(1);
  });

  it('bus down → 200 degraded (payments still complete); bus up → ready', async () => {
    bus = 'down';
    const degraded = await readyz();
    expect(degraded.status).toBe(200);
    expect(degraded.json).toMatchObject({ status: 'degraded', components: { bus: { status: 'down' }, store: { status: 'up' } } });
    expect((await timed('/payments', post(createPaymentBody({ paymentId: 'OUT-B1' })))).status).toBe(200);
    bus = 'up';
    expect((await readyz()).json).toMatchObject({ status: 'ready', components: { bus: { status: 'up' } } });
  });

  it('/healthz names the instance and counts the agent sockets it holds, and stays 200 while the store is down', async () => {
    expect((await timed('/healthz')).json).toEqual({ status: 'ok', instanceId: 'outage-test-1', agentsConnected: 0 });
    const { token } = await composed.issueAgentToken('outage-agent');
    const agent = await connectAgent(base, token);
    try {
      await agent.hello(['SN1']);
      await waitFor(async () => (await timed('/healthz')).json['agentsConnected'] === 1, { timeoutMs: 3000, message: 'agentsConnected 1' });
      outage.mode = 'fail';
      const health = await timed('/healthz');
      expect(health.status).toBe(200);
      expect(health.json).toEqual({ status: 'ok', instanceId: 'outage-test-1', agentsConnected: 1 });
    } finally {
      release();
      await agent.close();
    }
    await waitFor(async () => (await timed('/healthz')).json['agentsConnected'] === 0, { timeoutMs: 3000, message: 'agentsConnected 0' });
  });

  it('every line the composed server logs names its instance', () => {
    const composedLines = lines.filter((l) => l['component'] !== undefined);
    expect(composedLines.length).toBeGreaterThan(0);
    expect(composedLines.filter((l) => l['instanceId'] !== 'outage-test-1')).toEqual([]);
  });
});
