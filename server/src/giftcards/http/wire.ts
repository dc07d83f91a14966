/**
 * The Gift Card Provider Protocol on the wire: zod schemas of the Hub's request bodies (only the
 * fields posbridge uses are read; every string and the body are bounded) and the mappers from
 * {@link GiftCardBackend} values to VTEX's answers (decimal `value`/`balance` in the card's
 * currency, ISO 8601 UTC dates, `_self`/`href` links under the merchant's `serviceUrl`).
 *
 * @see VTEX's OpenAPI "Giftcard Provider Protocol" (server/test-fixtures/giftcard-provider-openapi.json), docs/gift-cards.md
 */
import { z } from 'zod';
import { moneyToDecimal } from '@posbridge/protocol/money';
import { MAX_GIFTCARD_ID_LENGTH, MAX_GIFTCARD_TEXT_LENGTH, type ClientRef } from '../ledger.ts';
import type { CardDetails, CardSummary, CreatedCard, OperationView, TransactionView } from '../backend.ts';

const id = z.string().min(1).max(MAX_GIFTCARD_ID_LENGTH);
const text = z.string().max(MAX_GIFTCARD_TEXT_LENGTH);
/** A positive decimal amount as the Hub sends it (converted with the card's currency by the backend). */
const value = z.number().finite().positive().max(1e12);

/**
 * An ISO 8601 date-time, ms since epoch. VTEX writes them without a zone (`2014-04-24T20:22:58.163`):
 * those are read as UTC, not as the server's local time.
 */
const isoDate = z
  .string()
  .max(40)
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:?\d{2})?)?$/, 'must be an ISO 8601 date-time')
  .transform((s, ctx) => {
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(s) || !s.includes('T') ? s : `${s}Z`;
    const ms = Date.parse(zoned.replace(/(\.\d{3})\d+/, '$1'));
    if (!Number.isFinite(ms)) ctx.addIssue({ code: 'custom', message: 'is not a valid date' });
    return ms;
  });

/** A client as the search sends it (`client`) and as transactions carry it (`orderInfo.clientProfile`). */
const ClientSchema = z.object({ id: text.optional(), email: text.optional(), document: text.optional() });

/** A parsed client without absent keys (`exactOptionalPropertyTypes`). */
export function clientRefOf(c: { id?: string | undefined; email?: string | undefined; document?: string | undefined }): ClientRef {
  return {
    ...(c.id === undefined ? {} : { id: c.id }),
    ...(c.email === undefined ? {} : { email: c.email }),
    ...(c.document === undefined ? {} : { document: c.document }),
  };
}

/** POST /giftcards/_search. */
export const SearchSchema = z.object({
  client: ClientSchema,
  cart: z.object({ redemptionCode: z.string().max(64).nullish(), relationName: text.nullish() }).optional(),
});

/** POST /giftcards. */
export const CreateCardSchema = z.object({
  relationName: id,
  caption: text,
  profileId: id,
  emissionDate: isoDate.optional(),
  expiringDate: isoDate.optional(),
  restrictedToOwner: z.boolean().optional(),
  multipleRedemptions: z.boolean().optional(),
  multipleCredits: z.boolean().optional(),
  currencyCode: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 alphabetic code'),
});

/** POST /giftcards/{id}/transactions. */
export const TransactionSchema = z.object({
  operation: z.enum(['Debit', 'Credit']),
  value,
  description: text.optional(),
  redemptionToken: z.string().max(MAX_GIFTCARD_TEXT_LENGTH).optional(),
  redemptionCode: z.string().max(MAX_GIFTCARD_TEXT_LENGTH).optional(),
  requestId: id,
  orderInfo: z
    .object({
      orderId: z.string().max(MAX_GIFTCARD_ID_LENGTH).optional(),
      clientProfile: z.object({ email: text.optional(), document: text.optional() }).nullish(),
    })
    .nullish(),
});

/** POST …/cancellations and …/settlements. */
export const OperationSchema = z.object({ value, requestId: id });

