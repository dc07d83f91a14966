/**
 * Every row of the simulator's test-amount table (hardware-sim/README.md), driven through the
 * whole chain: fake VTEX gateway → PPP server → WebSocket → agent → real pty → simulated terminal,
 * and back to VTEX's callback. The agent runs with short timers (FAST_AGENT_TIMINGS) so the
 * recovery rows finish in seconds; the simulator's control handle proves there was no double
 * charge. Row 60 includes VTEX cancelling while the terminal works (ABORT too late → approved →
 * the server VOIDs it). PBL/1 terminal; the same rows on Concert E+: sim-concert.test.ts.
 * @requires-program socat
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { TEST_AMOUNTS } from '@posbridge/hardware-sim';
import { framesOf, startSimSuite, type SimSuite } from './sim-harness.ts';

describe('test amounts through agent and server', () => {
  let s: SimSuite;
  beforeAll(async () => {
    s = await startSimSuite();
  });
  afterAll(async () => {
    await s?.close();
  });

  const chargesOf = (rid: string) => s.terminal.sales().byReference[rid]?.charges ?? 0;
  /** The terminal reference (rid) of the last sale the terminal saw. */
  const lastRid = () => s.terminal.snapshot().last?.rid ?? '';

  it('covers every row of the table in this suite', () => {
    expect(TEST_AMOUNTS.map((r) => r.cents).sort()).toEqual(['05', '10', '20', '30', '40', '54', '60']);
  });

  it.each([
    { value: 31.9, method: 'credit', brand: 'Mastercard', first: '545454', last: '5454' },
    { value: 16.0, method: 'credit', brand: 'Visa', first: '411111', last: '1111' },
    { value: 17.0, method: 'credit', brand: 'Amex', first: '378282', last: '0005' },
    { value: 18.0, method: 'credit', brand: 'Elo', first: '636368', last: '2013' },
    { value: 19.0, method: 'credit', brand: 'Hipercard', first: '606282', last: '6688' },
    { value: 31.9, method: 'debit', brand: 'Maestro', first: '520082', last: '8210' },
    { value: 16.0, method: 'debit', brand: 'Visa', first: '400056', last: '5556' },
    { value: 18.0, method: 'debit', brand: 'Elo', first: '504175', last: '0010' },
  ] as const)('approves $value $method with the $brand test card', async ({ value, method, brand, first, last }) => {
    s.scenario();
    const { paymentId } = await s.pay(value, method);
    const cb = await s.callback(paymentId);
    expect(cb.body).toMatchObject({ status: 'approved', cardBrand: brand, firstDigits: first, lastDigits: last });
    expect(chargesOf(lastRid())).toBe(1);
  });

  it('05: declined, insufficient funds → denied', async () => {
    s.scenario();
    const { paymentId, body } = await s.pay(13.05);
    expect((await s.callback(paymentId)).body).toMatchObject({ status: 'denied', authorizationId: null });
    expect(await s.pppStatus(body)).toBe('denied');
    expect(s.terminal.snapshot().last).toMatchObject({ status: 'declined', responseCode: '51' });
  });

  it('54: declined by the card (expired) → denied', async () => {
    s.scenario();
    const { paymentId } = await s.pay(20.54, 'debit');
    expect((await s.callback(paymentId)).body).toMatchObject({ status: 'denied', authorizationId: null });
    expect(s.terminal.snapshot().last).toMatchObject({ status: 'declined', responseCode: '54', message: 'Expired card' });
  });

  it('10: the customer cancels on the terminal → denied, nothing charged', async () => {
    s.scenario();
    const { paymentId } = await s.pay(20.1);
    expect((await s.callback(paymentId)).body).toMatchObject({ status: 'denied' });
    expect(s.terminal.snapshot().last).toMatchObject({ status: 'aborted', responseCode: 'CANCELLED' });
    expect(chargesOf(lastRid())).toBe(0);
  });

  it('20: slow answer (after the agent result timer) → recovered with STATUS, approved once', async () => {
    s.scenario();
    const { paymentId, body } = await s.pay(20.2);
    await waitFor(() => framesOf(s.terminal, 'in').some((t) => t.startsWith('STATUS ')), { timeoutMs: 5_000, intervalMs: 50, message: 'a STATUS from the agent' });
    expect(await s.pppStatus(body)).toBe('undefined');
    expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
    expect(chargesOf(lastRid())).toBe(1);
  });

  it('30: the RESULT is lost → the agent asks STATUS and gets it, approved once', async () => {
    s.scenario();
    const { paymentId } = await s.pay(20.3);
    expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
    const rid = lastRid();
    expect(framesOf(s.terminal, 'in')).toContainEqual(expect.stringMatching(new RegExp(`^STATUS ${rid}\\*`)));
    expect(s.terminal.sales().byReference[rid]).toEqual({ finals: 1, charges: 1, reversals: 0 });
  });

  it('40: the pty closes mid-transaction → never denied; approved once the port is back', async () => {
    s.scenario();
    const { paymentId, body } = await s.pay(20.4);
    await waitFor(() => !s.terminal.snapshot().plugged, { timeoutMs: 5_000, intervalMs: 50, message: 'cable pulled' });
    expect(['undefined']).toContain(await s.pppStatus(body));
    await waitFor(() => s.terminal.snapshot().plugged, { timeoutMs: 5_000, intervalMs: 50, message: 'cable back' });
    expect((await s.callback(paymentId, 20_000)).body).toMatchObject({ status: 'approved' });
    expect(framesOf(s.terminal, 'out', 'dropped:unplugged').length).toBeGreaterThan(0);
    expect(chargesOf(lastRid())).toBe(1);
  });

  it('60 without an abort: a plain approval', async () => {
    s.scenario();
    const { paymentId } = await s.pay(20.6);
    expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
    expect(chargesOf(lastRid())).toBe(1);
  });

  it('60: VTEX cancels while the terminal works → ABORT comes too late, approved → the server voids it; cancelled, net charge zero', async () => {
    // The customer is manual so the sale is still waiting for the card when VTEX cancels.
    s.scenario({ customer: 'manual' });
    const { paymentId, body } = await s.pay(20.6);
    await waitFor(() => s.terminal.snapshot().state === 'waiting_card', { timeoutMs: 5_000, intervalMs: 50, message: 'terminal asking for the card' });
    const saleRid = s.terminal.snapshot().running?.rid ?? '';
    let answer = await s.cancel(body, 'CANCEL-60');
    // Within the answer budget the terminal has usually stopped (200); otherwise VTEX repeats.
    for (let i = 0; answer.status !== 200 && i < 10; i++) {
      expect(answer).toMatchObject({ status: 500, body: { code: 'PPP_OPERATION_PENDING' } });
      answer = await s.cancel(body, 'CANCEL-60');
    }
    expect(answer).toMatchObject({ status: 200, body: { paymentId, cancellationId: expect.any(String) } });
    expect(await s.cancel(body, 'CANCEL-60')).toEqual(answer); // idempotent by requestId

    // On the wire: ABORT answered ACK + RESULT approved, then VOID of that sale, approved.
    const into = framesOf(s.terminal, 'in');
    expect(into).toContainEqual(expect.stringMatching(new RegExp(`^ABORT ${saleRid}\\*`)));
    expect(framesOf(s.terminal, 'out')).toContainEqual(expect.stringMatching(new RegExp(`^RESULT ${saleRid} status=approved `)));
    const voidLine = into.find((t) => t.startsWith('VOID '));
    expect(voidLine).toMatch(new RegExp(`^VOID \\S+ ref=${saleRid} amount=2060 currency=986\\*`));
    const voidRid = voidLine?.split(' ')[1] ?? '';
    expect(s.terminal.snapshot().last).toMatchObject({ rid: voidRid, operation: 'void', status: 'approved' });

    // The simulator recorded the sale and its void: net charge zero.
    expect(s.countsOf(saleRid)).toEqual({ finals: 1, charges: 1, reversals: 0 });
    expect(s.countsOf(voidRid)).toEqual({ finals: 0, charges: 0, reversals: 1 });

    // What VTEX sees (docs/ppp.md "Cancellation"): denied with code cancelled, and no callback.
    expect((await s.poll(body)).body).toMatchObject({ status: 'denied', code: 'cancelled' });
    await s.settle(); // a callback for it would have come before the next payment's
    expect(s.callbacksOf(paymentId)).toEqual([]);
    expect(s.logs.some((l) => l['paymentId'] === paymentId && String(l['msg']).startsWith('late approval after cancellation'))).toBe(true);
  });
});
