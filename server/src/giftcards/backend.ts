/**
 * `GiftCardBackend`: what the Gift Card Provider endpoints (./http/) ask of whoever keeps a
 * merchant's gift cards. Two implementations: the built-in ledger (./ledger-backend.ts, the
 * embedded default, cards and journals in posbridge's store) and an HTTP adapter to a merchant's
 * own provider (./http-backend.ts, the "middleware" of VTEX's guide), so the endpoints, their
 * credentials, validation, pagination and metrics are the same whoever holds the money.
 *
 * Shapes are the protocol's, in posbridge's units: money is integer minor units of the card's
 * ISO 4217 currency (`amountMinor`), times are ms since epoch; the HTTP edge converts to VTEX's
 * decimals and ISO dates. Refusals are values ({@link BackendRefusal}); a method rejects only
 * when it could not decide (store or provider unavailable: `CodedError` `STORE_FAILED`), so an
 * uncertain outcome is never answered as a refusal.
 *
 * @see docs/gift-cards.md "GiftCardBackend"
 */
import type { ClientRef, GiftCardRefusal } from './ledger.ts';

/** A refusal, with the ledger's `GIFTCARD_*` codes (docs/gift-cards.md "Rules"). */
export type BackendRefusal = GiftCardRefusal;

/** Either a value or a refusal. */
export type BackendResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly refusal: BackendRefusal };

/** A card as the search lists it. */
export interface CardSummary {
  readonly id: string;
  readonly balanceMinor: number;
  readonly currency: string;
}

/** A card's details (GET /giftcards/{id}). */
export interface CardDetails extends CardSummary {
  readonly relationName: string;
  readonly caption: string;
  readonly profileId: string;
  readonly emittedAt: number;
  /** null: never expires. */
  readonly expiresAt: number | null;
  readonly restrictedToOwner: boolean;
  readonly multipleRedemptions: boolean;
  readonly multipleCredits: boolean;
}

/** POST /giftcards, validated. */
export interface CreateCardRequest {
  readonly relationName: string;
  readonly caption: string;
  readonly profileId: string;
  readonly currency: string;
  /** @default now */
  readonly emittedAt?: number;
  /** absent: never expires. */
  readonly expiresAt?: number;
  readonly restrictedToOwner?: boolean;
  readonly multipleRedemptions?: boolean;
  readonly multipleCredits?: boolean;
}

/** A created card and its redemption code, shown this once (only its digest is kept). */
export interface CreatedCard {
  readonly card: CardDetails;
  readonly redemptionCode: string;
}

/** What the search asks (POST /giftcards/_search). */
export interface CardQuery {
  readonly client: ClientRef;
  /** The code the shopper typed (`cart.redemptionCode`); absent or empty: the client's own cards. */
  readonly redemptionCode?: string;
}

/** POST /giftcards/{id}/transactions, validated. */
export interface TransactionRequest {
  readonly operation: 'debit' | 'credit';
  /** The Hub's decimal value, still as sent: converted with the card's currency by the backend. */
  readonly value: number;
  readonly requestId: string;
  readonly description?: string;
  readonly orderId?: string;
  readonly client?: ClientRef;
}

/** A Debit or Credit. */
export interface TransactionView {
  readonly id: string;
  readonly cardId: string;
  readonly operation: 'debit' | 'credit';
  readonly amountMinor: number;
  readonly currency: string;
  readonly requestId: string;
  readonly at: number;
}

/** A cancellation or settlement of a transaction (or the transaction's authorization). */
export interface OperationView {
  readonly id: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly at: number;
}

/** POST …/cancellations or …/settlements, validated. */
export interface OperationRequest {
  /** The Hub's decimal value, as sent. */
  readonly value: number;
  readonly requestId: string;
}

/** A page of a list: `items` from `offset`, and how many there are in all. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly total: number;
}

/** Which part of a list to answer (from REST-Range, ./http/range.ts). */
export interface PageRequest {
  readonly offset: number;
  readonly limit: number;
}

/** The gift cards of the merchants this posbridge serves. Every method is scoped by `merchantName`. */
export interface GiftCardBackend {
  /**
   * The client's usable cards, or the card of a typed redemption code; `codeNotFound` is true
   * when a typed code matched no card (the edge rate-limits those).
   */
  search(merchantName: string, query: CardQuery, page: PageRequest): Promise<Page<CardSummary> & { readonly codeNotFound: boolean }>;
  /** A card, or null. */
  getCard(merchantName: string, cardId: string): Promise<CardDetails | null>;
  /** Creates a card with a zero balance (load it with a Credit). @returns a refusal `GIFTCARD_INVALID_REQUEST` for a bad field. */
  createCard(merchantName: string, req: CreateCardRequest): Promise<BackendResult<CreatedCard>>;
  /** A Debit or Credit; a repeat of `requestId` answers the first transaction. */
  createTransaction(merchantName: string, cardId: string, req: TransactionRequest): Promise<BackendResult<TransactionView>>;
  /** The card's transactions, oldest first, or null for an unknown card. */
  listTransactions(merchantName: string, cardId: string, page: PageRequest): Promise<Page<TransactionView> | null>;
  /** One transaction, or null. */
  getTransaction(merchantName: string, cardId: string, transactionId: string): Promise<TransactionView | null>;
  /** Cancels part or all of a transaction; a repeat of `requestId` answers the first cancellation. */
  cancel(merchantName: string, cardId: string, transactionId: string, req: OperationRequest): Promise<BackendResult<OperationView>>;
  /** Settles part or all of a Debit; a repeat of `requestId` answers the first settlement. */
  settle(merchantName: string, cardId: string, transactionId: string, req: OperationRequest): Promise<BackendResult<OperationView>>;
  /** The transaction's cancellations (or settlements), oldest first, or null for an unknown transaction. */
  listOperations(merchantName: string, cardId: string, transactionId: string, kind: 'cancellation' | 'settlement'): Promise<readonly OperationView[] | null>;
}