/** Links of one merchant's `serviceUrl` (`base` is its path, e.g. `/giftcard-provider/acme`). */
export class Links {
  constructor(readonly base: string) {}
  /** `<base>/giftcards/<cardId>`. */
  card(cardId: string): string {
    return `${this.base}/giftcards/${encodeURIComponent(cardId)}`;
  }
  /** The card's transactions list. */
  transactions(cardId: string): string {
    return `${this.card(cardId)}/transactions`;
  }
  /** One transaction of the card. */
  transaction(cardId: string, transactionId: string): string {
    return `${this.transactions(cardId)}/${encodeURIComponent(transactionId)}`;
  }
}

/** The provider name search answers carry. */
export const PROVIDER_NAME = 'posbridge';

/**
 * What GET answers as `redemptionCode`: only the code's digest is kept, so the code itself cannot
 * be shown again (it is shown once, at issue); the Hub gets a fixed mask (docs/gift-cards.md "Deviations").
 */
export const MASKED_REDEMPTION_CODE = '****-****-****-****-****';

const iso = (ms: number): string => new Date(ms).toISOString();
const decimal = (amountMinor: number, currency: string): number => moneyToDecimal({ amountMinor, currency });

/** A search result item. */
export function searchItemOf(card: CardSummary, links: Links): Record<string, unknown> {
  return { id: card.id, provider: PROVIDER_NAME, balance: decimal(card.balanceMinor, card.currency), _self: { href: links.card(card.id) } };
}

/** GET /giftcards/{id}. `redemptionToken` is the card id (not a secret); see {@link MASKED_REDEMPTION_CODE}. */
export function cardOf(card: CardDetails, links: Links): Record<string, unknown> {
  const href = { href: links.transactions(card.id) };
  return {
    id: card.id,
    redemptionToken: card.id,
    redemptionCode: MASKED_REDEMPTION_CODE,
    balance: decimal(card.balanceMinor, card.currency),
    emissionDate: iso(card.emittedAt),
    ...(card.expiresAt === null ? {} : { expiringDate: iso(card.expiresAt) }),
    currencyCode: card.currency,
    discount: false,
    transactions: href,
    transaction: href,
  };
}

/** POST /giftcards: the card and, this once, its redemption code. */
export function createdCardOf({ card, redemptionCode }: CreatedCard): Record<string, unknown> {
  return {
    id: card.id,
    relationName: card.relationName,
    emissionDate: iso(card.emittedAt),
    ...(card.expiresAt === null ? {} : { expiringDate: iso(card.expiresAt) }),
    caption: card.caption,
    restrictedToOwner: card.restrictedToOwner,
    multipleRedemptions: card.multipleRedemptions,
    multipleCredits: card.multipleCredits,
    profileId: card.profileId,
    currencyCode: card.currency,
    redemptionCode,
  };
}

/** POST /giftcards/{id}/transactions and the items of its list. */
export function transactionRefOf(t: TransactionView, links: Links): Record<string, unknown> {
  return { cardId: t.cardId, id: t.id, _self: { href: links.transaction(t.cardId, t.id) } };
}

/** GET /giftcards/{id}/transactions/{tId}. */
export function transactionOf(t: TransactionView, links: Links): Record<string, unknown> {
  const self = links.transaction(t.cardId, t.id);
  return {
    value: decimal(t.amountMinor, t.currency),
    date: iso(t.at),
    requestId: t.requestId,
    operation: t.operation === 'debit' ? 'Debit' : 'Credit',
    settlement: { href: `${self}/settlements` },
    cancellation: { href: `${self}/cancellations` },
    authorization: { href: `${self}/authorization` },
  };
}

/** `{oid, value, date}`: an authorization, a cancellation or a settlement. */
export function operationOf(o: OperationView | TransactionView): Record<string, unknown> {
  return { oid: o.id, value: decimal(o.amountMinor, o.currency), date: iso(o.at) };
}
