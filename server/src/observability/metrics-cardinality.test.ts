/**
 * Issue 10 item 14: unknown paths never create new series of the request histogram (300
 * requests to 300 unknown paths made 300 series): every label is a route template or `other`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createPaymentBody, startTestServer, type TestServer } from '../testing/helpers.ts';

const TEMPLATES = [
  '/payments',
  '/payments/:paymentId/cancellations',
  '/payments/:paymentId/settlements',
  '/payments/:paymentId/refunds',
  '/payments/:paymentId/inbound/:action',
  '/authorization/token',
  '/authorization/redirect',
  '/authorization/credentials',
  '/pos/v1/submit/:token',
  '/pos/v1/status/:token',
  '/pos/v1/terminals/:token',
  '/pos/v1/cancel/:token',
  '/pos/app/*',
  '/giftcard-provider/*',
  '/manifest',
  '/healthz',
  '/readyz',
  '/metrics',
  'other',
];

describe('metric cardinality', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('300 requests to unknown paths add no series beyond the templates', async () => {
    t = await startTestServer();
    await t.createPayment(createPaymentBody({ paymentId: 'CARD1' }));
    const paths = Array.from({ length: 300 }, (_, i) =>
      [`/random-${i}`, `/payments/P${i}/nope${i}`, `/pos/v1/x${i}/y`, `/authorization/a${i}`, `/pos/app/f${i}.js`, `/payments-${i}`][i % 6]!,
    );
    for (let i = 0; i < paths.length; i += 30) await Promise.all(paths.slice(i, i + 30).map((p) => fetch(`${t!.server.url}${p}`).then((r) => r.arrayBuffer())));
    const text = await (await fetch(`${t.server.url}/metrics`)).text();
    const routes = new Set([...text.matchAll(/posbridge_http_request_duration_seconds_count\{[^}]*route="([^"]*)"/g)].map((m) => m[1]));
    expect([...routes].every((r) => TEMPLATES.includes(r!))).toBe(true);
    expect(routes.has('other')).toBe(true);
    expect(routes.has('/payments')).toBe(true);
    const series = [...text.matchAll(/^posbridge_http_request_duration_seconds_count\{/gm)].length;
    expect(series).toBeLessThan(20);
  });
});
