/**
 * Contract of the gift card ledger's store (./giftcards.ts `GiftCardsPort`): every adapter runs
 * these same assertions (memory and SQLite through ./contracts.ts, PostgreSQL in
 * adapters/postgres/postgres-contract.test.ts), including many parallel debits on one card that
 * must never drive its balance below zero and parallel repeats of one request. Takes just the port.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { usePort, type PortFixture } from './contract-helpers.ts';
import type { AppendEntryResult, EntryRequest, GiftCard, GiftCardsPort, JournalEntry } from './giftcards.ts';

const digest = (text: string) => createHash('sha256').update(text).digest('hex');

/** Card `id` of merchant `M` owned by `owner@example.com`, 50.00 BRL-capable, valid 1000…10^9. */
export function giftCard(id: string, overrides: Partial<GiftCard> = {}): GiftCard {
  return {
    id,
    merchantName: 'M',
    profileId: 'owner@example.com',
    relationName: 'loyalty',
    caption: `Card ${id}`,
    currency: 'BRL',
    emittedAt: 1000,
    expiresAt: 1_000_000_000,
    restrictedToOwner: false,
    multipleRedemptions: true,
    multipleCredits: true,
    redemptionCodeDigest: digest(`code-${id}`),
    createdAt: 1000,
    ...overrides,
  };
}

let seq = 0;
/** A request on card `cardId` (new entry id and requestId unless given). */
function entry(cardId: string, kind: EntryRequest['kind'], amountMinor: number, more: Partial<EntryRequest> = {}): EntryRequest {
  seq++;
  return { cardId, entryId: `gct_${seq}_${Math.random().toString(36).slice(2)}`, requestId: `req_${seq}_${Math.random().toString(36).slice(2)}`, kind, amountMinor, ...more };
}

/** The entry of an `appended` result (fails the test otherwise). */
function appendedEntry(result: AppendEntryResult): JournalEntry {
  if (result.kind !== 'appended') throw new Error(`expected an appended entry, got ${JSON.stringify(result)}`);
  return result.entry;
}

