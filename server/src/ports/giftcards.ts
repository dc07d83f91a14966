/**
 * The built-in gift card ledger's store (issue 17): cards and their append-only journals, in the
 * same database as payments. The rules live in ../giftcards/ledger.ts ({@link decideEntry}); an
 * adapter's job is to run them on the card's journal *under the card's lock* and to append the
 * entry in the same transaction, so concurrent debits on one card (on any number of server
 * instances) can never drive its balance below zero: SQLite's single writer (`BEGIN IMMEDIATE`),
 * PostgreSQL's `SELECT … FOR UPDATE` on the card row, the memory adapter's synchronous step.
 *
 * Idempotency: every append carries the caller's `requestId`, unique per card. A repeat with the
 * same body (same fingerprint) answers the entry the first one appended, whatever happened since;
 * a repeat with another body is refused (`GIFTCARD_REQUEST_ID_REUSED`). A refused request is not
 * recorded, so its repeat is decided again.
 *
 * Times are ms since epoch, passed in (no adapter reads a clock). Money is integer minor units of
 * the card's ISO 4217 currency.
 * @see docs/gift-cards.md
 */
import {
  MAX_GIFTCARD_ID_LENGTH,
  MAX_GIFTCARD_TEXT_LENGTH,
  type EntryRequest,
  type GiftCard,
  type GiftCardRefusal,
  type JournalEntry,
} from '../giftcards/ledger.ts';
import { currencyInfo } from '@posbridge/protocol/money';

export type { EntryRequest, GiftCard, GiftCardRefusal, JournalEntry } from '../giftcards/ledger.ts';

/** Most cards one {@link GiftCardsPort.listGiftCardsOfClient} call returns, and most journal entries per page. */
export const MAX_GIFTCARD_PAGE = 100;

/** Outcome of {@link GiftCardsPort.appendGiftCardEntry}. */
export type AppendEntryResult =
  /** The entry was appended now. */
  | { readonly kind: 'appended'; readonly entry: JournalEntry }
  /** The same request was appended before: its entry, unchanged. */
  | { readonly kind: 'repeated'; readonly entry: JournalEntry }
  /** Refused (unknown card, rules, reused requestId): nothing was written. */
  | { readonly kind: 'refused'; readonly refusal: GiftCardRefusal };

/** A page of a journal. */
export interface JournalPage {
  /** Entries `offset` … `offset + limit - 1` in `seq` order. */
  readonly entries: readonly JournalEntry[];
  /** How many entries the journal holds in all (for `REST-Range` answers). */
  readonly total: number;
}

/** Gift cards and their journals. All methods may reject with `CodedError('STORE_FAILED')`, also for inputs out of bounds. */
export interface GiftCardsPort {
  /**
   * Stores a new card with an empty journal.
   * @throws CodedError `STORE_FAILED` when the id or the redemption-code digest is taken, or a field is out of bounds ({@link giftCardProblem}).
   */
  createGiftCard(card: GiftCard): Promise<GiftCard>;
  /** The card `cardId` of `merchantName`, or null. */
  findGiftCard(merchantName: string, cardId: string): Promise<GiftCard | null>;
  /** The card of `merchantName` whose redemption-code digest is `digest`, or null. */
  findGiftCardByCodeDigest(merchantName: string, digest: string): Promise<GiftCard | null>;
  /** Cards of `merchantName` owned by `profileId`, oldest first (ties by id), at most `limit` (≤ {@link MAX_GIFTCARD_PAGE}). */
  listGiftCardsOfClient(merchantName: string, profileId: string, limit: number): Promise<readonly GiftCard[]>;
  /**
   * Decides `req` on card `req.cardId` of `merchantName` with ../giftcards/ledger.ts `decideEntry` at
   * `now`, on the journal read under the card's lock, and appends the entry in the same
   * transaction. An unknown card is refused with `GIFTCARD_NOT_FOUND`.
   */
  appendGiftCardEntry(merchantName: string, req: EntryRequest, now: number): Promise<AppendEntryResult>;
  /** A page of card `cardId`'s journal (empty for an unknown card); `limit` ≤ {@link MAX_GIFTCARD_PAGE}. */
  listGiftCardEntries(merchantName: string, cardId: string, offset: number, limit: number): Promise<JournalPage>;
  /** Entry `entryId` of card `cardId`, or null. */
  getGiftCardEntry(merchantName: string, cardId: string, entryId: string): Promise<JournalEntry | null>;
  /** The balance of card `cardId` derived from its journal, minor units, or null for an unknown card. */
  getGiftCardBalance(merchantName: string, cardId: string): Promise<number | null>;
}

const textOk = (s: string, max: number, allowEmpty = false): boolean => (allowEmpty || s.length >= 1) && s.length <= max;

/** Why `card` cannot be stored, or undefined (the adapters refuse such cards with `STORE_FAILED`). */
export function giftCardProblem(card: GiftCard): string | undefined {
  for (const [name, v] of [['id', card.id], ['merchantName', card.merchantName], ['profileId', card.profileId], ['relationName', card.relationName]] as const) {
    if (!textOk(v, MAX_GIFTCARD_ID_LENGTH)) return `${name} must be 1…${MAX_GIFTCARD_ID_LENGTH} characters`;
  }
  if (!textOk(card.caption, MAX_GIFTCARD_TEXT_LENGTH, true)) return `caption must be at most ${MAX_GIFTCARD_TEXT_LENGTH} characters`;
  if (!/^[0-9a-f]{64}$/.test(card.redemptionCodeDigest)) return 'redemptionCodeDigest must be 64 lowercase hex characters';
  try {
    if (currencyInfo(card.currency).alpha !== card.currency) return 'currency must be an upper-case ISO 4217 alphabetic code';
  } catch {
    return `unknown currency ${JSON.stringify(card.currency)}`;
  }
  for (const t of [card.emittedAt, card.createdAt, card.expiresAt ?? 0]) if (!Number.isSafeInteger(t)) return 'times must be integer ms since epoch';
  return undefined;
}

/** Why a page request is out of bounds, or undefined. */
export function pageProblem(offset: number, limit: number): string | undefined {
  if (!Number.isSafeInteger(offset) || offset < 0) return 'offset must be a non-negative integer';
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_GIFTCARD_PAGE) return `limit must be an integer of 1…${MAX_GIFTCARD_PAGE}`;
  return undefined;
}
