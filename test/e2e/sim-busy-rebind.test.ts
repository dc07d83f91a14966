/**
 * A payment refused because the terminal was busy, then bound again to the same terminal once
 * it is idle (issue 10, item 7), on the local stack (server, agent, simulated PBL/1 terminal on
 * a real pty). The second bind is a new attempt with a new `startId`: the sale runs and is
 * approved; the old `TERM_BUSY` rejection is never replayed.
 * @requires-program socat
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appPayload, buildCreatePayment, submitTerminal, waitFor } from '@posbridge/testkit';
import { startSimSuite, type SimSuite } from './sim-harness.ts';

describe('TERM_BUSY, then the same terminal again once idle (pty simulator)', () => {
  let suite: SimSuite;

  beforeAll(async () => {
    suite = await startSimSuite();
  });

  afterAll(async () => {
    await suite?.close();
  });

  /** The customer presents a card and enters the PIN on the terminal. */
  const customerPays = async () => {
    await waitFor(() => suite.terminal.snapshot().state === 'waiting_card', { timeoutMs: 10_000, intervalMs: 50, message: 'terminal waiting for a card' });
    suite.terminal.customer({ action: 'present-card', entry: 'insert' });
    await waitFor(() => suite.terminal.snapshot().state === 'pin', { timeoutMs: 10_000, intervalMs: 50, message: 'terminal asking for the PIN' });
    suite.terminal.customer({ action: 'enter-pin' });
  };

  it('the rebound payment runs a new sale and is approved', async () => {
    // A customer who takes their time: the first sale holds the terminal until they pay.
    suite.scenario({ customer: 'manual' });
    const chargesBefore = suite.terminal.sales().charges;
    const first = await suite.pay(31.9);
    await waitFor(() => suite.terminal.snapshot().state === 'waiting_card', { timeoutMs: 10_000, intervalMs: 50, message: 'first sale on the terminal' });

    const paymentId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
    const transactionId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
    const body = buildCreatePayment({
      value: 12.5,
      method: 'credit',
      paymentId,
      transactionId,
      callbackUrl: suite.receiver.callbackUrlFor(transactionId, paymentId),
    });
    const created = await suite.gateway.createPayment(body);
    const submitUrl = appPayload(created)!.payload['submitUrl'] as string;
    expect((await submitTerminal(submitUrl, suite.terminal.serialNumber)).status).toBe(200);
    // Busy: refused before charging, the payment waits for a terminal again.
    await waitFor(
      async () => (await suite.stack.server.store.getPayment(paymentId))?.status === 'awaiting_terminal', { timeoutMs: 10_000, intervalMs: 50, message: 'second payment back to awaiting_terminal' },
    );
    const firstStartId = (await suite.stack.server.store.listPaymentEvents(paymentId))
      .filter((e) => e.type === 'terminal.bound')
      .map((e) => (e.data as { startId?: string }).startId);
    expect(firstStartId).toHaveLength(1);

    await customerPays();
    expect((await suite.callback(first.paymentId)).body).toMatchObject({ status: 'approved' });
    await waitFor(() => suite.terminal.snapshot().state === 'idle', { timeoutMs: 10_000, intervalMs: 50, message: 'terminal idle' });

    // The same terminal again: a new attempt with a new startId, and the sale runs.
    expect((await submitTerminal(submitUrl, suite.terminal.serialNumber)).status).toBe(200);
    const rebound = await suite.stack.server.store.getPayment(paymentId);
    expect(rebound?.binding?.startId).toBeDefined();
    expect(rebound?.binding?.startId).not.toBe(firstStartId[0]);
    await customerPays();
    expect((await suite.callback(paymentId)).body).toMatchObject({ paymentId, status: 'approved' });
    expect(suite.terminal.sales().charges - chargesBefore).toBe(2);
    expect(suite.callbacksOf(paymentId)).toHaveLength(1);
  }, 60_000);
});
