/**
 * {@link GiftCardsPort} on SQLite: the `gift_cards` and `gift_card_entries` tables (migration
 * planned as 8, ./migrations.ts). An append reads the card and its journal, decides with
 * ../../giftcards/ledger.ts `decideEntry` and inserts the entry in one `BEGIN IMMEDIATE`
 * transaction: SQLite's single writer (and this connection's FIFO lock, ./sqlite-db.ts) makes the
 * read and the insert one step, so concurrent debits are decided one after the other and the
 * balance cannot go below zero. UNIQUE (card_id, seq) and (card_id, request_id) back that up.
 */
import { balanceOf, decideEntry, type EntryKind } from '../../giftcards/ledger.ts';
import {
  giftCardProblem,
  pageProblem,
  type AppendEntryResult,
  type EntryRequest,
  type GiftCard,
  type GiftCardsPort,
  type JournalEntry,
  type JournalPage,
} from '../../ports/giftcards.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { runExclusive } from './rows.ts';

/** A `gift_cards` row (SQLite shapes: ms since epoch, 0/1; PostgreSQL's through ../postgres/rows.ts `plain`). */
export interface CardRow {
  card_id: string;
  merchant_name: string;
  profile_id: string;
  relation_name: string;
  caption: string;
  currency: string;
  emitted_at: number;
  expires_at: number | null;
  restricted_to_owner: number;
  multiple_redemptions: number;
  multiple_credits: number;
  code_digest: string;
  created_at: number;
}

/** A `gift_card_entries` row (SQLite shapes, as {@link CardRow}). */
export interface EntryRow {
  entry_id: string;
  card_id: string;
  seq: number;
  kind: EntryKind;
  amount_minor: number;
  transaction_id: string | null;
  request_id: string;
  fingerprint: string;
  description: string;
  order_id: string | null;
  at: number;
  balance_after_minor: number;
}

/** The domain card of a `gift_cards` row. */
export function rowToCard(r: CardRow): GiftCard {
  return {
    id: r.card_id,
    merchantName: r.merchant_name,
    profileId: r.profile_id,
    relationName: r.relation_name,
    caption: r.caption,
    currency: r.currency,
    emittedAt: r.emitted_at,
    expiresAt: r.expires_at,
    restrictedToOwner: r.restricted_to_owner === 1,
    multipleRedemptions: r.multiple_redemptions === 1,
    multipleCredits: r.multiple_credits === 1,
    redemptionCodeDigest: r.code_digest,
    createdAt: r.created_at,
  };
}

/** The domain journal entry of a `gift_card_entries` row. */
export function rowToEntry(r: EntryRow): JournalEntry {
  return {
    id: r.entry_id,
    cardId: r.card_id,
    seq: r.seq,
    kind: r.kind,
    amountMinor: r.amount_minor,
    transactionId: r.transaction_id,
    requestId: r.request_id,
    fingerprint: r.fingerprint,
    description: r.description,
    orderId: r.order_id,
    at: r.at,
    balanceAfterMinor: r.balance_after_minor,
  };
}

const CARD = 'SELECT * FROM gift_cards WHERE merchant_name = ? AND card_id = ?';
const JOURNAL = 'SELECT * FROM gift_card_entries WHERE card_id = ? ORDER BY seq';

/** Gift cards over one connection. */
export class SqliteGiftCards implements GiftCardsPort {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return runExclusive(this.#db, operation, fn);
  }

