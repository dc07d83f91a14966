/**
 * Callback workers of several instances on one outbox (ports/leases.ts): two workers on two
 * connections to one SQLite file deliver every callback once; a worker whose lease ran out and
 * was taken over drops its late result and writes nothing. Real SQLite, real HTTP receiver;
 * the stale worker's HTTP client is held back by the test to make it late.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import type { CallbackConfig } from '../config.ts';
import { openSqliteStore } from '../adapters/sqlite/index.ts';
import { apply, approvedResult, binding, newPayment } from '../ports/contract-helpers.ts';
import type { PaymentStore } from '../ports/index.ts';
import { sinkLogger, startCallbackReceiver, tempDir } from '../testing/helpers.ts';
import type { CallbackAnswer, CallbackRequest } from './callback-http.ts';
import { CallbackWorker, callbackLeaseMs, LEASE_MARGIN_MS } from './callback-worker.ts';

const config: CallbackConfig = {
  timeoutMs: 1000,
  baseDelayMs: 10,
  maxDelayMs: 40,
  maxAttempts: 3,
  pollIntervalMs: 20,
  perMerchantConcurrency: 4,
  maxConcurrency: 32,
  hostPolicy: { hostSuffixes: ['vtexpayments.com.br'], allowHosts: [{ host: '127.0.0.1', port: null }] },
};
const credentials = { appKey: 'partner-key', appToken: 'partner-token' };

let tmp: ReturnType<typeof tempDir>;
let store: PaymentStore;
let other: PaymentStore;
beforeEach(async () => {
  tmp = tempDir();
  const file = join(tmp.dir, 'cb.sqlite');
  store = await openSqliteStore({ filename: file });
  other = await openSqliteStore({ filename: file }); // a second instance's connection
});
afterEach(async () => {
  await other.close().catch(() => undefined);
  await store.close().catch(() => undefined);
  tmp.cleanup();
});

/** Stores payment `paymentId` approved, its callback to `callbackUrl` pending. */
async function approved(paymentId: string, callbackUrl: string): Promise<void> {
  const { payment } = await store.createPayment(newPayment({ paymentId, callbackUrl }));
  const bound = await apply(store, payment, { type: 'terminal.bound', binding }, 2000);
  await apply(store, bound!, approvedResult, 2000, true);
}

