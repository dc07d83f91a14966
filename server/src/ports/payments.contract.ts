/**
 * Contract of the payments port (./payments.ts `PaymentsPort`): every adapter runs these same assertions
 * (adapters/memory/memory-contract.test.ts, adapters/sqlite/sqlite-contract.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { apply, approvedPayment, approvedResult, binding, newPayment, useStore, type StoreFactory } from './contract-helpers.ts';

/** Registers the payments contract against stores made by `factory`. */
export function paymentsContract(factory: StoreFactory): void {
  describe('PaymentsPort contract', () => {
    const store = useStore(factory);

    it('creates a payment once and returns the stored row on repeats', async () => {
      const first = await store().createPayment(newPayment());
      expect(first.created).toBe(true);
      expect(first.payment).toMatchObject({
        paymentId: 'P1',
        status: 'awaiting_terminal',
        amount: { amountMinor: 3190, currency: 'BRL' },
        binding: null,
        outcome: null,
        version: 0,
      });
      const again = await store().createPayment(newPayment({ amount: { amountMinor: 1, currency: 'USD' } }));
      expect(again.created).toBe(false);
      expect(again.payment.id).toBe(first.payment.id);
      expect(again.payment.amount.amountMinor).toBe(3190);
    });

    it('20 concurrent creates of one paymentId make exactly one row', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => store().createPayment(newPayment())));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.payment.id)).size).toBe(1);
      const events = await store().listPaymentEvents('P1');
      expect(events.map((e) => e.type)).toEqual(['created']);
    });

    it('stores the defaults of a new payment, and the merchant, deadline and test-suite flag when given', async () => {
      const { payment } = await store().createPayment(newPayment());
      expect(payment).toEqual({
        ...newPayment({ id: payment.id }),
        merchantId: 'mch_bootstrap',
        testSuite: false,
        deadlineAt: null,
        status: 'awaiting_terminal',
        binding: null,
        outcome: null,
        endReason: null,
        changedAt: 1000,
        version: 0,
        progressStage: null,
        updatedAt: 1000,
      });
      const other = await store().createPayment(newPayment({ paymentId: 'P2', merchantId: 'mch_a', deadlineAt: 9000, testSuite: true }));
      expect(other.payment).toMatchObject({ merchantId: 'mch_a', deadlineAt: 9000, testSuite: true });
      expect(await store().getPayment('P2')).toEqual(other.payment);
      expect(await store().getPayment('nope')).toBeNull();
    });

    it('records a VTEX sandbox payment on the payment and in its created event; others carry no flag', async () => {
      const { payment } = await store().createPayment(newPayment({ paymentId: 'SBX', sandbox: true }));
      expect(payment.sandbox).toBe(true);
      expect((await store().getPayment('SBX'))?.sandbox).toBe(true);
      expect((await store().listPaymentEvents('SBX'))[0]?.data).toMatchObject({ sandbox: true });
      await store().createPayment(newPayment({ paymentId: 'PLAIN', sandbox: false }));
      expect(await store().getPayment('PLAIN')).not.toHaveProperty('sandbox');
      expect((await store().listPaymentEvents('PLAIN'))[0]?.data).not.toHaveProperty('sandbox');
    });

    it('refuses a second payment with the same posbridge id (STORE_FAILED), storing nothing', async () => {
      const { payment } = await store().createPayment(newPayment());
      await expect(store().createPayment(newPayment({ paymentId: 'P2', id: payment.id }))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await store().getPayment('P2')).toBeNull();
      expect(await store().listPaymentEvents('P2')).toEqual([]);
    });

    it('binds conditionally: only one of two concurrent binds from awaiting_terminal wins', async () => {
      const { payment } = await store().createPayment(newPayment());
      const [a, b] = await Promise.all([
        apply(store(), payment, { type: 'terminal.bound', binding }, 2000),
        apply(store(), payment, { type: 'terminal.bound', binding: { ...binding, serialNumber: 'SN2', startId: 'st2' } }, 2000),
      ]);
      expect([a, b].filter((x) => x !== null)).toHaveLength(1);
      const stored = await store().getPayment('P1');
      expect(stored?.status).toBe('dispatched');
      expect(stored?.version).toBe(1);
      expect(stored?.binding?.serialNumber).toBe(a ? 'SN1' : 'SN2');
    });

    it('applies a result once, enqueues one callback, and keeps an audit trail', async () => {
      const { payment } = await store().createPayment(newPayment());
      const bound = await apply(store(), payment, { type: 'terminal.bound', binding }, 2000);
      expect(bound).not.toBeNull();
      const approved = await apply(store(), bound!, approvedResult, 3000, true);
      expect(approved).toMatchObject({ status: 'approved', version: 2, changedAt: 3000 });
      expect(approved?.outcome).toMatchObject({ authorizationId: 'A1', card: { brand: 'Visa', lastDigits: '1111' } });

      // A stale writer (computed from the bound version) cannot apply it again.
      expect(await apply(store(), bound!, approvedResult, 3001, true)).toBeNull();

      const callbacks = await store().listCallbacks('P1');
      expect(callbacks).toHaveLength(1);
      expect(callbacks[0]).toMatchObject({
        status: 'pending',
        attempts: 0,
        url: 'https://gw.example/cb?X-VTEX-signature=abc',
        body: '{"status":"approved"}',
      });
      const events = await store().listPaymentEvents('P1');
      expect(events.map((e) => [e.type, e.fromStatus, e.toStatus])).toEqual([
        ['created', null, 'awaiting_terminal'],
        ['terminal.bound', 'awaiting_terminal', 'dispatched'],
        ['result.received', 'dispatched', 'approved'],
      ]);
    });

    it('compares the status as well as the version, and answers null for a missing payment', async () => {
      const { payment } = await store().createPayment(newPayment());
      const event = { type: 'terminal.bound' as const, binding };
      const base = { paymentId: 'P1', expectedVersion: 0, next: { ...payment, status: 'dispatched' as const, binding }, event, at: 2000 };
      expect(await store().applyTransition({ ...base, expectedStatus: 'dispatched' })).toBeNull();
      expect(await store().applyTransition({ ...base, paymentId: 'nope', expectedStatus: 'awaiting_terminal' })).toBeNull();
      expect(await store().getPayment('P1')).toEqual(payment);
      expect((await store().listPaymentEvents('P1')).map((e) => e.type)).toEqual(['created']);
    });

    it('one callback per kind: a second final change of the same kind enqueues nothing more', async () => {
      const approved = await approvedPayment(store());
      const change = (version: number, at: number, body: string, status: 'approved' | 'denied') =>
        store().applyTransition({
          paymentId: 'P1',
          expectedVersion: version,
          expectedStatus: 'approved',
          next: approved,
          event: { type: 'deadline.passed' },
          at,
          callback: { url: approved.callbackUrl, body, status, expiresAt: 99_000 },
        });
      const first = await change(approved.version, 5000, '{"first":true}', 'approved');
      const second = await change(first!.version, 5001, '{"again":true}', 'approved');
      expect(second?.version).toBe(approved.version + 2);
      expect((await store().listCallbacks('P1')).map((c) => [c.body, c.expiresAt, c.nextAttemptAt])).toEqual([['{"first":true}', 99_000, 5000]]);
      await change(second!.version, 5002, '{"denied":true}', 'denied');
      expect((await store().listCallbacks('P1')).map((c) => c.body)).toEqual(['{"first":true}', '{"denied":true}']);
    });

    it('records the progress stage without a state change', async () => {
      const { payment } = await store().createPayment(newPayment());
      expect(await store().setProgressStage('P1', 'waiting_card', 1500)).toBe(true);
      expect(await store().getPayment('P1')).toEqual({ ...payment, progressStage: 'waiting_card', updatedAt: 1500 });
      expect(await store().setProgressStage('nope', 'waiting_card', 1500)).toBe(false);
    });

    it('lists dispatched payments by serial for re-sending', async () => {
      const { payment } = await store().createPayment(newPayment());
      await apply(store(), payment, { type: 'terminal.bound', binding }, 2000);
      expect((await store().listBoundPayments('dispatched', ['SN1', 'SNX'])).map((p) => p.paymentId)).toEqual(['P1']);
      expect(await store().listBoundPayments('dispatched', ['SNX'])).toEqual([]);
      expect(await store().listBoundPayments('dispatched', [])).toEqual([]);
    });

    it('lists payments in any of some statuses on some serials, oldest change first', async () => {
      for (const [id, serial, at] of [['P1', 'SN1', 3000], ['P2', 'SN2', 2000], ['P3', 'SN3', 2500]] as const) {
        const { payment } = await store().createPayment(newPayment({ paymentId: id }));
        await apply(store(), payment, { type: 'terminal.bound', binding: { ...binding, serialNumber: serial, startId: `st_${id}` } }, at);
      }
      const p3 = (await store().getPayment('P3'))!;
      await apply(store(), p3, { type: 'agent.acked', startId: 'st_P3' }, 2600);
      expect((await store().listPaymentsIn(['dispatched', 'accepted'], ['SN1', 'SN2', 'SN3'])).map((p) => p.paymentId)).toEqual(['P2', 'P3', 'P1']);
      expect((await store().listPaymentsIn(['accepted'], ['SN1', 'SN2', 'SN3'])).map((p) => p.paymentId)).toEqual(['P3']);
      expect(await store().listPaymentsIn([], ['SN1'])).toEqual([]);
      expect(await store().listPaymentsIn(['dispatched'], [])).toEqual([]);
    });

    it('claims payments whose deadline passed and that still wait for a terminal, by deadline, bounded', async () => {
      await store().createPayment(newPayment({ paymentId: 'D3', deadlineAt: 3000 }));
      await store().createPayment(newPayment({ paymentId: 'D1', deadlineAt: 1000 }));
      await store().createPayment(newPayment({ paymentId: 'D2', deadlineAt: 2000 }));
      await store().createPayment(newPayment({ paymentId: 'LATER', deadlineAt: 9000 }));
      await store().createPayment(newPayment({ paymentId: 'NEVER' }));
      await approvedPayment(store(), { paymentId: 'DONE', deadlineAt: 500 });
      expect(await store().claimDuePayments(999, 10, 10_000, 'instance-a')).toEqual([]);
      const first = await store().claimDuePayments(3000, 2, 10_000, 'instance-a');
      expect(first.map((p) => p.paymentId)).toEqual(['D1', 'D2']);
      expect(first[0]).toEqual(await store().getPayment('D1')); // the lease is not part of the payment
      // The caller's own claims hold too: the next claim of the same pass goes on with the rest.
      expect((await store().claimDuePayments(3000, 10, 10_000, 'instance-a')).map((p) => p.paymentId)).toEqual(['D3']);
      expect(await store().claimDuePayments(3000, 10, 10_000, 'instance-a')).toEqual([]);
    });

    describe('deadline leases between instances', () => {
      it('never gives one payment to two concurrent claims', async () => {
        for (let i = 0; i < 12; i += 1) await store().createPayment(newPayment({ paymentId: `D${i}`, deadlineAt: 1000 + i }));
        const claims = await Promise.all(
          Array.from({ length: 6 }, (_, i) => store().claimDuePayments(5000, 3, 10_000, i % 2 === 0 ? 'instance-a' : 'instance-b')),
        );
        // A claim may come back short when it meets rows another claim holds; none is in two.
        const rest = await store().claimDuePayments(5000, 100, 10_000, 'instance-c');
        const ids = [...claims.flat(), ...rest].map((p) => p.paymentId);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).toHaveLength(12);
        expect(claims.flat().length).toBeGreaterThanOrEqual(3);
      });

      it("leaves a deadline claimed by A to A until A's lease runs out, then B takes it over", async () => {
        await store().createPayment(newPayment({ paymentId: 'D1', deadlineAt: 1000 }));
        expect((await store().claimDuePayments(2000, 10, 10_000, 'instance-a')).map((p) => p.paymentId)).toEqual(['D1']);
        expect(await store().claimDuePayments(11_999, 10, 10_000, 'instance-b')).toEqual([]);
        expect((await store().claimDuePayments(12_000, 10, 10_000, 'instance-b')).map((p) => p.paymentId)).toEqual(['D1']);
        expect(await store().claimDuePayments(21_999, 10, 10_000, 'instance-a')).toEqual([]);
      });

      it('stops offering a claimed payment once a transition moved it past waiting', async () => {
        const { payment } = await store().createPayment(newPayment({ paymentId: 'D1', deadlineAt: 1000 }));
        const [claimed] = await store().claimDuePayments(2000, 10, 10_000, 'instance-a');
        expect(claimed).toEqual(payment);
        const expired = await apply(store(), claimed!, { type: 'deadline.passed' }, 2000);
        expect(expired?.status).toBe('expired');
        expect(await store().claimDuePayments(1e12, 10, 10_000, 'instance-b')).toEqual([]);
      });
    });

    it('counts payments by status', async () => {
      expect(await store().countPaymentsByStatus()).toEqual({});
      await store().createPayment(newPayment({ paymentId: 'A' }));
      await store().createPayment(newPayment({ paymentId: 'B' }));
      await approvedPayment(store(), { paymentId: 'C' });
      expect(await store().countPaymentsByStatus()).toEqual({ awaiting_terminal: 2, approved: 1 });
    });

    it('keeps exactly the stored fields of a state: the outcome with its card, the end reason and deadline', async () => {
      const approved = await approvedPayment(store(), {}, 3000);
      expect(approved.outcome).toEqual({
        outcome: 'approved',
        terminalRef: 'r1',
        authorizationId: 'A1',
        nsu: '7',
        tid: 'T',
        responseCode: '00',
        message: 'ok',
        card: { brand: 'Visa', firstDigits: '411111', lastDigits: '1111' },
        amountMinor: 3000,
      });
      expect(await store().getPayment('P1')).toEqual(approved);
      const reversing = await apply(store(), approved, { type: 'cancel.requested', canReverse: true }, 5000);
      expect(reversing).toMatchObject({ status: 'reversing', endReason: 'cancelled', changedAt: 5000, updatedAt: 5000 });
      expect(await store().getPayment('P1')).toEqual(reversing);
    });
  });
}
