import { describe, expect, it } from 'vitest';
import { balanceOf, decideEntry, isOwner, type EntryRequest, type GiftCard, type JournalEntry } from './ledger.ts';
import { newGiftCardEntryId, newGiftCardId } from './ids.ts';
import { newRedemptionCode, normalizeRedemptionCode, redemptionCodeDigest, REDEMPTION_CODE_BYTES } from './redemption-code.ts';

const card: GiftCard = {
  id: 'gc_1',
  merchantName: 'M',
  profileId: 'owner@example.com',
  relationName: 'loyalty',
  caption: 'Card',
  currency: 'BRL',
  emittedAt: 1000,
  expiresAt: 10_000,
  restrictedToOwner: false,
  multipleRedemptions: true,
  multipleCredits: true,
  redemptionCodeDigest: 'a'.repeat(64),
  createdAt: 1000,
};

let n = 0;
const req = (kind: EntryRequest['kind'], amountMinor: number, more: Partial<EntryRequest> = {}): EntryRequest => ({
  cardId: card.id,
  entryId: `e${++n}`,
  requestId: `r${n}`,
  kind,
  amountMinor,
  ...more,
});

/** Applies requests in order on `c`, failing on a refusal; returns the journal. */
function journalOf(c: GiftCard, reqs: EntryRequest[], now = 2000): JournalEntry[] {
  const journal: JournalEntry[] = [];
  for (const r of reqs) {
    const d = decideEntry(c, journal, r, now);
    if (d.kind !== 'append') throw new Error(`unexpected ${JSON.stringify(d)}`);
    journal.push({ ...d.entry, seq: journal.length + 1 });
  }
  return journal;
}

const refusalOf = (c: GiftCard, journal: JournalEntry[], r: EntryRequest, now = 2000) => {
  const d = decideEntry(c, journal, r, now);
  return d.kind === 'refused' ? d.refusal.code : d.kind;
};

