/**
 * The Gift Card Provider endpoints over real HTTP on a real server with SQLite on disk: every path
 * of VTEX's OpenAPI, answers validated with Ajv against it (server/src/testing/giftcard-contract.ts),
 * the provider credentials (401/403/429), REST-Range, the vendor media type, idempotency by
 * requestId, the redemption-code rate limit, parallel debits that never overdraw, and the metrics.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../testing/helpers.ts';
import { expectGiftCardAnswer, expectGiftCardRequest } from '../../testing/giftcard-contract.ts';
import { issueProviderCredentials, type IssuedProviderCredentials } from '../provider-credentials.ts';

const VENDOR = 'application/vnd.vtex.giftcards.v1+json';
const client = { id: 'profile-1', email: 'shopper@example.com', document: '12345678900' };
const cart = (redemptionCode = '') => ({ grandTotal: 5000, relationName: null, redemptionCode, discounts: 0, shipping: 0, taxes: 0, items: [], itemsTotal: 5000 });
const clientProfile = { email: client.email, firstName: 'Ana', lastName: 'Silva', document: client.document, phone: '+5511999999999', birthDate: '1990-01-01', isCorporate: false };
const tx = (operation: 'Debit' | 'Credit', value: number, requestId: string) => ({
  operation,
  value,
  description: 'GiftCardHub',
  redemptionToken: '',
  redemptionCode: '',
  requestId,
  orderInfo: { orderId: 'v123-01', sequence: 1, cart: { items: [], grandTotal: 5000, discounts: 0, shipping: 0, taxes: 0, itemsTotal: 5000 }, clientProfile },
});

let t: (TestServer & { dir: string }) | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function start(env: Record<string, string> = {}): Promise<{ base: string; cred: IssuedProviderCredentials; call: Caller }> {
  t = await startTestServer(env);
  const cred = await issueProviderCredentials(t.server.store, 'acme', Date.now());
  await issueProviderCredentials(t.server.store, 'other', Date.now());
  const base = `${t.server.url}/giftcard-provider/acme`;
  return { base, cred, call: caller(base, cred) };
}

/** An answer: the body as an object (`json`) and, when it is an array, as its items (`list`). */
interface Answer {
  status: number;
  json: Record<string, unknown>;
  list: Record<string, unknown>[];
  headers: Headers;
}

type Caller = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Answer>;

