/**
 * Every row of the simulator's test-amount table and every fault flag (hardware-sim/README.md)
 * on a **Concert E+** terminal, driven through the whole chain: fake VTEX gateway → PPP server →
 * WebSocket → agent (`concert-serial` driver, serial number configured) → real pty → the
 * simulator's Concert terminal (its own codec) → back to VTEX.
 *
 * What differs from PBL/1, and is asserted here:
 * - E+ has **no status query**: an answer that never arrives (lost, wrong reference, cable pulled,
 *   reboot) ends `unknown` — VTEX keeps seeing `undefined`, never `denied`, and gets no callback —
 *   and is resolved only when a late answer does arrive (row 20).
 * - E+ has **no abort**: a cancellation while the terminal works lets the sale run to its end; an
 *   approval is then cancelled on the terminal (transaction type 2) by the server.
 * - E+ has no request id: the simulator counts a repeated request as a second sale, so every
 *   test asserts exactly one charge for the payment's reference.
 * - The request carries no credit/debit choice: the simulator reads the credit test card.
 * - The answer's private field is the terminal's: the suite runs against the simulator's default
 *   (its own reference, as real terminals) and against an echoing terminal (`privateField: echo`,
 *   `--echo-private`); the agent matches answers by POS number, amount and currency either way.
 * @requires-program socat
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { CONCERT_EPLUS, TEST_AMOUNTS, type SimFaults } from '@posbridge/hardware-sim';
import { FAST_CONCERT_AGENT_TIMINGS, FAST_CONCERT_SCENARIO, framesOf, startSimSuite, type SimSuite } from './sim-harness.ts';

/**
 * How each row and fault applies to Concert E+ (every one does; the tests below are named by
 * its key). Kept complete by the first test.
 */
const CONCERT_OUTCOME: Record<string, string> = {
  '05': 'denied',
  '54': 'denied',
  '10': 'denied, nothing charged',
  '20': 'unknown, then approved by the late answer',
  '30': 'unknown for good (no status query)',
  '40': 'unknown for good (the answer is lost with the cable)',
  '60': 'approved (no abort in E+); cancelled on the terminal (type 2) when VTEX cancelled meanwhile',
  dropAck: 'ENQ retried → approved',
  delayAckMs: 'late ACK taken → approved',
  nakFirst: 'frame resent → approved',
  corruptRate: 'NAK, resend → approved; 3 bad sends → unknown',
  garbageRate: 'discarded → approved',
  duplicateAnswer: 'one result, one callback',
  wrongRef: 'another private data is no mismatch: matched by POS number, amount and currency → approved',
  wrongAmount: 'the answer is refused (logged with the reason) → unknown for good, the reason names it',
  rebootMidTransaction: 'no answer → unknown for good, nothing charged',
};

/** Transaction types (offset 12 of the request payload) of the request frames the terminal took. */
function requestTypes(s: SimSuite): string[] {
  return framesOf(s.terminal, 'in')
    .map((t) => /^<STX>\d{2}\d{8}[01].(\d)/.exec(t)?.[1])
    .filter((t): t is string => t !== undefined);
}

