/**
 * Contract of the callback outbox (./callback-outbox.ts `CallbackOutboxPort`): every adapter
 * runs these same assertions (adapters/memory/memory-contract.test.ts,
 * adapters/sqlite/sqlite-contract.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { leaseOf, type ClaimedCallback } from './callback-outbox.ts';
import { apply, approvedResult, binding, newPayment, useStore, type StoreFactory } from './contract-helpers.ts';
import type { PaymentStore } from './index.ts';

/** Owners of the contract's claims (two instances). */
const A = 'instance-a';
const B = 'instance-b';

/** Stores payment `paymentId` (merchant `merchantId`) approved at `at`, its callback pending from then. */
async function approvedWithCallback(store: PaymentStore, paymentId = 'P1', at = 3000, merchantId?: string): Promise<void> {
  const { payment } = await store.createPayment(newPayment({ paymentId, createdAt: at, ...(merchantId === undefined ? {} : { merchantId }) }));
  const bound = await apply(store, payment, { type: 'terminal.bound', binding }, at);
  await apply(store, bound!, approvedResult, at, true);
}

/** Registers the callback-outbox contract against stores made by `factory`. */
export function callbackOutboxContract(factory: StoreFactory): void {
  describe('CallbackOutboxPort contract', () => {
    const store = useStore(factory);

    it('leases due callbacks, schedules retries and marks them delivered or failed', async () => {
      const { payment } = await store().createPayment(newPayment());
      const bound = await apply(store(), payment, { type: 'terminal.bound', binding }, 2000);
      await apply(store(), bound!, approvedResult, 3000, true);

      const claimed = await store().claimDueCallbacks(3000, 10_000, 10, undefined, A);
      expect(claimed).toHaveLength(1);
      expect(claimed[0]).toMatchObject({ nextAttemptAt: 3000, leaseOwner: A, leaseUntil: 13_000 });
      expect((await store().listCallbacks('P1'))[0]).toMatchObject({ nextAttemptAt: 3000, leaseOwner: A, leaseUntil: 13_000 });
      // Leased: not claimable again until the lease runs out.
      expect(await store().claimDueCallbacks(3001, 10_000, 10, undefined, A)).toHaveLength(0);
      const retaken = await store().claimDueCallbacks(13_000, 10_000, 10, undefined, A);
      expect(retaken).toMatchObject([{ leaseOwner: A, leaseUntil: 23_000 }]);

      expect(await store().scheduleCallbackRetry(retaken[0]!.id, leaseOf(retaken[0]!), 1, 30_000, 'HTTP 503', 503, 14_000)).toBe(true);
      expect((await store().listCallbacks('P1'))[0]).toMatchObject({ nextAttemptAt: 30_000, leaseOwner: null, leaseUntil: null });
      expect(await store().claimDueCallbacks(29_999, 10_000, 10, undefined, A)).toHaveLength(0);
      const again = await store().claimDueCallbacks(30_000, 10_000, 10, undefined, A);
      expect(again[0]).toMatchObject({ attempts: 1, lastError: 'HTTP 503', lastHttpStatus: 503 });

      expect(await store().markCallbackDelivered(again[0]!.id, leaseOf(again[0]!), 2, 200, 31_000)).toBe(true);
      expect((await store().listCallbacks('P1'))[0]).toMatchObject({ status: 'delivered', attempts: 2, lastHttpStatus: 200, leaseOwner: null, leaseUntil: null });
      expect(await store().claimDueCallbacks(1e12, 10_000, 10, undefined, A)).toHaveLength(0);
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

      const fair = await store().claimDueCallbacks(5000, 10_000, 10, { perMerchantLimit: 2, inFlight: new Map([['mch_c', 2]]) }, A);
      // One of each merchant's oldest, then each one's second; A stops at 2, C is already at its bound.
      expect(fair.map((c) => [c.paymentId, c.merchantId])).toEqual([
        ['A1', 'mch_a'],
        ['B1', 'mch_b'],
        ['A2', 'mch_a'],
        ['B2', 'mch_b'],
      ]);
      expect((await store().claimDueCallbacks(5001, 10_000, 10, undefined, A)).map((c) => c.paymentId)).toEqual(['A3', 'C1', 'A4']);
    });

    it('bounds a claim by its limit, in turn order, leaving the rest due', async () => {
      for (const [id, at] of [['X1', 1000], ['X2', 1001], ['X3', 1002]] as const) {
        const { payment } = await store().createPayment(newPayment({ paymentId: id, createdAt: at }));
        const bound = await apply(store(), payment, { type: 'terminal.bound', binding }, at);
        await apply(store(), bound!, approvedResult, at, true);
      }
      expect((await store().claimDueCallbacks(5000, 10_000, 2, undefined, A)).map((c) => c.paymentId)).toEqual(['X1', 'X2']);
      const [rest] = await store().claimDueCallbacks(5000, 10_000, 10, undefined, A);
      expect(rest).toMatchObject({ paymentId: 'X3', nextAttemptAt: 1002, leaseOwner: A, leaseUntil: 15_000 });
      expect((await store().listCallbacks('X3'))[0]).toMatchObject({ nextAttemptAt: 1002, leaseUntil: 15_000 });
    });

    it('gives a callback up, keeping the first 500 characters of the error, and never claims it again', async () => {
      const { payment } = await store().createPayment(newPayment());
      const bound = await apply(store(), payment, { type: 'terminal.bound', binding }, 2000);
      await apply(store(), bound!, approvedResult, 3000, true);
      const [claimed] = await store().claimDueCallbacks(3000, 10_000, 10, undefined, A);
      await store().scheduleCallbackRetry(claimed!.id, leaseOf(claimed!), 1, 4000, 'x'.repeat(600), null, 3500);
      expect((await store().listCallbacks('P1'))[0]).toMatchObject({ lastError: 'x'.repeat(500), lastHttpStatus: null, nextAttemptAt: 4000 });
      const [second] = await store().claimDueCallbacks(4000, 10_000, 10, undefined, A);
      expect(await store().markCallbackFailed(second!.id, leaseOf(second!), 2, 'y'.repeat(501), 410, 4500)).toBe(true);
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
          leaseOwner: null,
          leaseUntil: null,
        },
      ]);
      expect(await store().claimDueCallbacks(1e12, 10_000, 10, undefined, A)).toEqual([]);
      expect(await store().listCallbacks('nope')).toEqual([]);
    });

    describe('leases between instances', () => {
      it('never gives one row to two concurrent claims', async () => {
        for (let i = 0; i < 12; i += 1) await approvedWithCallback(store(), `C${i}`, 1000 + i);
        const claims = await Promise.all(
          Array.from({ length: 6 }, (_, i) => store().claimDueCallbacks(5000, 10_000, 3, undefined, i % 2 === 0 ? A : B)),
        );
        // A claim may come back short when it meets rows another claim holds (SKIP LOCKED); what
        // no claim took is still there for the next one, and no row is in two claims.
        const rest = await store().claimDueCallbacks(5000, 10_000, 100, undefined, 'instance-c');
        const ids = [...claims.flat(), ...rest].map((c) => c.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).toHaveLength(12);
        expect(claims.flat().length).toBeGreaterThanOrEqual(3);
        for (const [i, claim] of claims.entries()) {
          for (const c of claim) expect(c).toMatchObject({ leaseOwner: i % 2 === 0 ? A : B, leaseUntil: 15_000 });
        }
      });

      it("leaves a row claimed by A to A until A's lease runs out, then B takes it over", async () => {
        await approvedWithCallback(store());
        const [byA] = await store().claimDueCallbacks(3000, 10_000, 10, undefined, A);
        expect(byA).toMatchObject({ leaseOwner: A, leaseUntil: 13_000 });
        expect(await store().claimDueCallbacks(12_999, 10_000, 10, undefined, B)).toEqual([]);
        const [byB] = await store().claimDueCallbacks(13_000, 10_000, 10, undefined, B);
        expect(byB).toMatchObject({ id: byA!.id, leaseOwner: B, leaseUntil: 23_000, attempts: 0 });
        expect((await store().listCallbacks('P1'))[0]).toMatchObject({ leaseOwner: B, leaseUntil: 23_000 });
      });

      it("refuses every settle of A after B took the row over, writing nothing; B's own settle applies", async () => {
        await approvedWithCallback(store());
        const [byA] = await store().claimDueCallbacks(3000, 10_000, 10, undefined, A);
        const [byB] = await store().claimDueCallbacks(13_000, 10_000, 10, undefined, B);
        const before = await store().listCallbacks('P1');
        const stale = leaseOf(byA!);
        expect(await store().markCallbackDelivered(byA!.id, stale, 1, 200, 14_000)).toBe(false);
        expect(await store().scheduleCallbackRetry(byA!.id, stale, 1, 20_000, 'HTTP 503', 503, 14_000)).toBe(false);
        expect(await store().markCallbackFailed(byA!.id, stale, 1, 'HTTP 410', 410, 14_000)).toBe(false);
        // A lease is (owner, until): B's owner with another `until` is not B's lease either.
        expect(await store().markCallbackDelivered(byB!.id, { owner: B, until: 13_000 }, 1, 200, 14_000)).toBe(false);
        expect(await store().listCallbacks('P1')).toEqual(before);
        expect(await store().markCallbackDelivered(byB!.id, leaseOf(byB!), 1, 200, 14_000)).toBe(true);
        expect((await store().listCallbacks('P1'))[0]).toMatchObject({ status: 'delivered', attempts: 1, leaseOwner: null });
        // Settled: nothing more applies, not even B's lease again.
        expect(await store().markCallbackFailed(byB!.id, leaseOf(byB!), 2, 'late', null, 15_000)).toBe(false);
        expect((await store().listCallbacks('P1'))[0]).toMatchObject({ status: 'delivered', attempts: 1, lastError: null });
      });

      it('refuses a stale lease of the same owner once that owner claimed the row again', async () => {
        await approvedWithCallback(store());
        const [first] = await store().claimDueCallbacks(3000, 10_000, 10, undefined, A);
        const [second] = await store().claimDueCallbacks(13_000, 10_000, 10, undefined, A);
        expect(await store().scheduleCallbackRetry(first!.id, leaseOf(first!), 1, 20_000, 'late', null, 14_000)).toBe(false);
        expect(await store().scheduleCallbackRetry(second!.id, leaseOf(second!), 1, 20_000, 'HTTP 503', 503, 14_000)).toBe(true);
      });

      it("applies A's settle during its lease, and after it ran out while nobody claimed the row again", async () => {
        await approvedWithCallback(store(), 'P1');
        await approvedWithCallback(store(), 'P2', 3001);
        const claimed: ClaimedCallback[] = await store().claimDueCallbacks(3001, 10_000, 10, undefined, A);
        expect(claimed.map((c) => c.paymentId)).toEqual(['P1', 'P2']);
        expect(await store().markCallbackDelivered(claimed[0]!.id, leaseOf(claimed[0]!), 1, 204, 5000)).toBe(true);
        expect(await store().markCallbackFailed(claimed[1]!.id, leaseOf(claimed[1]!), 1, 'HTTP 400', 400, 20_000)).toBe(true);
        expect((await store().listCallbacks('P1'))[0]).toMatchObject({ status: 'delivered', lastHttpStatus: 204, leaseOwner: null, leaseUntil: null });
        expect((await store().listCallbacks('P2'))[0]).toMatchObject({ status: 'failed', lastHttpStatus: 400, leaseOwner: null, leaseUntil: null });
        expect(await store().markCallbackDelivered(9_999_999, leaseOf(claimed[0]!), 1, 200, 5000)).toBe(false);
      });
    });
  });
}
