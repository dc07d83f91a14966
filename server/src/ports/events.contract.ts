/**
 * Contract of the payment event log (./events.ts `PaymentEventsPort`): every adapter runs these
 * same assertions (adapters/memory/memory-contract.test.ts, adapters/sqlite/sqlite-contract.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { apply, approvedResult, binding, newPayment, useStore, type StoreFactory } from './contract-helpers.ts';

/** Registers the payment-events contract against stores made by `factory`. */
export function eventsContract(factory: StoreFactory): void {
  describe('PaymentEventsPort contract', () => {
    const store = useStore(factory);

    it('keeps each change of a payment with what happened, in order, and nothing of another payment', async () => {
      const { payment } = await store().createPayment(newPayment());
      await store().createPayment(newPayment({ paymentId: 'P2' }));
      const bound = await apply(store(), payment, { type: 'terminal.bound', binding, deadlineAt: 9000 }, 2000);
      await apply(store(), bound!, approvedResult, 3000);
      const events = await store().listPaymentEvents('P1');
      expect(events).toEqual([
        {
          seq: expect.any(Number),
          paymentId: 'P1',
          type: 'created',
          fromStatus: null,
          toStatus: 'awaiting_terminal',
          data: { amount: { amountMinor: 3190, currency: 'BRL' }, method: 'credit', installments: 1 },
          at: 1000,
        },
        {
          seq: expect.any(Number),
          paymentId: 'P1',
          type: 'terminal.bound',
          fromStatus: 'awaiting_terminal',
          toStatus: 'dispatched',
          data: { ...binding, deadlineAt: 9000 },
          at: 2000,
        },
        {
          seq: expect.any(Number),
          paymentId: 'P1',
          type: 'result.received',
          fromStatus: 'dispatched',
          toStatus: 'approved',
          data: { outcome: 'approved', terminalRef: 'r1', responseCode: '00', amountMinor: 3190 },
          at: 3000,
        },
      ]);
      const seqs = events.map((e) => e.seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      expect(new Set(seqs).size).toBe(3);
      expect((await store().listPaymentEvents('P2')).map((e) => e.type)).toEqual(['created']);
      expect(await store().listPaymentEvents('nope')).toEqual([]);
    });

    it('records no card data with a terminal result', async () => {
      const { payment } = await store().createPayment(newPayment());
      const bound = await apply(store(), payment, { type: 'terminal.bound', binding }, 2000);
      await apply(store(), bound!, approvedResult, 3000);
      const text = JSON.stringify(await store().listPaymentEvents('P1'));
      expect(text).not.toContain('411111');
      expect(text).not.toContain('Visa');
    });
  });
}