function caller(base: string, cred: { appKey: string; appToken: string }): Caller {
  return async (method, path, body, headers = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { Accept: VENDOR, 'Content-Type': VENDOR, 'X-PROVIDER-API-AppKey': cred.appKey, 'X-PROVIDER-API-AppToken': cred.appToken, ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const parsed = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> | Record<string, unknown>[];
    return { status: res.status, json: Array.isArray(parsed) ? {} : parsed, list: Array.isArray(parsed) ? parsed : [], headers: res.headers };
  };
}

const newCard = { relationName: 'loyalty', caption: 'Loyalty points', profileId: 'profile-1', currencyCode: 'BRL', expiringDate: '2099-01-01T00:00:00' };

describe('gift card provider over HTTP (SQLite)', () => {
  it('refuses missing, wrong and foreign credentials (401/403) and limits repeated failures (429)', async () => {
    const { base, cred } = await start({ POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    const none = await fetch(`${base}/giftcards/gc_x`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { code: string }).code).toBe('PPP_UNAUTHORIZED');
    const wrong = await caller(base, { appKey: cred.appKey, appToken: 'nope' })('GET', '/giftcards/gc_x');
    expect(wrong.status).toBe(401);
    // The credentials of "acme" on "other"'s serviceUrl: authenticated, not allowed.
    const foreign = await caller(`${t!.server.url}/giftcard-provider/other`, cred)('GET', '/giftcards/gc_x');
    expect(foreign.status).toBe(403);
    expect(foreign.json['code']).toBe('PPP_MERCHANT_MISMATCH');
    // A merchant with no provider credentials: nothing tells it apart from wrong credentials.
    const unknownMerchant = await caller(`${t!.server.url}/giftcard-provider/nobody`, { appKey: 'gcp_guess', appToken: 'guess' })('GET', '/giftcards/gc_x');
    expect(unknownMerchant.status).toBe(401);
    const limited = await caller(base, cred)('GET', '/giftcards/gc_x');
    expect(limited.status).toBe(429);
    expect(JSON.stringify(t!.lines)).not.toContain(cred.appToken);
    expect(limited.headers.get('retry-after')).not.toBeNull();
    // PPP credentials are not gift card credentials.
    const ppp = await caller(`${t!.server.url}/giftcard-provider/acme`, { appKey: 'merchant-key', appToken: 'merchant-token' })('GET', '/giftcards/gc_x');
    expect(ppp.status).toBe(429);
  });

  it('plays checkout, settlement and cancellation: every answer matches the OpenAPI', async () => {
    const { call } = await start();
    const created = await call('POST', '/giftcards', newCard);
    expect(created.status).toBe(200);
    expectGiftCardRequest('/giftcards', newCard);
    expectGiftCardAnswer('/giftcards', 'post', created.json);
    const cardId = created.json['id'] as string;
    const code = created.json['redemptionCode'] as string;
    expect(code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){4}$/);
    expect(created.json['expiringDate']).toBe('2099-01-01T00:00:00.000Z');

    const load = tx('Credit', 50, 'load-1');
    expectGiftCardRequest('/giftcards/{giftCardId}/transactions', load);
    const credit = await call('POST', `/giftcards/${cardId}/transactions`, load);
    expect(credit.status).toBe(200);
    expectGiftCardAnswer('/giftcards/{giftCardId}/transactions', 'post', credit.json);

    const byClient = await call('POST', '/giftcards/_search', { client, cart: cart() });
    expectGiftCardRequest('/giftcards/_search', { client, cart: cart() });
    expectGiftCardAnswer('/giftcards/_search', 'post', byClient.list);
    expect(byClient.list).toEqual([{ id: cardId, provider: 'posbridge', balance: 50, _self: { href: `/giftcard-provider/acme/giftcards/${cardId}` } }]);
    expect(byClient.headers.get('rest-content-range')).toBe('resources 0-0/1');
    // Typed by another shopper, lower case and without dashes: the same card.
    const typed = await call('POST', '/giftcards/_search', { client: { id: 'someone-else', email: 'x@example.com', document: '1' }, cart: cart(code.toLowerCase().replaceAll('-', '')) });
    expect(typed.list.map((c) => c['id'])).toEqual([cardId]);

    // A card issued to the shopper's e-mail is theirs too (a restricted card must name them so).
    const byEmail = (await call('POST', '/giftcards', { ...newCard, profileId: 'shopper@example.com', restrictedToOwner: true })).json['id'];
    const both = await call('POST', '/giftcards/_search', { client, cart: cart() });
    expect(new Set(both.list.map((c) => c['id']))).toEqual(new Set([cardId, byEmail]));
    expect(both.headers.get('rest-content-range')).toBe('resources 0-1/2');
    const second = await call('POST', '/giftcards/_search', { client, cart: cart() }, { 'REST-Range': 'resources=1-1' });
    expect(second.list.map((c) => c['id'])).toEqual([both.list[1]?.['id']]);

    const card = await call('GET', `/giftcards/${cardId}`);
    expectGiftCardAnswer('/giftcards/{giftCardId}', 'get', card.json);
    expect(card.json).toMatchObject({ id: cardId, balance: 50, currencyCode: 'BRL', redemptionCode: '****-****-****-****-****' });
    expect(JSON.stringify(card.json)).not.toContain(code);

    const debitBody = tx('Debit', 20.5, 'order-1-debit');
    const debit = await call('POST', `/giftcards/${cardId}/transactions`, debitBody);
    expect(debit.status).toBe(200);
    const tId = debit.json['id'] as string;
    // A retry of the Hub answers the first answer; another body under the requestId is refused.
    expect((await call('POST', `/giftcards/${cardId}/transactions`, debitBody)).json).toEqual(debit.json);
    const reused = await call('POST', `/giftcards/${cardId}/transactions`, { ...debitBody, value: 21 });
    expect([reused.status, reused.json['code']]).toEqual([409, 'GIFTCARD_REQUEST_ID_REUSED']);
    const over = await call('POST', `/giftcards/${cardId}/transactions`, tx('Debit', 30, 'order-2-debit'));
    expect([over.status, over.json['code']]).toEqual([400, 'GIFTCARD_INSUFFICIENT_BALANCE']);

    const got = await call('GET', `/giftcards/${cardId}/transactions/${tId}`);
    expectGiftCardAnswer('/giftcards/{giftCardId}/transactions/{transactionId}', 'get', got.json);
    expect(got.json).toMatchObject({ value: 20.5, operation: 'Debit', requestId: 'order-1-debit' });
    const auth = await call('GET', `/giftcards/${cardId}/transactions/${tId}/authorization`);
    expectGiftCardAnswer('/giftcards/{giftCardId}/transactions/{transactionId}/authorization', 'get', auth.json);
    expect(auth.json).toMatchObject({ oid: tId, value: 20.5 });

    const settleBody = { value: 15.5, requestId: 'settle-1' };
    expectGiftCardRequest('/giftcards/{giftCardId}/transactions/{tId}/settlements', settleBody);
    const settle = await call('POST', `/giftcards/${cardId}/transactions/${tId}/settlements`, settleBody);
    expectGiftCardAnswer('/giftcards/{giftCardId}/transactions/{tId}/settlements', 'post', settle.json);
    expect(settle.json['value']).toBe(15.5);
    const cancel = await call('POST', `/giftcards/${cardId}/transactions/${tId}/cancellations`, { value: 5, requestId: 'cancel-1' });
    expectGiftCardAnswer('/giftcards/{giftCardId}/transactions/{transactionId}/cancellations', 'post', cancel.json);
    const tooMuch = await call('POST', `/giftcards/${cardId}/transactions/${tId}/cancellations`, { value: 15.51, requestId: 'cancel-2' });
    expect(tooMuch.json['code']).toBe('GIFTCARD_CANCEL_EXCEEDED');
    const settles = await call('GET', `/giftcards/${cardId}/transactions/${tId}/settlements`);
    expectGiftCardAnswer('/giftcards/{giftCardId}/transactions/{tId}/settlements', 'get', settles.list);
    expect(settles.list.map((x) => x['value'])).toEqual([15.5]);
    const cancels = await call('GET', `/giftcards/${cardId}/transactions/${tId}/cancellations`);
    expectGiftCardAnswer('/giftcards/{giftCardId}/transactions/{transactionId}/cancellations', 'get', cancels.list);
    expect(cancels.list).toEqual([cancel.json]);
    expect((await call('GET', `/giftcards/${cardId}`)).json['balance']).toBe(34.5);

    const list = await call('GET', `/giftcards/${cardId}/transactions`, undefined, { 'REST-Range': 'resources=1-10' });
    expectGiftCardAnswer('/giftcards/{giftCardId}/transactions', 'get', list.list);
    expect(list.list.map((x) => x['id'])).toEqual([tId]);
    expect(list.headers.get('rest-content-range')).toBe('resources 1-1/2');
    expect((await call('GET', `/giftcards/${cardId}/transactions`, undefined, { 'REST-Range': 'items=x' })).status).toBe(400);

    const missing = await call('GET', '/giftcards/gc_nope');
    expect([missing.status, missing.json['code']]).toEqual([404, 'GIFTCARD_NOT_FOUND']);
    expect((await call('GET', `/giftcards/${cardId}/transactions/gct_nope/cancellations`)).status).toBe(404);
    expect((await call('GET', `/giftcards/${'x'.repeat(129)}`)).json['code']).toBe('GIFTCARD_NOT_FOUND');
    expect((await call('POST', `/giftcards/${cardId}/transactions/${'x'.repeat(129)}/settlements`, { value: 1, requestId: 's' })).json['code']).toBe('GIFTCARD_TRANSACTION_NOT_FOUND');

    // Neither the redemption code nor the provider token is ever logged; refusals name the card.
    const logged = JSON.stringify(t!.lines);
    expect(logged).not.toContain(code);
    expect(logged.toLowerCase()).not.toContain(code.replaceAll('-', '').toLowerCase());
    expect(t!.lines.some((l) => l['msg'] === 'gift card request refused' && l['code'] === 'GIFTCARD_INSUFFICIENT_BALANCE' && l['cardId'] === cardId)).toBe(true);

    const metrics = await (await fetch(`${t!.server.url}/metrics`)).text();
    expect(metrics).toMatch(/posbridge_giftcard_transactions_total\{operation="debit",result="ok"\} 2/);
    expect(metrics).toMatch(/posbridge_giftcard_transactions_total\{operation="debit",result="GIFTCARD_INSUFFICIENT_BALANCE"\} 1/);
    expect(metrics).toMatch(/route="\/giftcard-provider\/\*"/);
  });

  it('validates bodies: unknown operation, bad amounts, missing currency, plain JSON accepted', async () => {
    const { call } = await start();
    const created = await call('POST', '/giftcards', newCard, { 'Content-Type': 'application/json' });
    expect(created.status).toBe(200);
    const cardId = created.json['id'] as string;
    expect((await call('POST', `/giftcards/${cardId}/transactions`, { ...tx('Debit', 1, 'r1'), operation: 'Refund' })).status).toBe(400);
    const fraction = await call('POST', `/giftcards/${cardId}/transactions`, tx('Credit', 1.005, 'r2'));
    expect([fraction.status, fraction.json['code']]).toEqual([400, 'GIFTCARD_INVALID_REQUEST']);
    expect((await call('POST', `/giftcards/${cardId}/transactions`, tx('Credit', -1, 'r3'))).status).toBe(400);
    const noCurrency = await call('POST', '/giftcards', { relationName: 'x', caption: 'y', profileId: 'z' });
    expect([noCurrency.status, noCurrency.json['code']]).toEqual([400, 'PPP_INVALID_REQUEST']);
    expect((await call('POST', '/giftcards', { ...newCard, currencyCode: 'XXZ' })).json['code']).toBe('GIFTCARD_INVALID_REQUEST');
    expect((await call('POST', '/giftcards', { ...newCard, caption: 'x'.repeat(600) })).status).toBe(400);
  });

  it('rate-limits typed redemption codes that match no card, per merchant and client', async () => {
    const { call } = await start({ POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    for (let i = 0; i < 3; i++) expect((await call('POST', '/giftcards/_search', { client, cart: cart(`AAAA-BBBB-CCCC-DDDD-EEE${i}`) })).list).toEqual([]);
    const limited = await call('POST', '/giftcards/_search', { client, cart: cart('AAAA-BBBB-CCCC-DDDD-EEEE') });
    expect(limited.status).toBe(429);
    // The client's own cards are still listed; another client is not limited.
    expect((await call('POST', '/giftcards/_search', { client, cart: cart() })).status).toBe(200);
    expect((await call('POST', '/giftcards/_search', { client: { ...client, id: 'p2' }, cart: cart('AAAA-BBBB-CCCC-DDDD-EEEE') })).status).toBe(200);
  });

  it('40 parallel debits of 1.00 on a 10.00 card: exactly 10 pass, the balance ends at 0', async () => {
    const { call } = await start();
    const cardId = (await call('POST', '/giftcards', newCard)).json['id'] as string;
    await call('POST', `/giftcards/${cardId}/transactions`, tx('Credit', 10, 'load'));
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => call('POST', `/giftcards/${cardId}/transactions`, tx('Debit', 1, `d${i}`))));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(10);
    expect(answers.filter((a) => a.json['code'] === 'GIFTCARD_INSUFFICIENT_BALANCE')).toHaveLength(30);
    expect((await call('GET', `/giftcards/${cardId}`)).json['balance']).toBe(0);
    // Parallel repeats of one request append once.
    await call('POST', `/giftcards/${cardId}/transactions`, tx('Credit', 5, 'load-2'));
    const repeats = await Promise.all(Array.from({ length: 10 }, () => call('POST', `/giftcards/${cardId}/transactions`, tx('Debit', 2, 'same'))));
    expect(new Set(repeats.map((r) => r.json['id'])).size).toBe(1);
    expect((await call('GET', `/giftcards/${cardId}`)).json['balance']).toBe(3);
  });
});
