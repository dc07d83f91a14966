/**
 * {@link GiftCardsPort} on PostgreSQL: the `gift_cards` and `gift_card_entries` tables
 * (./schema-giftcards.ts). An append runs in one transaction that first takes the card's row lock
 * (`SELECT … FOR UPDATE`), then reads the journal, decides with ../../giftcards/ledger.ts
 * `decideEntry` and inserts the entry: concurrent appends on one card, from any instance, wait for
 * each other at the lock, and under `READ COMMITTED` each statement after the lock sees every entry
 * committed before it was granted, so each decision is taken on the whole journal and the balance
 * cannot go below zero. UNIQUE (card_id, seq) and (card_id, request_id) back that up.
 *
 * @see https://www.postgresql.org/docs/15/explicit-locking.html#LOCKING-ROWS
 */
import { balanceOf, decideEntry } from '../../giftcards/ledger.ts';
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
import { rowToCard, rowToEntry, type CardRow, type EntryRow } from '../sqlite/giftcards.ts';
import { toTs, type PgDb, type PgQueryable } from './pg-db.ts';
import { plain, pgOp } from './rows.ts';

/** The domain card of a `gift_cards` row (the SQLite mapper, once `plain` has turned timestamps and booleans). */
const pgCard = (row: Record<string, unknown>): GiftCard => rowToCard(plain<CardRow>(row));
/** The domain entry of a `gift_card_entries` row, likewise. */
const pgEntry = (row: Record<string, unknown>): JournalEntry => rowToEntry(plain<EntryRow>(row));

const CARD = 'SELECT * FROM gift_cards WHERE merchant_name = $1 AND card_id = $2';
const JOURNAL = 'SELECT * FROM gift_card_entries WHERE card_id = $1 ORDER BY seq';

async function journalOf(q: PgQueryable, cardId: string): Promise<JournalEntry[]> {
  return (await q.rows<Record<string, unknown>>(JOURNAL, [cardId])).map(pgEntry);
}

