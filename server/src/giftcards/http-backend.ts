/**
 * A {@link GiftCardBackend} over HTTP: the adapter skeleton for a merchant whose gift cards live
 * in its own system (the "middleware" of VTEX's guide: posbridge stands between the Gift Card
 * Hub and the merchant's loyalty or credits system). posbridge keeps serving the Hub (provider
 * credentials, validation, REST-Range, rate limits, metrics); this adapter forwards each call.
 *
 * The upstream API it speaks is VTEX's Gift Card Provider Protocol itself (the same paths and
 * bodies, docs/gift-cards.md "An external provider"), so a merchant's system implements one
 * documented contract, and an existing provider that already speaks it plugs in as is. A
 * merchant whose system speaks something else adapts the `#call` mappings below: each method is
 * one request and one zod-checked answer.
 *
 * Outcomes: a 2xx answer is the result; 404 is "no such card/transaction"; 409 is a reused
 * requestId; another 4xx is a refusal (its `code` kept when it is one of the ledger's `GIFTCARD_*`
 * codes); a 5xx, a time-out, a network failure or an unreadable answer rejects with `CodedError`
 * `STORE_FAILED` (the Hub is answered 503 and retries with the same requestId), never a refusal:
 * the upstream may have applied it. The upstream must therefore be idempotent by requestId, as
 * the protocol requires.
 *
 * @see docs/gift-cards.md "An external provider"
 */
