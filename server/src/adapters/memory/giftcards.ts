/**
 * {@link GiftCardsPort} in memory: cards by id, the code-digest index, and each card's journal.
 * An append reads the journal, decides with ../../giftcards/ledger.ts `decideEntry` and writes in
 * one synchronous transaction of the state, so no other append can interleave (./state.ts).
 */
import { balanceOf, decideEntry } from '../../giftcards/ledger.ts';
import {
  giftCardProblem,
  MAX_GIFTCARD_PAGE,
  pageProblem,
  type AppendEntryResult,
  type EntryRequest,
  type GiftCard,
  type GiftCardsPort,
  type JournalEntry,
  type JournalPage,
} from '../../ports/giftcards.ts';
import { byKeys, ConstraintError, copy, type MemoryConnection } from './state.ts';

const codeKey = (merchantName: string, digest: string): string => `${merchantName}\u0000${digest}`;

/** Gift cards over a memory connection. */
export class MemoryGiftCards implements GiftCardsPort {
  readonly #conn: MemoryConnection;

  constructor(conn: MemoryConnection) {
    this.#conn = conn;
  }

  #card(merchantName: string, cardId: string): GiftCard | undefined {
    const card = this.#conn.tables.giftCards.get(cardId);
    return card?.merchantName === merchantName ? card : undefined;
  }

  createGiftCard(card: GiftCard): Promise<GiftCard> {
    return this.#conn.run('createGiftCard', () => {
      const problem = giftCardProblem(card);
      if (problem !== undefined) throw new RangeError(problem);
      const { tables } = this.#conn;
      const key = codeKey(card.merchantName, card.redemptionCodeDigest);
      if (tables.giftCards.has(card.id)) throw new ConstraintError('unique', 'gift_cards.card_id');
      if (tables.giftCardCodes.has(key)) throw new ConstraintError('unique', 'gift_cards.code_digest');
      tables.giftCards.set(card.id, copy(card));
      tables.giftCardCodes.set(key, card.id);
      tables.giftCardJournals.set(card.id, []);
      return copy(card);
    });
  }

  findGiftCard(merchantName: string, cardId: string): Promise<GiftCard | null> {
    return this.#conn.run('findGiftCard', () => {
      const card = this.#card(merchantName, cardId);
      return card ? copy(card) : null;
    });
  }

  findGiftCardByCodeDigest(merchantName: string, digest: string): Promise<GiftCard | null> {
    return this.#conn.run('findGiftCardByCodeDigest', () => {
      const id = this.#conn.tables.giftCardCodes.get(codeKey(merchantName, digest));
      const card = id === undefined ? undefined : this.#card(merchantName, id);
      return card ? copy(card) : null;
    });
  }

  listGiftCardsOfClient(merchantName: string, profileId: string, limit: number): Promise<readonly GiftCard[]> {
    return this.#conn.run('listGiftCardsOfClient', () => {
      const problem = pageProblem(0, limit);
      if (problem !== undefined) throw new RangeError(problem);
      const found: GiftCard[] = [];
      for (const card of this.#conn.tables.giftCards.values()) {
        if (card.merchantName === merchantName && card.profileId === profileId) found.push(card);
      }
      return copy(found.sort(byKeys((c) => c.createdAt, (c) => c.id)).slice(0, Math.min(limit, MAX_GIFTCARD_PAGE)));
    });
  }

  appendGiftCardEntry(merchantName: string, req: EntryRequest, now: number): Promise<AppendEntryResult> {
    return this.#conn.run('appendGiftCardEntry', (): AppendEntryResult => {
      const { tables } = this.#conn;
      const card = this.#card(merchantName, req.cardId);
      if (card === undefined) return { kind: 'refused', refusal: { code: 'GIFTCARD_NOT_FOUND', message: 'no such gift card' } };
      const journal = tables.giftCardJournals.get(card.id) ?? [];
      const decision = decideEntry(card, journal, req, now);
      if (decision.kind === 'refused') return decision;
      if (decision.kind === 'repeat') return { kind: 'repeated', entry: copy(decision.entry) };
      if (tables.giftCardEntryIds.has(decision.entry.id)) throw new ConstraintError('unique', 'gift_card_entries.entry_id');
      const appended: JournalEntry = { ...decision.entry, seq: journal.length + 1 };
      tables.giftCardJournals.set(card.id, [...journal, appended]);
      tables.giftCardEntryIds.set(appended.id, card.id);
      return { kind: 'appended', entry: copy(appended) };
    });
  }

  listGiftCardEntries(merchantName: string, cardId: string, offset: number, limit: number): Promise<JournalPage> {
    return this.#conn.run('listGiftCardEntries', (): JournalPage => {
      const problem = pageProblem(offset, limit);
      if (problem !== undefined) throw new RangeError(problem);
      const journal = this.#card(merchantName, cardId) ? (this.#conn.tables.giftCardJournals.get(cardId) ?? []) : [];
      return { entries: copy(journal.slice(offset, offset + limit)), total: journal.length };
    });
  }

  getGiftCardEntry(merchantName: string, cardId: string, entryId: string): Promise<JournalEntry | null> {
    return this.#conn.run('getGiftCardEntry', () => {
      if (!this.#card(merchantName, cardId)) return null;
      const found = (this.#conn.tables.giftCardJournals.get(cardId) ?? []).find((e) => e.id === entryId);
      return found ? copy(found) : null;
    });
  }

  getGiftCardBalance(merchantName: string, cardId: string): Promise<number | null> {
    return this.#conn.run('getGiftCardBalance', () => {
      if (!this.#card(merchantName, cardId)) return null;
      return balanceOf(this.#conn.tables.giftCardJournals.get(cardId) ?? []);
    });
  }
}
