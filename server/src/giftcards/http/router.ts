/**
 * The Gift Card Provider endpoints of one merchant, mounted at `/giftcard-provider/:merchantName`
 * (that URL is the merchant's `serviceUrl` in the Gift Card Hub). Every path of VTEX's OpenAPI:
 *
 * | method | path | answer |
 * |---|---|---|
 * | POST | /giftcards/_search | the client's usable cards, or the card of a typed `cart.redemptionCode` (REST-Range) |
 * | GET | /giftcards/:cardId | the card (masked redemption code) |
 * | POST | /giftcards | a new card, its redemption code shown this once |
 * | POST | /giftcards/:cardId/transactions | a Debit or Credit `{cardId, id, _self}` |
 * | GET | /giftcards/:cardId/transactions | the card's transactions (REST-Range) |
 * | GET | /giftcards/:cardId/transactions/:tId | one transaction |
 * | GET | /giftcards/:cardId/transactions/:tId/authorization | `{oid, value, date}` |
 * | POST, GET | /giftcards/:cardId/transactions/:tId/cancellations | cancel part or all; list |
 * | POST, GET | /giftcards/:cardId/transactions/:tId/settlements | settle part or all; list |
 *
 * Bodies are JSON under `application/json` or a vendor type (`application/vnd.vtex.giftcards.v1+json`,
 * `application/vnd.vtex.giftcardproviders.v1+json`: any `application/*+json`), at most
 * `bodyLimitBytes`, validated with zod (./wire.ts). Refusals of the rules answer
 * `{code, message, retryable: false}` with 404 (unknown card or transaction), 409 (a `requestId`
 * reused for another request) or 400 (every other `GIFTCARD_*` code); an unavailable store 503
 * with `Retry-After`. A typed redemption code that matches no card counts as a failure of the
 * `giftcard-code` limiter (per merchant and client): past the limit, searches with a code are
 * answered 429 until the window ends.
 *
 * @see docs/gift-cards.md, VTEX's OpenAPI (server/test-fixtures/giftcard-provider-openapi.json)
 */