describe('callback leases', () => {
  it('outlast one attempt: its time-out plus at least the margin', () => {
    expect(callbackLeaseMs({ timeoutMs: 1000 })).toBe(1000 + LEASE_MARGIN_MS);
    expect(callbackLeaseMs({ timeoutMs: 10_000 })).toBe(20_000);
    expect(() => new CallbackWorker({ store, logger: sinkLogger().logger, credentials, config: { ...config, timeoutMs: 0 } })).toThrow(RangeError);
    expect(() => new CallbackWorker({ store, logger: sinkLogger().logger, credentials, config, owner: '' })).toThrow(TypeError);
  });

  it('two instances deliver every callback exactly once between them', async () => {
    const receiver = await startCallbackReceiver();
    const workers = [store, other].map(
      (s, i) => new CallbackWorker({ store: s, logger: sinkLogger().logger, credentials, config, owner: `instance-${i}` }),
    );
    try {
      for (let i = 0; i < 20; i += 1) await approved(`M${i}`, `${receiver.url}/cb/M${i}`);
      for (const w of workers) w.start();
      await waitFor(
        async () => {
          for (let i = 0; i < 20; i += 1) if ((await store.listCallbacks(`M${i}`))[0]?.status !== 'delivered') return false;
          return true;
        },
        { timeoutMs: 8000, message: 'all delivered' },
      );
      for (const w of workers) await w.stop();
      const urls = receiver.received.map((r) => r.url);
      expect(urls).toHaveLength(20);
      expect(new Set(urls).size).toBe(20);
    } finally {
      for (const w of workers) await w.stop();
      await receiver.close();
    }
  });

  it('a worker whose lease was taken over drops its late result, writing nothing, and does not try again', async () => {
    // B's endpoint hangs: B's attempt is in flight (the row pending, leased to B) when A's late answer comes.
    const receiver = await startCallbackReceiver([], { hang: (url) => url.startsWith('/cb/') });
    let clock = 1_000_000;
    const now = () => clock;
    const stale = sinkLogger();
    const held: CallbackRequest[] = [];
    let answer: (a: CallbackAnswer) => void = () => undefined;
    // Instance A: its HTTP client holds the request until the test answers it (a slow endpoint,
    // or a paused process). It polls rarely, so only B claims the row once A's lease ran out.
    const a = new CallbackWorker({
      store,
      logger: stale.logger,
      credentials,
      config: { ...config, pollIntervalMs: 600_000 },
      now,
      owner: 'instance-a',
      post: (request) => {
        held.push(request);
        return new Promise((resolve) => (answer = resolve));
      },
    });
    const bConfig = { ...config, timeoutMs: 30_000 };
    const b = new CallbackWorker({ store: other, logger: sinkLogger().logger, credentials, config: bConfig, now, owner: 'instance-b' });
    try {
      await approved('L1', `${receiver.url}/cb/L1`);
      a.start();
      await waitFor(() => held.length === 1, { timeoutMs: 4000, message: "A's attempt" });
      expect((await store.listCallbacks('L1'))[0]).toMatchObject({ leaseOwner: 'instance-a', leaseUntil: clock + callbackLeaseMs(config) });
      clock += callbackLeaseMs(config); // A's lease runs out: B takes the row over
      b.start();
      await waitFor(() => receiver.open() === 1, { timeoutMs: 4000, message: "B's attempt in flight" });
      const takenOver = await store.listCallbacks('L1');
      expect(takenOver[0]).toMatchObject({ status: 'pending', attempts: 0, leaseOwner: 'instance-b', leaseUntil: clock + callbackLeaseMs(bConfig) });

      answer({ status: 503 }); // A's late answer: a retry it schedules would end B's lease
      await waitFor(() => stale.lines.find((l) => l['msg'] === 'callback lease lost; result dropped'), { timeoutMs: 4000, message: 'lease lost' });
      expect(stale.lines.find((l) => l['msg'] === 'callback lease lost; result dropped')).toMatchObject({
        level: 40,
        paymentId: 'L1',
        leaseOwner: 'instance-a',
        leaseUntil: 1_000_000 + callbackLeaseMs(config),
      });
      await a.stop();
      expect(await store.listCallbacks('L1')).toEqual(takenOver);
      expect(held).toHaveLength(1);
      expect(stale.lines.some((l) => l['msg'] === 'callback retry scheduled')).toBe(false);

      await receiver.close(); // B's request fails now; B records that attempt under its own lease
      await waitFor(async () => (await store.listCallbacks('L1'))[0]?.attempts === 1, { timeoutMs: 4000, message: "B's attempt recorded" });
      expect((await store.listCallbacks('L1'))[0]).toMatchObject({ status: 'pending', leaseOwner: null, leaseUntil: null });
    } finally {
      answer({ status: 503 });
      await receiver.close();
      await a.stop();
      await b.stop();
    }
  });

  it('a worker that claims again a row it is still delivering does not POST it twice', async () => {
    let clock = 1_000_000;
    const { logger, lines } = sinkLogger();
    const held: CallbackRequest[] = [];
    const answers: ((a: CallbackAnswer) => void)[] = [];
    const worker = new CallbackWorker({
      store,
      logger,
      credentials,
      config: { ...config, pollIntervalMs: 600_000 },
      now: () => clock,
      owner: 'instance-a',
      post: (request) => {
        held.push(request);
        return new Promise((resolve) => answers.push(resolve));
      },
    });
    try {
      await approved('S1', 'http://127.0.0.1:9/cb/S1');
      worker.start();
      await waitFor(() => held.length === 1, { timeoutMs: 4000, message: 'first attempt' });
      clock += callbackLeaseMs(config); // the worker's own lease runs out while its POST hangs
      worker.notify();
      await worker.idle();
      expect(lines.find((l) => l['msg'] === 'callback claimed again while its delivery is in flight; left to the lease')).toMatchObject({
        level: 40,
        paymentId: 'S1',
        leaseUntil: clock + callbackLeaseMs(config),
      });
      expect(held).toHaveLength(1);
      answers[0]!({ status: 200 }); // its stale lease: the result is dropped, the row waits for the new lease
      await waitFor(() => lines.find((l) => l['msg'] === 'callback lease lost; result dropped'), { timeoutMs: 4000, message: 'lease lost' });
      expect((await store.listCallbacks('S1'))[0]).toMatchObject({ status: 'pending', attempts: 0, leaseOwner: 'instance-a' });
      clock += callbackLeaseMs(config);
      worker.notify();
      await waitFor(() => held.length === 2, { timeoutMs: 4000, message: 'retried after the lease' });
      answers[1]!({ status: 200 });
      await waitFor(async () => (await store.listCallbacks('S1'))[0]?.status === 'delivered', { timeoutMs: 4000, message: 'delivered' });
    } finally {
      for (const answer of answers) answer({ status: 200 });
      await worker.stop();
    }
  });
});
