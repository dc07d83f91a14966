/**
 * Logs of whole payments across server, agent and simulator (one process, level `debug`):
 * approved then settled and partly refunded, approved then cancelled (voided on the terminal),
 * cancelled before a terminal was chosen. Every line about a payment carries its `paymentId`
 * (docs/architecture.md "Hop log events"), and no line carries a secret (merchant, partner or
 * agent credentials, the per-payment Payment App token) or card data beyond brand, first 6 and
 * last 4 digits.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '@posbridge/testkit/stack';
import { buildCreatePayment, startCallbackReceiver, waitFor, type CallbackReceiver } from '@posbridge/testkit';

/**
 * Messages that concern a payment but legitimately carry no `paymentId`, each with why:
 * the terminal (simulator, component `terminal`) never learns VTEX's paymentId, only the
 * terminal reference (`rid`); wire lines carry the `rid` too, and `terminal result` /
 * `payment dispatched` tie that `rid` to the paymentId.
 */
const WITHOUT_PAYMENT_ID: ReadonlySet<string> = new Set(['line sent', 'line received', 'line for another rid ignored']);

/** Words that make a log message "about a payment". */
const ABOUT_A_PAYMENT =
  /payment|sale|refund|void|revers|cancel|settle|operation|callback|result|abort|outcome|terminal bound|bind|submit|approval|deadline/i;

describe('payment logs', () => {
  let stack: LocalStack;
  let receiver: CallbackReceiver;
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const submitTokens: string[] = [];
  const paymentIds: string[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (!line) continue;
          raw.push(line);
          lines.push(JSON.parse(line) as Record<string, unknown>);
        }
        done();
      },
    });
    receiver = await startCallbackReceiver();
    stack = await startLocalStack({ logger: pino({ level: 'debug' }, sink), stepDelayMs: 5 });
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  const headers = () => ({ 'content-type': 'application/json', 'X-VTEX-API-AppKey': stack.appKey, 'X-VTEX-API-AppToken': stack.appToken });
  async function post(url: string, body: unknown, h: Record<string, string> = headers()) {
    const res = await fetch(url, { method: 'POST', headers: h, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  async function newPayment(value: number) {
    const paymentId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
    const transactionId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
    paymentIds.push(paymentId);
    const body = buildCreatePayment({ value, paymentId, transactionId, callbackUrl: receiver.callbackUrlFor(transactionId, paymentId) });
    const created = await post(`${stack.pppBaseUrl}/payments`, body);
    const { submitUrl } = JSON.parse((created.body['paymentAppData'] as { payload: string }).payload) as { submitUrl: string };
    submitTokens.push(submitUrl.slice(submitUrl.lastIndexOf('/') + 1));
    return { paymentId, transactionId, body, submitUrl };
  }
  async function approved(value: number) {
    const p = await newPayment(value);
    expect((await post(p.submitUrl, { serialNumber: stack.terminals[0]!.serialNumber }, { 'content-type': 'application/json' })).status).toBe(200);
    const callback = await receiver.waitFor(p.paymentId, 20_000);
    expect(callback.body['status']).toBe('approved');
    return { ...p, authorizationId: String(callback.body['authorizationId']), tid: String(callback.body['tid']) };
  }

  it('plays approved + settled + refunded, approved + cancelled (void), and cancelled before binding', async () => {
    const a = await approved(31.9);
    const settle = await post(`${stack.pppBaseUrl}/payments/${a.paymentId}/settlements`, {
      paymentId: a.paymentId, requestId: 'S1', value: 31.9, authorizationId: a.authorizationId, transactionId: a.transactionId,
    });
    expect(settle.status).toBe(200);
    // Refused requests are about the payment too.
    expect((await post(`${stack.pppBaseUrl}/payments/${a.paymentId}/settlements`, { paymentId: a.paymentId, value: 'all' })).status).toBe(400);
    const refundBody = { paymentId: a.paymentId, requestId: 'R1', settleId: settle.body['settleId'], tid: a.tid, value: 10, transactionId: a.transactionId };
    await waitFor(async () => (await post(`${stack.pppBaseUrl}/payments/${a.paymentId}/refunds`, refundBody)).status === 200, { timeoutMs: 20_000, intervalMs: 50, message: 'refund' });

    const b = await approved(42.9);
    const cancelBody = { paymentId: b.paymentId, requestId: 'C1', authorizationId: b.authorizationId, transactionId: b.transactionId };
    await waitFor(async () => (await post(`${stack.pppBaseUrl}/payments/${b.paymentId}/cancellations`, cancelBody)).status === 200, { timeoutMs: 20_000, intervalMs: 50, message: 'void' });

    const c = await newPayment(12.9);
    expect((await post(c.submitUrl, { serialNumber: 'NO-SUCH-TERMINAL' }, { 'content-type': 'application/json' })).status).toBe(404);
    expect((await post(`${stack.pppBaseUrl}/payments/${c.paymentId}/cancellations`, { paymentId: c.paymentId, requestId: 'C2', authorizationId: '', transactionId: c.transactionId })).status).toBe(200);
    // The trailing acks and deliveries of the payments above are logged before the next
    // payment's callback arrives (one agent link, one outbox, in order).
    await approved(11.11);
  });

  it('every line about a payment carries its paymentId', () => {
    const offenders = lines.filter((l) => {
      if (typeof l['paymentId'] === 'string' && paymentIds.includes(l['paymentId'])) return false;
      const text = JSON.stringify(l);
      if (paymentIds.some((id) => text.includes(id))) return true; // names a payment without the field
      const msg = String(l['msg']);
      if (l['component'] === 'terminal' || WITHOUT_PAYMENT_ID.has(msg)) return false;
      return ABOUT_A_PAYMENT.test(msg);
    });
    expect(offenders.map((l) => `${String(l['component'])}: ${String(l['msg'])}`)).toEqual([]);
    // The hop events are there, for each payment.
    for (const msg of ['payment created', 'terminal bound', 'payment dispatched', 'payment result received', 'callback delivered']) {
      expect(lines.some((l) => l['msg'] === msg && l['paymentId'] === paymentIds[0]), msg).toBe(true);
    }
  });

  it('no line carries a secret or card data beyond brand, first 6 and last 4', () => {
    const text = raw.join('\n');
    for (const secret of [stack.appToken, stack.callbackAppToken, ...submitTokens]) expect(text).not.toContain(secret);
    for (const l of lines) {
      // No PAN in any text field (numbers such as `time` are not card data).
      const strings = JSON.stringify(l, (_k, v: unknown) => (typeof v === 'number' ? 0 : v));
      expect(strings, String(l['msg'])).not.toMatch(/(?<![0-9A-Za-z])\d{13,19}(?![0-9A-Za-z])/);
      for (const key of ['pan', 'cardNumber', 'number', 'cvv', 'csc', 'pin', 'track2', 'expiration']) expect(l, key).not.toHaveProperty(key);
    }
  });
});
