/**
 * The gift card ledger's rules, pure: a card, its append-only journal (Debit, Credit,
 * Cancellation, Settlement), the balance derived from the journal, and {@link decideEntry}, which
 * says whether one more entry may be appended and what it records. No I/O and no clock: the
 * store adapters (../adapters/{memory,sqlite,postgres}/giftcards.ts) call it with the card's
 * journal read under the card's lock, so every adapter applies the very same rules.
 *
 * Money is integer minor units of the card's ISO 4217 currency (`amountMinor`); times are ms
 * since epoch. A refusal is a value ({@link GiftCardRefusal}, with a `GIFTCARD_*` code), never
 * an exception: it is the provider's business answer ("declined"), like a terminal's decline.
 *
 * Rules (VTEX's Giftcard Provider Protocol: the transactions, cancellations and settlements
 * endpoints, and the card fields `restrictedToOwner`, `multipleRedemptions`, `multipleCredits`):
 * - the balance (credits − debits + cancelled debits − cancelled credits) never goes negative;
 * - a Debit or a Credit needs a card that is emitted and not expired at `now`;
 * - a card with `restrictedToOwner` refuses a Debit/Credit from a client that is not its owner;
 * - `multipleRedemptions: false` allows one Debit that is not wholly cancelled at a time;
 *   `multipleCredits: false` allows one Credit (the load) that is not wholly cancelled;
 * - a Cancellation of a transaction (Debit or Credit) gives back at most its value not yet
 *   cancelled (a cancelled Debit returns its value to the card; a cancelled Credit takes it off);
 * - a Settlement of a Debit settles at most its value not yet settled nor cancelled;
 * - a card's journal holds at most {@link MAX_JOURNAL_ENTRIES} entries.
 *
 * @see docs/gift-cards.md, https://developers.vtex.com/docs/api-reference/giftcard-provider-protocol
 */
import { createHash } from 'node:crypto';

/** Most entries one card's journal holds (every append reads the journal; it stays small). */
export const MAX_JOURNAL_ENTRIES = 10_000;

/** Largest amount of one entry and largest balance, minor units (fits a JS safe integer and a SQL bigint). */
export const MAX_GIFTCARD_AMOUNT_MINOR = 100_000_000_000;

/** Longest id of a card, a transaction or a request, and longest profile id / relation name, characters. */
export const MAX_GIFTCARD_ID_LENGTH = 128;

/** Longest description or caption, characters. */
export const MAX_GIFTCARD_TEXT_LENGTH = 512;

/** A card of the built-in ledger (the redemption code only as its digest, ./redemption-code.ts). */
export interface GiftCard {
  /** posbridge's id of the card (`gc_…`), unique in the store. */
  readonly id: string;
  /** The merchant (VTEX account) the card belongs to. */
  readonly merchantName: string;
  /** The owner client's VTEX profile id (what {@link isOwner} compares against). */
  readonly profileId: string;
  /** The loyalty programme or relation (`relationName` of the protocol). */
  readonly relationName: string;
  /** Text shown to the shopper. */
  readonly caption: string;
  /** ISO 4217 alphabetic code of every amount of the card. */
  readonly currency: string;
  /** From when the card may be used, ms since epoch. */
  readonly emittedAt: number;
  /** Until when (exclusive) the card may be used, ms since epoch; null: never expires. */
  readonly expiresAt: number | null;
  /** Only the owner may use the card. */
  readonly restrictedToOwner: boolean;
  /** More than one Debit may be open at a time. */
  readonly multipleRedemptions: boolean;
  /** More than one Credit may be made. */
  readonly multipleCredits: boolean;
  /** Digest of the redemption code (./redemption-code.ts `redemptionCodeDigest`), lowercase hex. */
  readonly redemptionCodeDigest: string;
  /** When the card was created, ms since epoch. */
  readonly createdAt: number;
}

/** The kinds of journal entries. Debit and Credit are transactions; the other two refer to one. */
export type EntryKind = 'debit' | 'credit' | 'cancellation' | 'settlement';

