/**
 * Retry callback mode end to end (docs/protocol/vtex-ppp.md §6.3, docs/ppp.md "Callbacks"): a
 * merchant configured for retry (`POSBRIDGE_CALLBACK_MODE=retry`, as connectors on VTEX IO) gets
 * an empty POST, authenticated with the partner's callback credentials, on the callbackUrl
 * exactly as received; the next Create Payment answers the final status. Real parts: the server
 * over HTTP, the agent over a WebSocket, the simulated terminal, SQLite on disk.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '@posbridge/testkit/stack';
import { GatewayClient, appPayload, buildCreatePayment, submitTerminal, waitFor } from '@posbridge/testkit';

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: string;
}

describe('retry callback mode end to end', () => {
  let stack: LocalStack;
  let gateway: GatewayClient;
  let receiver: Server;
  let base: string;
  const received: Received[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawBody: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    stack = await startLocalStack({ logger: pino({ level: 'silent' }), link: 'in-process', stepDelayMs: 5, callbackMode: 'retry' });
    gateway = new GatewayClient(stack.pppBaseUrl, stack.appKey, stack.appToken);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  });

  it('POSTs an empty authenticated body to callbackUrl; the next Create Payment answers approved', async () => {
    const paymentId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
    const transactionId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
    // A query string VTEX signs: it must come back untouched.
    const callbackUrl = `${base}/api/pvt/payment-provider/transactions/${transactionId}/payments/${paymentId}/retry?accountName=mystore&X-VTEX-signature=abc123def456`;
    const body = buildCreatePayment({ value: 31.9, method: 'credit', paymentId, transactionId, callbackUrl });

    const first = await gateway.createPayment(body);
    expect(first.body).toMatchObject({ paymentId, status: 'undefined' });
    const submitUrl = appPayload(first)!.payload['submitUrl'] as string;
    expect((await submitTerminal(submitUrl, stack.terminals[0]!.serialNumber)).status).toBe(200);

    await waitFor(() => received.length > 0, { timeoutMs: 20_000 });
    const [callback] = received;
    expect(callback).toMatchObject({ method: 'POST', rawBody: '' });
    expect(`${base}${callback!.url}`).toBe(callbackUrl);
    expect(callback!.headers['x-vtex-api-appkey']).toBe(stack.callbackAppKey);
    expect(callback!.headers['x-vtex-api-apptoken']).toBe(stack.callbackAppToken);

    const final = await gateway.createPayment(body);
    expect(final.status).toBe(200);
    expect(final.body).toMatchObject({ paymentId, status: 'approved', cardBrand: 'Mastercard', lastDigits: '5454' });
    expect(typeof final.body['authorizationId']).toBe('string');
    expect(final.body['paymentAppData']).toBeUndefined();
    // Delivered once: no retry of an acknowledged callback.
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toHaveLength(1);
  }, 60_000);

  it('a denied payment is also announced by an empty POST, and Create Payment then answers denied', async () => {
    const before = received.length;
    const paymentId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
    const transactionId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
    const callbackUrl = `${base}/cb/${paymentId}`;
    // Simulator test amount: cents 05 = declined, insufficient funds (hardware-sim/README.md).
    const body = buildCreatePayment({ value: 12.05, method: 'credit', paymentId, transactionId, callbackUrl });
    const submitUrl = appPayload(await gateway.createPayment(body))!.payload['submitUrl'] as string;
    await submitTerminal(submitUrl, stack.terminals[0]!.serialNumber);
    await waitFor(() => received.length > before, { timeoutMs: 20_000 });
    expect(received[before]).toMatchObject({ method: 'POST', url: `/cb/${paymentId}`, rawBody: '' });
    expect((await gateway.createPayment(body)).body).toMatchObject({ paymentId, status: 'denied' });
  }, 60_000);
});
