/**
 * End to end on real parts: the PPP server over HTTP, the hub over a WebSocket, the agent on a
 * real pseudo-terminal (socat) to the simulated terminal, SQLite on disk, and the notification
 * callback to a fake VTEX gateway. Flows follow docs/protocol/vtex-ppp.md §2 and §6.2.
 * @requires-program socat
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

// A real pseudo-terminal is the point of this suite: without socat it fails (link: 'pty') with
// the simulator's instruction to install it, rather than silently testing less.
describe('POS payment end to end (server → ws → agent → pty → simulator → callback)', () => {
  const logLines: Record<string, unknown>[] = [];
  let stack: LocalStack;
  let receiver: CallbackReceiver;
  let gateway: GatewayClient;
  let serialNumber: string;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    receiver = await startCallbackReceiver();
    stack = await startLocalStack({ logger: pino({ level: 'debug' }, sink), link: 'pty', stepDelayMs: 5 });
    gateway = new GatewayClient(stack.pppBaseUrl, stack.appKey, stack.appToken);
    serialNumber = stack.terminals[0]!.serialNumber;
  });

  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  function newPayment(value: number, method: 'credit' | 'debit') {
    const paymentId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
    const transactionId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
    const callbackUrl = receiver.callbackUrlFor(transactionId, paymentId);
    return { paymentId, callbackUrl, body: buildCreatePayment({ value, method, paymentId, transactionId, callbackUrl }) };
  }

  it('runs the terminal on a real pseudo-terminal', () => {
    expect(stack.terminals[0]!.path).toMatch(/^\//);
  });

  it('approves a Venda Direta Credito payment and calls VTEX back with the card fields', async () => {
    const { paymentId, callbackUrl, body } = newPayment(31.9, 'credit');

    // Phase A: the connector asks for the terminal (docs/protocol/vtex-ppp.md §2 steps 3-4).
    const first = await gateway.createPayment(body);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ paymentId, status: 'undefined', authorizationId: null });
    expect(typeof first.body['paymentAppData']).toBe('object');
    expect(typeof (first.body['paymentAppData'] as { payload: unknown }).payload).toBe('string');
    const connector = appPayload(first)!;
    expect(connector.appName).toBe('vtex.terminal-connector-app');
    const submitUrl = connector.payload['submitUrl'] as string;
    expect(submitUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    expect(submitUrl).not.toContain(paymentId); // unguessable: not derived in the clear from the paymentId alone

    // A gateway retry before the terminal is known gets the same submitUrl and starts nothing.
    const retry = await gateway.createPayment(body);
    expect(appPayload(retry)).toEqual(connector);

    // Step 6: the app sends the serial number.
    const submitted = await submitTerminal(submitUrl, serialNumber);
    expect(submitted.status).toBe(200);

    // Phase B: later calls wait for confirmation (§2 step 8, §5.4-5.5).
    const waiting = await gateway.createPayment(body);
    expect(waiting.body).toMatchObject({ paymentId, status: 'undefined' });
    const wait = appPayload(waiting)!;
    expect(wait.appName).toBe('vtex.challenge-wait-for-confirmation');
    const secondsWaiting = wait.payload['secondsWaiting'] as number;
    expect(Number.isInteger(secondsWaiting)).toBe(true);
    expect(secondsWaiting).toBeLessThanOrEqual(waiting.body['delayToCancel'] as number);
    expect(waiting.body['delayToCancel']).toBeGreaterThanOrEqual(600);

    // Step 13: the mandatory callback, on the callbackUrl exactly as received (§6.1-6.2).
    const callback = await receiver.waitFor(paymentId, 20_000);
    expect(callbackUrl.endsWith(callback.url)).toBe(true);
    expect(callback.url).toMatch(/\/callback\?accountName=mystore&X-VTEX-signature=[0-9a-f]{24}$/);
    expect(callback.headers['x-vtex-api-appkey']).toBe(stack.callbackAppKey);
    expect(callback.headers['x-vtex-api-apptoken']).toBe(stack.callbackAppToken);
    expect(callback.headers['content-type']).toMatch(/^application\/json/);
    expect(callback.body).toMatchObject({
      paymentId,
      status: 'approved',
      cardBrand: 'Mastercard',
      firstDigits: '545454',
      lastDigits: '5454',
      maxValue: 31.9,
    });
    for (const field of ['authorizationId', 'tid', 'nsu', 'acquirer'] as const) {
      expect(typeof callback.body[field], field).toBe('string');
      expect((callback.body[field] as string).length, field).toBeGreaterThan(0);
    }
    for (const field of ['delayToAutoSettle', 'delayToAutoSettleAfterAntifraud', 'delayToCancel'] as const) {
      expect(Number.isInteger(callback.body[field]), field).toBe(true);
    }

    // Phase C: the next poll sees the final status with the same card fields (§5.7).
    const final = await gateway.createPayment(body);
    expect(final.body).toMatchObject({
      paymentId,
      status: 'approved',
      authorizationId: callback.body['authorizationId'],
      nsu: callback.body['nsu'],
      tid: callback.body['tid'],
      cardBrand: 'Mastercard',
      firstDigits: '545454',
      lastDigits: '5454',
    });
    expect(final.body['paymentAppData']).toBeUndefined();
    expect(receiver.received.filter((c) => c.body['paymentId'] === paymentId)).toHaveLength(1);
  });

  it('denies a Venda Direta Debito payment the terminal declines (cents 05)', async () => {
    const { paymentId, body } = newPayment(31.05, 'debit');
    const first = await gateway.createPayment(body);
    const submitUrl = appPayload(first)!.payload['submitUrl'] as string;
    expect((await submitTerminal(submitUrl, serialNumber)).status).toBe(200);

    const callback = await receiver.waitFor(paymentId, 20_000);
    expect(callback.body).toMatchObject({ paymentId, status: 'denied', authorizationId: null });
    const final = await gateway.createPayment(body);
    expect(final.body).toMatchObject({ paymentId, status: 'denied', authorizationId: null });
  });

  it('starts one terminal transaction however often and concurrently VTEX and the app call', async () => {
    const salesBefore = stack.sim.terminals[0]!.salesCount();
    const { paymentId, body } = newPayment(12.34, 'credit');
    const creates = await Promise.all(Array.from({ length: 8 }, () => gateway.createPayment(body)));
    const submitUrls = new Set(creates.map((c) => appPayload(c)?.payload['submitUrl']));
    expect(submitUrls.size).toBe(1);
    const [submitUrl] = [...submitUrls] as string[];

    const submits = await Promise.all(Array.from({ length: 5 }, () => submitTerminal(submitUrl!, serialNumber)));
    expect(submits.map((s) => s.status)).toEqual([200, 200, 200, 200, 200]);
    const polls = await Promise.all(Array.from({ length: 8 }, () => gateway.createPayment(body)));
    for (const poll of polls) expect(['undefined', 'approved']).toContain(poll.body['status']);

    await receiver.waitFor(paymentId, 20_000);
    await gateway.createPayment(body);
    expect(stack.sim.terminals[0]!.salesCount() - salesBefore).toBe(1);
    expect(receiver.received.filter((c) => c.body['paymentId'] === paymentId)).toHaveLength(1);
  });

  it('logs every hop of a payment with its paymentId and never a card number', () => {
    const hops = ['payment created', 'terminal bound', 'payment dispatched', 'payment result received', 'callback delivered'];
    for (const msg of hops) {
      const lines = logLines.filter((l) => l['msg'] === msg);
      expect(lines.length, msg).toBeGreaterThan(0);
      for (const line of lines) expect(typeof line['paymentId'], msg).toBe('string');
    }
    // No PAN-shaped digit run in any logged text (numbers such as `time` are not card data).
    const texts: string[] = [];
    const collect = (value: unknown): void => {
      if (typeof value === 'string') texts.push(value);
      else if (value && typeof value === 'object') Object.values(value).forEach(collect);
    };
    collect(logLines);
    expect(texts.filter((t) => /\b\d{13,19}\b/.test(t))).toEqual([]);
    expect(texts.filter((t) => t.includes(stack.appToken) || t.includes(stack.callbackAppToken))).toEqual([]);
  });
});
