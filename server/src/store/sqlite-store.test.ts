import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { transition, type PaymentEvent } from '../domain/payment-machine.ts';
import { tempDir } from '../testing/helpers.ts';
import { openSqliteStore } from './sqlite-store.ts';
import type { NewPayment, Payment, PaymentStore } from './store.ts';

let tmp: ReturnType<typeof tempDir>;
let store: PaymentStore;
let file: string;

beforeEach(async () => {
  tmp = tempDir();
  file = join(tmp.dir, 'store.sqlite');
  store = await openSqliteStore({ filename: file });
});
afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

function newPayment(overrides: Partial<NewPayment> = {}): NewPayment {
  return {
    paymentId: 'P1',
    id: `pb_${Math.random().toString(36).slice(2)}`,
    transactionId: 'TX',
    orderId: 'O',
    reference: 'R',
    merchantName: 'M',
    method: 'credit',
    installments: 1,
    amount: { amountMinor: 3190, currency: 'BRL' },
    callbackUrl: 'https://gw.example/cb?X-VTEX-signature=abc',
    createdAt: 1000,
    ...overrides,
  };
}

async function apply(p: Payment, event: PaymentEvent, at: number, withCallback = false) {
  const { state } = transition(p, event, at);
  return store.applyTransition({
    paymentId: p.paymentId,
    expectedVersion: p.version,
    expectedStatus: p.status,
    next: state,
    event,
    at,
    ...(withCallback ? { callback: { url: p.callbackUrl, body: '{"status":"approved"}', status: 'approved' as const } } : {}),
  });
}

const binding = { serialNumber: 'SN1', agentId: 'ag1', startId: 'st1' };
const approvedResult: PaymentEvent = {
  type: 'result.received',
  outcome: {
    outcome: 'approved',
    terminalRef: 'r1',
    authorizationId: 'A1',
    nsu: '7',
    tid: 'T',
    responseCode: '00',
    message: 'ok',
    card: { brand: 'Visa', firstDigits: '411111', lastDigits: '1111' },
    amountMinor: 3190,
  },
};

