/**
 * The Gift Card Provider endpoints on PostgreSQL, over real HTTP: many parallel Debits on one
 * card (the pool runs them concurrently; `SELECT … FOR UPDATE` on the card row decides them one at
 * a time) never overdraw it, and parallel repeats of one requestId append once.
 * @requires-program postgres
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type ThrowawayPostgres } from '@posbridge/testkit';
import { startTestServer } from '../../testing/helpers.ts';
import { issueProviderCredentials } from '../provider-credentials.ts';

let pg: ThrowawayPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

const debit = (value: number, requestId: string) => ({ operation: 'Debit', value, requestId, description: 'hub', orderInfo: { orderId: 'o1' } });

describe('gift card provider over HTTP (PostgreSQL)', () => {
  it('40 parallel debits of 1.00 on a 10.00 card: exactly 10 pass; 10 parallel repeats append once', async () => {
    const t = await startTestServer({ POSBRIDGE_DATABASE_URL: pg.url, POSBRIDGE_SUBMIT_SECRET: 'pg-giftcard-submit-secret-0123456789' });
    try {
      const cred = await issueProviderCredentials(t.server.store, 'acme', Date.now());
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${t.server.url}/giftcard-provider/acme${path}`, {
          method,
          headers: { 'Content-Type': 'application/json', 'X-PROVIDER-API-AppKey': cred.appKey, 'X-PROVIDER-API-AppToken': cred.appToken },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return { status: res.status, json: (await res.json()) as Record<string, unknown> };
      };
      const card = await call('POST', '/giftcards', { relationName: 'loyalty', caption: 'c', profileId: 'p1', currencyCode: 'BRL' });
      const id = String(card.json['id']);
      expect((await call('POST', `/giftcards/${id}/transactions`, { ...debit(10, 'load'), operation: 'Credit' })).status).toBe(200);
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => call('POST', `/giftcards/${id}/transactions`, debit(1, `d${i}`))));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(10);
      expect(answers.filter((a) => a.json['code'] === 'GIFTCARD_INSUFFICIENT_BALANCE')).toHaveLength(30);
      expect((await call('GET', `/giftcards/${id}`)).json['balance']).toBe(0);
      await call('POST', `/giftcards/${id}/transactions`, { ...debit(5, 'load-2'), operation: 'Credit' });
      const repeats = await Promise.all(Array.from({ length: 10 }, () => call('POST', `/giftcards/${id}/transactions`, debit(2, 'same'))));
      expect(repeats.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
      expect(new Set(repeats.map((r) => r.json['id'])).size).toBe(1);
      expect((await call('GET', `/giftcards/${id}`)).json['balance']).toBe(3);
    } finally {
      await t.close();
    }
  }, 60_000);
});