/** Who asks, as the Hub identifies the shopper (search: `client`; transaction: `orderInfo.clientProfile`). */
export interface ClientRef {
  readonly id?: string;
  readonly email?: string;
  readonly document?: string;
}

/** One entry of a card's journal (never changed once appended). */
export interface JournalEntry {
  /** Entry id, unique in the store: for a Debit/Credit this is the protocol's transaction id. */
  readonly id: string;
  readonly cardId: string;
  /** Position in the card's journal, 1, 2, … */
  readonly seq: number;
  readonly kind: EntryKind;
  /** Value, minor units of the card's currency (≥ 1). */
  readonly amountMinor: number;
  /** For a Cancellation/Settlement: the id of the Debit/Credit it refers to; null otherwise. */
  readonly transactionId: string | null;
  /** The caller's idempotency key (unique per card). */
  readonly requestId: string;
  /** sha256 hex of the request's canonical body ({@link requestFingerprint}): a repeat must match it. */
  readonly fingerprint: string;
  readonly description: string;
  /** VTEX order id, when the Hub gave one. */
  readonly orderId: string | null;
  /** When it was appended, ms since epoch. */
  readonly at: number;
  /** The card's balance right after this entry, minor units. */
  readonly balanceAfterMinor: number;
}

/** An entry to append (the adapter adds `seq`, and `fingerprint`/`balanceAfterMinor` come from {@link decideEntry}). */
export interface EntryRequest {
  readonly cardId: string;
  /** Id for the new entry, minted by the caller (`gct_…`); unused when the request is a repeat. */
  readonly entryId: string;
  readonly requestId: string;
  readonly kind: EntryKind;
  readonly amountMinor: number;
  /** Required for a Cancellation/Settlement; must be absent for a Debit/Credit. */
  readonly transactionId?: string;
  readonly description?: string;
  readonly orderId?: string;
  /** The shopper, checked against `restrictedToOwner` cards. */
  readonly client?: ClientRef;
}

/** Codes of a refused request. */
export type GiftCardRefusalCode =
  | 'GIFTCARD_NOT_FOUND'
  | 'GIFTCARD_TRANSACTION_NOT_FOUND'
  | 'GIFTCARD_INVALID_REQUEST'
  | 'GIFTCARD_INSUFFICIENT_BALANCE'
  | 'GIFTCARD_EXPIRED'
  | 'GIFTCARD_NOT_YET_VALID'
  | 'GIFTCARD_NOT_OWNER'
  | 'GIFTCARD_SINGLE_REDEMPTION'
  | 'GIFTCARD_SINGLE_CREDIT'
  | 'GIFTCARD_CANCEL_EXCEEDED'
  | 'GIFTCARD_SETTLE_EXCEEDED'
  | 'GIFTCARD_REQUEST_ID_REUSED'
  | 'GIFTCARD_JOURNAL_FULL';

/** A refused request: what to tell the Hub. */
export interface GiftCardRefusal {
  readonly code: GiftCardRefusalCode;
  /** One sentence for the caller (no secrets, no redemption code). */
  readonly message: string;
}

/** What {@link decideEntry} decided. */
export type EntryDecision =
  | { readonly kind: 'append'; readonly entry: Omit<JournalEntry, 'seq'> }
  | { readonly kind: 'repeat'; readonly entry: JournalEntry }
  | { readonly kind: 'refused'; readonly refusal: GiftCardRefusal };

const refuse = (code: GiftCardRefusalCode, message: string): EntryDecision => ({ kind: 'refused', refusal: { code, message } });

/** The signed effect of `entry` on the balance, minor units (`journal` resolves what a cancellation refers to). */
function effectOf(entry: JournalEntry, byId: ReadonlyMap<string, JournalEntry>): number {
  switch (entry.kind) {
    case 'credit':
      return entry.amountMinor;
    case 'debit':
      return -entry.amountMinor;
    case 'settlement':
      return 0;
    case 'cancellation':
      return byId.get(entry.transactionId ?? '')?.kind === 'credit' ? -entry.amountMinor : entry.amountMinor;
  }
}

