/**
 * The HTTP adapter (./http-backend.ts) behind posbridge's own provider endpoints, against a small
 * fake of a merchant's gift card system (below, tests only) on a real loopback socket: the Hub's
 * calls are forwarded with the upstream credentials and mapped back; refusals keep their codes; a
 * 5xx, a time-out or a garbled answer is answered 503 (retryable), never a refusal; the
 * per-merchant router sends other merchants to the ledger.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../adapters/memory/index.ts';
import { FailureLimiter } from '../http/rate-limit.ts';
import { ServerMetrics } from '../observability/metrics.ts';
import { sinkLogger, startTestServer, tempDir } from '../testing/helpers.ts';
import { loadGiftCardProviders } from './providers-file.ts';
import { expectGiftCardAnswer } from '../testing/giftcard-contract.ts';
import { HttpProviderBackend, PerMerchantBackend } from './http-backend.ts';
import { createGiftCardProviderRouter } from './http/router.ts';
import { LedgerBackend } from './ledger-backend.ts';
import { issueProviderCredentials } from './provider-credentials.ts';

/** A merchant's loyalty system speaking the protocol, in memory; `mode` scripts failures. */
function fakeProvider() {
  const cards = new Map<string, { balance: number; txs: { id: string; value: number; requestId: string; operation: string; cancels: { oid: string; value: number }[] }[] }>([
    ['L-1', { balance: 80, txs: [] }],
  ]);
  const seen: { method: string; url: string; appKey: string | undefined; range: string | undefined }[] = [];
  const state = { mode: 'ok' as 'ok' | 'fail' | 'slow' | 'garbage' };
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', appKey: req.headers['x-provider-api-appkey'] as string | undefined, range: req.headers['rest-range'] as string | undefined });
      if (req.headers['x-provider-api-apptoken'] !== 'upstream-token') return send(res, 401, { message: 'who are you' });
      if (state.mode === 'fail') return send(res, 502, { message: 'down' });
      if (state.mode === 'slow') return void setTimeout(() => send(res, 200, []), 1500);
      if (state.mode === 'garbage') return void res.writeHead(200).end('<html>');
      const body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
      const parts = (req.url ?? '').split('/').filter((p) => p !== '');
      if (parts[0] !== 'giftcards') return send(res, 404, {});
      if (parts[1] === '_search') return send(res, 200, [{ id: 'L-1', provider: 'loyalty', balance: cards.get('L-1')!.balance, _self: { href: '/giftcards/L-1' } }]);
      const card = cards.get(decodeURIComponent(parts[1] ?? ''));
      if (!card) return send(res, 404, { code: 'GIFTCARD_NOT_FOUND', message: 'no card' });
      if (parts.length === 2) return send(res, 200, { id: parts[1], redemptionToken: 't', redemptionCode: '***', balance: card.balance, emissionDate: '2026-01-01T00:00:00', currencyCode: 'BRL' });
      if (parts.length === 3 && req.method === 'POST') {
        const earlier = card.txs.find((t) => t.requestId === body['requestId']);
        if (earlier) return send(res, 200, { cardId: parts[1], id: earlier.id, _self: { href: '' } });
        const value = body['value'] as number;
        if (body['operation'] === 'Debit' && value > card.balance) return send(res, 400, { code: 'GIFTCARD_INSUFFICIENT_BALANCE', message: 'not enough points' });
        card.balance += body['operation'] === 'Debit' ? -value : value;
        const id = `T-${card.txs.length + 1}`;
        card.txs.push({ id, value, requestId: String(body['requestId']), operation: String(body['operation']), cancels: [] });
        return send(res, 200, { cardId: parts[1], id, _self: { href: '' } });
      }
      if (parts.length === 3) return send(res, 200, card.txs.map((t) => ({ cardId: parts[1], id: t.id, _self: { href: '' } })));
      const tx = card.txs.find((t) => t.id === parts[3]);
      if (!tx) return send(res, 404, { message: 'no transaction' });
      if (parts.length === 4) return send(res, 200, { value: tx.value, date: '2026-12-02T10:00:00Z', requestId: tx.requestId, operation: tx.operation });
      if (parts[4] === 'cancellations' && req.method === 'POST') {
        const oid = `C-${tx.cancels.length + 1}`;
        tx.cancels.push({ oid, value: body['value'] as number });
        card.balance += body['value'] as number;
        return send(res, 200, { oid, value: body['value'], date: '2026-12-02T10:01:00Z' });
      }
      if (parts[4] === 'cancellations') return send(res, 200, tx.cancels.map((c) => ({ ...c, date: '2026-12-02T10:01:00Z' })));
      return send(res, 200, []);
    });
  });
  return { server, seen, state };
}

