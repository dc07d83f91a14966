import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import type { CallbackConfig } from '../config.ts';
import { loadServerConfig } from '../config.ts';
import { startServer } from '../main.ts';
import { transition, type PaymentEvent } from '../domain/payment-machine.ts';
import { openSqliteStore } from '../adapters/sqlite/index.ts';
import type { PaymentStore } from '../ports/index.ts';
import { sinkLogger, startCallbackReceiver, tempDir, testEnv } from '../testing/helpers.ts';
import { CallbackWorker, backoffDelayMs } from './callback-worker.ts';

const config: CallbackConfig = {
  timeoutMs: 1000,
  baseDelayMs: 10,
  maxDelayMs: 40,
  maxAttempts: 3,
  pollIntervalMs: 20,
  perMerchantConcurrency: 4,
  maxConcurrency: 32,
  // The receivers listen on loopback, which only the allowlist admits.
  hostPolicy: { hostSuffixes: ['vtexpayments.com.br'], allowHosts: [{ host: '127.0.0.1', port: null }] },
};
const credentials = { appKey: 'partner-key', appToken: 'partner-token' };

let tmp: ReturnType<typeof tempDir>;
let store: PaymentStore;
beforeEach(async () => {
  tmp = tempDir();
  store = await openSqliteStore({ filename: join(tmp.dir, 'cb.sqlite') });
});
afterEach(async () => {
  await store.close().catch(() => undefined);
  tmp.cleanup();
});

/** Stores an approved payment whose callback is pending, through the real store API. */
async function approvedPayment(
  s: PaymentStore,
  paymentId: string,
  callbackUrl: string,
  expiresAt?: number,
  merchantId?: string,
): Promise<void> {
  const { payment } = await s.createPayment({
    ...(merchantId === undefined ? {} : { merchantId }),
    paymentId,
    id: `pb_${paymentId}`,
    transactionId: 'TX',
    orderId: 'O',
    reference: 'R',
    merchantName: 'M',
    method: 'debit',
    installments: 1,
    amount: { amountMinor: 1000, currency: 'BRL' },
    callbackUrl,
    createdAt: 1,
  });
  const bind: PaymentEvent = { type: 'terminal.bound', binding: { serialNumber: 'SN', agentId: 'ag', startId: 'st' } };
  const bound = await s.applyTransition({
    paymentId, expectedVersion: payment.version, expectedStatus: payment.status, next: transition(payment, bind, 2).state, event: bind, at: 2,
  });
  const res: PaymentEvent = {
    type: 'result.received',
    outcome: { outcome: 'approved', terminalRef: 'r', authorizationId: 'A', nsu: null, tid: null, responseCode: '00', message: null, card: null, amountMinor: 1000 },
  };
  await s.applyTransition({
    paymentId, expectedVersion: bound!.version, expectedStatus: bound!.status, next: transition(bound!, res, 3).state, event: res, at: 3,
    callback: {
      url: callbackUrl,
      body: JSON.stringify({ paymentId, status: 'approved' }),
      status: 'approved',
      ...(expiresAt === undefined ? {} : { expiresAt }),
    },
  });
}

describe('backoffDelayMs', () => {
  it('grows exponentially, is capped, and jitters within [10%, 100%] of the ceiling', () => {
    const c = { baseDelayMs: 1000, maxDelayMs: 60_000 };
    expect(backoffDelayMs(1, c, 1 - 1e-9)).toBeCloseTo(1000, -1);
    expect(backoffDelayMs(3, c, 1 - 1e-9)).toBeCloseTo(4000, -1);
    expect(backoffDelayMs(20, c, 1 - 1e-9)).toBeCloseTo(60_000, -1);
    expect(backoffDelayMs(3, c, 0)).toBe(400);
  });
});