  async #card(merchantName: string, cardId: string): Promise<GiftCard | null> {
    const row = await this.#db.get<CardRow>(CARD, [merchantName, cardId]);
    return row ? rowToCard(row) : null;
  }

  createGiftCard(card: GiftCard): Promise<GiftCard> {
    return this.#op('createGiftCard', async () => {
      const problem = giftCardProblem(card);
      if (problem !== undefined) throw new RangeError(problem);
      await this.#db.run(
        `INSERT INTO gift_cards (card_id, merchant_name, profile_id, relation_name, caption, currency, emitted_at, expires_at,
           restricted_to_owner, multiple_redemptions, multiple_credits, code_digest, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          card.id,
          card.merchantName,
          card.profileId,
          card.relationName,
          card.caption,
          card.currency,
          card.emittedAt,
          card.expiresAt,
          card.restrictedToOwner ? 1 : 0,
          card.multipleRedemptions ? 1 : 0,
          card.multipleCredits ? 1 : 0,
          card.redemptionCodeDigest,
          card.createdAt,
        ],
      );
      return { ...card };
    });
  }

  findGiftCard(merchantName: string, cardId: string): Promise<GiftCard | null> {
    return this.#op('findGiftCard', () => this.#card(merchantName, cardId));
  }

  findGiftCardByCodeDigest(merchantName: string, digest: string): Promise<GiftCard | null> {
    return this.#op('findGiftCardByCodeDigest', async () => {
      const row = await this.#db.get<CardRow>('SELECT * FROM gift_cards WHERE merchant_name = ? AND code_digest = ?', [merchantName, digest]);
      return row ? rowToCard(row) : null;
    });
  }

  listGiftCardsOfClient(merchantName: string, profileId: string, limit: number): Promise<readonly GiftCard[]> {
    return this.#op('listGiftCardsOfClient', async () => {
      const problem = pageProblem(0, limit);
      if (problem !== undefined) throw new RangeError(problem);
      const rows = await this.#db.all<CardRow>(
        'SELECT * FROM gift_cards WHERE merchant_name = ? AND profile_id = ? ORDER BY created_at, card_id LIMIT ?',
        [merchantName, profileId, limit],
      );
      return rows.map(rowToCard);
    });
  }

  appendGiftCardEntry(merchantName: string, req: EntryRequest, now: number): Promise<AppendEntryResult> {
    return this.#op('appendGiftCardEntry', () =>
      this.#db.transaction(async (): Promise<AppendEntryResult> => {
        const card = await this.#card(merchantName, req.cardId);
        if (card === null) return { kind: 'refused', refusal: { code: 'GIFTCARD_NOT_FOUND', message: 'no such gift card' } };
        const journal = (await this.#db.all<EntryRow>(JOURNAL, [card.id])).map(rowToEntry);
        const decision = decideEntry(card, journal, req, now);
        if (decision.kind === 'refused') return decision;
        if (decision.kind === 'repeat') return { kind: 'repeated', entry: decision.entry };
        const e: JournalEntry = { ...decision.entry, seq: journal.length + 1 };
        await this.#db.run(
          `INSERT INTO gift_card_entries (entry_id, card_id, seq, kind, amount_minor, transaction_id, request_id, fingerprint,
             description, order_id, at, balance_after_minor)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [e.id, e.cardId, e.seq, e.kind, e.amountMinor, e.transactionId, e.requestId, e.fingerprint, e.description, e.orderId, e.at, e.balanceAfterMinor],
        );
        return { kind: 'appended', entry: e };
      }),
    );
  }

  listGiftCardEntries(merchantName: string, cardId: string, offset: number, limit: number): Promise<JournalPage> {
    return this.#op('listGiftCardEntries', async (): Promise<JournalPage> => {
      const problem = pageProblem(offset, limit);
      if (problem !== undefined) throw new RangeError(problem);
      if ((await this.#card(merchantName, cardId)) === null) return { entries: [], total: 0 };
      const rows = await this.#db.all<EntryRow>('SELECT * FROM gift_card_entries WHERE card_id = ? ORDER BY seq LIMIT ? OFFSET ?', [cardId, limit, offset]);
      const count = await this.#db.get<{ n: number }>('SELECT COUNT(*) AS n FROM gift_card_entries WHERE card_id = ?', [cardId]);
      return { entries: rows.map(rowToEntry), total: count?.n ?? 0 };
    });
  }

  getGiftCardEntry(merchantName: string, cardId: string, entryId: string): Promise<JournalEntry | null> {
    return this.#op('getGiftCardEntry', async () => {
      const row = await this.#db.get<EntryRow>(
        'SELECT e.* FROM gift_card_entries e JOIN gift_cards c ON c.card_id = e.card_id WHERE c.merchant_name = ? AND e.card_id = ? AND e.entry_id = ?',
        [merchantName, cardId, entryId],
      );
      return row ? rowToEntry(row) : null;
    });
  }

  getGiftCardBalance(merchantName: string, cardId: string): Promise<number | null> {
    return this.#op('getGiftCardBalance', async () => {
      if ((await this.#card(merchantName, cardId)) === null) return null;
      return balanceOf((await this.#db.all<EntryRow>(JOURNAL, [cardId])).map(rowToEntry));
    });
  }
}
