/**
 * Contract of the end-of-day totals (./totals.ts `TotalsPort`), folded by
 * ../domain/totals.ts: every adapter runs these same assertions (memory, SQLite and PostgreSQL
 * through ./contracts.ts).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { foldTotals } from '../domain/totals.ts';
import { apply, approvedPayment, newPayment, useStore, type StoreFactory } from './contract-helpers.ts';
import type { PaymentStore } from './index.ts';
import type { NewPayment } from './payments.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const DAY = Date.UTC(2026, 11, 2);
const H = 3_600_000;

/** Registers the totals contract against stores made by `factory`. */
export function totalsContract(factory: StoreFactory): void {
  describe('TotalsPort contract', () => {
    const store = useStore(factory);

    async function directory(s: PaymentStore): Promise<void> {
      await s.createMerchant({ merchantId: 'm1', name: 'shop', appKey: 'k1', appTokenSha256: sha('t'), callbackMode: 'notification', createdAt: 0 });
      await s.createMerchant({ merchantId: 'm2', name: 'other', appKey: 'k2', appTokenSha256: sha('t2'), callbackMode: 'notification', createdAt: 0 });
      await s.createStore({ storeId: 's1', merchantId: 'm1', name: 'one', createdAt: 0 });
      await s.createStore({ storeId: 's2', merchantId: 'm1', name: 'two', createdAt: 0 });
      await s.createAgent({ agentId: 'ag1', name: 'a1', createdAt: 0, storeId: 's1' }, sha('a1'));
      await s.createAgent({ agentId: 'ag2', name: 'a2', createdAt: 0, storeId: 's2' }, sha('a2'));
    }

    /** A payment of m1 bound to `serial` of `agentId`, then taken through `events`. */
    async function bound(s: PaymentStore, id: string, o: Partial<NewPayment>, serial = 'SN1', agentId = 'ag1') {
      const { payment } = await s.createPayment(newPayment({ paymentId: id, id: `pb_${id}`, merchantId: 'm1', createdAt: DAY + H, ...o }));
      const b = await apply(s, payment, { type: 'terminal.bound', binding: { serialNumber: serial, agentId, startId: `st_${id}` } }, payment.createdAt + 1);
      if (!b) throw new Error('bind failed');
      return b;
    }

    const result = (outcome: 'approved' | 'denied' | 'unknown', amountMinor: number) =>
      ({
        type: 'result.received',
        outcome: { outcome, terminalRef: 'r', authorizationId: null, nsu: null, tid: null, responseCode: null, message: null, card: null, amountMinor },
      }) as const;

    it('counts and sums by store, terminal, currency, method and bucket, within the window only', async () => {
      const s = store();
      await directory(s);
      // SN1 (store s1): credit approved ×2, a partial debit approval, a denial, a void, an unknown, one in progress.
      await approvedPayment(s, { paymentId: 'A1', id: 'pb_a1', merchantId: 'm1', createdAt: DAY + H });
      await approvedPayment(s, { paymentId: 'A2', id: 'pb_a2', merchantId: 'm1', createdAt: DAY + 2 * H, amount: { amountMinor: 1000, currency: 'BRL' } }, 1000);
      const debit = await bound(s, 'D1', { method: 'debit', amount: { amountMinor: 5000, currency: 'BRL' } });
      await apply(s, debit, result('approved', 4500), DAY + H + 5);
      const denied = await bound(s, 'N1', {});
      await apply(s, denied, result('denied', 3190), DAY + H + 5);
      const toVoid = await bound(s, 'V1', { amount: { amountMinor: 700, currency: 'BRL' } });
      const approved = await apply(s, toVoid, result('approved', 700), DAY + H + 5);
      const reversing = await apply(s, approved!, { type: 'cancel.requested', canReverse: true }, DAY + H + 6);
      expect(reversing?.status).toBe('reversing');
      const voided = await apply(s, reversing!, { type: 'void.result', outcome: 'approved', message: null }, DAY + H + 7);
      expect(voided?.status).toBe('cancelled');
      const unknown = await bound(s, 'U1', { amount: { amountMinor: 250, currency: 'BRL' } });
      await apply(s, unknown, result('unknown', 250), DAY + H + 5);
      await bound(s, 'I1', { amount: { amountMinor: 90, currency: 'BRL' } });
      // Not counted: cancelled before binding, another store's filter, another merchant, a Test Suite payment, outside the day.
      await s.createPayment(newPayment({ paymentId: 'W1', id: 'pb_w1', merchantId: 'm1', createdAt: DAY + H }));
      await approvedPayment(s, { paymentId: 'X1', id: 'pb_x1', merchantId: 'm2', createdAt: DAY + H });
      await approvedPayment(s, { paymentId: 'T1', id: 'pb_t1', merchantId: 'm1', createdAt: DAY + H, testSuite: true });
      await approvedPayment(s, { paymentId: 'Y1', id: 'pb_y1', merchantId: 'm1', createdAt: DAY - 1 });
      await approvedPayment(s, { paymentId: 'Z1', id: 'pb_z1', merchantId: 'm1', createdAt: DAY + 24 * H });
      // SN2 (store s2): one approval in USD.
      const usd = await bound(s, 'S2', { amount: { amountMinor: 1234, currency: 'USD' } }, 'SN2', 'ag2');
      await apply(s, usd, result('approved', 1234), DAY + H + 5);
      // A refund of A1 today on SN1, after its settlement.
      await s.recordOperation({ operationId: 'se1', paymentId: 'A1', kind: 'settle', requestId: 'S', amountMinor: 3190, status: 'approved', at: DAY + 3 * H });
      await s.recordOperation({ operationId: 'rf1', paymentId: 'A1', kind: 'refund', requestId: 'R', amountMinor: 1190, status: 'approved', serialNumber: 'SN1', at: DAY + 4 * H });

      const day = { merchantId: 'm1', from: DAY, to: DAY + 24 * H };
      expect(foldTotals(await s.totalsGroups(day))).toEqual([
        { storeId: 's1', serialNumber: 'SN1', currency: 'BRL', method: 'credit', bucket: 'approved', count: 2, amountMinor: 4190 },
        { storeId: 's1', serialNumber: 'SN1', currency: 'BRL', method: 'credit', bucket: 'denied', count: 1, amountMinor: 3190 },
        { storeId: 's1', serialNumber: 'SN1', currency: 'BRL', method: 'credit', bucket: 'voided', count: 1, amountMinor: 700 },
        { storeId: 's1', serialNumber: 'SN1', currency: 'BRL', method: 'credit', bucket: 'refunded', count: 1, amountMinor: 1190 },
        { storeId: 's1', serialNumber: 'SN1', currency: 'BRL', method: 'credit', bucket: 'unknown', count: 1, amountMinor: 250 },
        { storeId: 's1', serialNumber: 'SN1', currency: 'BRL', method: 'credit', bucket: 'in_progress', count: 1, amountMinor: 90 },
        { storeId: 's1', serialNumber: 'SN1', currency: 'BRL', method: 'debit', bucket: 'approved', count: 1, amountMinor: 4500 },
        { storeId: 's2', serialNumber: 'SN2', currency: 'USD', method: 'credit', bucket: 'approved', count: 1, amountMinor: 1234 },
      ]);
      expect(foldTotals(await s.totalsGroups({ ...day, storeId: 's2' }))).toEqual([
        { storeId: 's2', serialNumber: 'SN2', currency: 'USD', method: 'credit', bucket: 'approved', count: 1, amountMinor: 1234 },
      ]);
      expect(await s.totalsGroups({ ...day, storeId: 'no-such-store' })).toEqual({ payments: [], refunds: [] });
      // The next day has Z1 only, and not the refund of the day before.
      expect(foldTotals(await s.totalsGroups({ merchantId: 'm1', from: DAY + 24 * H, to: DAY + 48 * H }))).toEqual([
        { storeId: 's1', serialNumber: 'SN1', currency: 'BRL', method: 'credit', bucket: 'approved', count: 1, amountMinor: 3190 },
      ]);
    });
  });
}
