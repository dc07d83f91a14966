/**
 * The built-in ledger as a {@link GiftCardBackend}: cards and their append-only journals in
 * posbridge's store (../ports/giftcards.ts, SQLite or PostgreSQL), every rule decided by
 * ./ledger.ts `decideEntry` under the card's lock. This module converts the Hub's decimals to
 * minor units with the card's currency, mints ids and redemption codes, and reads journals page by
 * page (a journal holds at most 10 000 entries).
 *
 * @see docs/gift-cards.md
 */
import { createHmac } from 'node:crypto';
import { isCodedError } from '@posbridge/protocol/errors';
import { moneyFromDecimal } from '@posbridge/protocol/money';
import { giftCardProblem, MAX_GIFTCARD_PAGE, type GiftCardsPort } from '../ports/giftcards.ts';
import type {
  BackendResult,
  CardDetails,
  CardQuery,
  CardSummary,
  CreateCardRequest,
  CreatedCard,
  GiftCardBackend,
  OperationRequest,
  OperationView,
  Page,
  PageRequest,
  TransactionRequest,
  TransactionView,
} from './backend.ts';
import { newGiftCardEntryId, newGiftCardId } from './ids.ts';
import { usabilityProblem, type EntryRequest, type GiftCard, type JournalEntry } from './ledger.ts';
import { newRedemptionCode, redemptionCodeDigest } from './redemption-code.ts';

/** Label of the redemption-code pepper derived from the submit secret ({@link derivePepper}). */
const PEPPER_LABEL = 'posbridge/giftcard-redemption-code-pepper/v1';

/**
 * The redemption-code pepper (HMAC key of ./redemption-code.ts) derived from the server's submit
 * secret (`POSBRIDGE_SUBMIT_SECRET` or its file, never the database): HMAC-SHA256(secret, label),
 * 32 bytes. The CLI and every server instance derive the same one; rotating the submit secret
 * makes existing codes untypeable (docs/gift-cards.md "Redemption codes").
 */
export function derivePepper(submitSecret: string): Uint8Array {
  return createHmac('sha256', submitSecret).update(PEPPER_LABEL).digest();
}

/** Options of {@link LedgerBackend}. */
export interface LedgerBackendOptions {
  readonly store: GiftCardsPort;
  /** HMAC key of redemption codes ({@link derivePepper}). */
  readonly pepper: Uint8Array;
  /** Clock, ms since epoch. */
  readonly now: () => number;
}

const refusal = (code: 'GIFTCARD_INVALID_REQUEST' | 'GIFTCARD_NOT_FOUND' | 'GIFTCARD_TRANSACTION_NOT_FOUND', message: string) =>
  ({ ok: false, refusal: { code, message } }) as const;

/** The built-in ledger. */
export class LedgerBackend implements GiftCardBackend {
  readonly #o: LedgerBackendOptions;

  constructor(options: LedgerBackendOptions) {
    this.#o = options;
  }

