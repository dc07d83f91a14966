/**
 * Test Suite mode through the local stack (issue 16, docs/homologation.md): with the stack
 * merchant's mode on, VTEX Test Suite requests (`X-VTEX-API-Is-TestSuite: true`) get their
 * answers from the virtual terminal with no clerk, while a request without the header in the same
 * stack is an ordinary POS payment that runs on the simulated terminal. Real parts: the server
 * over HTTP, SQLite on disk, the agent and the simulator, a loopback callback receiver.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '@posbridge/testkit/stack';
import { GatewayClient, appPayload, buildCreatePayment, submitTerminal, waitFor } from '@posbridge/testkit';

describe('Test Suite mode through the local stack', () => {
  let stack: LocalStack;
  let receiver: Server;
  let base: string;
  const received: { url: string; body: string }[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    stack = await startLocalStack({ logger: pino({ level: 'silent' }), link: 'in-process', stepDelayMs: 5, testSuiteMode: true });
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  });

  async function suiteCreate(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const res = await fetch(`${stack.pppBaseUrl}/payments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-VTEX-API-AppKey': stack.appKey, 'X-VTEX-API-AppToken': stack.appToken, 'X-VTEX-API-Is-TestSuite': 'true' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  function cardBody(number: string): Record<string, unknown> {
    const body = buildCreatePayment({ value: 31.9, method: 'credit', callbackUrl: '' });
    return { ...body, callbackUrl: `${base}/cb/${String(body['paymentId'])}?X-VTEX-signature=abc`, card: { ...(body['card'] as object), number } };
  }

  it('suite cards: approved and denied at once, the async approval by callback; no clerk', async () => {
    expect(await suiteCreate(cardBody('4444333322221111'))).toMatchObject({ status: 'approved' });
    expect(await suiteCreate(cardBody('4444333322221112'))).toMatchObject({ status: 'denied' });
    const asyncBody = cardBody('4222222222222224');
    expect(await suiteCreate(asyncBody)).toMatchObject({ status: 'undefined' });
    await waitFor(() => received.some((r) => `${base}${r.url}` === asyncBody['callbackUrl']), { timeoutMs: 15_000 });
    const cb = received.find((r) => `${base}${r.url}` === asyncBody['callbackUrl'])!;
    expect(JSON.parse(cb.body)).toMatchObject({ paymentId: asyncBody['paymentId'], status: 'approved' });
  }, 30_000);

  it('without the header, the same card is an ordinary POS payment on the simulated terminal', async () => {
    const gateway = new GatewayClient(stack.pppBaseUrl, stack.appKey, stack.appToken);
    const body = cardBody('4444333322221112'); // the suite's "denied" card: ignored here
    const first = await gateway.createPayment(body);
    expect(first.body).toMatchObject({ status: 'undefined' });
    const submitUrl = appPayload(first)!.payload['submitUrl'] as string;
    expect((await submitTerminal(submitUrl, stack.terminals[0]!.serialNumber)).status).toBe(200);
    await waitFor(() => received.some((r) => `${base}${r.url}` === body['callbackUrl']), { timeoutMs: 20_000 });
    // The simulator approves 31.90 (cents 90 is no test-amount row).
    expect((await gateway.createPayment(body)).body).toMatchObject({ status: 'approved', lastDigits: '5454' });
  }, 30_000);
});