describe('CallbackWorker', () => {
  it('retries 5xx with backoff, then delivers', async () => {
    const receiver = await startCallbackReceiver([503, 500]);
    const { logger, lines } = sinkLogger();
    const worker = new CallbackWorker({ store, logger, credentials, config });
    try {
      await approvedPayment(store, 'R1', `${receiver.url}/notify?sig=1`);
      worker.start();
      await waitFor(async () => (await store.listCallbacks('R1'))[0]?.status === 'delivered', { timeoutMs: 4000, message: 'delivered' });
      expect(receiver.received.map((r) => r.url)).toEqual(['/notify?sig=1', '/notify?sig=1', '/notify?sig=1']);
      expect((await store.listCallbacks('R1'))[0]).toMatchObject({ attempts: 3, lastHttpStatus: 200 });
      expect(lines.filter((l) => l['msg'] === 'callback attempt failed').map((l) => [l['attempt'], l['httpStatus'], l['level']])).toEqual([
        [1, 503, 40],
        [2, 500, 40],
      ]);
      expect(lines.find((l) => l['msg'] === 'callback delivered')).toMatchObject({ paymentId: 'R1', status: 'approved', httpStatus: 200, attempt: 3 });
    } finally {
      await worker.stop();
      await receiver.close();
    }
  });

  it('gives up at once on a 4xx', async () => {
    const receiver = await startCallbackReceiver([400]);
    const { logger, lines } = sinkLogger();
    let ahead = 0;
    const worker = new CallbackWorker({ store, logger, credentials, config, now: () => Date.now() + ahead });
    try {
      await approvedPayment(store, 'R2', `${receiver.url}/x`);
      worker.start();
      await waitFor(async () => (await store.listCallbacks('R2'))[0]?.status === 'failed', { timeoutMs: 4000, message: 'failed' });
      // Past any retry delay (maxDelayMs) and inside the payment window: a retry would be due now.
      ahead = 10 * config.maxDelayMs;
      worker.notify();
      await worker.idle();
      await worker.stop(); // waits for any delivery that pass started
      expect(receiver.received).toHaveLength(1);
      expect(lines.some((l) => l['level'] === 50 && l['paymentId'] === 'R2')).toBe(true);
    } finally {
      await worker.stop();
      await receiver.close();
    }
  });

  it('retries network errors and gives up after maxAttempts', async () => {
    const receiver = await startCallbackReceiver();
    const deadUrl = `${receiver.url}/gone`;
    await receiver.close(); // nothing listens there any more
    const { logger, lines } = sinkLogger();
    const worker = new CallbackWorker({ store, logger, credentials, config });
    try {
      await approvedPayment(store, 'R3', deadUrl);
      worker.start();
      await waitFor(async () => (await store.listCallbacks('R3'))[0]?.status === 'failed', { timeoutMs: 4000, message: 'failed' });
      expect((await store.listCallbacks('R3'))[0]?.attempts).toBe(3);
      expect(lines.filter((l) => l['msg'] === 'callback attempt failed' && l['err'])).toHaveLength(3);
    } finally {
      await worker.stop();
    }
  });

  it('keeps retrying (no attempt cap) until the payment window closes, then gives up', async () => {
    const receiver = await startCallbackReceiver(Array.from({ length: 100 }, () => 503));
    let clock = 1_000_000;
    const { logger, lines } = sinkLogger();
    const outcomes: string[] = [];
    const worker = new CallbackWorker({
      store,
      logger,
      credentials,
      config: { ...config, maxAttempts: 10_000 },
      now: () => clock,
      random: () => 0,
      onAttempt: (outcome) => outcomes.push(outcome),
    });
    try {
      await approvedPayment(store, 'R4', `${receiver.url}/cb`, clock + 60_000);
      worker.start();
      await waitFor(() => {
        clock += 50; // time moves on between polls; the backoff delays are ≤ 40 ms
        return receiver.received.length >= 3;
      }, { timeoutMs: 4000, message: 'three attempts' });
      expect((await store.listCallbacks('R4'))[0]?.status).toBe('pending');
      clock += 60_000; // the payment's window (delayToCancel) closes
      await waitFor(async () => (await store.listCallbacks('R4'))[0]?.status === 'failed', { timeoutMs: 4000, message: 'failed' });
      expect(lines.some((l) => l['paymentId'] === 'R4' && String(l['msg']).includes('giving up'))).toBe(true);
      expect(outcomes).toContain('failed');
    } finally {
      await worker.stop();
      await receiver.close();
    }
  });

  it('the server delivers callbacks left pending by a previous run at startup', async () => {
    const receiver = await startCallbackReceiver();
    const dbPath = join(tmp.dir, 'restart.sqlite');
    const previous = await openSqliteStore({ filename: dbPath });
    await approvedPayment(previous, 'R4', `${receiver.url}/cb?a=1`);
    await previous.close();
    const { logger } = sinkLogger();
    const server = await startServer({ config: loadServerConfig(testEnv(dbPath)), logger });
    try {
      const cb = await waitFor(() => receiver.received[0], { timeoutMs: 4000, message: 'callback' });
      expect(cb.url).toBe('/cb?a=1');
      expect(cb.headers['x-vtex-api-appkey']).toBe('partner-key');
    } finally {
      await server.close();
      await receiver.close();
    }
  });

  describe('fairness between merchants', () => {
    const hangingConfig: CallbackConfig = { ...config, timeoutMs: 60_000, perMerchantConcurrency: 4, maxConcurrency: 32 };

    it("a hanging callback of one merchant does not hold back another merchant's", async () => {
      const receiver = await startCallbackReceiver([], { hang: (url) => url.startsWith('/hang') });
      const { logger } = sinkLogger();
      const worker = new CallbackWorker({ store, logger, credentials, config: hangingConfig });
      try {
        await approvedPayment(store, 'A1', `${receiver.url}/hang/A1`, undefined, 'mch_a');
        worker.start();
        await waitFor(() => receiver.received.some((r) => r.url === '/hang/A1'), { timeoutMs: 4000, message: "merchant A's callback to be sent" });
        await approvedPayment(store, 'B1', `${receiver.url}/ok/B1`, undefined, 'mch_b');
        worker.notify(); // what PaymentService does after enqueueing
        await waitFor(async () => (await store.listCallbacks('B1'))[0]?.status === 'delivered', { timeoutMs: 4000, message: "merchant B's callback" });
        // B was delivered while A's request still hangs (it times out only after 60 s).
        expect(receiver.open()).toBe(1);
        expect((await store.listCallbacks('A1'))[0]).toMatchObject({ status: 'pending', attempts: 0 });
      } finally {
        await receiver.close(); // ends A's hanging request, so stop() need not wait for its time-out
        await worker.stop();
      }
    });

    it("bounds each merchant's callbacks in flight and claims across merchants in turn", async () => {
      const receiver = await startCallbackReceiver([], { hang: (url) => url.startsWith('/hang') });
      const { logger } = sinkLogger();
      const worker = new CallbackWorker({ store, logger, credentials, config: hangingConfig });
      try {
        // Merchant A has more due callbacks than one claim takes, all older than merchant B's.
        for (let i = 0; i < 30; i += 1) await approvedPayment(store, `A${i}`, `${receiver.url}/hang/A${i}`, undefined, 'mch_a');
        await approvedPayment(store, 'B1', `${receiver.url}/ok/B1`, undefined, 'mch_b');
        worker.start();
        await waitFor(async () => (await store.listCallbacks('B1'))[0]?.status === 'delivered', { timeoutMs: 4000, message: "merchant B's callback" });
        await waitFor(() => receiver.open() === 4, { timeoutMs: 4000, message: "merchant A's four callbacks in flight" });
        worker.notify(); // another pass must not start a fifth of A's while four hang
        await worker.idle();
        expect(receiver.received.filter((r) => r.url.startsWith('/hang'))).toHaveLength(4);
        expect(receiver.maxOpen).toBeLessThanOrEqual(4 + 1);
      } finally {
        await receiver.close();
        await worker.stop();
      }
    });
  });

  describe('host policy at delivery', () => {
    const productionPolicy: CallbackConfig = { ...config, hostPolicy: { hostSuffixes: ['vtexpayments.com.br'], allowHosts: [] } };

    it('gives up, sending nothing, a stored callbackUrl the policy refuses (e.g. loopback without an allowlist)', async () => {
      const receiver = await startCallbackReceiver();
      const { logger, lines } = sinkLogger();
      const outcomes: [string, string | null][] = [];
      const worker = new CallbackWorker({
        store,
        logger,
        credentials,
        config: productionPolicy,
        onAttempt: (outcome, reason) => outcomes.push([outcome, reason]),
      });
      try {
        await approvedPayment(store, 'S1', `${receiver.url}/cb`);
        worker.start();
        await waitFor(async () => (await store.listCallbacks('S1'))[0]?.status === 'failed', { timeoutMs: 4000, message: 'failed' });
        expect(receiver.received).toHaveLength(0);
        expect(outcomes).toEqual([['failed', 'policy']]);
        expect(lines.find((l) => l['msg'] === 'callback URL refused by the host policy; giving up')).toMatchObject({ level: 50, paymentId: 'S1' });
        expect((await store.listCallbacks('S1'))[0]?.lastError).toContain('127.0.0.1');
      } finally {
        await worker.stop();
        await receiver.close();
      }
    });

    it('resolves the host at delivery and refuses it when it now points inside (DNS rebinding), sending nothing', async () => {
      const lookups: string[] = [];
      const { logger, lines } = sinkLogger();
      const worker = new CallbackWorker({
        store,
        logger,
        credentials,
        config: productionPolicy,
        // Accepted at Create Payment with a public address; by delivery time it is the metadata address.
        resolveHost: async (hostname) => {
          lookups.push(hostname);
          return [{ address: '169.254.169.254', family: 4 }];
        },
      });
      try {
        await approvedPayment(store, 'S2', 'https://gatewayqa.vtexpayments.com.br/cb?X-VTEX-signature=s');
        worker.start();
        await waitFor(async () => (await store.listCallbacks('S2'))[0]?.status === 'failed', { timeoutMs: 4000, message: 'failed' });
        // The real HTTP client asked the policy's lookup, which refused before any socket connected.
        expect(lookups).toEqual(['gatewayqa.vtexpayments.com.br']);
        expect((await store.listCallbacks('S2'))[0]).toMatchObject({ attempts: 0, lastError: expect.stringContaining('169.254.169.254') });
        expect(lines.find((l) => l['msg'] === 'callback URL refused by the host policy; giving up')).toMatchObject({ paymentId: 'S2' });
      } finally {
        await worker.stop();
      }
    });
  });
});