import { z } from 'zod';
import { CodedError } from '@posbridge/protocol/errors';
import { moneyFromDecimal } from '@posbridge/protocol/money';
import type {
  BackendRefusal,
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
import type { GiftCardRefusalCode } from './ledger.ts';

/** Options of {@link HttpProviderBackend}. */
export interface HttpProviderOptions {
  /** The upstream's base URL (its own `serviceUrl`), e.g. `https://loyalty.example.com/vtex`. */
  readonly baseUrl: string;
  /** Credentials posbridge sends upstream as `X-PROVIDER-API-AppKey` / `AppToken`. */
  readonly appKey: string;
  readonly appToken: string;
  /** ISO 4217 currency of the upstream's cards when an answer does not say (`currencyCode`). */
  readonly currency: string;
  /** Longest wait for one upstream answer, ms (keep it under the request deadline). @default 3000 */
  readonly timeoutMs?: number;
  /** Clock, ms since epoch (the date of a transaction whose answer carries none). */
  readonly now: () => number;
  /** The fetch to use. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

const str = z.string().max(512);
const num = z.number().finite().nonnegative();
const date = z.string().max(40).optional();
const CardAnswer = z.object({ id: str, balance: num, emissionDate: date, expiringDate: date.nullable(), currencyCode: z.string().regex(/^[A-Z]{3}$/).optional() });
const SearchAnswer = z.array(z.object({ id: str, balance: num })).max(100);
const CreatedAnswer = z.object({ id: str, redemptionCode: str.optional(), currencyCode: z.string().regex(/^[A-Z]{3}$/).optional() });
const TransactionRef = z.object({ cardId: str.optional(), id: str });
const TransactionAnswer = z.object({ value: num, date, requestId: str.optional(), operation: z.enum(['Debit', 'Credit']).optional() });
const OperationAnswer = z.object({ oid: str, value: num, date });
const RefusalAnswer = z.object({ code: z.string().max(64).optional(), message: z.string().max(512).optional() });

const KNOWN: ReadonlySet<string> = new Set<GiftCardRefusalCode>([
  'GIFTCARD_NOT_FOUND',
  'GIFTCARD_TRANSACTION_NOT_FOUND',
  'GIFTCARD_INVALID_REQUEST',
  'GIFTCARD_INSUFFICIENT_BALANCE',
  'GIFTCARD_EXPIRED',
  'GIFTCARD_NOT_YET_VALID',
  'GIFTCARD_NOT_OWNER',
  'GIFTCARD_SINGLE_REDEMPTION',
  'GIFTCARD_SINGLE_CREDIT',
  'GIFTCARD_CANCEL_EXCEEDED',
  'GIFTCARD_SETTLE_EXCEEDED',
  'GIFTCARD_REQUEST_ID_REUSED',
  'GIFTCARD_JOURNAL_FULL',
]);

/** What one upstream call answered. */
type Upstream = { readonly kind: 'ok'; readonly body: unknown; readonly headers: Headers } | { readonly kind: 'refused'; readonly refusal: BackendRefusal; readonly status: number };

const ms = (iso: string | null | undefined, fallback: number): number => {
  if (iso === undefined || iso === null) return fallback;
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(iso) ? iso : `${iso}Z`;
  const t = Date.parse(zoned.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isFinite(t) ? t : fallback;
};
const iso = (t: number): string => new Date(t).toISOString();

/** A merchant's own gift card system, over VTEX's Gift Card Provider Protocol. */
export class HttpProviderBackend implements GiftCardBackend {
  readonly #o: HttpProviderOptions;
  readonly #base: string;

  constructor(options: HttpProviderOptions) {
    this.#o = options;
    this.#base = options.baseUrl.replace(/\/+$/, '');
  }

  /** One upstream request. @throws CodedError `STORE_FAILED` when the outcome is unknown (5xx, time-out, network, unreadable). */
  async #call(method: 'GET' | 'POST', path: string, body?: unknown, range?: PageRequest): Promise<Upstream> {
    const fetcher = this.#o.fetch ?? fetch;
    let res: Response;
    let text: string;
    try {
      res = await fetcher(`${this.#base}${path}`, {
        method,
        headers: {
          Accept: 'application/vnd.vtex.giftcards.v1+json',
          'Content-Type': 'application/vnd.vtex.giftcards.v1+json',
          'X-PROVIDER-API-AppKey': this.#o.appKey,
          'X-PROVIDER-API-AppToken': this.#o.appToken,
          ...(range === undefined ? {} : { 'REST-Range': `resources=${range.offset}-${range.offset + range.limit - 1}` }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 3000),
        redirect: 'error',
      });
      text = await res.text();
    } catch (err) {
      throw new CodedError('STORE_FAILED', `the gift card provider did not answer ${method} ${path.split('/').slice(0, 3).join('/')}…`, { cause: err });
    }
    if (res.status >= 500 || text.length > 1_048_576) throw new CodedError('STORE_FAILED', `the gift card provider answered ${res.status}`);
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch (err) {
      if (res.ok) throw new CodedError('STORE_FAILED', 'the gift card provider answered something that is not JSON', { cause: err });
    }
    if (res.ok) return { kind: 'ok', body: json, headers: res.headers };
    const given = RefusalAnswer.safeParse(json);
    const code = given.success && given.data.code !== undefined && KNOWN.has(given.data.code) ? (given.data.code as GiftCardRefusalCode) : undefined;
    const fallback: GiftCardRefusalCode = res.status === 404 ? 'GIFTCARD_NOT_FOUND' : res.status === 409 ? 'GIFTCARD_REQUEST_ID_REUSED' : 'GIFTCARD_INVALID_REQUEST';
    const message = given.success && given.data.message !== undefined ? given.data.message : `the gift card provider refused it (${res.status})`;
    return { kind: 'refused', status: res.status, refusal: { code: code ?? fallback, message } };
  }

  /** `schema`'s reading of an answer. @throws CodedError `STORE_FAILED` when the answer does not fit. */
  #read<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new CodedError('STORE_FAILED', `the gift card provider's ${what} answer does not match the protocol`);
    return parsed.data;
  }

  /** Minor units of an upstream decimal. @throws CodedError `STORE_FAILED` when it is no amount of `currency`. */
  #minor(value: number, currency: string): number {
    try {
      return moneyFromDecimal(value, currency).amountMinor;
    } catch (err) {
      throw new CodedError('STORE_FAILED', `the gift card provider answered ${String(value)}, not an amount of ${currency}`, { cause: err });
    }
  }

  #cardPath(cardId: string): string {
    return `/giftcards/${encodeURIComponent(cardId)}`;
  }

  async search(_merchantName: string, query: CardQuery, page: PageRequest): Promise<Page<CardSummary> & { codeNotFound: boolean }> {
    const code = query.redemptionCode ?? '';
    const r = await this.#call('POST', '/giftcards/_search', { client: { id: query.client.id ?? '', email: query.client.email ?? '', document: query.client.document ?? '' }, cart: { redemptionCode: code } }, page);
    if (r.kind === 'refused') return { items: [], total: 0, codeNotFound: code !== '' };
    const found = this.#read(SearchAnswer, r.body, 'search');
    const items = found.map((c) => ({ id: c.id, balanceMinor: this.#minor(c.balance, this.#o.currency), currency: this.#o.currency }));
    const total = Number(/\/(\d+)\s*$/.exec(r.headers.get('REST-Content-Range') ?? '')?.[1] ?? page.offset + items.length);
    return { items, total, codeNotFound: code !== '' && items.length === 0 };
  }

  async getCard(_merchantName: string, cardId: string): Promise<CardDetails | null> {
    const r = await this.#call('GET', this.#cardPath(cardId));
    if (r.kind === 'refused') return null;
    const c = this.#read(CardAnswer, r.body, 'card');
    const currency = c.currencyCode ?? this.#o.currency;
    const now = this.#o.now();
    return {
      id: c.id,
      balanceMinor: this.#minor(c.balance, currency),
      currency,
      relationName: '',
      caption: '',
      profileId: '',
      emittedAt: ms(c.emissionDate, now),
      expiresAt: c.expiringDate === undefined || c.expiringDate === null ? null : ms(c.expiringDate, now),
      restrictedToOwner: false,
      multipleRedemptions: true,
      multipleCredits: true,
    };
  }

  async createCard(_merchantName: string, req: CreateCardRequest): Promise<BackendResult<CreatedCard>> {
    const now = this.#o.now();
    const r = await this.#call('POST', '/giftcards', {
      relationName: req.relationName,
      caption: req.caption,
      profileId: req.profileId,
      currencyCode: req.currency,
      emissionDate: iso(req.emittedAt ?? now),
      ...(req.expiresAt === undefined ? {} : { expiringDate: iso(req.expiresAt) }),
      restrictedToOwner: req.restrictedToOwner ?? false,
      multipleRedemptions: req.multipleRedemptions ?? true,
      multipleCredits: req.multipleCredits ?? true,
    });
    if (r.kind === 'refused') return { ok: false, refusal: r.refusal };
    const c = this.#read(CreatedAnswer, r.body, 'create');
    const card: CardDetails = {
      id: c.id,
      balanceMinor: 0,
      currency: c.currencyCode ?? req.currency,
      relationName: req.relationName,
      caption: req.caption,
      profileId: req.profileId,
      emittedAt: req.emittedAt ?? now,
      expiresAt: req.expiresAt ?? null,
      restrictedToOwner: req.restrictedToOwner ?? false,
      multipleRedemptions: req.multipleRedemptions ?? true,
      multipleCredits: req.multipleCredits ?? true,
    };
    return { ok: true, value: { card, redemptionCode: c.redemptionCode ?? '' } };
  }

  async createTransaction(_merchantName: string, cardId: string, req: TransactionRequest): Promise<BackendResult<TransactionView>> {
    let amountMinor: number;
    try {
      amountMinor = moneyFromDecimal(req.value, this.#o.currency).amountMinor;
    } catch {
      return { ok: false, refusal: { code: 'GIFTCARD_INVALID_REQUEST', message: `value ${String(req.value)} is not an amount of ${this.#o.currency}` } };
    }
    const r = await this.#call('POST', `${this.#cardPath(cardId)}/transactions`, {
      operation: req.operation === 'debit' ? 'Debit' : 'Credit',
      value: req.value,
      description: req.description ?? '',
      redemptionToken: '',
      redemptionCode: '',
      requestId: req.requestId,
      orderInfo: { ...(req.orderId === undefined ? {} : { orderId: req.orderId }), clientProfile: { email: req.client?.email ?? '', document: req.client?.document ?? '' } },
    });
    if (r.kind === 'refused') return { ok: false, refusal: r.refusal };
    const t = this.#read(TransactionRef, r.body, 'transaction');
    const view = { id: t.id, cardId, operation: req.operation, amountMinor, currency: this.#o.currency, requestId: req.requestId, at: this.#o.now() };
    return { ok: true, value: view };
  }

  async #transaction(cardId: string, transactionId: string): Promise<TransactionView | null> {
    const r = await this.#call('GET', `${this.#cardPath(cardId)}/transactions/${encodeURIComponent(transactionId)}`);
    if (r.kind === 'refused') return null;
    const t = this.#read(TransactionAnswer, r.body, 'transaction');
    const now = this.#o.now();
    return { id: transactionId, cardId, operation: t.operation === 'Credit' ? 'credit' : 'debit', amountMinor: this.#minor(t.value, this.#o.currency), currency: this.#o.currency, requestId: t.requestId ?? '', at: ms(t.date, now) };
  }

  async listTransactions(_merchantName: string, cardId: string, page: PageRequest): Promise<Page<TransactionView> | null> {
    const r = await this.#call('GET', `${this.#cardPath(cardId)}/transactions`, undefined, page);
    if (r.kind === 'refused') return null;
    const refs = this.#read(z.array(TransactionRef).max(100), r.body, 'transactions');
    // The list carries only links: one read per transaction (a page holds at most 100).
    const items = (await Promise.all(refs.map((t) => this.#transaction(cardId, t.id)))).filter((t): t is TransactionView => t !== null);
    const total = Number(/\/(\d+)\s*$/.exec(r.headers.get('REST-Content-Range') ?? '')?.[1] ?? page.offset + items.length);
    return { items, total };
  }

  getTransaction(_merchantName: string, cardId: string, transactionId: string): Promise<TransactionView | null> {
    return this.#transaction(cardId, transactionId);
  }

  async #operate(path: 'cancellations' | 'settlements', cardId: string, transactionId: string, req: OperationRequest): Promise<BackendResult<OperationView>> {
    const r = await this.#call('POST', `${this.#cardPath(cardId)}/transactions/${encodeURIComponent(transactionId)}/${path}`, { value: req.value, requestId: req.requestId });
    if (r.kind === 'refused') return { ok: false, refusal: r.status === 404 ? { code: 'GIFTCARD_TRANSACTION_NOT_FOUND', message: r.refusal.message } : r.refusal };
    const o = this.#read(OperationAnswer, r.body, path);
    return { ok: true, value: { id: o.oid, amountMinor: this.#minor(o.value, this.#o.currency), currency: this.#o.currency, at: ms(o.date, this.#o.now()) } };
  }

  cancel(_merchantName: string, cardId: string, transactionId: string, req: OperationRequest): Promise<BackendResult<OperationView>> {
    return this.#operate('cancellations', cardId, transactionId, req);
  }

  settle(_merchantName: string, cardId: string, transactionId: string, req: OperationRequest): Promise<BackendResult<OperationView>> {
    return this.#operate('settlements', cardId, transactionId, req);
  }

  async listOperations(_merchantName: string, cardId: string, transactionId: string, kind: 'cancellation' | 'settlement'): Promise<readonly OperationView[] | null> {
    const path = kind === 'cancellation' ? 'cancellations' : 'settlements';
    const r = await this.#call('GET', `${this.#cardPath(cardId)}/transactions/${encodeURIComponent(transactionId)}/${path}`);
    if (r.kind === 'refused') return null;
    const now = this.#o.now();
    return this.#read(z.array(OperationAnswer).max(10_000), r.body, path).map((o) => ({ id: o.oid, amountMinor: this.#minor(o.value, this.#o.currency), currency: this.#o.currency, at: ms(o.date, now) }));
  }
}

/**
 * Routes each merchant to its backend: the merchants in `byMerchant` to theirs (e.g. an
 * {@link HttpProviderBackend}), every other one to `fallback` (the built-in ledger).
 */
export class PerMerchantBackend implements GiftCardBackend {
  constructor(
    readonly fallback: GiftCardBackend,
    readonly byMerchant: ReadonlyMap<string, GiftCardBackend>,
  ) {}

  #of(merchantName: string): GiftCardBackend {
    return this.byMerchant.get(merchantName) ?? this.fallback;
  }

  search(m: string, q: CardQuery, p: PageRequest) {
    return this.#of(m).search(m, q, p);
  }
  getCard(m: string, id: string) {
    return this.#of(m).getCard(m, id);
  }
  createCard(m: string, r: CreateCardRequest) {
    return this.#of(m).createCard(m, r);
  }
  createTransaction(m: string, id: string, r: TransactionRequest) {
    return this.#of(m).createTransaction(m, id, r);
  }
  listTransactions(m: string, id: string, p: PageRequest) {
    return this.#of(m).listTransactions(m, id, p);
  }
  getTransaction(m: string, id: string, t: string) {
    return this.#of(m).getTransaction(m, id, t);
  }
  cancel(m: string, id: string, t: string, r: OperationRequest) {
    return this.#of(m).cancel(m, id, t, r);
  }
  settle(m: string, id: string, t: string, r: OperationRequest) {
    return this.#of(m).settle(m, id, t, r);
  }
  listOperations(m: string, id: string, t: string, k: 'cancellation' | 'settlement') {
    return this.#of(m).listOperations(m, id, t, k);
  }
}
