/**
 * Ids posbridge mints for the built-in gift card ledger (docs/gift-cards.md): a card's id (the
 * protocol's `giftCardId`) and a journal entry's id (for a Debit/Credit, the protocol's
 * transaction id). Random (122 bits of a UUIDv4), so they reveal nothing about order or volume;
 * neither is a secret (the redemption code is, ./redemption-code.ts).
 */
import { randomUUID } from 'node:crypto';

/** A new card id, `gc_` + 32 hex characters. */
export function newGiftCardId(): string {
  return `gc_${randomUUID().replaceAll('-', '')}`;
}

/** A new journal entry id, `gct_` + 32 hex characters. */
export function newGiftCardEntryId(): string {
  return `gct_${randomUUID().replaceAll('-', '')}`;
}
