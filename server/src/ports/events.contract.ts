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
  
    it('keeps the trace id of a payment, and none for a payment created without one', async () => {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const { payment } = await store().createPayment(newPayment({ traceId }));
      expect(payment.traceId).toBe(traceId);
      expect((await store().getPayment('P1'))?.traceId).toBe(traceId);
      await store().createPayment(newPayment({ paymentId: 'P2' }));
      expect((await store().getPayment('P2'))?.traceId).toBeUndefined();
    });

    it('keeps trace events of a payment in order, with who sent them and when, bounded per payment', async () => {
      await store().createPayment(newPayment());
      await store().createPayment(newPayment({ paymentId: 'P2' }));
      const stored = await store().appendTraceEvents(
        {
          paymentId: 'P1',
          agentId: 'ag1',
          receivedAt: 5000,
          events: [
            { at: 4000, stage: 'command.received', detail: { messageId: 'st1' } },
            { at: 4100, stage: 'terminal.request', detail: { rid: 'r1', serialNumber: 'SN1' } },
          ],
        },
        3,
      );
      expect(stored).toBe(2);
      // Only one more fits under the bound of 3: the second of this batch is dropped.
      const more = await store().appendTraceEvents(
        { paymentId: 'P1', agentId: 'ag1', receivedAt: 6000, events: [{ at: 4200, stage: 'terminal.ack', detail: {} }, { at: 4300, stage: 'terminal.answer', detail: { outcome: 'approved' } }] },
        3,
      );
      expect(more).toBe(1);
      expect(await store().appendTraceEvents({ paymentId: 'P1', agentId: 'ag1', receivedAt: 7000, events: [{ at: 1, stage: 'result.sent', detail: {} }] }, 3)).toBe(0);
      await store().appendTraceEvents({ paymentId: 'P2', agentId: 'ag2', receivedAt: 5000, events: [{ at: 1, stage: 'command.received', detail: {} }] }, 3);
      const events = await store().listTraceEvents('P1');
      expect(events).toEqual([
        { seq: expect.any(Number), paymentId: 'P1', agentId: 'ag1', receivedAt: 5000, at: 4000, stage: 'command.received', detail: { messageId: 'st1' } },
        { seq: expect.any(Number), paymentId: 'P1', agentId: 'ag1', receivedAt: 5000, at: 4100, stage: 'terminal.request', detail: { rid: 'r1', serialNumber: 'SN1' } },
        { seq: expect.any(Number), paymentId: 'P1', agentId: 'ag1', receivedAt: 6000, at: 4200, stage: 'terminal.ack', detail: {} },
      ]);
      const seqs = events.map((e) => e.seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      expect((await store().listTraceEvents('P2')).map((e) => e.agentId)).toEqual(['ag2']);
      expect(await store().listTraceEvents('nope')).toEqual([]);
    });

    it('never exceeds the bound under concurrent batches', async () => {
      await store().createPayment(newPayment());
      const batch = { paymentId: 'P1', agentId: 'ag1', receivedAt: 1, events: [{ at: 1, stage: 'terminal.progress', detail: { stage: 'pin' } }] };
      const counts = await Promise.all(Array.from({ length: 8 }, () => store().appendTraceEvents(batch, 5)));
      expect(counts.reduce((a, b) => a + b, 0)).toBe(5);
      expect(await store().listTraceEvents('P1')).toHaveLength(5);
    });
  });
}
