/**
 * `paymentAppData.appName` per merchant (docs/ppp.md "Payment Apps"): VTEX's own apps by default,
 * the partner's installed VTEX IO app (`vendor.name`) for both steps once configured, with the
 * same payloads (`submitUrl` …, `secondsWaiting` …) either way. Real server, SQLite on disk,
 * real HTTP and a WebSocket agent for the wait step.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentAppNamesOf, PaymentAppIdSchema, VTEX_PAYMENT_APPS } from '@posbridge/protocol/ppp';
import { BOOTSTRAP_MERCHANT_ID } from '../ports/directory.ts';
import { connectAgent, createPaymentBody, startTestServer, type TestAgent, type TestServer } from '../testing/helpers.ts';
import { paymentAppSetting } from './payment-app-setting.ts';

let t: TestServer & { dir: string };
let agent: TestAgent;
beforeAll(async () => {
  t = await startTestServer();
  agent = await connectAgent(t.server.url, (await t.server.issueAgentToken('till')).token);
  await agent.hello(['APP0001']);
});
afterAll(async () => {
  await agent.close();
  await t.close();
});

const setApp = (paymentApp: string | null) =>
  t.server.store.setMerchantPaymentApp({ merchantId: BOOTSTRAP_MERCHANT_ID, paymentApp, actor: 'test', at: Date.now() });

async function appData(paymentId: string): Promise<{ appName: string; payload: Record<string, unknown> }> {
  const res = await t.createPayment(createPaymentBody({ paymentId }));
  expect(res.status).toBe(200);
  const data = res.json['paymentAppData'] as { appName: string; payload: string };
  return { appName: data.appName, payload: JSON.parse(data.payload) as Record<string, unknown> };
}

describe('paymentAppData.appName per merchant', () => {
  it("answers VTEX's own apps by default", async () => {
    const first = await appData('PA1');
    expect(first.appName).toBe('vtex.terminal-connector-app');
    expect(Object.keys(first.payload).sort()).toEqual(['cancelUrl', 'statusUrl', 'submitUrl', 'terminalsUrl']);
  });

  it("answers the partner's app for both steps once configured, with VTEX-compatible payloads, and VTEX's again after default", async () => {
    await setApp('acme.posbridge-pay');
    const connect = await appData('PA2');
    expect(connect.appName).toBe('acme.posbridge-pay');
    expect(typeof connect.payload['submitUrl']).toBe('string');
    const bind = await fetch(String(connect.payload['submitUrl']), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ serialNumber: 'APP0001' }),
    });
    expect(bind.status).toBe(200);
    const wait = await appData('PA2');
    expect(wait.appName).toBe('acme.posbridge-pay');
    expect(wait.payload).toEqual({ secondsWaiting: expect.any(Number), statusUrl: connect.payload['statusUrl'], cancelUrl: connect.payload['cancelUrl'] });
    // An old payment's repeat follows the merchant's current setting too: VTEX opens what is installed.
    await setApp(null);
    expect((await appData('PA2')).appName).toBe('vtex.challenge-wait-for-confirmation');
    expect((await appData('PA3')).appName).toBe('vtex.terminal-connector-app');
  });
});

describe('the setting', () => {
  it('accepts vendor.name and default; refuses VTEX vendor, versions, upper case and junk with a reason', () => {
    expect(paymentAppSetting('default')).toEqual({ ok: true, value: null });
    expect(paymentAppSetting(' acme.posbridge-pay ')).toEqual({ ok: true, value: 'acme.posbridge-pay' });
    expect(paymentAppSetting('acme2.pay2')).toEqual({ ok: true, value: 'acme2.pay2' });
    for (const bad of ['vtex.terminal-connector-app', 'acme.pay@1.0.0', 'Acme.pay', 'acme', 'acme.pay-', 'acme.-pay', 'acme.pay--x', '.pay', 'acme.', 'a-b.pay', `${'a'.repeat(65)}.pay`, '']) {
      const r = paymentAppSetting(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.error).toContain('(or default)');
    }
    expect(PaymentAppIdSchema.safeParse('vtex.x').error?.issues[0]?.message).toContain('default');
    expect(paymentAppNamesOf(undefined)).toBe(VTEX_PAYMENT_APPS);
    expect(paymentAppNamesOf('acme.pay')).toEqual({ connector: 'acme.pay', wait: 'acme.pay' });
  });
});