  async #journal(merchantName: string, cardId: string): Promise<JournalEntry[]> {
    const all: JournalEntry[] = [];
    for (;;) {
      const page = await this.#o.store.listGiftCardEntries(merchantName, cardId, all.length, MAX_GIFTCARD_PAGE);
      all.push(...page.entries);
      if (page.entries.length === 0 || all.length >= page.total) return all;
    }
  }

  async #summary(card: GiftCard): Promise<CardDetails> {
    const balanceMinor = (await this.#o.store.getGiftCardBalance(card.merchantName, card.id)) ?? 0;
    return {
      id: card.id,
      balanceMinor,
      currency: card.currency,
      relationName: card.relationName,
      caption: card.caption,
      profileId: card.profileId,
      emittedAt: card.emittedAt,
      expiresAt: card.expiresAt,
      restrictedToOwner: card.restrictedToOwner,
      multipleRedemptions: card.multipleRedemptions,
      multipleCredits: card.multipleCredits,
    };
  }

  async search(merchantName: string, query: CardQuery, page: PageRequest): Promise<Page<CardSummary> & { codeNotFound: boolean }> {
    const now = this.#o.now();
    let cards: GiftCard[];
    let codeNotFound = false;
    if (query.redemptionCode !== undefined && query.redemptionCode !== '') {
      const digest = redemptionCodeDigest(query.redemptionCode, this.#o.pepper);
      const card = digest === null ? null : await this.#o.store.findGiftCardByCodeDigest(merchantName, digest);
      codeNotFound = card === null;
      cards = card === null ? [] : [card];
    } else {
      // The owner is named by profile id, e-mail or document (./ledger.ts isOwner): a card issued
      // to any of them is the client's.
      const { id, email, document } = query.client;
      const names = new Set([id, email, email?.toLowerCase(), document].filter((n): n is string => n !== undefined && n !== ''));
      const byId = new Map<string, GiftCard>();
      for (const name of names) {
        for (const c of await this.#o.store.listGiftCardsOfClient(merchantName, name, MAX_GIFTCARD_PAGE)) byId.set(c.id, c);
      }
      cards = [...byId.values()].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)).slice(0, MAX_GIFTCARD_PAGE);
    }
    // Only cards the client may use now: a typed card of another owner is not offered either.
    const usable = cards.filter((c) => usabilityProblem(c, query.client, now) === undefined);
    const items = await Promise.all(usable.slice(page.offset, page.offset + page.limit).map((c) => this.#summary(c)));
    return { items, total: usable.length, codeNotFound };
  }

  async getCard(merchantName: string, cardId: string): Promise<CardDetails | null> {
    const card = await this.#o.store.findGiftCard(merchantName, cardId);
    return card === null ? null : this.#summary(card);
  }

  async createCard(merchantName: string, req: CreateCardRequest): Promise<BackendResult<CreatedCard>> {
    const now = this.#o.now();
    const redemptionCode = newRedemptionCode();
    const digest = redemptionCodeDigest(redemptionCode, this.#o.pepper);
    if (digest === null) throw new Error('a new redemption code does not normalise');
    const card: GiftCard = {
      id: newGiftCardId(),
      merchantName,
      profileId: req.profileId,
      relationName: req.relationName,
      caption: req.caption,
      currency: req.currency,
      emittedAt: req.emittedAt ?? now,
      expiresAt: req.expiresAt ?? null,
      restrictedToOwner: req.restrictedToOwner ?? false,
      multipleRedemptions: req.multipleRedemptions ?? true,
      multipleCredits: req.multipleCredits ?? true,
      redemptionCodeDigest: digest,
      createdAt: now,
    };
    const problem = giftCardProblem(card) ?? (card.expiresAt !== null && card.expiresAt <= card.emittedAt ? 'expiringDate must be after emissionDate' : undefined);
    if (problem !== undefined) return refusal('GIFTCARD_INVALID_REQUEST', problem);
    const stored = await this.#o.store.createGiftCard(card);
    return { ok: true, value: { card: await this.#summary(stored), redemptionCode } };
  }

  /** Minor units of `value` in `currency`, or a refusal naming why not. */
  #minor(value: number, currency: string): BackendResult<number> {
    try {
      return { ok: true, value: moneyFromDecimal(value, currency).amountMinor };
    } catch (err) {
      if (!isCodedError(err)) throw err;
      return refusal('GIFTCARD_INVALID_REQUEST', `value ${String(value)} is not an amount of ${currency}: ${err.message}`);
    }
  }

  async #append(merchantName: string, cardId: string, build: (card: GiftCard, amountMinor: number) => EntryRequest, value: number): Promise<BackendResult<JournalEntry & { currency: string }>> {
    const card = await this.#o.store.findGiftCard(merchantName, cardId);
    if (card === null) return refusal('GIFTCARD_NOT_FOUND', 'no such gift card');
    const minor = this.#minor(value, card.currency);
    if (!minor.ok) return minor;
    const result = await this.#o.store.appendGiftCardEntry(merchantName, build(card, minor.value), this.#o.now());
    if (result.kind === 'refused') return { ok: false, refusal: result.refusal };
    return { ok: true, value: { ...result.entry, currency: card.currency } };
  }

  async createTransaction(merchantName: string, cardId: string, req: TransactionRequest): Promise<BackendResult<TransactionView>> {
    const r = await this.#append(
      merchantName,
      cardId,
      (_card, amountMinor) => ({
        cardId,
        entryId: newGiftCardEntryId(),
        requestId: req.requestId,
        kind: req.operation,
        amountMinor,
        ...(req.description === undefined ? {} : { description: req.description }),
        ...(req.orderId === undefined ? {} : { orderId: req.orderId }),
        ...(req.client === undefined ? {} : { client: req.client }),
      }),
      req.value,
    );
    return r.ok ? { ok: true, value: transactionOf(r.value, r.value.currency) } : r;
  }

  async listTransactions(merchantName: string, cardId: string, page: PageRequest): Promise<Page<TransactionView> | null> {
    const card = await this.#o.store.findGiftCard(merchantName, cardId);
    if (card === null) return null;
    const txs = (await this.#journal(merchantName, cardId)).filter((e) => e.kind === 'debit' || e.kind === 'credit');
    return { items: txs.slice(page.offset, page.offset + page.limit).map((e) => transactionOf(e, card.currency)), total: txs.length };
  }

  async getTransaction(merchantName: string, cardId: string, transactionId: string): Promise<TransactionView | null> {
    const card = await this.#o.store.findGiftCard(merchantName, cardId);
    if (card === null) return null;
    const e = await this.#o.store.getGiftCardEntry(merchantName, cardId, transactionId);
    return e === null || (e.kind !== 'debit' && e.kind !== 'credit') ? null : transactionOf(e, card.currency);
  }

  cancel(merchantName: string, cardId: string, transactionId: string, req: OperationRequest): Promise<BackendResult<OperationView>> {
    return this.#operationWith('cancellation', merchantName, cardId, transactionId, req);
  }

  settle(merchantName: string, cardId: string, transactionId: string, req: OperationRequest): Promise<BackendResult<OperationView>> {
    return this.#operationWith('settlement', merchantName, cardId, transactionId, req);
  }

  async #operationWith(kind: 'cancellation' | 'settlement', merchantName: string, cardId: string, transactionId: string, req: OperationRequest): Promise<BackendResult<OperationView>> {
    const r = await this.#append(
      merchantName,
      cardId,
      (_card, amountMinor) => ({ cardId, entryId: newGiftCardEntryId(), requestId: req.requestId, kind, amountMinor, transactionId }),
      req.value,
    );
    return r.ok ? { ok: true, value: operationOf(r.value, r.value.currency) } : r;
  }

  async listOperations(merchantName: string, cardId: string, transactionId: string, kind: 'cancellation' | 'settlement'): Promise<readonly OperationView[] | null> {
    const card = await this.#o.store.findGiftCard(merchantName, cardId);
    if (card === null) return null;
    const journal = await this.#journal(merchantName, cardId);
    if (!journal.some((e) => e.id === transactionId && (e.kind === 'debit' || e.kind === 'credit'))) return null;
    return journal.filter((e) => e.kind === kind && e.transactionId === transactionId).map((e) => operationOf(e, card.currency));
  }
}

function transactionOf(e: JournalEntry, currency: string): TransactionView {
  return { id: e.id, cardId: e.cardId, operation: e.kind === 'credit' ? 'credit' : 'debit', amountMinor: e.amountMinor, currency, requestId: e.requestId, at: e.at };
}

function operationOf(e: JournalEntry, currency: string): OperationView {
  return { id: e.id, amountMinor: e.amountMinor, currency, at: e.at };
}