describe.each([
  { terminal: 'not echoing the private field (the simulator default, as real terminals)', echo: false },
  { terminal: 'echoing the private field (--echo-private)', echo: true },
])('Concert E+ terminal $terminal: test amounts and faults through agent and server', ({ echo }) => {
  let s: SimSuite;
  beforeAll(async () => {
    s = await startSimSuite({ dialect: CONCERT_EPLUS, base: { ...FAST_CONCERT_SCENARIO, ...(echo ? { privateField: 'echo' } : {}) } });
  });
  afterAll(async () => {
    await s?.close();
  });

  /**
   * Exactly one sale ran on the terminal for this payment's reference (a repeated E+ request
   * would be a second one), charged `charges` times.
   */
  const expectOneSale = (charges: 0 | 1, reference = s.lastReference()) => {
    expect(s.countsOf(reference)).toEqual({ finals: 1, charges, reversals: 0 });
    expect(reference).toMatch(/^P[A-Z2-7]{9}$/); // the agent's private reference
  };

  /** `unknown`: VTEX sees `undefined`, no callback, and it stays so over several recovery rounds. */
  async function expectStaysUnknown(paymentId: string, body: Record<string, unknown>) {
    await s.unknownReported(paymentId);
    for (let i = 0; i < 3; i++) {
      expect(await s.pppStatus(body)).toBe('undefined');
      // Real time on purpose: the agent process's own recovery rounds over a real pty are the
      // subject, and no log line marks a round that found nothing.
      await new Promise((r) => setTimeout(r, FAST_CONCERT_AGENT_TIMINGS.recoveryIntervalMs));
    }
    expect(s.callbacksOf(paymentId)).toEqual([]);
  }

  it('covers every row of the table and every fault flag', () => {
    const rows = TEST_AMOUNTS.map((r) => r.cents);
    const faults = Object.keys(s.terminal.scenario().faults) as (keyof SimFaults)[];
    expect(Object.keys(CONCERT_OUTCOME).sort()).toEqual([...rows, ...faults].sort());
  });

  describe('test amounts', () => {
    it.each([
      { value: 31.9, method: 'credit', brand: 'Mastercard', first: '545454', last: '5454' },
      { value: 16.0, method: 'credit', brand: 'Visa', first: '411111', last: '1111' },
      { value: 17.0, method: 'credit', brand: 'American Express', first: '378282', last: '0005' },
      // No debit/credit on the E+ wire: a debit payment is paid with the credit test card.
      { value: 16.0, method: 'debit', brand: 'Visa', first: '411111', last: '1111' },
    ] as const)('approves $value $method: $brand $first…$last from the report, one charge', async ({ value, method, brand, first, last }) => {
      s.scenario();
      const { paymentId } = await s.pay(value, method);
      expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved', cardBrand: brand, firstDigits: first, lastDigits: last });
      expectOneSale(1);
      // The answer carried our reference back only when the terminal echoes it.
      const answers = framesOf(s.terminal, 'out').filter((t) => t.startsWith('<STX>'));
      expect(answers).toHaveLength(1);
      expect(answers[0]?.includes(s.lastReference())).toBe(echo);
    });

    it.each([
      { value: 18.0, brand: 'Elo', first: '636368', last: '2013' },
      { value: 19.0, brand: 'Hipercard', first: '606282', last: '6688' },
    ])('approves $value: $brand $first…$last (E+ carries no brand: the agent derives it from the first digits)', async ({ value, brand, first, last }) => {
      s.scenario();
      const { paymentId } = await s.pay(value);
      expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved', cardBrand: brand, firstDigits: first, lastDigits: last });
      expectOneSale(1);
    });

    it('05: declined, insufficient funds → status 7 → denied, nothing charged', async () => {
      s.scenario();
      const { paymentId, body } = await s.pay(13.05);
      expect((await s.callback(paymentId)).body).toMatchObject({ status: 'denied', authorizationId: null });
      expect(await s.pppStatus(body)).toBe('denied');
      expect(s.terminal.snapshot().last).toMatchObject({ status: 'declined', responseCode: '51' });
      expectOneSale(0);
    });

    it('54: declined by the card (expired) → status 7 → denied', async () => {
      s.scenario();
      const { paymentId } = await s.pay(20.54);
      expect((await s.callback(paymentId)).body).toMatchObject({ status: 'denied' });
      expect(s.terminal.snapshot().last).toMatchObject({ status: 'declined', responseCode: '54' });
      expectOneSale(0);
    });

    it('10: the customer cancels on the terminal → status 7 → denied, nothing charged', async () => {
      s.scenario();
      const { paymentId } = await s.pay(20.1);
      expect((await s.callback(paymentId)).body).toMatchObject({ status: 'denied' });
      expect(s.terminal.snapshot().last).toMatchObject({ status: 'aborted', responseCode: 'CANCELLED' });
      expectOneSale(0);
    });

    it('20: slow answer → unknown (never denied) after the answer wait; resolved approved by the late answer, one charge', async () => {
      s.scenario();
      const { paymentId, body } = await s.pay(20.2);
      await s.unknownReported(paymentId);
      expect(await s.pppStatus(body)).toBe('undefined');
      expect(s.callbacksOf(paymentId)).toEqual([]);
      expect((await s.callback(paymentId, 10_000)).body).toMatchObject({ status: 'approved', firstDigits: '545454' });
      expect(s.logs.some((l) => l['msg'] === 'unknown outcome resolved' && l['paymentId'] === paymentId)).toBe(true);
      expectOneSale(1);
    });

    it('30: the answer is lost (ACK, then silence) → unknown, never denied, no callback; charged once on the terminal', async () => {
      s.scenario();
      const { paymentId, body } = await s.pay(20.3);
      await expectStaysUnknown(paymentId, body);
      expect(framesOf(s.terminal, 'out').filter((t) => t.startsWith('<STX>'))).toEqual([]); // no answer frame ever
      expectOneSale(1);
    });

    it('40: the pty closes mid-transaction and the answer is lost with it → unknown, never denied; the port works again', async () => {
      s.scenario();
      const { paymentId, body } = await s.pay(20.4);
      await waitFor(() => !s.terminal.snapshot().plugged, { timeoutMs: 5_000, intervalMs: 50, message: 'cable pulled' });
      await waitFor(() => s.terminal.snapshot().plugged, { timeoutMs: 5_000, intervalMs: 50, message: 'cable back' });
      await expectStaysUnknown(paymentId, body);
      expectOneSale(1);
      // The agent reopened the port: the next payment goes through.
      s.scenario();
      const next = await s.pay(31.9);
      expect((await s.callback(next.paymentId)).body).toMatchObject({ status: 'approved' });
    });

    it('60 without a cancellation: a plain approval', async () => {
      s.scenario();
      const { paymentId } = await s.pay(20.6);
      expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
      expectOneSale(1);
    });

    it('60 with a cancellation while the terminal works: E+ cannot abort, the sale is approved, the server cancels it on the terminal (type 2)', async () => {
      s.scenario({ customer: 'manual' });
      const { paymentId, body } = await s.pay(20.6);
      await waitFor(() => s.terminal.snapshot().state === 'waiting_card', { timeoutMs: 5_000, intervalMs: 50, message: 'terminal asking for the card' });
      const first = s.cancel(body, 'CANCEL-60');
      await waitFor(() => s.logs.some((l) => l['msg'] === 'abort requested by server' && l['paymentId'] === paymentId), { timeoutMs: 5_000, intervalMs: 50, message: 'abort at the agent' });
      expect(s.logs.some((l) => String(l['msg']).startsWith('Concert E+ has no abort'))).toBe(true);
      s.terminal.customer({ action: 'present-card', entry: 'tap' }); // the customer pays anyway
      let answer = await first;
      for (let i = 0; answer.status !== 200 && i < 10; i++) answer = await s.cancel(body, 'CANCEL-60');
      expect(answer).toMatchObject({ status: 200, body: { paymentId, cancellationId: expect.any(String) } });
      expect((await s.poll(body)).body).toMatchObject({ status: 'denied', code: 'cancelled' });
      expect(s.callbacksOf(paymentId)).toEqual([]); // VTEX asked for it: no callback
      expect(requestTypes(s)).toEqual(['0', '2']); // the sale, then its cancellation
      const sales = s.terminal.sales().byReference;
      const [saleRef, voidRef] = Object.keys(sales).slice(-2);
      expect(sales[saleRef!]).toEqual({ finals: 1, charges: 1, reversals: 0 });
      expect(sales[voidRef!]).toEqual({ finals: 0, charges: 0, reversals: 1 }); // net charge zero
    });
  });

  describe('faults', () => {
    it('dropAck: the first ENQ gets no ACK → the agent retries ENQ after 3 s, approved, one charge', async () => {
      s.scenario({ faults: { dropAck: 1 } });
      const { paymentId } = await s.pay(21.01);
      expect((await s.callback(paymentId, 15_000)).body).toMatchObject({ status: 'approved' });
      expect(framesOf(s.terminal, 'out', 'fault:drop-ack')).toEqual(['<ACK>']);
      expect(framesOf(s.terminal, 'in').filter((t) => t === '<ENQ>')).toHaveLength(2);
      expectOneSale(1);
    });

    it('delayAckMs: the ACK to ENQ comes late (within the 3 s link timer) → approved, one charge', async () => {
      s.scenario({ faults: { delayAckMs: 1_000 } });
      const { paymentId } = await s.pay(21.02);
      expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
      expect(framesOf(s.terminal, 'out', 'fault:delay-ack')).toEqual(['<ACK>']);
      expectOneSale(1);
    });

    it('nakFirst: the request frame is NAKed once → resent, one sale, one charge', async () => {
      s.scenario({ faults: { nakFirst: true } });
      const { paymentId } = await s.pay(21.03);
      expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
      expect(framesOf(s.terminal, 'out', 'fault:nak-first')).toEqual(['<NAK>']);
      expect(framesOf(s.terminal, 'in').filter((t) => t.startsWith('<STX>'))).toHaveLength(2);
      expectOneSale(1);
    });

    it('corruptRate: answer frames with a bad LRC are NAKed by the agent and resent → approved, one charge', async () => {
      s.scenario({ seed: 7, faults: { corruptRate: 0.5 } }); // seed 7: the first two sends are corrupt, the third is good
      const { paymentId } = await s.pay(21.04);
      expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
      expect(framesOf(s.terminal, 'out', 'fault:corrupt')).toHaveLength(2);
      expect(framesOf(s.terminal, 'in').filter((t) => t === '<NAK>')).toHaveLength(2);
      expectOneSale(1);
    });

    it('corruptRate 1: every send of the answer is corrupt, the terminal gives up after 3 → unknown, never denied', async () => {
      s.scenario({ faults: { corruptRate: 1 } });
      const { paymentId, body } = await s.pay(21.15);
      await expectStaysUnknown(paymentId, body);
      expect(framesOf(s.terminal, 'out', 'fault:corrupt')).toHaveLength(3);
      expectOneSale(1);
    });

    it('garbageRate: noise before the ENQ and the answer frame is discarded → approved', async () => {
      s.scenario({ faults: { garbageRate: 1 } });
      const { paymentId } = await s.pay(21.06);
      expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
      expect(framesOf(s.terminal, 'out', 'fault:garbage').length).toBeGreaterThanOrEqual(2);
      expect(s.logs.some((l) => l['msg'] === 'terminal bytes discarded')).toBe(true);
      expectOneSale(1);
    });

    it('duplicateAnswer: exchange B runs twice → one result, one callback, one charge', async () => {
      s.scenario({ faults: { duplicateAnswer: true } });
      const { paymentId } = await s.pay(21.07);
      expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
      await waitFor(() => framesOf(s.terminal, 'out', 'fault:duplicate').length > 0, { timeoutMs: 5_000, intervalMs: 50, message: 'second answer' });
      const reference = s.lastReference();
      await s.settle(); // a second callback or charge would have come before the next payment's
      expect(s.callbacksOf(paymentId)).toHaveLength(1);
      expectOneSale(1, reference);
    });

    it('wrongRef: the only answer carries another private data → matched by POS number, amount and currency: approved, one callback', async () => {
      s.scenario({ faults: { wrongRef: 1 } });
      const { paymentId } = await s.pay(21.08);
      expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
      expect(framesOf(s.terminal, 'out').filter((t) => t.startsWith('<STX>'))).toHaveLength(1);
      expect(s.logs.some((l) => l['msg'] === 'answer for another transaction kept for recovery' && l['paymentId'] === paymentId)).toBe(false);
      expect(s.callbacksOf(paymentId)).toHaveLength(1);
      expectOneSale(1);
    });

    it('wrongAmount: the only answer carries another amount → refused, logged with the reason; unknown, never denied, and not "no answer"', async () => {
      s.scenario({ faults: { wrongAmount: 1 } });
      const { paymentId, body } = await s.pay(21.09);
      await expectStaysUnknown(paymentId, body);
      const refused = s.logs.filter((l) => l['msg'] === 'terminal answer refused: it does not match the request' && l['paymentId'] === paymentId);
      expect(refused).toHaveLength(1);
      expect(refused[0]?.['reason']).toBe('amount 2110, expected 2109');
      const unknown = s.logs.find((l) => l['msg'] === 'payment outcome unknown' && l['paymentId'] === paymentId);
      expect(String(unknown?.['reason'])).toMatch(/refused as not matching the request \(amount 2110, expected 2109\)/);
      expect(String(unknown?.['reason'])).not.toMatch(/no answer/);
      expectOneSale(1);
    });

    it('rebootMidTransaction: the terminal restarts after the card is read → no answer; unknown, never denied; nothing charged', async () => {
      s.scenario({ faults: { rebootMidTransaction: true } });
      const { paymentId, body } = await s.pay(21.11);
      await expectStaysUnknown(paymentId, body);
      expect(s.terminal.snapshot().last).toMatchObject({ status: 'aborted', responseCode: 'REBOOT' });
      expectOneSale(0);
    });
  });
});