/** The balance the journal adds up to, minor units (≥ 0 for a journal {@link decideEntry} built). */
export function balanceOf(journal: readonly JournalEntry[]): number {
  const byId = new Map(journal.map((e) => [e.id, e]));
  return journal.reduce((sum, e) => sum + effectOf(e, byId), 0);
}

/** How much of transaction `transactionId` is cancelled and settled, minor units. */
export function transactionTotals(journal: readonly JournalEntry[], transactionId: string): { cancelledMinor: number; settledMinor: number } {
  let cancelledMinor = 0;
  let settledMinor = 0;
  for (const e of journal) {
    if (e.transactionId !== transactionId) continue;
    if (e.kind === 'cancellation') cancelledMinor += e.amountMinor;
    else if (e.kind === 'settlement') settledMinor += e.amountMinor;
  }
  return { cancelledMinor, settledMinor };
}

/**
 * Whether `client` is the card's owner: its `id`, `email` (case-insensitive) or `document`
 * equals the card's `profileId` (the Hub sends the profile id in a search, and only the
 * `clientProfile` email/document with a transaction).
 */
export function isOwner(card: Pick<GiftCard, 'profileId'>, client: ClientRef | undefined): boolean {
  if (client === undefined) return false;
  const owner = card.profileId;
  return client.id === owner || client.document === owner || (client.email !== undefined && client.email.toLowerCase() === owner.toLowerCase());
}

/** Whether `card` may be used for a new Debit/Credit at `now` by `client`, or why not. */
export function usabilityProblem(card: GiftCard, client: ClientRef | undefined, now: number): GiftCardRefusal | undefined {
  if (now < card.emittedAt) return { code: 'GIFTCARD_NOT_YET_VALID', message: 'the gift card is not valid yet' };
  if (card.expiresAt !== null && now >= card.expiresAt) return { code: 'GIFTCARD_EXPIRED', message: 'the gift card has expired' };
  if (card.restrictedToOwner && !isOwner(card, client)) return { code: 'GIFTCARD_NOT_OWNER', message: 'the gift card may only be used by its owner' };
  return undefined;
}

/**
 * sha256 hex of the canonical form of what a request asks (kind, amount, target, description,
 * order, client): two requests with one `requestId` must have the same fingerprint.
 */
