/**
 * Issue 10 item 15: failed authentications are limited per surface (PPP, Payment App,
 * onboarding, metrics), each keyed on its own, so a failure on one surface never refuses valid
 * calls on another; and PPP failures are keyed by source and appKey, so one merchant's stale
 * credentials never refuse another merchant's valid calls from the same gateway address.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH_HEADERS, createPaymentBody, startTestServer, type TestServer } from '../testing/helpers.ts';

describe('failure limits per surface', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const forge = async (url: string, n: number): Promise<number[]> => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push((await fetch(`${url}/pos/v1/status/Rk9SR0VE.${'A'.repeat(42)}${i % 10}`)).status);
    return statuses;
  };

  it('forged Payment App tokens never refuse valid PPP calls from the same address', async () => {
    t = await startTestServer({ POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    const statuses = await forge(t.server.url, 6);
    expect(statuses.slice(0, 3)).toEqual([404, 404, 404]);
    expect(statuses.slice(3)).toEqual([429, 429, 429]);
    const created = await t.createPayment(createPaymentBody({ paymentId: 'AFTER-FORGED' }));
    expect(created.status).toBe(200);
  });

  it('a valid Payment App token is answered while forged ones from its address are refused', async () => {
    t = await startTestServer({ POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    const created = await t.createPayment(createPaymentBody({ paymentId: 'VALID-APP' }));
    const { statusUrl } = JSON.parse((created.json['paymentAppData'] as { payload: string }).payload) as { statusUrl: string };
    await forge(t.server.url, 5);
    expect((await fetch(statusUrl)).status).toBe(200);
  });

  it('PPP failures never refuse the Payment App, and onboarding failures never refuse PPP', async () => {
    t = await startTestServer({ POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    const created = await t.createPayment(createPaymentBody({ paymentId: 'CROSS' }));
    const { statusUrl } = JSON.parse((created.json['paymentAppData'] as { payload: string }).payload) as { statusUrl: string };
    for (let i = 0; i < 5; i++) {
      await fetch(`${t.server.url}/payments`, { method: 'POST', headers: { 'X-VTEX-API-AppKey': 'nobody', 'X-VTEX-API-AppToken': 'x' }, body: '{}' });
      await fetch(`${t.server.url}/authorization/credentials?applicationId=vtex&authorizationCode=NOPE${i}`);
    }
    expect((await fetch(statusUrl)).status).toBe(200);
    expect((await t.createPayment(createPaymentBody({ paymentId: 'CROSS-2' }))).status).toBe(200);
  });

  it("one merchant's failing credentials never refuse another merchant from the same address", async () => {
    t = await startTestServer({ POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    const stale = { 'X-VTEX-API-AppKey': 'other-key', 'X-VTEX-API-AppToken': 'stale' };
    const { newMerchantCredentials } = await import('../ppp/authorization-router.ts');
    const { hashAppToken } = await import('../ppp/auth.ts');
    const other = newMerchantCredentials();
    await t.server.store.createMerchant({ merchantId: other.merchantId, name: 'other', appKey: 'other-key', appTokenSha256: hashAppToken(other.appToken), callbackMode: 'notification', createdAt: 0 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${t.server.url}/payments`, { method: 'POST', headers: stale, body: '{}' })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    // The brute-forced appKey stays refused, even with its right token (nothing to learn from the answer).
    const right = await fetch(`${t.server.url}/payments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-VTEX-API-AppKey': 'other-key', 'X-VTEX-API-AppToken': other.appToken },
      body: JSON.stringify(createPaymentBody({ paymentId: 'OTHER-1', merchantName: 'other' })),
    });
    expect(right.status).toBe(429);
    // The bootstrap merchant, same address, is unaffected.
    const res = await fetch(`${t.server.url}/payments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS },
      body: JSON.stringify(createPaymentBody({ paymentId: 'BOOT-1' })),
    });
    expect(res.status).toBe(200);
  });

  it('unknown appKeys from one address share one limit', async () => {
    t = await startTestServer({ POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await fetch(`${t.server.url}/payments`, { method: 'POST', headers: { 'X-VTEX-API-AppKey': `spray-${i}`, 'X-VTEX-API-AppToken': 'x' }, body: '{}' })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  // One IPv6 client holds a whole /64 (often a /56): addresses of one prefix are one source, as
  // the onboarding limit (express-rate-limit's key) already counts them.
  it('forged Payment App tokens from rotating addresses of one IPv6 prefix share one limit', async () => {
    t = await startTestServer({ POSBRIDGE_TRUST_PROXY: 'loopback', POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const from = { 'X-Forwarded-For': `2001:db8:1:2::${i.toString(16)}` };
      statuses.push((await fetch(`${t.server.url}/pos/v1/status/Rk9SR0VE.${'A'.repeat(43)}`, { headers: from })).status);
    }
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    // Another prefix is another source.
    expect((await fetch(`${t.server.url}/pos/v1/status/Rk9SR0VE.${'A'.repeat(43)}`, { headers: { 'X-Forwarded-For': '2001:db8:9::1' } })).status).toBe(404);
  });

  it('unknown appKeys from rotating addresses of one IPv6 prefix share one limit', async () => {
    t = await startTestServer({ POSBRIDGE_TRUST_PROXY: 'loopback', POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const headers = { 'X-VTEX-API-AppKey': `spray-${i}`, 'X-VTEX-API-AppToken': 'x', 'X-Forwarded-For': `2001:db8:1:2:${i}::1` };
      statuses.push((await fetch(`${t.server.url}/payments`, { method: 'POST', headers, body: '{}' })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  // A 403 PPP_MERCHANT_MISMATCH answers valid credentials (e.g. a second VTEX account sharing
  // them): it is no failed authentication, and must not lock the merchant's own valid calls out.
  it('answers to valid credentials (403 merchant mismatch) never count as failed authentications', async () => {
    t = await startTestServer({ POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    const { newMerchantCredentials } = await import('../ppp/authorization-router.ts');
    const { hashAppToken } = await import('../ppp/auth.ts');
    const named = newMerchantCredentials();
    await t.server.store.createMerchant({ merchantId: named.merchantId, name: 'named', appKey: named.appKey, appTokenSha256: hashAppToken(named.appToken), callbackMode: 'notification', createdAt: 0 });
    const headers = { 'Content-Type': 'application/json', 'X-VTEX-API-AppKey': named.appKey, 'X-VTEX-API-AppToken': named.appToken };
    const create = async (body: Record<string, unknown>) => (await fetch(`${t!.server.url}/payments`, { method: 'POST', headers, body: JSON.stringify(body) })).status;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push(await create(createPaymentBody({ paymentId: `MISMATCH${i}`, merchantName: 'another-account' })));
    expect(statuses).toEqual([403, 403, 403, 403, 403]);
    expect(await create(createPaymentBody({ paymentId: 'AFTER-MISMATCH', merchantName: 'named' }))).toBe(200);
  });
});
