import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackListener, parseHostPort, type CallbackListener } from './callback-listener.ts';
import { CaseRun, runCase, TEST_SUITE_BUDGET_MS, type CaseContext } from './case-run.ts';
import { ConnectorClient, REDACTED } from './http.ts';
import { PppContract } from './openapi.ts';

/** A loopback connector answering each path with a fixed status and body. */
let server: Server;
let base: string;
const seen: Record<string, string | string[] | undefined>[] = [];
let callbacks: CallbackListener;

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
    if (req.url === '/text') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
    if (req.url === '/hang') return; // never answers
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ paymentMethods: [{ name: 'Venda Direta Credito', allowsSplit: 'onCapture' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  callbacks = await startCallbackListener('127.0.0.1:0');
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await callbacks.close();
});

function context(now: () => number, timeoutMs = 2_000): CaseContext {
  return {
    client: new ConnectorClient({ baseUrl: `${base}/`, appKey: 'key', appToken: 'the-token', timeoutMs, now }),
    contract: PppContract.load(),
    callbacks,
    paymentMethod: 'Venda Direta Credito',
    merchantName: 'homologation',
    posTimeoutMs: 1_000,
    now,
    sleep: async () => {},
  };
}

describe('ConnectorClient and CaseRun', () => {
  it('sends the credentials and the suite header, and logs the token redacted', async () => {
    const run = new CaseRun(context(() => performance.now()));
    const { exchange, json } = await run.call('Manifest', 'GET', '/manifest', undefined, { testSuite: true, schemaPath: '/manifest' });
    expect(seen.at(-1)).toMatchObject({ 'x-vtex-api-appkey': 'key', 'x-vtex-api-apptoken': 'the-token', 'x-vtex-api-is-testsuite': 'true' });
    expect(exchange.requestHeaders['X-VTEX-API-AppToken']).toBe(REDACTED);
    expect(JSON.stringify(exchange)).not.toContain('the-token');
    expect(json['paymentMethods']).toHaveLength(1);
    expect(run.failures).toEqual([]);
  });

  it(`fails a call answered in ${TEST_SUITE_BUDGET_MS} ms or more (clock injected)`, async () => {
    let t = 0;
    const run = new CaseRun(context(() => (t += TEST_SUITE_BUDGET_MS)));
    await run.call('Manifest', 'GET', '/manifest', undefined, { schemaPath: '/manifest' });
    expect(run.failures).toEqual([`Manifest: answered in ${TEST_SUITE_BUDGET_MS} ms, the Test Suite budget is < ${TEST_SUITE_BUDGET_MS} ms`]);
  });

  it('fails a body that is not JSON or violates the schema, and a call that gets no answer', async () => {
    const run = new CaseRun(context(() => performance.now(), 300));
    await run.call('Text', 'GET', '/text', undefined, { schemaPath: '/manifest' });
    await run.call('Wrong', 'POST', '/payments', {}, { schemaPath: '/payments' });
    await run.call('Hang', 'GET', '/hang', undefined, { schemaPath: '/manifest' });
    expect(run.failures[0]).toBe('Text: 200 answer is not JSON');
    expect(run.failures[1]).toMatch(/^Wrong: 200 body violates the PPP OpenAPI: .*must have required property 'paymentId'/);
    expect(run.failures[2]).toBe('Hang: no answer within 300 ms');
  });

  it('a case that throws fails with the message, and the run goes on', async () => {
    const r = await runCase({ name: 'X', expected: 'e', run: () => Promise.reject(new Error('boom')) }, context(() => 0));
    expect(r).toMatchObject({ name: 'X', passed: false, failures: ['stopped: boom'], observed: '—' });
  });
});

describe('callback listener', () => {
  it('gives each payment its own signed URL and finds the POST made to it', async () => {
    const url = callbacks.urlFor('PAY1');
    expect(url).toMatch(new RegExp(`^${callbacks.baseUrl}/callbacks/PAY1\\?X-VTEX-signature=[0-9a-f]{24}$`));
    const waiting = callbacks.waitFor(url, 2_000);
    await fetch(url, { method: 'POST', body: '{"status":"approved"}' });
    expect(await waiting).toMatchObject({ pathAndQuery: new URL(url).pathname + new URL(url).search, body: '{"status":"approved"}' });
    expect(await callbacks.waitFor(callbacks.urlFor('NONE'), 50)).toBeNull();
  });

  it('parses host:port and refuses anything else', () => {
    expect(parseHostPort('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseHostPort('[::1]:8443')).toEqual({ host: '::1', port: 8443 });
    expect(() => parseHostPort('localhost')).toThrow(/host:port/);
    expect(() => parseHostPort('a:70000')).toThrow(/host:port/);
  });
});