/** Gift cards over a pool. */
export class PgGiftCards implements GiftCardsPort {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return pgOp(operation, fn);
  }

  async #card(q: PgQueryable, merchantName: string, cardId: string, lock = false): Promise<GiftCard | null> {
    const row = await q.one<Record<string, unknown>>(lock ? `${CARD} FOR UPDATE` : CARD, [merchantName, cardId]);
    return row ? pgCard(row) : null;
  }

  createGiftCard(card: GiftCard): Promise<GiftCard> {
    return this.#op('createGiftCard', async () => {
      const problem = giftCardProblem(card);
      if (problem !== undefined) throw new RangeError(problem);
      await this.#db.run(
        `INSERT INTO gift_cards (card_id, merchant_name, profile_id, relation_name, caption, currency, emitted_at, expires_at,
           restricted_to_owner, multiple_redemptions, multiple_credits, code_digest, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [
          card.id,
          card.merchantName,
          card.profileId,
          card.relationName,
          card.caption,
          card.currency,
          toTs(card.emittedAt),
          toTs(card.expiresAt),
          card.restrictedToOwner,
          card.multipleRedemptions,
          card.multipleCredits,
          card.redemptionCodeDigest,
          toTs(card.createdAt),
        ],
      );
      return { ...card };
    });
  }

  findGiftCard(merchantName: string, cardId: string): Promise<GiftCard | null> {
    return this.#op('findGiftCard', () => this.#card(this.#db, merchantName, cardId));
  }

  findGiftCardByCodeDigest(merchantName: string, digest: string): Promise<GiftCard | null> {
    return this.#op('findGiftCardByCodeDigest', async () => {
      const row = await this.#db.one<Record<string, unknown>>('SELECT * FROM gift_cards WHERE merchant_name = $1 AND code_digest = $2', [merchantName, digest]);
      return row ? pgCard(row) : null;
    });
  }

  listGiftCardsOfClient(merchantName: string, profileId: string, limit: number): Promise<readonly GiftCard[]> {
    return this.#op('listGiftCardsOfClient', async () => {
      const problem = pageProblem(0, limit);
      if (problem !== undefined) throw new RangeError(problem);
      const rows = await this.#db.rows<Record<string, unknown>>(
        'SELECT * FROM gift_cards WHERE merchant_name = $1 AND profile_id = $2 ORDER BY created_at, card_id COLLATE "C" LIMIT $3',
        [merchantName, profileId, limit],
      );
      return rows.map(pgCard);
    });
  }

  appendGiftCardEntry(merchantName: string, req: EntryRequest, now: number): Promise<AppendEntryResult> {
    return this.#op('appendGiftCardEntry', () =>
      this.#db.transaction(async (tx): Promise<AppendEntryResult> => {
        const card = await this.#card(tx, merchantName, req.cardId, true);
        if (card === null) return { kind: 'refused', refusal: { code: 'GIFTCARD_NOT_FOUND', message: 'no such gift card' } };
        const journal = await journalOf(tx, card.id);
        const decision = decideEntry(card, journal, req, now);
        if (decision.kind === 'refused') return decision;
        if (decision.kind === 'repeat') return { kind: 'repeated', entry: decision.entry };
        const e: JournalEntry = { ...decision.entry, seq: journal.length + 1 };
        await tx.run(
          `INSERT INTO gift_card_entries (entry_id, card_id, seq, kind, amount_minor, transaction_id, request_id, fingerprint,
             description, order_id, at, balance_after_minor)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          [e.id, e.cardId, e.seq, e.kind, e.amountMinor, e.transactionId, e.requestId, e.fingerprint, e.description, e.orderId, toTs(e.at), e.balanceAfterMinor],
        );
        return { kind: 'appended', entry: e };
      }),
    );
  }

  listGiftCardEntries(merchantName: string, cardId: string, offset: number, limit: number): Promise<JournalPage> {
    return this.#op('listGiftCardEntries', async (): Promise<JournalPage> => {
      const problem = pageProblem(offset, limit);
      if (problem !== undefined) throw new RangeError(problem);
      const rows = await this.#db.rows<Record<string, unknown> & { total: number }>(
        `SELECT e.*, COUNT(*) OVER () AS total FROM gift_card_entries e JOIN gift_cards c ON c.card_id = e.card_id
          WHERE c.merchant_name = $1 AND e.card_id = $2 ORDER BY e.seq LIMIT $3 OFFSET $4`,
        [merchantName, cardId, limit, offset],
      );
      if (rows.length > 0) return { entries: rows.map(pgEntry), total: rows[0]?.total ?? 0 };
      // A page past the end (or an unknown card): count alone.
      const count = await this.#db.one<{ n: number }>(
        'SELECT COUNT(*) AS n FROM gift_card_entries e JOIN gift_cards c ON c.card_id = e.card_id WHERE c.merchant_name = $1 AND e.card_id = $2',
        [merchantName, cardId],
      );
      return { entries: [], total: count?.n ?? 0 };
    });
  }

  getGiftCardEntry(merchantName: string, cardId: string, entryId: string): Promise<JournalEntry | null> {
    return this.#op('getGiftCardEntry', async () => {
      const row = await this.#db.one<Record<string, unknown>>(
        'SELECT e.* FROM gift_card_entries e JOIN gift_cards c ON c.card_id = e.card_id WHERE c.merchant_name = $1 AND e.card_id = $2 AND e.entry_id = $3',
        [merchantName, cardId, entryId],
      );
      return row ? pgEntry(row) : null;
    });
  }

  getGiftCardBalance(merchantName: string, cardId: string): Promise<number | null> {
    return this.#op('getGiftCardBalance', () =>
      this.#db.transaction(async (tx) => {
        if ((await this.#card(tx, merchantName, cardId)) === null) return null;
        return balanceOf(await journalOf(tx, cardId));
      }),
    );
  }
}
