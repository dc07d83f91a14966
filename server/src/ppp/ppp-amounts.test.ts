/**
 * Unchargeable amounts (issue 10 item 18): Create Payment refuses `value` 0 and anything above
 * the most a terminal's amount field carries (99,999,999 minor units, Concert E+), with a 400 in
 * the PPP error shape naming `value`, validated against the OpenAPI. Real server on port 0.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUTH_HEADERS, createPaymentBody, startTestServer, type TestServer } from '../testing/helpers.ts';
import { expectPppContract } from '../testing/ppp-contract.ts';

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${t.server.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...AUTH_HEADERS },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as Record<string, unknown> };
}

const paymentBody = (paymentId: string, overrides: Record<string, unknown> = {}) => createPaymentBody({ paymentId, ...overrides });

describe('unchargeable amounts', () => {
  it.each([
    ['zero', 0, 'BRL'],
    ['above 99,999,999 minor units (BRL)', 1_000_000, 'BRL'],
    ['a value near Number.MAX_SAFE_INTEGER minor units', 9007199254740.99, 'BRL'],
    ['above 99,999,999 minor units (CLP, no decimals)', 100_000_000, 'CLP'],
  ])('refuses %s at Create Payment with a 400 naming `value`; nothing is stored', async (_name, value, currency) => {
    const res = await call('POST', '/payments', paymentBody('AM1', { value, currency }));
    expect(res.status).toBe(400);
    expectPppContract('/payments', 'post', 400, res.json);
    expect(res.json).toMatchObject({ status: 'error', code: 'MONEY_AMOUNT_OUT_OF_RANGE' });
    expect(String(res.json['message'])).toMatch(/^value: /);
    expect(await t.server.store.getPayment('AM1')).toBeNull();
  });

  it.each([
    [0.01, 'BRL'],
    [999_999.99, 'BRL'],
    [99_999_999, 'CLP'],
  ])('accepts the bounds themselves: %s %s', async (value, currency) => {
    const res = await call('POST', '/payments', paymentBody(`AM-${currency}-${value}`, { value, currency }));
    expect(res.status).toBe(200);
    expectPppContract('/payments', 'post', 200, res.json);
  });
});