describe('gift card ledger rules', () => {
  it('derives the balance from credits, debits and cancellations, and refuses a debit above it', () => {
    const j = journalOf(card, [req('credit', 5000), req('debit', 1200)]);
    expect(balanceOf(j)).toBe(3800);
    expect(j[1]?.balanceAfterMinor).toBe(3800);
    expect(refusalOf(card, j, req('debit', 3801))).toBe('GIFTCARD_INSUFFICIENT_BALANCE');
    expect(refusalOf(card, j, req('debit', 3800))).toBe('append');
  });

  it('cancels at most what a transaction has left; a cancelled debit comes back, a cancelled credit goes', () => {
    const credit = req('credit', 5000);
    const debit = req('debit', 2000);
    const j = journalOf(card, [credit, debit, req('cancellation', 1500, { transactionId: debit.entryId })]);
    expect(balanceOf(j)).toBe(4500);
    expect(refusalOf(card, j, req('cancellation', 501, { transactionId: debit.entryId }))).toBe('GIFTCARD_CANCEL_EXCEEDED');
    expect(refusalOf(card, j, req('cancellation', 500, { transactionId: debit.entryId }))).toBe('append');
    // Cancelling the credit would take 5000 off a balance of 4500: refused, never negative.
    expect(refusalOf(card, j, req('cancellation', 5000, { transactionId: credit.entryId }))).toBe('GIFTCARD_INSUFFICIENT_BALANCE');
    expect(refusalOf(card, j, req('cancellation', 1, { transactionId: 'nope' }))).toBe('GIFTCARD_TRANSACTION_NOT_FOUND');
  });

  it('settles at most what was authorized and not cancelled, and only debits', () => {
    const credit = req('credit', 5000);
    const debit = req('debit', 2000);
    const j = journalOf(card, [credit, debit, req('settlement', 1000, { transactionId: debit.entryId }), req('cancellation', 600, { transactionId: debit.entryId })]);
    expect(balanceOf(j)).toBe(3600);
    expect(refusalOf(card, j, req('settlement', 401, { transactionId: debit.entryId }))).toBe('GIFTCARD_SETTLE_EXCEEDED');
    expect(refusalOf(card, j, req('settlement', 400, { transactionId: debit.entryId }))).toBe('append');
    expect(refusalOf(card, j, req('settlement', 1, { transactionId: credit.entryId }))).toBe('GIFTCARD_INVALID_REQUEST');
  });

  it('refuses new transactions outside the validity window, but still cancels and settles', () => {
    const debit = req('debit', 100);
    const j = journalOf(card, [req('credit', 1000), debit]);
    expect(refusalOf(card, j, req('debit', 1), 999)).toBe('GIFTCARD_NOT_YET_VALID');
    expect(refusalOf(card, j, req('debit', 1), 10_000)).toBe('GIFTCARD_EXPIRED');
    expect(refusalOf(card, j, req('credit', 1), 10_000)).toBe('GIFTCARD_EXPIRED');
    expect(refusalOf(card, j, req('cancellation', 100, { transactionId: debit.entryId }), 10_000)).toBe('append');
    expect(refusalOf(card, j, req('settlement', 100, { transactionId: debit.entryId }), 10_000)).toBe('append');
    expect(refusalOf({ ...card, expiresAt: null }, j, req('debit', 1), 1e12)).toBe('append');
  });

  it('refuses a restrictedToOwner card to another client', () => {
    const mine = { ...card, restrictedToOwner: true };
    const j = journalOf(mine, [req('credit', 1000, { client: { email: 'OWNER@example.com' } })]);
    expect(refusalOf(mine, j, req('debit', 1, { client: { email: 'thief@example.com', document: '1' } }))).toBe('GIFTCARD_NOT_OWNER');
    expect(refusalOf(mine, j, req('debit', 1))).toBe('GIFTCARD_NOT_OWNER');
    expect(refusalOf(mine, j, req('debit', 1, { client: { id: 'owner@example.com' } }))).toBe('append');
    expect(isOwner({ profileId: 'p-1' }, { document: 'p-1' })).toBe(true);
  });

  it('allows one open redemption and one credit when the card says so', () => {
    const single = { ...card, multipleRedemptions: false, multipleCredits: false };
    const debit = req('debit', 100);
    const j = journalOf(single, [req('credit', 1000), debit]);
    expect(refusalOf(single, j, req('debit', 1))).toBe('GIFTCARD_SINGLE_REDEMPTION');
    expect(refusalOf(single, j, req('credit', 1))).toBe('GIFTCARD_SINGLE_CREDIT');
    const d = decideEntry(single, j, req('cancellation', 100, { transactionId: debit.entryId }), 2000);
    if (d.kind !== 'append') throw new Error('cancel refused');
    const afterCancel = [...j, { ...d.entry, seq: 3 }];
    expect(refusalOf(single, afterCancel, req('debit', 1))).toBe('append');
  });

  it('answers a repeat with the first entry and refuses a reused requestId with another body', () => {
    const first = req('credit', 1000, { requestId: 'same', description: 'load' });
    const j = journalOf(card, [first, req('debit', 300)]);
    const again = decideEntry(card, j, { ...first, entryId: 'other' }, 5000);
    expect(again).toEqual({ kind: 'repeat', entry: j[0] });
    expect(refusalOf(card, j, { ...first, amountMinor: 1001 })).toBe('GIFTCARD_REQUEST_ID_REUSED');
    expect(refusalOf(card, j, { ...first, description: 'other' })).toBe('GIFTCARD_REQUEST_ID_REUSED');
  });

  it('refuses malformed requests', () => {
    expect(refusalOf(card, [], req('credit', 0))).toBe('GIFTCARD_INVALID_REQUEST');
    expect(refusalOf(card, [], req('credit', 1.5))).toBe('GIFTCARD_INVALID_REQUEST');
    expect(refusalOf(card, [], req('credit', 1, { transactionId: 'x' }))).toBe('GIFTCARD_INVALID_REQUEST');
    expect(refusalOf(card, [], req('cancellation', 1))).toBe('GIFTCARD_INVALID_REQUEST');
    expect(refusalOf(card, [], req('credit', 1, { requestId: 'x'.repeat(129) }))).toBe('GIFTCARD_INVALID_REQUEST');
  });
});

describe('redemption codes', () => {
  it('are 96 random bits, shown grouped, found again however typed', () => {
    const code = newRedemptionCode();
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}$/);
    expect(newRedemptionCode()).not.toBe(code);
    const pepper = new Uint8Array(32).fill(7);
    const digest = redemptionCodeDigest(code, pepper);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(redemptionCodeDigest(` ${code.toLowerCase().replaceAll('-', ' ')} `, pepper)).toBe(digest);
    expect(redemptionCodeDigest(code, new Uint8Array(32).fill(8))).not.toBe(digest);
    expect(redemptionCodeDigest('short', pepper)).toBeNull();
    expect(() => redemptionCodeDigest(code, new Uint8Array(8))).toThrow(RangeError);
  });

  it('encode every bit of the random source', () => {
    const zeros = newRedemptionCode((k) => new Uint8Array(k));
    const ones = newRedemptionCode((k) => new Uint8Array(k).fill(255));
    expect(zeros).toBe('0000-0000-0000-0000-0000');
    expect(ones).toBe('1ZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ');
    expect(REDEMPTION_CODE_BYTES * 8).toBeGreaterThanOrEqual(80);
    expect(normalizeRedemptionCode('1ZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ')).toBe('1ZZZZZZZZZZZZZZZZZZZ');
    expect(normalizeRedemptionCode('lzzz-zzzz-zzzz-zzzz-zzzU')).toBeNull();
  });
});

describe('gift card ids', () => {
  it('are prefixed, random, and fit the store bounds', () => {
    expect(newGiftCardId()).toMatch(/^gc_[0-9a-f]{32}$/);
    expect(newGiftCardEntryId()).toMatch(/^gct_[0-9a-f]{32}$/);
    expect(newGiftCardId()).not.toBe(newGiftCardId());
  });
});