import express, { type ErrorRequestHandler, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { isCodedError } from '@posbridge/protocol/errors';
import type { Counter } from 'prom-client';
import { sendUnavailable, isUnavailableCode, toHttpError } from '../../http/errors.ts';
import type { FailureLimiter } from '../../http/rate-limit.ts';
import { parseBody } from '../../http/validation.ts';
import type { MetaPort } from '../../ports/meta.ts';
import type { BackendRefusal, BackendResult, GiftCardBackend } from '../backend.ts';
import { MAX_GIFTCARD_ID_LENGTH } from '../ledger.ts';
import { merchantOf, providerAuth } from './provider-auth.ts';
import { parseRestRange, setContentRange } from './range.ts';
import {
  CreateCardSchema,
  Links,
  OperationSchema,
  SearchSchema,
  TransactionSchema,
  cardOf,
  clientRefOf,
  createdCardOf,
  operationOf,
  searchItemOf,
  transactionOf,
  transactionRefOf,
} from './wire.ts';

/** Label values of `posbridge_giftcard_transactions_total{operation}`. */
export type GiftCardOperationLabel = 'debit' | 'credit' | 'cancellation' | 'settlement';

/** Dependencies of {@link createGiftCardProviderRouter}. */
export interface GiftCardRouterDeps {
  readonly backend: GiftCardBackend;
  /** Where the provider credentials are kept (the store's metadata). */
  readonly meta: MetaPort;
  readonly logger: Logger;
  /** Failed authentications (surface `giftcard`, per source). */
  readonly authLimiter: FailureLimiter;
  /** Typed redemption codes that matched no card (surface `giftcard-code`, per merchant and client). */
  readonly codeLimiter: FailureLimiter;
  /** Transactions by operation and result (`ok`, a `GIFTCARD_*` code, or `error`). */
  readonly transactions: Counter<'operation' | 'result'>;
  /** Largest body accepted, bytes. */
  readonly bodyLimitBytes: number;
}

const JSON_TYPES = ['application/json', 'application/*+json'];

/** HTTP status of a refusal. */
export function refusalStatus(refusal: BackendRefusal): number {
  switch (refusal.code) {
    case 'GIFTCARD_NOT_FOUND':
    case 'GIFTCARD_TRANSACTION_NOT_FOUND':
      return 404;
    case 'GIFTCARD_REQUEST_ID_REUSED':
      return 409;
    default:
      return 400;
  }
}

function refuse(res: Response, refusal: BackendRefusal): void {
  res.status(refusalStatus(refusal)).json({ code: refusal.code, message: refusal.message, retryable: false });
}

const notFound = (what: string): BackendRefusal => ({ code: what === 'card' ? 'GIFTCARD_NOT_FOUND' : 'GIFTCARD_TRANSACTION_NOT_FOUND', message: `no such ${what === 'card' ? 'gift card' : 'transaction on this gift card'}` });

/** Builds the router (mount it at `/giftcard-provider/:merchantName`). */
export function createGiftCardProviderRouter(deps: GiftCardRouterDeps): Router {
  const log = deps.logger.child({ component: 'giftcard' });
  const router = express.Router({ mergeParams: true });
  router.use(providerAuth(deps.meta, deps.logger, deps.authLimiter));
  router.use(express.json({ limit: deps.bodyLimitBytes, type: JSON_TYPES }));

  // Ids longer than any the ledger mints or accepts name nothing: 404 before any lookup.
  for (const name of ['cardId', 'tId']) {
    router.param(name, (_req, res, next, value: string) => {
      if (value.length <= MAX_GIFTCARD_ID_LENGTH) next();
      else refuse(res, notFound(name === 'cardId' ? 'card' : 'transaction'));
    });
  }

  const links = (req: Request): Links => new Links(req.baseUrl);
  const param = (req: Request, name: string): string => String(req.params[name] ?? '');
  /** Runs an async handler, passing its failure to the error handler. */
  const route =
    (fn: (req: Request, res: Response) => Promise<void>) =>
    (req: Request, res: Response, next: (err?: unknown) => void): void => {
      fn(req, res).catch(next);
    };
  const counted = async <T>(req: Request, res: Response, operation: GiftCardOperationLabel, run: () => Promise<BackendResult<T>>): Promise<BackendResult<T>> => {
    try {
      const r = await run();
      deps.transactions.inc({ operation, result: r.ok ? 'ok' : r.refusal.code });
      const where = { merchantName: merchantOf(res), cardId: param(req, 'cardId'), ...(req.params['tId'] === undefined ? {} : { transactionId: param(req, 'tId') }) };
      if (r.ok) log.debug({ operation, ...where }, 'gift card transaction decided');
      else log.info({ operation, code: r.refusal.code, ...where }, 'gift card request refused');
      return r;
    } catch (err) {
      deps.transactions.inc({ operation, result: 'error' });
      throw err;
    }
  };

  router.post(
    '/giftcards/_search',
    route(async (req, res) => {
      const merchant = merchantOf(res);
      const body = parseBody(SearchSchema, req.body, 'gift card search');
      const page = parseRestRange(req.headers['rest-range']);
      const code = body.cart?.redemptionCode ?? undefined;
      const limitKey = `${merchant}|${body.client.id || body.client.email || '?'}`;
      if (code !== undefined && code !== '' && (await deps.codeLimiter.refuseIfLimited(req, res, limitKey, 'wire'))) return;
      const found = await deps.backend.search(merchant, { client: clientRefOf(body.client), ...(code === undefined ? {} : { redemptionCode: code }) }, page);
      if (found.codeNotFound) await deps.codeLimiter.fail(limitKey);
      setContentRange(res, page.offset, found.items.length, found.total);
      res.status(200).json(found.items.map((c) => searchItemOf(c, links(req))));
    }),
  );

  router.post(
    '/giftcards',
    route(async (req, res) => {
      const body = parseBody(CreateCardSchema, req.body, 'create gift card');
      const r = await deps.backend.createCard(merchantOf(res), {
        relationName: body.relationName,
        caption: body.caption,
        profileId: body.profileId,
        currency: body.currencyCode,
        ...(body.emissionDate === undefined ? {} : { emittedAt: body.emissionDate }),
        ...(body.expiringDate === undefined ? {} : { expiresAt: body.expiringDate }),
        ...(body.restrictedToOwner === undefined ? {} : { restrictedToOwner: body.restrictedToOwner }),
        ...(body.multipleRedemptions === undefined ? {} : { multipleRedemptions: body.multipleRedemptions }),
        ...(body.multipleCredits === undefined ? {} : { multipleCredits: body.multipleCredits }),
      });
      if (!r.ok) return refuse(res, r.refusal);
      log.info({ merchantName: merchantOf(res), cardId: r.value.card.id }, 'gift card created');
      res.status(200).json(createdCardOf(r.value));
    }),
  );

  router.get(
    '/giftcards/:cardId',
    route(async (req, res) => {
      const card = await deps.backend.getCard(merchantOf(res), param(req, 'cardId'));
      if (card === null) return refuse(res, notFound('card'));
      res.status(200).json(cardOf(card, links(req)));
    }),
  );

  router.post(
    '/giftcards/:cardId/transactions',
    route(async (req, res) => {
      const body = parseBody(TransactionSchema, req.body, 'gift card transaction');
      const operation = body.operation === 'Debit' ? 'debit' : 'credit';
      const profile = body.orderInfo?.clientProfile ?? undefined;
      const r = await counted(req, res, operation, () =>
        deps.backend.createTransaction(merchantOf(res), param(req, 'cardId'), {
          operation,
          value: body.value,
          requestId: body.requestId,
          ...(body.description === undefined ? {} : { description: body.description }),
          ...(body.orderInfo?.orderId === undefined ? {} : { orderId: body.orderInfo.orderId }),
          ...(profile === undefined ? {} : { client: clientRefOf(profile) }),
        }),
      );
      if (!r.ok) return refuse(res, r.refusal);
      res.status(200).json(transactionRefOf(r.value, links(req)));
    }),
  );

  router.get(
    '/giftcards/:cardId/transactions',
    route(async (req, res) => {
      const page = parseRestRange(req.headers['rest-range']);
      const list = await deps.backend.listTransactions(merchantOf(res), param(req, 'cardId'), page);
      if (list === null) return refuse(res, notFound('card'));
      setContentRange(res, page.offset, list.items.length, list.total);
      res.status(200).json(list.items.map((t) => transactionRefOf(t, links(req))));
    }),
  );

  const transactionOr404 = async (req: Request, res: Response) => {
    const t = await deps.backend.getTransaction(merchantOf(res), param(req, 'cardId'), param(req, 'tId'));
    if (t === null) refuse(res, notFound('transaction'));
    return t;
  };

  router.get(
    '/giftcards/:cardId/transactions/:tId',
    route(async (req, res) => {
      const t = await transactionOr404(req, res);
      if (t !== null) res.status(200).json(transactionOf(t, links(req)));
    }),
  );

  router.get(
    '/giftcards/:cardId/transactions/:tId/authorization',
    route(async (req, res) => {
      const t = await transactionOr404(req, res);
      if (t !== null) res.status(200).json(operationOf(t));
    }),
  );

  for (const [path, kind] of [
    ['cancellations', 'cancellation'],
    ['settlements', 'settlement'],
  ] as const) {
    router.post(
      `/giftcards/:cardId/transactions/:tId/${path}`,
      route(async (req, res) => {
        const body = parseBody(OperationSchema, req.body, kind);
        const args = [merchantOf(res), param(req, 'cardId'), param(req, 'tId'), { value: body.value, requestId: body.requestId }] as const;
        const r = await counted(req, res, kind, () => (kind === 'cancellation' ? deps.backend.cancel(...args) : deps.backend.settle(...args)));
        if (!r.ok) return refuse(res, r.refusal);
        res.status(200).json(operationOf(r.value));
      }),
    );
    router.get(
      `/giftcards/:cardId/transactions/:tId/${path}`,
      route(async (req, res) => {
        const list = await deps.backend.listOperations(merchantOf(res), param(req, 'cardId'), param(req, 'tId'), kind);
        if (list === null) return refuse(res, notFound('transaction'));
        res.status(200).json(list.map(operationOf));
      }),
    );
  }

  router.use((req, res) => {
    res.status(404).json({ code: 'PPP_NOT_FOUND', message: `no gift card provider route ${req.method} ${req.path.slice(0, 200)}`, retryable: false });
  });
  router.use(giftCardErrorHandler(log));
  return router;
}

/** Error middleware: `{code, message, retryable}`; a failing store 503 with `Retry-After`; never a stack trace. */
function giftCardErrorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const { status, error, unexpected } = toHttpError(err, 'PPP_MALFORMED_JSON');
    if (isUnavailableCode(error.code)) {
      sendUnavailable(req, res, { code: error.code, shape: 'wire', logger: log, reason: error.message });
      return;
    }
    if (unexpected) log.error({ err, method: req.method }, 'gift card request failed');
    else log.debug({ code: error.code, status, method: req.method, ...(isCodedError(err) ? {} : { reason: error.message }) }, 'gift card request refused');
    res.status(status).json(error.toWire());
  };
}
