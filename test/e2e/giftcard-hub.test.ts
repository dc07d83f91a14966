/**
 * VTEX's Gift Card Hub against `npm run stack` (spawned as test/e2e/stack-contract.test.ts
 * does): the Hub knows only the ready line's `giftcard` ({serviceUrl, appKey, appToken}) and VTEX's
 * OpenAPI (server/test-fixtures/giftcard-provider-openapi.json); nothing of posbridge's product code
 * is imported. A card is issued with the operator CLI (its code shown once) and another created
 * through the API; the Hub then plays checkout (search by cart, by typed redemption code; read
 * the card; a Debit authorizes), settlement (partial), cancellation (the unsettled rest; a second
 * order wholly) and a Credit, repeating every POST with its requestId as the Hub retries, and
 * validating every answer (and every request it sends) against the OpenAPI with Ajv.
 * @requires-program socat
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VENDOR = 'application/vnd.vtex.giftcards.v1+json';
const exec = promisify(execFile);

// ── the OpenAPI, as VTEX publishes it (no deviation patched in) ───────────────────────────────
const spec = JSON.parse(readFileSync(new URL('../../server/test-fixtures/giftcard-provider-openapi.json', import.meta.url), 'utf8')) as object;
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema(spec, 'gc');
const validators = new Map<string, ValidateFunction>();
function validate(pointer: string, body: unknown): void {
  let v = validators.get(pointer);
  if (!v) {
    v = ajv.compile({ $ref: `gc${pointer}` });
    validators.set(pointer, v);
  }
  expect(v(body) ? [] : v.errors, `${pointer}: ${JSON.stringify(body)}`).toEqual([]);
}
const esc = (p: string) => p.replaceAll('~', '~0').replaceAll('/', '~1');
const answerOf = (path: string, method: 'get' | 'post', body: unknown) => validate(`#/paths/${esc(path)}/${method}/responses/200/content/application~1json/schema`, body);
const requestOf = (path: string, body: unknown) => validate(`#/paths/${esc(path)}/post/requestBody/content/application~1vnd.vtex.giftcards.v1+json/schema`, body);

interface Ready {
  event: 'ready';
  pppBaseUrl: string;
  giftcard: { serviceUrl: string; appKey: string; appToken: string };
}
interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

describe('the Gift Card Hub against npm run stack', () => {
  let child: ChildProcessWithoutNullStreams;
  let ready: Ready;
  const stderrLines: string[] = [];

  beforeAll(async () => {
    child = spawn(process.execPath, ['--conditions=@posbridge/source', '--import', 'tsx', 'scripts/stack.ts', '--step-delay-ms', '5'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'info', POSBRIDGE_CALLBACK_ALLOW_HOSTS: '127.0.0.1' },
    });
    createInterface({ input: child.stderr }).on('line', (line) => stderrLines.push(line));
    ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line; stderr:\n${stderrLines.join('\n')}`)), 45_000);
      child.once('exit', (code) => reject(new Error(`stack exited with ${code}; stderr:\n${stderrLines.join('\n')}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        const parsed = JSON.parse(line) as Ready;
        if (parsed.event === 'ready') {
          clearTimeout(timer);
          resolve(parsed);
        }
      });
    });
  }, 60_000);

  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });

  /** One call of the Hub: its credentials, the vendor media type. */
  async function hub(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(`${ready.giftcard.serviceUrl}${path}`, {
      method,
      headers: { Accept: VENDOR, 'Content-Type': VENDOR, 'X-PROVIDER-API-AppKey': ready.giftcard.appKey, 'X-PROVIDER-API-AppToken': ready.giftcard.appToken, ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown), headers: res.headers };
  }
  const obj = (a: Answer) => a.body as Record<string, unknown>;
  const list = (a: Answer) => a.body as Record<string, unknown>[];

  const client = { id: 'profile-ana', email: 'ana@example.com', document: '12345678900' };
  const cart = (redemptionCode: string) => ({ grandTotal: 8000, relationName: null, redemptionCode, discounts: 0, shipping: 1000, taxes: 0, items: [{ productId: 'p1', id: 's1', refId: 'r1', name: 'Shoe', price: 7000, quantity: 1 }], itemsTotal: 7000 });
  const orderInfo = (orderId: string) => ({
    orderId,
    sequence: 1,
    cart: { items: [], grandTotal: 8000, discounts: 0, shipping: 1000, taxes: 0, itemsTotal: 7000 },
    clientProfile: { email: client.email, firstName: 'Ana', lastName: 'Silva', document: client.document, phone: '+5511999999999', birthDate: '1990-01-01', isCorporate: false },
  });
  const transaction = (operation: 'Debit' | 'Credit', value: number, requestId: string, orderId: string) => ({
    operation,
    value,
    description: 'GiftCardHub',
    redemptionToken: '',
    redemptionCode: '',
    requestId,
    orderInfo: orderInfo(orderId),
  });

  /** POSTs like the Hub: sends, then repeats with the same requestId and expects the first answer. */
  async function postTwice(path: string, body: Record<string, unknown>, specPath: string): Promise<Answer> {
    requestOf(specPath, body);
    const first = await hub('POST', path, body);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    answerOf(specPath, 'post', first.body);
    const again = await hub('POST', path, body);
    expect(again.body).toEqual(first.body);
    return first;
  }

  it('announces an empty ledger that only its own credentials open', async () => {
    const search = await hub('POST', '/giftcards/_search', { client, cart: cart('') });
    expect(search.status).toBe(200);
    expect(search.body).toEqual([]);
    const anonymous = await fetch(`${ready.giftcard.serviceUrl}/giftcards/_search`, { method: 'POST', headers: { 'Content-Type': VENDOR }, body: '{}' });
    expect(anonymous.status).toBe(401);
    const ppp = await fetch(`${ready.giftcard.serviceUrl}/giftcards/_search`, {
      method: 'POST',
      headers: { 'Content-Type': VENDOR, 'X-PROVIDER-API-AppKey': ready.giftcard.appKey, 'X-PROVIDER-API-AppToken': 'not-the-token' },
      body: '{}',
    });
    expect(ppp.status).toBe(401);
  });

  it('checkout, settlement, cancellation and credit, idempotent by requestId, as the OpenAPI says', async () => {
    // The operator issues a card loaded with 100.00 (the stack's database, its submit secret beside it).
    const dir = (stderrLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'local stack ready')?.['dir'] as string) ?? '';
    const merchant = ready.giftcard.serviceUrl.split('/').pop() ?? '';
    const { stdout } = await exec(
      process.execPath,
      ['--conditions=@posbridge/source', '--import', 'tsx', 'server/bin/posbridge-server.js', 'giftcard', 'issue', '--merchant', merchant, '--profile', client.id, '--currency', 'BRL', '--value', '100.00', '--db', join(dir, 'posbridge.sqlite')],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, POSBRIDGE_STORE: 'sqlite' } },
    );
    const cardId = /cardId:\s+(\S+)/.exec(stdout)?.[1] ?? '';
    const code = /redemptionCode:\s+(\S+)/.exec(stdout)?.[1] ?? '';
    expect(code).not.toBe('');

    // Checkout: the shopper's cards, and the card typed by its code (by anyone, spaces and case aside).
    const mine = await hub('POST', '/giftcards/_search', { client, cart: cart('') }, { 'REST-Range': 'resources=0-49' });
    requestOf('/giftcards/_search', { client, cart: cart('') });
    answerOf('/giftcards/_search', 'post', mine.body);
    expect(list(mine).map((c) => [c['id'], c['balance']])).toEqual([[cardId, 100]]);
    expect(mine.headers.get('rest-content-range')).toBe('resources 0-0/1');
    const typed = await hub('POST', '/giftcards/_search', { client: { id: 'guest', email: 'guest@example.com', document: '0' }, cart: cart(code.toLowerCase().replaceAll('-', ' ')) });
    expect(list(typed).map((c) => c['id'])).toEqual([cardId]);
    const href = String((list(mine)[0]?.['_self'] as { href: string }).href);
    expect(href.endsWith(`/giftcards/${cardId}`)).toBe(true);
    const card = await hub('GET', `/giftcards/${cardId}`);
    answerOf('/giftcards/{giftCardId}', 'get', card.body);
    expect(obj(card)).toMatchObject({ id: cardId, balance: 100, currencyCode: 'BRL' });
    expect(JSON.stringify(card.body)).not.toContain(code);

    // Order 1: authorize 60.00, settle 40.00, cancel the unsettled 20.00.
    const tx = '/giftcards/{giftCardId}/transactions';
    const debit = await postTwice(`/giftcards/${cardId}/transactions`, transaction('Debit', 60, 'hub-order1-debit', 'v1-01'), tx);
    const tId = String(obj(debit)['id']);
    expect(obj(debit)['cardId']).toBe(cardId);
    const auth = await hub('GET', `/giftcards/${cardId}/transactions/${tId}/authorization`);
    answerOf(`${tx}/{transactionId}/authorization`, 'get', auth.body);
    expect(obj(auth)).toMatchObject({ oid: tId, value: 60 });
    const got = await hub('GET', `/giftcards/${cardId}/transactions/${tId}`);
    answerOf(`${tx}/{transactionId}`, 'get', got.body);
    expect(obj(got)).toMatchObject({ operation: 'Debit', value: 60 });
    // The Hub looks before settling: nothing yet.
    expect((await hub('GET', `/giftcards/${cardId}/transactions/${tId}/settlements`)).body).toEqual([]);
    const settled = await postTwice(`/giftcards/${cardId}/transactions/${tId}/settlements`, { value: 40, requestId: 'hub-order1-settle' }, `${tx}/{tId}/settlements`);
    expect(obj(settled)['value']).toBe(40);
    const overSettle = await hub('POST', `/giftcards/${cardId}/transactions/${tId}/settlements`, { value: 20.01, requestId: 'hub-order1-settle-2' });
    expect(overSettle.status).toBe(400);
    const cancelled = await postTwice(`/giftcards/${cardId}/transactions/${tId}/cancellations`, { value: 20, requestId: 'hub-order1-cancel' }, `${tx}/{transactionId}/cancellations`);
    const settlements = await hub('GET', `/giftcards/${cardId}/transactions/${tId}/settlements`);
    answerOf(`${tx}/{tId}/settlements`, 'get', settlements.body);
    expect(settlements.body).toEqual([settled.body]);
    const cancellations = await hub('GET', `/giftcards/${cardId}/transactions/${tId}/cancellations`);
    answerOf(`${tx}/{transactionId}/cancellations`, 'get', cancellations.body);
    expect(cancellations.body).toEqual([cancelled.body]);
    expect(obj(await hub('GET', `/giftcards/${cardId}`))['balance']).toBe(60);

    // Order 2: authorize 15.00 and cancel it wholly (the shopper abandons); more than the balance is refused.
    const debit2 = await postTwice(`/giftcards/${cardId}/transactions`, transaction('Debit', 15, 'hub-order2-debit', 'v2-01'), tx);
    const t2 = String(obj(debit2)['id']);
    await postTwice(`/giftcards/${cardId}/transactions/${t2}/cancellations`, { value: 15, requestId: 'hub-order2-cancel' }, `${tx}/{transactionId}/cancellations`);
    const tooMuch = await hub('POST', `/giftcards/${cardId}/transactions`, transaction('Debit', 60.01, 'hub-order3-debit', 'v3-01'));
    expect([tooMuch.status, obj(tooMuch)['code']]).toEqual([400, 'GIFTCARD_INSUFFICIENT_BALANCE']);
    const reused = await hub('POST', `/giftcards/${cardId}/transactions`, transaction('Debit', 1, 'hub-order2-debit', 'v2-01'));
    expect(reused.status).toBe(409);

    // A Credit (e.g. a refund in store credit).
    await postTwice(`/giftcards/${cardId}/transactions`, transaction('Credit', 5.5, 'hub-refund-credit', 'v1-01'), tx);
    expect(obj(await hub('GET', `/giftcards/${cardId}`))['balance']).toBe(65.5);

    // The transactions, paged with REST-Range: the load, two debits, the credit.
    const all = await hub('GET', `/giftcards/${cardId}/transactions`);
    answerOf(tx, 'get', all.body);
    expect(list(all)).toHaveLength(4);
    const page = await hub('GET', `/giftcards/${cardId}/transactions`, undefined, { 'REST-Range': 'resources=1-2' });
    expect(list(page).map((t) => t['id'])).toEqual([tId, t2]);
    expect(page.headers.get('rest-content-range')).toBe('resources 1-2/4');
  }, 60_000);

  it('creates a card through the API (its code shown this once) and debits it', async () => {
    const create = { relationName: 'loyalty', caption: 'Welcome credit', profileId: 'bea@example.com', currencyCode: 'BRL', restrictedToOwner: true, multipleRedemptions: true, multipleCredits: true };
    requestOf('/giftcards', create);
    const created = await hub('POST', '/giftcards', create);
    answerOf('/giftcards', 'post', created.body);
    const id = String(obj(created)['id']);
    // Loaded by its owner (a restricted card takes Debits and Credits from its owner only; a
    // transaction names the shopper by e-mail or document, so such a card's profileId is one of those).
    const load = transaction('Credit', 10, 'bea-load', 'v9-01');
    const bea = { ...load, orderInfo: { ...load.orderInfo, clientProfile: { ...load.orderInfo.clientProfile, email: 'Bea@Example.com' } } };
    await postTwice(`/giftcards/${id}/transactions`, bea, '/giftcards/{giftCardId}/transactions');
    // Restricted to its owner: Ana (the order's client profile) may not spend it.
    const foreign = await hub('POST', `/giftcards/${id}/transactions`, transaction('Debit', 1, 'ana-on-bea', 'v9-02'));
    expect(obj(foreign)['code']).toBe('GIFTCARD_NOT_OWNER');
    const typed = await hub('POST', '/giftcards/_search', { client: { id: 'c0ffee-bea', email: 'bea@example.com', document: '1' }, cart: cart(String(obj(created)['redemptionCode'])) });
    expect(list(typed).map((c) => c['balance'])).toEqual([10]);
  });
});
