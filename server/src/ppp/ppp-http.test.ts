import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubmitToken } from '../pos/submit-token.ts';
import { AUTH_HEADERS, createPaymentBody, startTestServer, type TestServer } from '../testing/helpers.ts';

const SECRET = 'test-submit-secret-0123456789';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ POSBRIDGE_SUBMIT_SECRET: SECRET });
});
afterAll(async () => {
  await t.close();
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.server.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

describe('PPP HTTP', () => {
  it('GET /manifest lists both Venda Direta methods without auth', async () => {
    const res = await fetch(`${t.server.url}/manifest`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { paymentMethods: unknown[]; autoSettleDelay: unknown };
    expect(body.paymentMethods).toEqual([
      { name: 'Venda Direta Credito', allowsSplit: 'onCapture' },
      { name: 'Venda Direta Debito', allowsSplit: 'onCapture' },
    ]);
    expect(body.autoSettleDelay).toEqual({ minimum: '0', maximum: '720' });
  });

  it.each([
    ['no credentials', {}],
    ['wrong token', { 'X-VTEX-API-AppKey': 'merchant-key', 'X-VTEX-API-AppToken': 'nope' }],
    ['wrong key', { 'X-VTEX-API-AppKey': 'nope', 'X-VTEX-API-AppToken': 'merchant-token' }],
    ['key only', { 'X-VTEX-API-AppKey': 'merchant-key' }],
    ['mixed spellings', { 'X-VTEX-API-AppKey': 'merchant-key', 'X-PROVIDER-API-AppToken': 'merchant-token' }],
  ])('401 PPP_UNAUTHORIZED with %s', async (_name, headers) => {
    const res = await post('/payments', createPaymentBody(), headers);
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ status: 'error', code: 'PPP_UNAUTHORIZED', message: expect.any(String) });
  });

  it('accepts the X-PROVIDER-API header spelling (any case)', async () => {
    const res = await post('/payments', createPaymentBody({ paymentId: 'PROV1' }), {
      'x-provider-api-appkey': 'merchant-key',
      'X-Provider-Api-AppToken': 'merchant-token',
    });
    expect(res.status).toBe(200);
    expect(res.json['status']).toBe('undefined');
  });

  it('400 names every offending field', async () => {
    const body = createPaymentBody({ value: 'lots', currency: 'REAIS' });
    delete body['paymentId'];
    const res = await post('/payments', body, AUTH_HEADERS);
    expect(res.status).toBe(400);
    expect(res.json['status']).toBe('error');
    expect(res.json['code']).toBe('PPP_INVALID_REQUEST');
    const message = String(res.json['message']);
    for (const field of ['paymentId', 'value', 'currency']) expect(message).toContain(field);
  });

  it('malformed JSON → 400 JSON, no stack trace', async () => {
    const res = await post('/payments', '{"paymentId": ', AUTH_HEADERS);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ status: 'error', code: 'PPP_MALFORMED_JSON', message: expect.any(String) });
  });

  it('unknown currency → 400 with the money code', async () => {
    const res = await post('/payments', createPaymentBody({ paymentId: 'CUR1', currency: 'XXX' }), AUTH_HEADERS);
    expect(res.status).toBe(400);
    expect(res.json['code']).toBe('MONEY_UNKNOWN_CURRENCY');
  });

  it('unknown route → JSON 404', async () => {
    const res = await fetch(`${t.server.url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ status: 'error', code: 'PPP_NOT_FOUND' });
  });

  it('an unsupported method is denied with 200, never 5xx', async () => {
    const res = await t.createPayment(createPaymentBody({ paymentId: 'VISA1', paymentMethod: 'Visa' }));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ paymentId: 'VISA1', status: 'denied', authorizationId: null });
    expect(typeof res.json['message']).toBe('string');
  });

  it('create → undefined + terminal-connector-app with a submitUrl; repeats answer the same', async () => {
    const first = await t.createPayment(createPaymentBody({ paymentId: 'C1' }));
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({
      paymentId: 'C1',
      status: 'undefined',
      authorizationId: null,
      nsu: null,
      acquirer: 'posbridge',
      delayToAutoSettle: 1200,
      delayToAutoSettleAfterAntifraud: 1200,
      delayToCancel: 900,
      paymentAppData: { appName: 'vtex.terminal-connector-app', payload: expect.any(String) },
    });
    expect(first.json['tid']).toMatch(/^pb_/);
    for (const key of ['code', 'message']) expect(first.json).toHaveProperty(key);
    const appData = first.json['paymentAppData'] as { payload: string };
    const { submitUrl } = JSON.parse(appData.payload) as { submitUrl: string };
    expect(submitUrl.startsWith(`${t.server.url}/pos/v1/submit/`)).toBe(true);

    const again = await t.createPayment(createPaymentBody({ paymentId: 'C1' }));
    expect(again.json).toEqual(first.json);
    expect(t.lines.filter((l) => l['msg'] === 'payment created' && l['paymentId'] === 'C1')).toEqual([
      expect.objectContaining({ component: 'ppp', amount: 'BRL 31.90', method: 'Venda Direta Credito' }),
    ]);
  });

  it('a repeat with another amount, currency or method → 400 PPP_PAYMENT_MISMATCH', async () => {
    await t.createPayment(createPaymentBody({ paymentId: 'M1' }));
    for (const change of [{ value: 32 }, { currency: 'USD' }, { paymentMethod: 'Venda Direta Debito' }]) {
      const res = await t.createPayment(createPaymentBody({ paymentId: 'M1', ...change }));
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ status: 'error', code: 'PPP_PAYMENT_MISMATCH' });
    }
  });

  it('concurrent creates of one paymentId answer the same submitUrl', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => t.createPayment(createPaymentBody({ paymentId: 'CC1' }))),
    );
    expect(new Set(answers.map((a) => JSON.stringify(a.json))).size).toBe(1);
    expect(t.lines.filter((l) => l['msg'] === 'payment created' && l['paymentId'] === 'CC1')).toHaveLength(1);
  });

  it('never logs credentials or the card block', async () => {
    const text = JSON.stringify(t.lines);
    expect(text).not.toContain('merchant-token');
    expect(text).not.toContain('"card"');
  });
});

describe('submitUrl', () => {
  async function submitUrlOf(paymentId: string): Promise<string> {
    const res = await t.createPayment(createPaymentBody({ paymentId }));
    return (JSON.parse((res.json['paymentAppData'] as { payload: string }).payload) as { submitUrl: string }).submitUrl;
  }

  it('answers CORS preflight for any origin', async () => {
    const url = await submitUrlOf('S0');
    const res = await fetch(url, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('unknown serial → 404 POS_TERMINAL_UNKNOWN with the wire error shape', async () => {
    const res = await post(new URL(await submitUrlOf('S1')).pathname, { serialNumber: 'NOPE-1' });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ code: 'POS_TERMINAL_UNKNOWN', message: expect.any(String), retryable: true });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('a tampered or garbage token → 404 POS_SUBMIT_NOT_FOUND', async () => {
    const path = new URL(await submitUrlOf('S2')).pathname;
    const tampered = path.slice(0, -2) + (path.endsWith('AA') ? 'BB' : 'AA');
    for (const p of [tampered, '/pos/v1/submit/garbage', '/pos/v1/submit/UzI.']) {
      const res = await post(p, { serialNumber: 'SN1' });
      expect(res.status).toBe(404);
      expect(res.json['code']).toBe('POS_SUBMIT_NOT_FOUND');
    }
  });

  it('a valid token for a payment that does not exist → 404 POS_SUBMIT_NOT_FOUND', async () => {
    const res = await post(`/pos/v1/submit/${createSubmitToken(SECRET, 'NEVER-CREATED')}`, { serialNumber: 'SN1' });
    expect(res.status).toBe(404);
    expect(res.json['code']).toBe('POS_SUBMIT_NOT_FOUND');
  });

  it('invalid serial → 400 POS_INVALID_SERIAL', async () => {
    const path = new URL(await submitUrlOf('S4')).pathname;
    for (const body of [{ serialNumber: '' }, { serialNumber: 'has space' }, {}, '{oops']) {
      const res = await post(path, body);
      expect(res.status).toBe(400);
      expect(res.json['code']).toBe('POS_INVALID_SERIAL');
    }
  });

  it('an unauthenticated follow-up is logged with the paymentId of its URL, and a malformed one is still a 401', async () => {
    expect((await post('/payments/PX-LOG/cancellations', { paymentId: 'PX-LOG', requestId: 'R', authorizationId: 'A' })).status).toBe(401);
    expect(t.lines.find((l) => l['msg'] === 'PPP request unauthorized' && l['paymentId'] === 'PX-LOG')).toBeDefined();
    expect((await post('/payments/%E0%A4%A/settlements', {})).status).toBe(401);
  });
});