let upstream: Server | undefined;
let front: Server | undefined;
afterEach(async () => {
  for (const s of [upstream, front]) if (s) await new Promise((r) => s.close(r));
  upstream = front = undefined;
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function setup() {
  const fake = fakeProvider();
  upstream = fake.server;
  const upstreamUrl = await listen(fake.server);
  const store = createMemoryStore();
  const { logger } = sinkLogger();
  const now = () => Date.parse('2026-12-02T12:00:00Z');
  const limits = { limit: 20, windowMs: 60_000, counters: store, now, logger };
  const external = new HttpProviderBackend({ baseUrl: upstreamUrl, appKey: 'upstream-key', appToken: 'upstream-token', currency: 'BRL', timeoutMs: 500, now });
  const backend = new PerMerchantBackend(new LedgerBackend({ store, pepper: new Uint8Array(32), now }), new Map([['loyal', external]]));
  const app = express();
  app.use(
    '/giftcard-provider/:merchantName',
    createGiftCardProviderRouter({
      backend,
      meta: store,
      logger,
      authLimiter: new FailureLimiter('giftcard', limits),
      codeLimiter: new FailureLimiter('giftcard-code', limits),
      transactions: new ServerMetrics(async () => ({}), async () => 0, async () => 0).giftcardTransactions,
      bodyLimitBytes: 65_536,
    }),
  );
  front = createServer(app);
  const base = await listen(front);
  const creds = { loyal: await issueProviderCredentials(store, 'loyal', now()), ledger: await issueProviderCredentials(store, 'plain', now()) };
  const call = async (merchant: 'loyal' | 'plain', method: string, path: string, body?: unknown) => {
    const c = merchant === 'loyal' ? creds.loyal : creds.ledger;
    const res = await fetch(`${base}/giftcard-provider/${merchant}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', 'X-PROVIDER-API-AppKey': c.appKey, 'X-PROVIDER-API-AppToken': c.appToken },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  return { fake, call };
}

const client = { id: 'p1', email: 'a@example.com', document: '1' };
const debit = (value: number, requestId: string) => ({ operation: 'Debit', value, requestId, description: 'hub', orderInfo: { orderId: 'o1', clientProfile: { email: 'a@example.com' } } });

describe('HttpProviderBackend against a fake merchant system', () => {
  it('forwards the Hub calls with the upstream credentials and maps the answers back', async () => {
    const { fake, call } = await setup();
    const search = await call('loyal', 'POST', '/giftcards/_search', { client, cart: { redemptionCode: '' } });
    expectGiftCardAnswer('/giftcards/_search', 'post', search.body);
    expect(search.body).toEqual([{ id: 'L-1', provider: 'posbridge', balance: 80, _self: { href: '/giftcard-provider/loyal/giftcards/L-1' } }]);
    expect(fake.seen[0]).toMatchObject({ method: 'POST', url: '/giftcards/_search', appKey: 'upstream-key', range: 'resources=0-49' });
    const card = await call('loyal', 'GET', '/giftcards/L-1');
    expectGiftCardAnswer('/giftcards/{giftCardId}', 'get', card.body);
    expect(card.body).toMatchObject({ id: 'L-1', balance: 80, emissionDate: '2026-01-01T00:00:00.000Z' });

    const tx = await call('loyal', 'POST', '/giftcards/L-1/transactions', debit(30.25, 'r1'));
    expect(tx).toEqual({ status: 200, body: { cardId: 'L-1', id: 'T-1', _self: { href: '/giftcard-provider/loyal/giftcards/L-1/transactions/T-1' } } });
    const refused = await call('loyal', 'POST', '/giftcards/L-1/transactions', debit(60, 'r2'));
    expect(refused).toMatchObject({ status: 400, body: { code: 'GIFTCARD_INSUFFICIENT_BALANCE', message: 'not enough points' } });
    const got = await call('loyal', 'GET', '/giftcards/L-1/transactions/T-1');
    expectGiftCardAnswer('/giftcards/{giftCardId}/transactions/{transactionId}', 'get', got.body);
    expect(got.body).toMatchObject({ value: 30.25, operation: 'Debit', requestId: 'r1' });
    const cancel = await call('loyal', 'POST', '/giftcards/L-1/transactions/T-1/cancellations', { value: 10, requestId: 'c1' });
    expect(cancel.body).toEqual({ oid: 'C-1', value: 10, date: '2026-12-02T10:01:00.000Z' });
    expect((await call('loyal', 'GET', '/giftcards/L-1/transactions/T-1/cancellations')).body).toEqual([cancel.body]);
    const list = await call('loyal', 'GET', '/giftcards/L-1/transactions');
    expectGiftCardAnswer('/giftcards/{giftCardId}/transactions', 'get', list.body);
    expect(list.body).toHaveLength(1);
    expect((await call('loyal', 'GET', '/giftcards/L-404')).status).toBe(404);
    expect((await call('loyal', 'GET', '/giftcards/L-1/transactions/T-9/cancellations')).status).toBe(404);
    // Another merchant is served by the built-in ledger, not forwarded.
    const before = fake.seen.length;
    expect((await call('plain', 'GET', '/giftcards/L-1')).status).toBe(404);
    expect(fake.seen.length).toBe(before);
  });

  it('an upstream 5xx, time-out or garbled answer is 503 (retryable), never a refusal', async () => {
    const { fake, call } = await setup();
    for (const mode of ['fail', 'slow', 'garbage'] as const) {
      fake.state.mode = mode;
      const r = await call('loyal', 'POST', '/giftcards/L-1/transactions', debit(1, `r-${mode}`));
      expect([mode, r.status, (r.body as { retryable?: boolean }).retryable]).toEqual([mode, 503, true]);
    }
  });
});

describe('POSBRIDGE_GIFTCARD_PROVIDERS_FILE', () => {
  it('a started server forwards the merchants of the file to their system, with the token read from its file', async () => {
    const fake = fakeProvider();
    upstream = fake.server;
    const upstreamUrl = await listen(fake.server);
    const tmp = tempDir();
    writeFileSync(join(tmp.dir, 'token'), 'upstream-token\n');
    writeFileSync(join(tmp.dir, 'providers.json'), JSON.stringify({ loyal: { baseUrl: upstreamUrl, appKey: 'upstream-key', appTokenFile: join(tmp.dir, 'token'), currency: 'BRL' } }));
    const t = await startTestServer({ POSBRIDGE_GIFTCARD_PROVIDERS_FILE: join(tmp.dir, 'providers.json') }, tmp.dir);
    try {
      const cred = await issueProviderCredentials(t.server.store, 'loyal', Date.now());
      const res = await fetch(`${t.server.url}/giftcard-provider/loyal/giftcards/L-1`, { headers: { 'X-PROVIDER-API-AppKey': cred.appKey, 'X-PROVIDER-API-AppToken': cred.appToken } });
      expect(await res.json()).toMatchObject({ id: 'L-1', balance: 80 });
      expect(fake.seen.at(-1)).toMatchObject({ method: 'GET', url: '/giftcards/L-1', appKey: 'upstream-key' });
    } finally {
      await t.close();
    }
  });

  it('names every problem of a bad file at once', () => {
    const tmp = tempDir();
    try {
      const file = join(tmp.dir, 'providers.json');
      writeFileSync(file, JSON.stringify({ 'bad name!': {}, ok: { baseUrl: 'ftp://x', appKey: 'k', appTokenFile: '/nonexistent', currency: 'brl' } }));
      const err = (() => {
        try {
          loadGiftCardProviders(file);
        } catch (e) {
          return e as Error & { code: string };
        }
        throw new Error('a bad file was accepted');
      })();
      expect(err.code).toBe('CFG_INVALID');
      expect(err.message).toMatch(/bad name!/);
      expect(err.message).toMatch(/baseUrl: must be an http\(s\) URL/);
      expect(err.message).toMatch(/currency: must be an upper-case ISO 4217 code/);
      writeFileSync(file, JSON.stringify({ ok: { baseUrl: 'https://x.example', appKey: 'k', appTokenFile: join(tmp.dir, 'missing'), currency: 'BRL' } }));
      expect(() => loadGiftCardProviders(file)).toThrow(/ok.appTokenFile cannot be read \(ENOENT\)/);
      writeFileSync(file, '{');
      expect(() => loadGiftCardProviders(file)).toThrow(/cannot be read as JSON/);
    } finally {
      tmp.cleanup();
    }
  });
});
