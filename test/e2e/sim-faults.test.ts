/**
 * Every fault flag of the simulator (hardware-sim/README.md "Faults"), driven through the whole
 * chain (gateway → server → agent → real pty → simulator → callback). Each test sets the fault,
 * runs one payment, and asserts what VTEX sees, that the terminal charged at most once, and (from
 * the frame log) that the fault really happened. One test changes the scenario over the HTTP
 * control interface, as an external tool would. Amounts avoid the special cents of the
 * test-amount table, so only the fault is in play. PBL/1 terminal; the same faults on Concert E+:
 * sim-concert.test.ts.
 * @requires-program socat
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { framesOf, startSimSuite, type SimSuite } from './sim-harness.ts';

describe('fault flags through agent and server', () => {
  let s: SimSuite;
  beforeAll(async () => {
    s = await startSimSuite();
  });
  afterAll(async () => {
    await s?.close();
  });

  const lastRid = () => s.terminal.snapshot().last?.rid ?? '';
  const salesIn = () => framesOf(s.terminal, 'in').filter((t) => t.startsWith('SALE '));
  const expectOneCharge = (rid = lastRid()) => expect(s.terminal.sales().byReference[rid]).toEqual({ finals: 1, charges: 1, reversals: 0 });

  it('dropAck: the ACK is lost → the agent resends the same rid, one charge', async () => {
    // Stages slower than the agent's ACK timer, so no PROGRESS stands in for the lost ACK.
    s.scenario({ stepDelayMs: 400, faults: { dropAck: 1 } });
    const { paymentId } = await s.pay(21.01);
    expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
    expect(framesOf(s.terminal, 'out', 'fault:drop-ack')[0]).toMatch(/^ACK /);
    expect(new Set(salesIn()).size).toBe(1); // the same line (same rid)…
    expect(salesIn().length).toBeGreaterThanOrEqual(2); // …sent again
    expectOneCharge();
  });

  it('delayAckMs: the ACK comes after the agent timer → resend answered ACK, one charge', async () => {
    s.scenario({ faults: { delayAckMs: 400 } });
    const { paymentId } = await s.pay(21.02);
    expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
    expect(framesOf(s.terminal, 'out', 'fault:delay-ack')[0]).toMatch(/^ACK /);
    expect(salesIn().length).toBeGreaterThanOrEqual(2);
    expectOneCharge();
  });

  it('nakFirst: the first SALE is NAKed → resent, one charge', async () => {
    s.scenario({ faults: { nakFirst: true } });
    const { paymentId } = await s.pay(21.03);
    expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
    expect(framesOf(s.terminal, 'out', 'fault:nak-first')[0]).toMatch(/^NAK \S+ reason=checksum\*/);
    expect(salesIn()).toHaveLength(2);
    expectOneCharge();
  });

  it('corruptRate: half the lines have a bad CRC → recovered, never denied, one charge', async () => {
    s.scenario({ seed: 7, faults: { corruptRate: 0.5 } });
    const { paymentId } = await s.pay(21.04);
    expect((await s.callback(paymentId, 30_000)).body).toMatchObject({ status: 'approved' });
    expect(framesOf(s.terminal, 'out', 'fault:corrupt').length).toBeGreaterThan(0);
    expect(s.logs.some((l) => l['msg'] === 'undecodable terminal line ignored')).toBe(true);
    expectOneCharge();
  });

  it('garbageRate: noise between frames is ignored', async () => {
    s.scenario({ faults: { garbageRate: 1 } });
    const { paymentId } = await s.pay(21.06);
    expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
    expect(framesOf(s.terminal, 'out', 'fault:garbage').length).toBeGreaterThanOrEqual(4);
    expectOneCharge();
  });

  it('duplicateAnswer: the RESULT comes twice → one result, one callback, one charge', async () => {
    s.scenario({ faults: { duplicateAnswer: true } });
    const { paymentId } = await s.pay(21.07);
    expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
    expect(framesOf(s.terminal, 'out', 'fault:duplicate')[0]).toMatch(/^RESULT /);
    const rid = lastRid();
    await s.settle(); // a second callback or charge would have come before the next payment's
    expect(s.receiver.received.filter((c) => c.body['paymentId'] === paymentId)).toHaveLength(1);
    expectOneCharge(rid);
  });

  it('wrongRef once: a RESULT with another reference is not taken → STATUS gets the right one', async () => {
    s.scenario({ faults: { wrongRef: 1 } });
    const { paymentId } = await s.pay(21.08);
    expect((await s.callback(paymentId)).body).toMatchObject({ status: 'approved' });
    const rid = lastRid();
    expect(framesOf(s.terminal, 'out', 'fault:wrong-ref')[0]).toMatch(new RegExp(`^RESULT ${rid}X `));
    expect(framesOf(s.terminal, 'in')).toContainEqual(expect.stringMatching(new RegExp(`^STATUS ${rid}\\*`)));
    expectOneCharge();
  });

  it('wrongRef always: unknown, never denied; resolved once the terminal answers right (scenario changed over HTTP)', async () => {
    s.scenario({ faults: { wrongRef: 1000 } });
    const { paymentId, body } = await s.pay(21.09);
    await waitFor(() => s.logs.some((l) => l['msg'] === 'payment outcome unknown' && l['paymentId'] === paymentId), { timeoutMs: 15_000, intervalMs: 50, message: 'unknown outcome' });
    expect(await s.pppStatus(body)).toBe('undefined');
    expect(s.receiver.received.some((c) => c.body['paymentId'] === paymentId)).toBe(false);

    const url = `${s.stack.simControlUrl ?? ''}/terminals/${s.terminal.serialNumber}/scenario`;
    const patched = await fetch(url, { method: 'PATCH', body: JSON.stringify({ faults: { wrongRef: 0 } }) });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as { faults: { wrongRef: number } }).faults.wrongRef).toBe(0);
    expect((await s.callback(paymentId, 20_000)).body).toMatchObject({ status: 'approved' });
    const sales = (await (await fetch(`${s.stack.simControlUrl ?? ''}/terminals/${s.terminal.serialNumber}/sales`)).json()) as {
      byReference: Record<string, { charges: number }>;
    };
    expect(sales.byReference[lastRid()]?.charges).toBe(1);
  });

  it('rebootMidTransaction: the terminal restarts after the card is read → the sale is lost, denied, nothing charged', async () => {
    s.scenario({ faults: { rebootMidTransaction: true } });
    const { paymentId } = await s.pay(21.11);
    expect((await s.callback(paymentId, 20_000)).body).toMatchObject({ status: 'denied' });
    expect(s.terminal.snapshot().last).toMatchObject({ status: 'aborted', responseCode: 'REBOOT' });
    expect(s.terminal.sales().byReference[lastRid()]).toEqual({ finals: 1, charges: 0, reversals: 0 });
    expect(framesOf(s.terminal, 'in', 'dropped:rebooting').length + framesOf(s.terminal, 'in').filter((t) => t.startsWith('STATUS')).length).toBeGreaterThan(0);
  });
});