describe('SqlitePaymentStore', () => {
  it('creates a payment once and returns the stored row on repeats', async () => {
    const first = await store.createPayment(newPayment());
    expect(first.created).toBe(true);
    expect(first.payment).toMatchObject({
      paymentId: 'P1',
      status: 'awaiting_terminal',
      amount: { amountMinor: 3190, currency: 'BRL' },
      binding: null,
      outcome: null,
      version: 0,
    });
    const again = await store.createPayment(newPayment({ amount: { amountMinor: 1, currency: 'USD' } }));
    expect(again.created).toBe(false);
    expect(again.payment.id).toBe(first.payment.id);
    expect(again.payment.amount.amountMinor).toBe(3190);
  });

  it('20 concurrent creates of one paymentId make exactly one row', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => store.createPayment(newPayment())));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.payment.id)).size).toBe(1);
    const events = await store.listPaymentEvents('P1');
    expect(events.map((e) => e.type)).toEqual(['created']);
  });

  it('concurrent creates from two connections to the same file make one row', async () => {
    const other = await openSqliteStore({ filename: file });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).createPayment(newPayment({ paymentId: 'P2' }))),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.payment.id)).size).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('binds conditionally: only one of two concurrent binds from awaiting_terminal wins', async () => {
    const { payment } = await store.createPayment(newPayment());
    const [a, b] = await Promise.all([
      apply(payment, { type: 'terminal.bound', binding }, 2000),
      apply(payment, { type: 'terminal.bound', binding: { ...binding, serialNumber: 'SN2', startId: 'st2' } }, 2000),
    ]);
    expect([a, b].filter((x) => x !== null)).toHaveLength(1);
    const stored = await store.getPayment('P1');
    expect(stored?.status).toBe('dispatched');
    expect(stored?.version).toBe(1);
    expect(stored?.binding?.serialNumber).toBe(a ? 'SN1' : 'SN2');
  });

  it('applies a result once, enqueues one callback, and keeps an audit trail', async () => {
    const { payment } = await store.createPayment(newPayment());
    const bound = await apply(payment, { type: 'terminal.bound', binding }, 2000);
    expect(bound).not.toBeNull();
    const approved = await apply(bound!, approvedResult, 3000, true);
    expect(approved).toMatchObject({ status: 'approved', version: 2, changedAt: 3000 });
    expect(approved?.outcome).toMatchObject({ authorizationId: 'A1', card: { brand: 'Visa', lastDigits: '1111' } });

    // A stale writer (computed from the bound version) cannot apply it again.
    expect(await apply(bound!, approvedResult, 3001, true)).toBeNull();

    const callbacks = await store.listCallbacks('P1');
    expect(callbacks).toHaveLength(1);
    expect(callbacks[0]).toMatchObject({
      status: 'pending',
      attempts: 0,
      url: 'https://gw.example/cb?X-VTEX-signature=abc',
      body: '{"status":"approved"}',
    });
    const events = await store.listPaymentEvents('P1');
    expect(events.map((e) => [e.type, e.fromStatus, e.toStatus])).toEqual([
      ['created', null, 'awaiting_terminal'],
      ['terminal.bound', 'awaiting_terminal', 'dispatched'],
      ['result.received', 'dispatched', 'approved'],
    ]);
  });

  it('leases due callbacks, schedules retries and marks them delivered or failed', async () => {
    const { payment } = await store.createPayment(newPayment());
    const bound = await apply(payment, { type: 'terminal.bound', binding }, 2000);
    await apply(bound!, approvedResult, 3000, true);

    const claimed = await store.claimDueCallbacks(3000, 10_000, 10);
    expect(claimed).toHaveLength(1);
    // Leased: not claimable again until the lease runs out.
    expect(await store.claimDueCallbacks(3001, 10_000, 10)).toHaveLength(0);
    expect(await store.claimDueCallbacks(13_001, 10_000, 10)).toHaveLength(1);

    await store.scheduleCallbackRetry(claimed[0]!.id, 1, 20_000, 'HTTP 503', 503, 14_000);
    expect(await store.claimDueCallbacks(19_999, 10_000, 10)).toHaveLength(0);
    const again = await store.claimDueCallbacks(20_000, 10_000, 10);
    expect(again[0]).toMatchObject({ attempts: 1, lastError: 'HTTP 503', lastHttpStatus: 503 });

    await store.markCallbackDelivered(again[0]!.id, 2, 200, 21_000);
    expect((await store.listCallbacks('P1'))[0]).toMatchObject({ status: 'delivered', attempts: 2, lastHttpStatus: 200 });
    expect(await store.claimDueCallbacks(1e12, 10_000, 10)).toHaveLength(0);
  });

  it('claims callbacks merchant by merchant in turn, within each merchant\'s bound', async () => {
    const enqueue = async (paymentId: string, merchantId: string, at: number) => {
      const { payment } = await store.createPayment(newPayment({ paymentId, merchantId, createdAt: at }));
      const bound = await apply(payment, { type: 'terminal.bound', binding }, at);
      await apply(bound!, approvedResult, at, true);
    };
    for (const [i, id] of ['A1', 'A2', 'A3', 'A4'].entries()) await enqueue(id, 'mch_a', 1000 + i);
    await enqueue('B1', 'mch_b', 2000);
    await enqueue('B2', 'mch_b', 2001);
    await enqueue('C1', 'mch_c', 3000);

    const fair = await store.claimDueCallbacks(5000, 10_000, 10, { perMerchantLimit: 2, inFlight: new Map([['mch_c', 2]]) });
    // One of each merchant's oldest, then each one's second; A stops at 2, C is already at its bound.
    expect(fair.map((c) => [c.paymentId, c.merchantId])).toEqual([
      ['A1', 'mch_a'],
      ['B1', 'mch_b'],
      ['A2', 'mch_a'],
      ['B2', 'mch_b'],
    ]);
    expect((await store.claimDueCallbacks(5001, 10_000, 10)).map((c) => c.paymentId)).toEqual(['A3', 'C1', 'A4']);
  });

  it('stores agents by token hash, terminals and meta', async () => {
    await store.createAgent({ agentId: 'ag1', name: 'shop', createdAt: 1 }, 'hash1');
    expect(await store.findAgentByTokenHash('hash1')).toEqual({ agentId: 'ag1', name: 'shop', createdAt: 1, storeId: null });
    expect(await store.findAgentByTokenHash('nope')).toBeNull();
    await store.registerTerminal({ serialNumber: 'SN1', agentId: 'ag1', lastSeenAt: 5 });
    expect(await store.touchTerminal('SN1', 'ag1', 6)).toBe(true);
    expect(await store.findTerminal('SN1')).toEqual({ serialNumber: 'SN1', agentId: 'ag1', lastSeenAt: 6 });
    expect(await store.getOrSetMeta('k', 'v1')).toBe('v1');
    expect(await store.getOrSetMeta('k', 'v2')).toBe('v1');
  });

  it('keeps a terminal with its first registrant; moves only by compare-and-set, audited', async () => {
    await store.createAgent({ agentId: 'ag1', name: 'one', createdAt: 1 }, 'h1');
    await store.createAgent({ agentId: 'ag2', name: 'two', createdAt: 1 }, 'h2');
    expect(await store.registerTerminal({ serialNumber: 'SN1', agentId: 'ag1', lastSeenAt: 5 })).toMatchObject({ created: true, terminal: { agentId: 'ag1' } });
    // A second registration never changes the owner, nor its last-seen time.
    expect(await store.registerTerminal({ serialNumber: 'SN1', agentId: 'ag2', lastSeenAt: 7 })).toEqual({
      created: false,
      terminal: { serialNumber: 'SN1', agentId: 'ag1', lastSeenAt: 5 },
    });
    expect(await store.touchTerminal('SN1', 'ag2', 8)).toBe(false);
    expect(await store.findTerminal('SN1')).toEqual({ serialNumber: 'SN1', agentId: 'ag1', lastSeenAt: 5 });
    const move = { serialNumber: 'SN1', fromAgentId: 'ag2', toAgentId: 'ag1', actor: 'cli:ops', reason: 'wrong owner', at: 9 };
    expect(await store.moveTerminal(move)).toBe(false);
    expect(await store.moveTerminal({ ...move, fromAgentId: 'ag1', toAgentId: 'ag2' })).toBe(true);
    expect(await store.findTerminal('SN1')).toMatchObject({ agentId: 'ag2' });
    expect(await store.listTerminalEvents('SN1')).toEqual([
      { seq: expect.any(Number), serialNumber: 'SN1', type: 'registered', fromAgentId: null, toAgentId: 'ag1', actor: 'hub', reason: expect.any(String), at: 5 },
      { seq: expect.any(Number), serialNumber: 'SN1', type: 'moved', fromAgentId: 'ag1', toAgentId: 'ag2', actor: 'cli:ops', reason: 'wrong owner', at: 9 },
    ]);
    expect(await store.getAgent('ag2')).toMatchObject({ agentId: 'ag2', name: 'two' });
    expect(await store.getAgent('nope')).toBeNull();
  });

  it('survives reopening (migrations are not re-applied)', async () => {
    await store.createPayment(newPayment());
    await store.close();
    store = await openSqliteStore({ filename: file });
    expect((await store.getPayment('P1'))?.paymentId).toBe('P1');
  });

  it('lists dispatched payments by serial for re-sending', async () => {
    const { payment } = await store.createPayment(newPayment());
    await apply(payment, { type: 'terminal.bound', binding }, 2000);
    expect((await store.listBoundPayments('dispatched', ['SN1', 'SNX'])).map((p) => p.paymentId)).toEqual(['P1']);
    expect(await store.listBoundPayments('dispatched', ['SNX'])).toEqual([]);
    expect(await store.listBoundPayments('dispatched', [])).toEqual([]);
  });

  it('a settlement bumps the payment version: a cancellation computed before it fails its CAS', async () => {
    const { payment } = await store.createPayment(newPayment());
    const approved = await apply((await apply(payment, { type: 'terminal.bound', binding }, 2000))!, approvedResult, 3000);
    expect(approved?.status).toBe('approved');
    // The cancellation read the payment (nothing settled yet); a settlement commits before its write.
    const settled = await store.recordOperation({ operationId: 'se1', paymentId: 'P1', kind: 'settle', requestId: 'S1', amountMinor: 3190, status: 'approved', at: 4000 });
    expect(settled.kind).toBe('created');
    expect(await apply(approved!, { type: 'cancel.requested', canReverse: true }, 4001)).toBeNull();
    expect((await store.getPayment('P1'))?.version).toBe(approved!.version + 1);
    // Once reversing, a settlement is refused and says the payment's current state.
    const fresh = (await store.getPayment('P1'))!;
    const reversing = await apply(fresh, { type: 'cancel.requested', canReverse: true }, 4002);
    expect(reversing?.status).toBe('reversing');
    expect(await store.recordOperation({ operationId: 'se2', paymentId: 'P1', kind: 'settle', requestId: 'S2', amountMinor: 1, status: 'approved', at: 4003 })).toEqual({
      kind: 'refused',
      reason: 'not_approved',
      limitMinor: 0,
      payment: { status: 'reversing', endReason: 'cancelled' },
    });
  });
});
