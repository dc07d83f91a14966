/**
 * Gift card routes of the admin API (issue 17 item 4): a client's cards, and one card with its
 * balance and its whole journal, oldest first. Read-only (role viewer). The merchant is named by
 * its name (`?merchant=`, the VTEX account the ledger keys cards by); a scoped caller naming
 * another merchant is refused 403 like a payment search; an unknown card is 404 (a merchant
 * without cards has an empty listing).
 * Never the redemption code nor its digest, never a journal entry's request fingerprint.
 *
 * @see docs/admin-api.md "Gift cards"
 * @see docs/gift-cards.md
 */
import { Router, type Response } from 'express';
import { z } from 'zod';
import { CodedError } from '@posbridge/protocol/errors';
import { MAX_JOURNAL_ENTRIES } from '../giftcards/ledger.ts';
import { MAX_GIFTCARD_PAGE, type GiftCard, type JournalEntry } from '../ports/giftcards.ts';
import { principalOf, sendAdminError } from './auth.ts';
import { Id, parseOr400, route, type AdminContext } from './context.ts';

/** Default number of cards of one client listing. */
export const DEFAULT_GIFTCARD_PAGE = 50;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const ListQuery = z
  .object({
    merchant: Id,
    profile: Id,
    limit: z.coerce.number().int().min(1).max(MAX_GIFTCARD_PAGE).default(DEFAULT_GIFTCARD_PAGE),
  })
  .strict();

const DetailQuery = z.object({ merchant: Id }).strict();

/** The admin view of a card (`$defs/GiftCard` of docs/admin-api.schema.json): no redemption code digest. */
export function giftCardView(card: GiftCard): Record<string, unknown> {
  return {
    cardId: card.id,
    merchantName: card.merchantName,
    profileId: card.profileId,
    relationName: card.relationName,
    caption: card.caption,
    currency: card.currency,
    emittedAt: iso(card.emittedAt),
    expiresAt: iso(card.expiresAt),
    restrictedToOwner: card.restrictedToOwner,
    multipleRedemptions: card.multipleRedemptions,
    multipleCredits: card.multipleCredits,
    createdAt: iso(card.createdAt),
  };
}

/** The admin view of a journal entry (`$defs/GiftCardEntry`): no request fingerprint. */
export function giftCardEntryView(e: JournalEntry): Record<string, unknown> {
  return {
    entryId: e.id,
    seq: e.seq,
    kind: e.kind,
    amountMinor: e.amountMinor,
    balanceAfterMinor: e.balanceAfterMinor,
    transactionId: e.transactionId,
    orderId: e.orderId,
    requestId: e.requestId,
    description: e.description,
    at: iso(e.at),
  };
}

/** The gift card routes, mounted under `/admin/v1` after authentication. */
export function giftCardRoutes(ctx: AdminContext): Router {
  const r = Router();

  /**
   * The merchant name when the caller may see its ledger: any for unscoped credentials (a ledger
   * may serve a name the directory does not hold, docs/gift-cards.md), else only the name of the
   * directory merchant the credentials are scoped to.
   * @throws CodedError `ADMIN_FORBIDDEN` when a scoped caller names another (or no directory) merchant.
   */
  const scopedMerchant = async (res: Response, name: string): Promise<string> => {
    const p = principalOf(res);
    if (p.merchantId === null) return name;
    const merchant = await ctx.store.findMerchantByName(name);
    if (merchant?.merchantId !== p.merchantId) throw new CodedError('ADMIN_FORBIDDEN', 'these credentials see only their own merchant');
    return name;
  };

  r.get(
    '/giftcards',
    route(async (req, res) => {
      const q = parseOr400(ListQuery, req.query, 'query');
      const merchant = await scopedMerchant(res, q.merchant);
      const cards = await ctx.store.listGiftCardsOfClient(merchant, q.profile, q.limit);
      res.json({ cards: cards.map(giftCardView) });
    }),
  );

  r.get(
    '/giftcards/:cardId',
    route(async (req, res) => {
      const cardId = parseOr400(Id, req.params['cardId'], 'path.cardId');
      const q = parseOr400(DetailQuery, req.query, 'query');
      const merchant = await scopedMerchant(res, q.merchant);
      const card = await ctx.store.findGiftCard(merchant, cardId);
      if (card === null) {
        sendAdminError(res, 'ADMIN_NOT_FOUND', `no gift card ${JSON.stringify(cardId)}`);
        return;
      }
      // The journal is bounded (MAX_JOURNAL_ENTRIES), read in pages of the port's largest size.
      const entries: JournalEntry[] = [];
      for (let offset = 0; offset < MAX_JOURNAL_ENTRIES; offset += MAX_GIFTCARD_PAGE) {
        const page = await ctx.store.listGiftCardEntries(merchant, cardId, offset, MAX_GIFTCARD_PAGE);
        entries.push(...page.entries);
        if (page.entries.length < MAX_GIFTCARD_PAGE || entries.length >= page.total) break;
      }
      // The balance is derived from the journal: the last entry's balance after (0 when empty), consistent with the rows shown.
      const balanceMinor = entries.at(-1)?.balanceAfterMinor ?? 0;
      res.json({ card: { ...giftCardView(card), balanceMinor }, journal: entries.map(giftCardEntryView) });
    }),
  );

  return r;
}
