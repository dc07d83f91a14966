/**
 * Create Payment of a paymentId this process has not answered (./recent-ids.ts is only a hint):
 * after a restart, a repeat goes to the idempotent insert without a read first, and is still
 * answered as the one stored payment — same tid, one `created` event — also when its callbackUrl
 * would now be refused by the host policy (a repeat is never refused by it, docs/ppp.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createPaymentBody, startTestServer, tempDir, type TestServer } from '../testing/helpers.ts';

let servers: TestServer[] = [];
const tmp = tempDir();
afterEach(async () => {
  for (const s of servers) await s.close();
  servers = [];
});

describe('Create Payment of an id the process has not seen', () => {
  it('after a restart a repeat is the stored payment, never a second one, even when its callback host no longer passes', async () => {
    const body = createPaymentBody({ paymentId: 'REPEAT1', callbackUrl: 'https://shop.vtexpayments.com.br/api/cb?X-VTEX-signature=s' });
    const first = await startTestServer({ POSBRIDGE_CALLBACK_ALLOW_HOSTS: '' }, tmp.dir, { resolveCallbackHost: async () => [{ address: '52.67.10.20', family: 4 }] });
    servers.push(first);
    const created = await first.createPayment(body);
    expect(created.status).toBe(200);
    await first.close();
    servers = [];

    // A new process: the id is not in its recent set, and the host now resolves to a private address.
    const second = await startTestServer({ POSBRIDGE_CALLBACK_ALLOW_HOSTS: '' }, tmp.dir, { resolveCallbackHost: async () => [{ address: '169.254.169.254', family: 4 }] });
    servers.push(second);
    const repeat = await second.createPayment(body);
    expect(repeat.status).toBe(200);
    expect(repeat.json['tid']).toBe(created.json['tid']);
    expect(repeat.json['status']).toBe('undefined');
    expect((await second.server.store.listPaymentEvents('REPEAT1')).filter((e) => e.type === 'created')).toHaveLength(1);
    // A new id with that host is refused, as before.
    const refused = await second.createPayment({ ...body, paymentId: 'REPEAT2' });
    expect(refused.status).toBe(400);
    expect(await second.server.store.getPayment('REPEAT2')).toBeNull();
    // And the repeat is now known to the process: answered again, still one payment.
    expect((await second.createPayment(body)).json['tid']).toBe(created.json['tid']);
  });
});
