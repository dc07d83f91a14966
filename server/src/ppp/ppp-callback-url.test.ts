/**
 * Create Payment applies the callback host policy (docs/ppp.md "Callbacks"): a callbackUrl
 * that would send the partner credentials anywhere but VTEX's gateway is refused with a 400
 * naming the field, and nothing is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostResolver } from '../callbacks/callback-url-policy.ts';
import { createPaymentBody, startTestServer, type TestServer } from '../testing/helpers.ts';
import { expectPppContract } from '../testing/ppp-contract.ts';

/** DNS of the test: gateway hosts resolve publicly, `rebind` / `mixed` to internal addresses. */
const resolveCallbackHost: HostResolver = async (hostname) => {
  switch (hostname) {
    case 'gatewayqa.vtexpayments.com.br':
    case 'coinshop.vtexpayments.com.br':
      return [{ address: '52.67.10.20', family: 4 }];
    case 'rebind.vtexpayments.com.br':
      return [{ address: '169.254.169.254', family: 4 }];
    case 'mixed.vtexpayments.com.br':
      return [
        { address: '52.67.10.21', family: 4 },
        { address: 'fd00:ec2::254', family: 6 },
      ];
    default:
      throw Object.assign(new Error(`queryA ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  }
};

let t: TestServer;
beforeAll(async () => {
  // No allowlist: the production default policy (https hosts under vtexpayments.com.br).
  t = await startTestServer({ POSBRIDGE_CALLBACK_ALLOW_HOSTS: '' }, undefined, { resolveCallbackHost });
});
afterAll(async () => {
  await t.close();
});

describe('Create Payment callbackUrl host policy', () => {
  it('accepts the callbackUrl shapes VTEX sends (https, vtexpayments.com.br)', async () => {
    const urls = [
      'https://gatewayqa.vtexpayments.com.br/api/pvt/payment-provider/transactions/8FB0F111111122222333344449984ACB/payments/A2A9A25B11111111222222333327883C/callback?accountName=teampaymentsintegrations&X-VTEX-signature=Rtk0123',
      'https://coinshop.vtexpayments.com.br/payment-provider/transactions/900BA26FEAC84332A53AE1007E740DE3/payments/E713830E32764BF99028A0A275841BFC/notification',
      // The retry shape of VTEX IO connectors (docs/protocol/vtex-ppp.md §6.1), host in another letter case.
      'https://CoinShop.VTEXpayments.com.br/payment-provider/transactions/900BA26FEAC84332A53AE1007E740DE3/payments/E713830E32764BF99028A0A275841BFD/retry',
    ];
    for (const [i, callbackUrl] of urls.entries()) {
      const res = await t.createPayment(createPaymentBody({ paymentId: `OK${i}`, callbackUrl }));
      expect(res.status, callbackUrl).toBe(200);
      expectPppContract('/payments', 'post', 200, res.json);
      expect(res.json['status']).toBe('undefined');
    }
  });

  it.each([
    ['the metadata address', 'https://169.254.169.254/latest/meta-data/iam/'],
    ['a private address over http', 'http://10.0.0.1/cb'],
    ['a private address', 'https://10.0.0.1/cb'],
    ['loopback', 'https://127.0.0.1/cb'],
    ['a decimal IP', 'https://2852039166/cb'],
    ['an octal IP', 'https://0251.0376.0251.0376/cb'],
    ['a hex IP', 'https://0xa9fea9fe/cb'],
    ['an IPv6-mapped IP', 'https://[::ffff:169.254.169.254]/cb'],
    ['IPv6 loopback', 'https://[::1]/cb'],
    ['another domain', 'https://api.example.com/some-path/to-notify/status-changes?an=mystore'],
    ['a look-alike domain', 'https://evilvtexpayments.com.br/cb'],
    ['the suffix inside another domain', 'https://x.vtexpayments.com.br.evil.example/cb'],
    ['a gateway host over http', 'http://gatewayqa.vtexpayments.com.br/cb'],
    ['a gateway host on another port', 'https://gatewayqa.vtexpayments.com.br:8443/cb'],
    ['user info', 'https://user:pass@gatewayqa.vtexpayments.com.br/cb'],
    ['a gateway name that resolves to the metadata address', 'https://rebind.vtexpayments.com.br/cb'],
    ['a gateway name with one internal address', 'https://mixed.vtexpayments.com.br/cb'],
  ])('refuses %s with a 400 naming callbackUrl, storing nothing', async (_what, callbackUrl) => {
    const paymentId = `BAD-${Buffer.from(callbackUrl).toString('hex').slice(-24)}`;
    const res = await t.createPayment(createPaymentBody({ paymentId, callbackUrl }));
    expect(res.status).toBe(400);
    expectPppContract('/payments', 'post', 400, res.json);
    expect(res.json).toMatchObject({ status: 'error', code: 'PPP_INVALID_REQUEST' });
    expect(String(res.json['message'])).toContain('callbackUrl');
    expect(await t.server.store.getPayment(paymentId)).toBeNull();
  });

  it('accepts a gateway host DNS cannot resolve right now, with a warning (the delivery checks again)', async () => {
    const res = await t.createPayment(createPaymentBody({ paymentId: 'NXDOMAIN1', callbackUrl: 'https://down.vtexpayments.com.br/cb' }));
    expect(res.status).toBe(200);
    expect(t.lines.find((l) => l['msg'] === 'callbackUrl host did not resolve; checked again at delivery')).toMatchObject({
      paymentId: 'NXDOMAIN1',
      dnsError: 'ENOTFOUND',
      level: 40,
    });
  });
});
