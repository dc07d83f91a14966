/**
 * The SQLite hot path of PPP (./create-batch.ts, the reader connection of ./sqlite-db.ts, the
 * merchant cache of ./directory.ts, the known counter keys of ./counters.ts), on a real file.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createdEventData } from '../../domain/audit-data.ts';
import { newPayment } from '../../ports/contract-helpers.ts';
import type { MerchantRecord, PaymentStore } from '../../ports/index.ts';
import { tempDir } from '../../testing/helpers.ts';
import { openSqliteStore } from './index.ts';

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

const merchant = (overrides: Partial<MerchantRecord> = {}): MerchantRecord => ({
  merchantId: 'mch_a',
  name: 'shopA',
  appKey: 'key-a',
  appTokenSha256: 'tok-a',
  callbackMode: 'notification',
  createdAt: 10,
  ...overrides,
});

describe('SQLite hot path', () => {
  it('concurrent creates are committed together, each readable from another connection once answered', async () => {
    const other = await openSqliteStore({ filename: file });
    try {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store.createPayment(newPayment({ paymentId: `B${i}`, testSuite: i % 2 === 0, ...(i % 3 === 0 ? { deadlineAt: 5000 + i } : {}) })),
        ),
      );
      expect(results.every((r) => r.created)).toBe(true);
      // Answered = committed: a separate connection sees every one of them and its created event.
      for (let i = 0; i < 40; i++) {
        // The answer is the stored row, column for column.
        expect(await other.getPayment(`B${i}`)).toEqual(results[i]?.payment);
        expect((await other.listPaymentEvents(`B${i}`)).map((e) => e.type)).toEqual(['created']);
      }
    } finally {
      await other.close();
    }
  });

  it('concurrent reads by id (batched) answer each caller its own payment, null for a missing one', async () => {
    for (let i = 0; i < 5; i++) await store.createPayment(newPayment({ paymentId: `R${i}`, orderId: `O${i}` }));
    const ids = Array.from({ length: 150 }, (_, i) => (i % 7 === 0 ? `MISSING${i}` : `R${i % 5}`));
    const got = await Promise.all(ids.map((id) => store.getPayment(id)));
    got.forEach((p, i) => {
      const id = ids[i] ?? '';
      if (id.startsWith('MISSING')) expect(p).toBeNull();
      else expect(p).toMatchObject({ paymentId: id, orderId: `O${id.slice(1)}` });
    });
    expect(got[1]).not.toBe(got[6]); // R1 twice: two objects, as two unbatched reads give
    // A read asked for after a create answered sees it.
    const [, after] = await Promise.all([store.getPayment('R0'), store.createPayment(newPayment({ paymentId: 'R9' })).then(() => store.getPayment('R9'))]);
    expect(after?.paymentId).toBe('R9');
  });

  it('one failing create in a batch rejects only itself; the others are stored', async () => {
    const bad = newPayment({ paymentId: 'BAD', orderId: null as unknown as string }); // NOT NULL column
    const settled = await Promise.allSettled([
      store.createPayment(newPayment({ paymentId: 'G1' })),
      store.createPayment(bad),
      store.createPayment(newPayment({ paymentId: 'G2' })),
      store.createPayment(newPayment({ paymentId: 'G1' })),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'STORE_FAILED' });
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value.created : null))).toEqual([true, null, true, false]);
    expect(await store.getPayment('BAD')).toBeNull();
    expect((await store.getPayment('G2'))?.paymentId).toBe('G2');
  });

  it('each new payment of a batch has exactly one created event (the trigger), a repeat none, a UNIQUE clash only its own refusal', async () => {
    const settled = await Promise.allSettled([
      store.createPayment(newPayment({ paymentId: 'E1', id: 'pb_e1', installments: 3 })),
      store.createPayment(newPayment({ paymentId: 'E2', id: 'pb_e2', method: 'debit', sandbox: true })),
      store.createPayment(newPayment({ paymentId: 'E1', id: 'pb_e1_again' })),
      store.createPayment(newPayment({ paymentId: 'E3', id: 'pb_e1' })), // another payment with E1's id: UNIQUE(id)
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    expect((settled[3] as PromiseRejectedResult).reason).toMatchObject({ code: 'STORE_FAILED' });
    expect(await store.getPayment('E3')).toBeNull();
    const e1 = await store.listPaymentEvents('E1');
    expect(e1.map((e) => [e.type, e.fromStatus, e.toStatus])).toEqual([['created', null, 'awaiting_terminal']]);
    const p1 = await store.getPayment('E1');
    // The trigger writes what createdEventData (domain/audit-data.ts) gives, sandbox flag included.
    expect(e1[0]?.data).toEqual(createdEventData({ amount: p1!.amount, method: 'credit', installments: 3 }));
    expect(e1[0]?.data).toEqual({ amount: p1?.amount, method: 'credit', installments: 3 });
    expect(e1[0]?.at).toBe(p1?.createdAt);
    const p2 = await store.getPayment('E2');
    expect((await store.listPaymentEvents('E2'))[0]?.data).toEqual(createdEventData({ amount: p2!.amount, method: 'debit', installments: p2!.installments, sandbox: true }));
    expect((await store.listPaymentEvents('E2'))[0]?.data).toMatchObject({ method: 'debit', sandbox: true });
    expect(await store.listPaymentEvents('E3')).toEqual([]);
  });

  it('a merchant added by another process authenticates at once; a changed bootstrap token is seen at once', async () => {
    await store.upsertBootstrapMerchant(merchant({ merchantId: 'mch_bootstrap', name: null, appKey: 'env-key', appTokenSha256: 'tok-1' }));
    expect((await store.findMerchantByAppKey('env-key'))?.appTokenSha256).toBe('tok-1');
    expect(await store.findMerchantByAppKey('key-b')).toBeNull();
    const cli = await openSqliteStore({ filename: file });
    try {
      await cli.createMerchant(merchant({ merchantId: 'mch_b', name: 'shopB', appKey: 'key-b' }));
    } finally {
      await cli.close();
    }
    expect((await store.findMerchantByAppKey('key-b'))?.merchantId).toBe('mch_b');
    await store.upsertBootstrapMerchant(merchant({ merchantId: 'mch_bootstrap', name: null, appKey: 'env-key', appTokenSha256: 'tok-2' }));
    expect((await store.findMerchantByAppKey('env-key'))?.appTokenSha256).toBe('tok-2');
  });

  it('a counter window stored before a restart still limits after it', async () => {
    await store.hitCounter('ppp:k', 60_000, 1000);
    await store.hitCounter('ppp:k', 60_000, 1001);
    expect(await store.getCounter('ppp:other', 1002)).toBeNull();
    await store.close();
    store = await openSqliteStore({ filename: file });
    expect(await store.getCounter('ppp:k', 1002)).toEqual({ count: 2, resetAt: 61_000 });
    expect(await store.getCounter('ppp:k', 61_000)).toBeNull();
    expect(await store.getCounter('ppp:other', 1002)).toBeNull();
  });
});