export function requestFingerprint(req: EntryRequest): string {
  const canonical = JSON.stringify([
    req.kind,
    req.amountMinor,
    req.transactionId ?? null,
    req.description ?? '',
    req.orderId ?? null,
    req.client?.id ?? null,
    req.client?.email ?? null,
    req.client?.document ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

const bounded = (s: string | undefined, max: number): boolean => s === undefined || (s.length >= 1 && s.length <= max);

/** Why `req` is malformed, or undefined (the adapters refuse such requests with `GIFTCARD_INVALID_REQUEST`). */
export function entryRequestProblem(req: EntryRequest): string | undefined {
  if (!Number.isSafeInteger(req.amountMinor) || req.amountMinor < 1 || req.amountMinor > MAX_GIFTCARD_AMOUNT_MINOR) {
    return `value must be an integer of 1…${MAX_GIFTCARD_AMOUNT_MINOR} minor units`;
  }
  if (!bounded(req.requestId, MAX_GIFTCARD_ID_LENGTH) || !bounded(req.entryId, MAX_GIFTCARD_ID_LENGTH) || !bounded(req.cardId, MAX_GIFTCARD_ID_LENGTH)) {
    return `requestId, entry id and card id must be 1…${MAX_GIFTCARD_ID_LENGTH} characters`;
  }
  const refers = req.kind === 'cancellation' || req.kind === 'settlement';
  if (refers !== (req.transactionId !== undefined)) return 'a cancellation or settlement names its transaction; a debit or credit does not';
  if (!bounded(req.transactionId, MAX_GIFTCARD_ID_LENGTH) || !bounded(req.orderId, MAX_GIFTCARD_ID_LENGTH)) return 'transaction and order ids are too long';
  if (req.description !== undefined && req.description.length > MAX_GIFTCARD_TEXT_LENGTH) return `description is longer than ${MAX_GIFTCARD_TEXT_LENGTH} characters`;
  for (const v of [req.client?.id, req.client?.email, req.client?.document]) {
    if (!bounded(v, MAX_GIFTCARD_TEXT_LENGTH)) return 'client fields are too long';
  }
  return undefined;
}

/**
 * Decides request `req` on `card` whose journal (in `seq` order) is `journal`, at `now`: a repeat
 * of an appended request (same `requestId`, same fingerprint) answers that entry; a `requestId`
 * reused for another body, a malformed request or one the rules forbid is refused; otherwise the
 * entry to append (with the balance after it).
 */
export function decideEntry(card: GiftCard, journal: readonly JournalEntry[], req: EntryRequest, now: number): EntryDecision {
  const fingerprint = requestFingerprint(req);
  const earlier = journal.find((e) => e.requestId === req.requestId);
  if (earlier !== undefined) {
    return earlier.fingerprint === fingerprint
      ? { kind: 'repeat', entry: earlier }
      : refuse('GIFTCARD_REQUEST_ID_REUSED', 'this requestId was used for a different request on this card');
  }
  const problem = entryRequestProblem(req);
  if (problem !== undefined) return refuse('GIFTCARD_INVALID_REQUEST', problem);
  if (journal.length >= MAX_JOURNAL_ENTRIES) return refuse('GIFTCARD_JOURNAL_FULL', `the card's journal holds ${MAX_JOURNAL_ENTRIES} entries`);
  const balance = balanceOf(journal);
  let delta: number;
  if (req.kind === 'debit' || req.kind === 'credit') {
    const unusable = usabilityProblem(card, req.client, now);
    if (unusable !== undefined) return { kind: 'refused', refusal: unusable };
    const open = journal.filter((e) => e.kind === req.kind && transactionTotals(journal, e.id).cancelledMinor < e.amountMinor);
    if (req.kind === 'debit' && !card.multipleRedemptions && open.length > 0) return refuse('GIFTCARD_SINGLE_REDEMPTION', 'the gift card allows a single redemption');
    if (req.kind === 'credit' && !card.multipleCredits && open.length > 0) return refuse('GIFTCARD_SINGLE_CREDIT', 'the gift card allows a single credit');
    delta = req.kind === 'credit' ? req.amountMinor : -req.amountMinor;
  } else {
    const target = journal.find((e) => e.id === req.transactionId && (e.kind === 'debit' || e.kind === 'credit'));
    if (target === undefined) return refuse('GIFTCARD_TRANSACTION_NOT_FOUND', 'no such transaction on this gift card');
    const { cancelledMinor, settledMinor } = transactionTotals(journal, target.id);
    if (req.kind === 'cancellation') {
      if (req.amountMinor > target.amountMinor - cancelledMinor) {
        return refuse('GIFTCARD_CANCEL_EXCEEDED', `at most ${target.amountMinor - cancelledMinor} minor units of this transaction remain to cancel`);
      }
      delta = target.kind === 'debit' ? req.amountMinor : -req.amountMinor;
    } else {
      if (target.kind !== 'debit') return refuse('GIFTCARD_INVALID_REQUEST', 'only a debit can be settled');
      const left = target.amountMinor - settledMinor - cancelledMinor;
      if (req.amountMinor > left) return refuse('GIFTCARD_SETTLE_EXCEEDED', `at most ${Math.max(0, left)} minor units of this debit remain to settle`);
      delta = 0;
    }
  }
  const after = balance + delta;
  if (after < 0) return refuse('GIFTCARD_INSUFFICIENT_BALANCE', 'the gift card balance is lower than the value');
  if (after > MAX_GIFTCARD_AMOUNT_MINOR) return refuse('GIFTCARD_INVALID_REQUEST', `the balance would exceed ${MAX_GIFTCARD_AMOUNT_MINOR} minor units`);
  return {
    kind: 'append',
    entry: {
      id: req.entryId,
      cardId: card.id,
      kind: req.kind,
      amountMinor: req.amountMinor,
      transactionId: req.transactionId ?? null,
      requestId: req.requestId,
      fingerprint,
      description: req.description ?? '',
      orderId: req.orderId ?? null,
      at: now,
      balanceAfterMinor: after,
    },
  };
}
