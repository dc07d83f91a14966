/**
 * Regression (found by `npm run bench`): the failed-authentication limiter counted every
 * request while it was in flight, and a request the client aborted as a failure. A gateway with
 * more concurrent calls than the limit, or a few timed-out calls, then got 429 on correctly
 * authenticated requests. Only answered authentication failures may count.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH_HEADERS, createPaymentBody, startTestServer, type TestServer } from '../testing/helpers.ts';

describe('failed-authentication limiter counts only failures', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('lets more concurrent authenticated calls through than the failure limit', async () => {
    t = await startTestServer({ POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => t!.createPayment(createPaymentBody({ paymentId: `CONC${i}` }))),
    );
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 30 }, () => 200));
  });

  it('does not count requests the client aborted', async () => {
    t = await startTestServer({ POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    const { port } = new URL(t.server.url);
    // Open 6 authenticated requests and abort each before the body is complete.
    for (let i = 0; i < 6; i++) {
      await new Promise<void>((resolve) => {
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/payments', headers: { ...AUTH_HEADERS, 'content-type': 'application/json', 'content-length': '1000' } });
        req.on('error', () => resolve());
        req.write('{"paymentId":');
        // Real time on purpose: the point is a real TCP client going away mid-body.
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 30);
      });
    }
    // Real time on purpose: the server must see the six TCP aborts, and nothing it exposes marks
    // that (an aborted request is never answered, so it is neither logged nor counted).
    await new Promise((r) => setTimeout(r, 50));
    const ok = await t.createPayment(createPaymentBody({ paymentId: 'AFTER-ABORTS' }));
    expect(ok.status).toBe(200);
  });
});
