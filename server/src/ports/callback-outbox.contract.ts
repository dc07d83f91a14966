/**
 * Contract of the callback outbox (./callback-outbox.ts `CallbackOutboxPort`): every adapter
 * runs these same assertions (adapters/memory/memory-contract.test.ts,
 * adapters/sqlite/sqlite-contract.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { apply, approvedResult, binding, newPayment, useStore, type StoreFactory } from './contract-helpers.ts';

/** Registers the callback-outbox contract against stores made by `factory`. */
export function callbackOutboxContract(factory: StoreFactory): void {
  describe('CallbackOutboxPort contract', () => {
    const store = useStore(factory);

    it('leases due callbacks, schedules retries and marks them delivered or failed', async () => {
      const { payment } = await store().createPayment(newPayment());
      const bound = await apply(store(), payment, { type: 'terminal.bound', binding }, 2000);
      await apply(store(), bound!, approvedResult, 3000, true);

      const claimed = await store().claimDueCallbacks(3000, 10_000, 10);
      expect(claimed).toHaveLength(1);
      // Leased: not claimable again until the lease runs out.
      expect(await store().claimDueCallbacks(3001, 10_000, 10)).toHaveLength(0);
      expect(await store().claimDueCallbacks(13_001, 10_000, 10)).toHaveLength(1);

      await store().scheduleCallbackRetry(claimed[0]!.id, 1, 20_000, 'HTTP 503', 503, 14_000);
      expect(await store().claimDueCallbacks(19_999, 10_000, 10)).toHaveLength(0);
      const again = await store().claimDueCallbacks(20_000, 10_000, 10);
      expect(again[0]).toMatchObject({ attempts: 1, lastError: 'HTTP 503', lastHttpStatus: 503 });

      await store().markCallbackDelivered(again[0]!.id, 2, 200, 21_000);
      expect((await store().listCallbacks('P1'))[0]).toMatchObject({ status: 'delivered', attempts: 2, lastHttpStatus: 200 });
      expect(await store().claimDueCallbacks(1e12, 10_000, 10)).toHaveLength(0);
    });

    it('claims callbacks merchant by merchant in turn, within each merchant\'s bound', async () => {
      const enqueue = async (paymentId: string, merchantId: string, at: number) => {
        const { payment } = await store().createPayment(newPayment({ paymentId, merchantId, createdAt: at }));
        const bound = await apply(store(), payment, { type: 'terminal.bound', binding }, at);
        await apply(store(), bound!, approvedResult, at, true);
      };
      for (const [i, id] of ['A1', 'A2', 'A3', 'A4'].entries()) await enqueue(id, 'mch_a', 1000 + i);
      await enqueue('B1', 'mch_b', 2000);
      await enqueue('B2', 'mch_b', 2001);
      await enqueue('C1', 'mch_c', 3000);

      const fair = await store().claimDueCallbacks(5000, 10_000, 10, { perMerchantLimit: 2, inFlight: new Map([['mch_c', 2]]) });
      // One of each merchant's oldest, then each one's second; A stops at 2, C is already at its bound.
      expect(fair.map((c) => [c.paymentId, c.merchantId])).toEqual([
        ['A1', 'mch_a'],
        ['B1', 'mch_b'],
        ['A2', 'mch_a'],
        ['B2', 'mch_b'],
      ]);
      expect((await store().claimDueCallbacks(5001, 10_000, 10)).map((c) => c.paymentId)).toEqual(['A3', 'C1', 'A4']);
    });

    it('bounds a claim by its limit, in turn order, leaving the rest due', async () => {
      for (const [id, at] of [['X1', 1000], ['X2', 1001], ['X3', 1002]] as const) {
        const { payment } = await store().createPayment(newPayment({ paymentId: id, createdAt: at }));
        const bound = await apply(store(), payment, { type: 'terminal.bound', binding }, at);
        await apply(store(), bound!, approvedResult, at, true);
      }
      expect((await store().claimDueCallbacks(5000, 10_000, 2)).map((c) => c.paymentId)).toEqual(['X1', 'X2']);
      const [rest] = await store().claimDueCallbacks(5000, 10_000, 10);
      expect(rest).toMatchObject({ paymentId: 'X3', nextAttemptAt: 1002 });
      expect((await store().listCallbacks('X3'))[0]?.nextAttemptAt).toBe(15_000);
    });

    it('gives a callback up, keeping the first 500 characters of the error, and never claims it again', async () => {
      const { payment } = await store().createPayment(newPayment());
      const bound = await apply(store(), payment, { type: 'terminal.bound', binding }, 2000);
      await apply(store(), bound!, approvedResult, 3000, true);
      const [claimed] = await store().claimDueCallbacks(3000, 10_000, 10);
      await store().scheduleCallbackRetry(claimed!.id, 1, 4000, 'x'.repeat(600), null, 3500);
      expect((await store().listCallbacks('P1'))[0]).toMatchObject({ lastError: 'x'.repeat(500), lastHttpStatus: null, nextAttemptAt: 4000 });
      await store().markCallbackFailed(claimed!.id, 2, 'y'.repeat(501), 410, 4500);
      expect(await store().listCallbacks('P1')).toEqual([
        {
          id: claimed!.id,
          paymentId: 'P1',
          merchantId: 'mch_bootstrap',
          url: 'https://gw.example/cb?X-VTEX-signature=abc',
          body: '{"status":"approved"}',
          status: 'failed',
          attempts: 2,
          nextAttemptAt: 4000,
          lastError: 'y'.repeat(500),
          lastHttpStatus: 410,
          expiresAt: null,
        },
      ]);
      expect(await store().claimDueCallbacks(1e12, 10_000, 10)).toEqual([]);
      expect(await store().listCallbacks('nope')).toEqual([]);
    });
  });
}