/** Registers the gift card contract of `name` against fixtures made by `make` (each: a new, empty store). */
export function giftCardsContract(name: string, make: () => Promise<PortFixture<GiftCardsPort>>): void {
  describe(`GiftCardsPort contract: ${name}`, () => {
    const port = usePort(make);

    it('stores cards and finds them by id, by redemption-code digest and by owner, per merchant', async () => {
      const a = giftCard('gc_a');
      expect(await port().createGiftCard(a)).toEqual(a);
      await port().createGiftCard(giftCard('gc_b', { expiresAt: null, restrictedToOwner: true }));
      await port().createGiftCard(giftCard('gc_c', { profileId: 'other' }));
      await port().createGiftCard(giftCard('gc_d', { merchantName: 'N' }));
      expect(await port().findGiftCard('M', 'gc_a')).toEqual(a);
      expect(await port().findGiftCard('N', 'gc_a')).toBeNull();
      expect(await port().findGiftCard('M', 'gc_x')).toBeNull();
      expect(await port().findGiftCardByCodeDigest('M', a.redemptionCodeDigest)).toEqual(a);
      expect(await port().findGiftCardByCodeDigest('N', a.redemptionCodeDigest)).toBeNull();
      expect((await port().listGiftCardsOfClient('M', 'owner@example.com', 10)).map((c) => c.id)).toEqual(['gc_a', 'gc_b']);
      expect((await port().findGiftCard('M', 'gc_b'))?.expiresAt).toBeNull();
      expect((await port().listGiftCardsOfClient('M', 'owner@example.com', 1)).map((c) => c.id)).toEqual(['gc_a']);
      expect(await port().getGiftCardBalance('M', 'gc_a')).toBe(0);
      expect(await port().getGiftCardBalance('M', 'gc_x')).toBeNull();
    });

    it('refuses a taken card id or redemption-code digest, and out-of-bounds cards', async () => {
      await port().createGiftCard(giftCard('gc_a'));
      await expect(port().createGiftCard(giftCard('gc_a', { redemptionCodeDigest: digest('other') }))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(port().createGiftCard(giftCard('gc_b', { redemptionCodeDigest: digest('code-gc_a') }))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(port().createGiftCard(giftCard('gc_c', { currency: 'XXX' }))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(port().createGiftCard(giftCard('x'.repeat(129)))).rejects.toMatchObject({ code: 'STORE_FAILED' });
    });

    it('appends credits and debits, derives the balance, refuses a debit above it and an unknown card', async () => {
      await port().createGiftCard(giftCard('gc_a'));
      const credit = await port().appendGiftCardEntry('M', entry('gc_a', 'credit', 5000, { description: 'load', orderId: 'o1' }), 2000);
      expect(credit).toMatchObject({ kind: 'appended', entry: { cardId: 'gc_a', seq: 1, kind: 'credit', amountMinor: 5000, balanceAfterMinor: 5000, description: 'load', orderId: 'o1', at: 2000, transactionId: null } });
      const debit = await port().appendGiftCardEntry('M', entry('gc_a', 'debit', 1990), 2001);
      expect(debit).toMatchObject({ kind: 'appended', entry: { seq: 2, balanceAfterMinor: 3010 } });
      expect(await port().appendGiftCardEntry('M', entry('gc_a', 'debit', 3011), 2002)).toMatchObject({ kind: 'refused', refusal: { code: 'GIFTCARD_INSUFFICIENT_BALANCE' } });
      expect(await port().appendGiftCardEntry('N', entry('gc_a', 'debit', 1), 2002)).toMatchObject({ kind: 'refused', refusal: { code: 'GIFTCARD_NOT_FOUND' } });
      expect(await port().appendGiftCardEntry('M', entry('gc_a', 'debit', 1), 1_000_000_000)).toMatchObject({ kind: 'refused', refusal: { code: 'GIFTCARD_EXPIRED' } });
      expect(await port().getGiftCardBalance('M', 'gc_a')).toBe(3010);
      const [c, d] = [appendedEntry(credit), appendedEntry(debit)];
      const page = await port().listGiftCardEntries('M', 'gc_a', 0, 10);
      expect(page.total).toBe(2);
      expect(page.entries).toEqual([c, d]);
      expect(await port().listGiftCardEntries('M', 'gc_a', 1, 10)).toEqual({ entries: [d], total: 2 });
      expect(await port().listGiftCardEntries('M', 'gc_a', 5, 10)).toEqual({ entries: [], total: 2 });
      expect(await port().listGiftCardEntries('N', 'gc_a', 0, 10)).toEqual({ entries: [], total: 0 });
      expect(await port().getGiftCardEntry('M', 'gc_a', d.id)).toEqual(d);
      expect(await port().getGiftCardEntry('M', 'gc_b', d.id)).toBeNull();
      expect(await port().getGiftCardEntry('N', 'gc_a', d.id)).toBeNull();
    });

    it('cancels and settles within what the debit has left', async () => {
      await port().createGiftCard(giftCard('gc_a'));
      await port().appendGiftCardEntry('M', entry('gc_a', 'credit', 5000), 2000);
      const tId = appendedEntry(await port().appendGiftCardEntry('M', entry('gc_a', 'debit', 2000), 2000)).id;
      expect(await port().appendGiftCardEntry('M', entry('gc_a', 'settlement', 1500, { transactionId: tId }), 2001)).toMatchObject({ kind: 'appended', entry: { balanceAfterMinor: 3000, transactionId: tId } });
      expect(await port().appendGiftCardEntry('M', entry('gc_a', 'cancellation', 800, { transactionId: tId }), 2002)).toMatchObject({ kind: 'appended', entry: { balanceAfterMinor: 3800 } });
      expect(await port().appendGiftCardEntry('M', entry('gc_a', 'settlement', 1, { transactionId: tId }), 2003)).toMatchObject({ kind: 'refused', refusal: { code: 'GIFTCARD_SETTLE_EXCEEDED' } });
      expect(await port().appendGiftCardEntry('M', entry('gc_a', 'cancellation', 1201, { transactionId: tId }), 2003)).toMatchObject({ kind: 'refused', refusal: { code: 'GIFTCARD_CANCEL_EXCEEDED' } });
      expect(await port().appendGiftCardEntry('M', entry('gc_a', 'cancellation', 1200, { transactionId: tId }), 2003)).toMatchObject({ kind: 'appended', entry: { balanceAfterMinor: 5000 } });
      expect(await port().getGiftCardBalance('M', 'gc_a')).toBe(5000);
    });

    it('answers a repeated requestId with the first entry and refuses it with another body', async () => {
      await port().createGiftCard(giftCard('gc_a'));
      await port().appendGiftCardEntry('M', entry('gc_a', 'credit', 5000), 2000);
      const first = entry('gc_a', 'debit', 700, { requestId: 'hub-1', orderId: 'o1' });
      const appended = appendedEntry(await port().appendGiftCardEntry('M', first, 2001));
      await port().appendGiftCardEntry('M', entry('gc_a', 'debit', 100), 2002);
      const again = await port().appendGiftCardEntry('M', { ...first, entryId: 'gct_other' }, 3000);
      expect(again).toEqual({ kind: 'repeated', entry: appended });
      expect(await port().appendGiftCardEntry('M', { ...first, amountMinor: 701 }, 3000)).toMatchObject({ kind: 'refused', refusal: { code: 'GIFTCARD_REQUEST_ID_REUSED' } });
      expect((await port().listGiftCardEntries('M', 'gc_a', 0, 100)).total).toBe(3);
      expect(await port().getGiftCardBalance('M', 'gc_a')).toBe(4200);
    });

    it('never drives the balance below zero under many parallel debits on one card', async () => {
      await port().createGiftCard(giftCard('gc_a'));
      await port().appendGiftCardEntry('M', entry('gc_a', 'credit', 1000), 2000);
      const results = await Promise.all(Array.from({ length: 60 }, () => port().appendGiftCardEntry('M', entry('gc_a', 'debit', 30), 2001)));
      const appended = results.filter((r) => r.kind === 'appended');
      expect(appended).toHaveLength(33); // 33 × 30 = 990 ≤ 1000 < 34 × 30
      expect(results.filter((r) => r.kind === 'refused').every((r) => r.kind === 'refused' && r.refusal.code === 'GIFTCARD_INSUFFICIENT_BALANCE')).toBe(true);
      expect(await port().getGiftCardBalance('M', 'gc_a')).toBe(10);
      const page = await port().listGiftCardEntries('M', 'gc_a', 0, 100);
      expect(page.entries.map((e) => e.seq)).toEqual(Array.from({ length: 34 }, (_, i) => i + 1));
      expect(page.entries.every((e) => e.balanceAfterMinor >= 0)).toBe(true);
      expect(new Set(page.entries.map((e) => e.balanceAfterMinor)).size).toBe(34);
    });

    it('appends a request once when its repeats race', async () => {
      await port().createGiftCard(giftCard('gc_a'));
      await port().appendGiftCardEntry('M', entry('gc_a', 'credit', 1000), 2000);
      const req = entry('gc_a', 'debit', 400, { requestId: 'hub-race' });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => port().appendGiftCardEntry('M', { ...req, entryId: `gct_race_${i}` }, 2001)));
      expect(results.filter((r) => r.kind === 'appended')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'repeated')).toHaveLength(19);
      expect(new Set(results.map((r) => (r.kind === 'refused' ? 'refused' : r.entry.id))).size).toBe(1);
      expect(await port().getGiftCardBalance('M', 'gc_a')).toBe(600);
    });

    it('refuses out-of-bounds pages', async () => {
      await expect(port().listGiftCardEntries('M', 'gc_a', 0, 101)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(port().listGiftCardEntries('M', 'gc_a', -1, 10)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(port().listGiftCardsOfClient('M', 'p', 0)).rejects.toMatchObject({ code: 'STORE_FAILED' });
    });
  });
}
