/**
 * VTEX sandbox mode (issue 16 item 3, docs/homologation.md "Sandbox mode") through the real
 * server on SQLite on disk over HTTP: a Create Payment with `sandBoxMode` (or `sandboxMode`)
 * `true` is answered `denied` with `SANDBOX_NOT_ALLOWED` and nothing stored while the merchant
 * denies sandbox payments on its terminals (the default); when the merchant allows it, the payment
 * is created with the flag on the payment, in its `created` event and in the log, and runs on a
 * real terminal; a Test Suite payment on the virtual terminal is never refused (it is not a
 * production terminal); a rule changed to deny after creation refuses the terminal (409).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOOTSTRAP_MERCHANT_ID } from '../ports/directory.ts';
import { AUTH_HEADERS, connectAgent, createPaymentBody, isServerMessage, startTestServer, type TestAgent, type TestServer } from '../testing/helpers.ts';
import { expectPppContract } from '../testing/ppp-contract.ts';

let t: TestServer & { dir: string };
let agent: TestAgent;

beforeAll(async () => {
  t = await startTestServer();
  agent = await connectAgent(t.server.url, (await t.server.issueAgentToken('desk')).token);
  await agent.hello(['SN1']);
});
afterAll(async () => {
  await agent.close();
  await t.close();
});

const allow = (on: boolean) => t.server.store.setMerchantSandboxTerminals({ merchantId: BOOTSTRAP_MERCHANT_ID, allow: on, actor: 'test', at: Date.now() });

async function create(body: Record<string, unknown>, headers: Record<string, string> = AUTH_HEADERS) {
  const res = await fetch(`${t.server.url}/payments`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  expect(res.status).toBe(200);
  expectPppContract('/payments', 'post', 200, json);
  return json;
}

async function submit(answer: Record<string, unknown>, serialNumber: string) {
  const { submitUrl } = JSON.parse((answer['paymentAppData'] as { payload: string }).payload) as { submitUrl: string };
  const res = await fetch(submitUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ serialNumber }) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('sandbox mode', () => {
  it('denies a sandbox payment of a merchant that does not allow it (the default), in either spelling, storing nothing', async () => {
    for (const [paymentId, flag] of [['SBX-DENY-1', 'sandBoxMode'], ['SBX-DENY-2', 'sandboxMode']] as const) {
      const answer = await create(createPaymentBody({ paymentId, [flag]: true }));
      expect(answer).toMatchObject({ paymentId, status: 'denied', code: 'SANDBOX_NOT_ALLOWED', authorizationId: null });
      expect(String(answer['message'])).toMatch(/--sandbox-terminals allow/);
      expect(await t.server.store.getPayment(paymentId)).toBeNull();
      expect(t.lines.some((l) => l['msg'] === 'sandbox payment refused: the merchant does not allow sandbox payments on its terminals; denied' && l['paymentId'] === paymentId && l['sandbox'] === true)).toBe(true);
    }
    // Not sandbox (false or absent): an ordinary POS payment, not flagged.
    const plain = await create(createPaymentBody({ paymentId: 'SBX-PLAIN', sandBoxMode: false }));
    expect(plain['status']).toBe('undefined');
    expect((await t.server.store.getPayment('SBX-PLAIN'))?.sandbox).toBeUndefined();
  });

  it('when the merchant allows it: created with the flag on the payment, its created event and its log line, and run on the real terminal', async () => {
    await allow(true);
    expect((await t.server.store.getMerchant(BOOTSTRAP_MERCHANT_ID))?.sandboxTerminals).toBe('allow');
    const answer = await create(createPaymentBody({ paymentId: 'SBX-ALLOW', sandBoxMode: true }));
    expect(answer['status']).toBe('undefined');
    expect((await t.server.store.getPayment('SBX-ALLOW'))?.sandbox).toBe(true);
    const events = await t.server.store.listPaymentEvents('SBX-ALLOW');
    expect(events[0]).toMatchObject({ type: 'created' });
    expect(events[0]?.data).toMatchObject({ sandbox: true });
    expect(t.lines.find((l) => l['msg'] === 'payment created' && l['paymentId'] === 'SBX-ALLOW')).toMatchObject({ sandbox: true });
    expect((await submit(answer, 'SN1')).status).toBe(200);
    await agent.waitForMessage(isServerMessage('payment.start'));
    // The request log marks sandbox requests on every PPP route (here a cancel with sandboxMode).
    await fetch(`${t.server.url}/payments/SBX-ALLOW/cancellations`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS },
      body: JSON.stringify({ paymentId: 'SBX-ALLOW', requestId: 'C-SBX', authorizationId: null, sandboxMode: true }),
    });
    expect(t.lines.some((l) => l['msg'] === 'request completed' && l['path'] === '/payments/SBX-ALLOW/cancellations' && l['sandbox'] === true)).toBe(true);
    expect(t.lines.some((l) => l['msg'] === 'request completed' && l['paymentId'] === 'SBX-PLAIN' && l['sandbox'] === true)).toBe(false);
  });

  it('refuses the terminal (409 POS_SANDBOX_REFUSED) when the rule was changed to deny after Create Payment', async () => {
    await allow(true);
    const answer = await create(createPaymentBody({ paymentId: 'SBX-LATER', sandBoxMode: true }));
    await allow(false);
    const refused = await submit(answer, 'SN1');
    expect(refused).toMatchObject({ status: 409, json: { code: 'POS_SANDBOX_REFUSED', retryable: false } });
    expect((await t.server.store.getPayment('SBX-LATER'))?.status).toBe('awaiting_terminal');
    // A repeat Create Payment answers the stored payment (the rule is checked for new payments only).
    expect((await create(createPaymentBody({ paymentId: 'SBX-LATER', sandBoxMode: true })))['status']).toBe('undefined');
  });

  it('a Test Suite payment on the virtual terminal is not refused: the virtual terminal is not a production terminal', async () => {
    await allow(false);
    await t.server.store.setMerchantTestSuite({ merchantId: BOOTSTRAP_MERCHANT_ID, on: true, actor: 'test', at: Date.now() });
    try {
      const body = createPaymentBody({ paymentId: 'SBX-SUITE', sandBoxMode: true, card: { holder: 'J', number: '4444333322221111', csc: '123', expiration: { month: '12', year: '2030' }, document: null, token: null } });
      const answer = await create(body, { ...AUTH_HEADERS, 'X-VTEX-API-Is-TestSuite': 'true' });
      expect(answer['status']).toBe('approved');
      expect(await t.server.store.getPayment('SBX-SUITE')).toMatchObject({ sandbox: true, testSuite: true });
      // Without the header the same merchant's sandbox payment is refused.
      expect((await create(createPaymentBody({ paymentId: 'SBX-NOHDR', sandBoxMode: true })))['code']).toBe('SANDBOX_NOT_ALLOWED');
    } finally {
      await t.server.store.setMerchantTestSuite({ merchantId: BOOTSTRAP_MERCHANT_ID, on: false, actor: 'test', at: Date.now() });
    }
  });
});
