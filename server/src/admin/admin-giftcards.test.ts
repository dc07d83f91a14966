/**
 * The admin API's gift card routes (docs/admin-api.md "Gift cards"): a client's cards and a card
 * with its balance and whole journal, schema-validated (docs/admin-api.schema.json), no
 * redemption code digest; 401 without credentials, 403 for another merchant's scoped
 * credentials, 404 for a card the merchant does not hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAdminContract } from '../testing/admin-contract.ts';
import { startAdminFixture, type AdminFixture } from '../testing/admin-fixture.ts';

let f: AdminFixture;
const DIGEST = 'd1'.repeat(32);
beforeAll(async () => {
  f = await startAdminFixture();
  const card = (id: string, profileId: string, createdAt: number, digest: string) => ({
    id,
    merchantName: 'shop',
    profileId,
    relationName: 'loyalty',
    caption: 'Vale-presente',
    currency: 'BRL',
    emittedAt: 1_000,
    expiresAt: null,
    restrictedToOwner: false,
    multipleRedemptions: true,
    multipleCredits: true,
    redemptionCodeDigest: digest,
    createdAt,
  });
  await f.store.createGiftCard(card('gc_a', 'prof-1', 2_000, DIGEST));
  await f.store.createGiftCard(card('gc_b', 'prof-1', 3_000, 'e2'.repeat(32)));
  await f.store.createGiftCard(card('gc_c', 'prof-2', 4_000, 'f3'.repeat(32)));
  const append = async (entryId: string, kind: 'credit' | 'debit' | 'cancellation', amountMinor: number, extra: Record<string, string> = {}) => {
    const r = await f.store.appendGiftCardEntry('shop', { cardId: 'gc_a', entryId, requestId: `req-${entryId}`, kind, amountMinor, ...extra }, 10_000);
    expect(r.kind).toBe('appended');
  };
  await append('gct_1', 'credit', 10_000, { description: 'issued' });
  await append('gct_2', 'debit', 3_190, { orderId: 'v-1001' });
  await append('gct_3', 'cancellation', 1_000, { transactionId: 'gct_2', orderId: 'v-1001' });
});
afterAll(async () => {
  await f.close();
});

type Row = Record<string, unknown>;

describe('gift cards', () => {
  it("lists a client's cards oldest first, in a bounded page, without the redemption code digest", async () => {
    const res = await f.call('GET', '/admin/v1/giftcards?merchant=shop&profile=prof-1', { bearer: f.tokens.viewer });
    expect(res.status).toBe(200);
    expectAdminContract('GiftCards', res.json);
    expect((res.json['cards'] as Row[]).map((c) => c['cardId'])).toEqual(['gc_a', 'gc_b']);
    expect(JSON.stringify(res.json)).not.toContain(DIGEST);
    const one = await f.call('GET', '/admin/v1/giftcards?merchant=shop&profile=prof-1&limit=1', { bearer: f.tokens.viewer });
    expect((one.json['cards'] as Row[]).map((c) => c['cardId'])).toEqual(['gc_a']);
    const none = await f.call('GET', '/admin/v1/giftcards?merchant=shop&profile=nobody', { bearer: f.tokens.viewer });
    expect(none.json).toEqual({ cards: [] });
    for (const bad of ['', '?merchant=shop', '?profile=prof-1', '?merchant=shop&profile=prof-1&limit=101', '?merchant=shop&profile=prof-1&color=red', `?merchant=shop&profile=${'x'.repeat(129)}`]) {
      const r = await f.call('GET', `/admin/v1/giftcards${bad}`, { bearer: f.tokens.viewer });
      expect(r.status, bad).toBe(400);
      expectAdminContract('Error', r.json);
    }
  });

  it('shows a card with its balance and its whole journal, oldest first', async () => {
    const res = await f.call('GET', '/admin/v1/giftcards/gc_a?merchant=shop', { bearer: f.tokens.viewer });
    expect(res.status).toBe(200);
    expectAdminContract('GiftCardDetail', res.json);
    expect(res.json['card']).toMatchObject({ cardId: 'gc_a', currency: 'BRL', balanceMinor: 7_810, expiresAt: null });
    expect((res.json['journal'] as Row[]).map((e) => [e['seq'], e['kind'], e['amountMinor'], e['balanceAfterMinor'], e['transactionId'], e['orderId']])).toEqual([
      [1, 'credit', 10_000, 10_000, null, null],
      [2, 'debit', 3_190, 6_810, null, 'v-1001'],
      [3, 'cancellation', 1_000, 7_810, 'gct_2', 'v-1001'],
    ]);
    const text = JSON.stringify(res.json);
    expect(text).not.toContain(DIGEST);
    expect(text).not.toContain('fingerprint');
    const empty = await f.call('GET', '/admin/v1/giftcards/gc_b?merchant=shop', { bearer: f.tokens.viewer });
    expectAdminContract('GiftCardDetail', empty.json);
    expect(empty.json).toMatchObject({ card: { balanceMinor: 0 }, journal: [] });
  });

  it('answers 401 without credentials, 403 out of scope, 404 for a card the merchant does not hold', async () => {
    for (const path of ['/admin/v1/giftcards?merchant=shop&profile=prof-1', '/admin/v1/giftcards/gc_a?merchant=shop']) {
      const anon = await f.call('GET', path);
      expect(anon.status, path).toBe(401);
      expectAdminContract('Error', anon.json);
      const other = await f.call('GET', path, { bearer: f.tokens.otherOperator });
      expect(other.status, path).toBe(403);
      expect(other.json['code']).toBe('ADMIN_FORBIDDEN');
    }
    // A scoped caller sees its own merchant's (empty) ledger, and may not probe other names.
    expect((await f.call('GET', '/admin/v1/giftcards?merchant=other&profile=prof-1', { bearer: f.tokens.otherOperator })).json).toEqual({ cards: [] });
    expect((await f.call('GET', '/admin/v1/giftcards?merchant=nope&profile=prof-1', { bearer: f.tokens.otherOperator })).status).toBe(403);
    expect((await f.call('GET', '/admin/v1/giftcards/gc_a?merchant=other', { bearer: f.tokens.otherOperator })).status).toBe(404);
    expect((await f.call('GET', '/admin/v1/giftcards/gc_a?merchant=other', { bearer: f.tokens.viewer })).status).toBe(404);
    const missing = await f.call('GET', '/admin/v1/giftcards/gc_none?merchant=shop', { bearer: f.tokens.viewer });
    expect(missing.status).toBe(404);
    expectAdminContract('Error', missing.json);
  });
});
