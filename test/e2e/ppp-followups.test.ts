/**
 * PPP follow-up requests end to end on the real stack (server, agent, simulator on a pty):
 * cancel before a terminal is chosen (and the submitUrl stops working), settlement of a
 * terminal-approved payment (partial, idempotent under concurrency, bounded by the authorized
 * amount), the Payment App status route, and the 5 s answer budget.
 * @see docs/ppp.md, docs/protocol/vtex-ppp.md §4.3–4.4
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.ts';
import {
  GatewayClient,
  appPayload,
  buildCreatePayment,
  startCallbackReceiver,
  submitTerminal,
  type CallbackReceiver,
} from '../../scripts/lib/vtex-gateway.ts';

describe('PPP follow-ups end to end', () => {
  let stack: LocalStack;
  let receiver: CallbackReceiver;
  let gateway: GatewayClient;

  beforeAll(async () => {
    const sink = new Writable({ write: (_c, _e, done) => done() });
    receiver = await startCallbackReceiver();
    stack = await startLocalStack({ logger: pino({ level: 'info' }, sink), stepDelayMs: 5 });
    gateway = new GatewayClient(stack.pppBaseUrl, stack.appKey, stack.appToken);
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  const auth = () => ({ 'X-VTEX-API-AppKey': stack.appKey, 'X-VTEX-API-AppToken': stack.appToken, 'content-type': 'application/json' });
  async function post(path: string, body: unknown) {
    const started = Date.now();
    const res = await fetch(`${stack.pppBaseUrl}${path}`, { method: 'POST', headers: auth(), body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, ms: Date.now() - started };
  }
  function newPayment(value = 31.9) {
    const paymentId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
    const transactionId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
    return { paymentId, body: buildCreatePayment({ value, paymentId, transactionId, callbackUrl: receiver.callbackUrlFor(transactionId, paymentId) }) };
  }

  it('cancel before the terminal is chosen: immediate, idempotent; the submitUrl stops working', async () => {
    const { paymentId, body } = newPayment();
    const created = await gateway.createPayment(body);
    const { submitUrl, statusUrl } = appPayload(created)!.payload as { submitUrl: string; statusUrl: string };
    const cancel = { paymentId, requestId: 'CANCEL-1', authorizationId: '', transactionId: body['transactionId'] };
    const first = await post(`/payments/${paymentId}/cancellations`, cancel);
    expect(first.status).toBe(200);
    expect(first.ms).toBeLessThan(5000);
    expect((await post(`/payments/${paymentId}/cancellations`, cancel)).body).toEqual(first.body);
    const late = await submitTerminal(submitUrl, stack.terminals[0]!.serialNumber);
    expect(late).toMatchObject({ status: 410, body: { code: 'POS_PAYMENT_FINAL' } });
    expect(await (await fetch(statusUrl)).json()).toMatchObject({ state: 'cancelled' });
    expect((await gateway.createPayment(body)).body).toMatchObject({ status: 'denied', code: 'cancelled' });
  });

  it('settles a terminal-approved payment partially, once per requestId, never above the authorized amount', async () => {
    const { paymentId, body } = newPayment(31.9);
    const created = await gateway.createPayment(body);
    expect((await submitTerminal(appPayload(created)!.payload['submitUrl'] as string, stack.terminals[0]!.serialNumber)).status).toBe(200);
    const callback = await receiver.waitFor(paymentId, 20_000);
    expect(callback.body).toMatchObject({ status: 'approved' });

    const settle = (requestId: string, value: number) => ({ paymentId, requestId, value, authorizationId: callback.body['authorizationId'], transactionId: body['transactionId'] });
    const duplicates = await Promise.all(Array.from({ length: 4 }, () => post(`/payments/${paymentId}/settlements`, settle('SET-1', 20))));
    expect(duplicates.map((d) => d.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(duplicates.map((d) => d.body['settleId'])).size).toBe(1);
    const over = await post(`/payments/${paymentId}/settlements`, settle('SET-2', 12));
    expect(over).toMatchObject({ status: 500, body: { settleId: null, value: 0, code: 'PPP_AMOUNT_EXCEEDED' } });
    const rest = await post(`/payments/${paymentId}/settlements`, settle('SET-3', 11.9));
    expect(rest).toMatchObject({ status: 200, body: { value: 11.9 } });
  });
});
