/**
 * Payment routes of the admin API: search, detail with timeline, callbacks (with redelivery),
 * agent commands, the unknown-outcome queue and its resolution. Every answer is limited to the
 * caller's merchant scope; a payment outside it is answered 404 like a missing one.
 *
 * @see docs/admin-api.md "Payments"
 */
import { Router } from 'express';
import { z } from 'zod';
import { CodedError, isCodedError } from '@posbridge/protocol/errors';
import { PAYMENT_STATUSES, type PaymentStatus } from '../domain/payment-state.ts';
import { MAX_SEARCH_PAGE, type Payment, type PaymentCursor, type PaymentSearch } from '../ports/index.ts';
import { inScope, principalOf, requireRole, sendAdminError, type AdminPrincipal } from './auth.ts';
import { auditEntry, auditRefusal, Id, parseOr400, Reason, route, type AdminContext } from './context.ts';
import { callbackView, commandView, paymentView, timelineOf } from './views.ts';

/** Default page size of searches. */
export const DEFAULT_PAGE = 50;

const IsoTime = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));

/** The query string of a search. */
const SearchQuery = z
  .object({
    paymentId: Id.optional(),
    orderId: Id.optional(),
    transactionId: Id.optional(),
    tid: Id.optional(),
    nsu: Id.optional(),
    authorizationId: Id.optional(),
    serialNumber: Id.optional(),
    storeId: Id.optional(),
    merchantId: Id.optional(),
    status: z
      .string()
      .max(300)
      .transform((s) => s.split(','))
      .pipe(z.array(z.enum(PAYMENT_STATUSES as [PaymentStatus, ...PaymentStatus[]])).min(1))
      .optional(),
    from: IsoTime.optional(),
    to: IsoTime.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_SEARCH_PAGE).default(DEFAULT_PAGE),
    cursor: z.string().max(400).optional(),
  })
  .strict();

/** Opaque cursor text of a page end. */
export function encodeCursor(c: PaymentCursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.paymentId]), 'utf8').toString('base64url');
}

const CursorSchema = z.tuple([z.number().int().min(0), Id]);

function decodeCursor(text: string): PaymentCursor {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw new CodedError('ADMIN_INVALID_REQUEST', 'query.cursor: not a cursor this API answered');
  }
  const [createdAt, paymentId] = parseOr400(CursorSchema, raw, 'query.cursor');
  return { createdAt, paymentId };
}

/**
 * The store search of a query, within the caller's scope.
 * @throws CodedError `ADMIN_FORBIDDEN` when a scoped caller names another merchant; `ADMIN_INVALID_REQUEST`.
 */
function searchOf(p: AdminPrincipal, query: unknown, statuses?: readonly PaymentStatus[]): PaymentSearch {
  const q = parseOr400(SearchQuery, query, 'query');
  if (p.merchantId !== null && q.merchantId !== undefined && q.merchantId !== p.merchantId) {
    throw new CodedError('ADMIN_FORBIDDEN', 'these credentials see only their own merchant');
  }
  const merchantId = p.merchantId ?? q.merchantId;
  const wanted = statuses === undefined ? q.status : (q.status ?? statuses).filter((s) => statuses.includes(s));
  if (wanted !== undefined && wanted.length === 0) throw new CodedError('ADMIN_INVALID_REQUEST', 'query.status: none of these statuses is in this queue');
  return {
    ...(q.paymentId === undefined ? {} : { paymentId: q.paymentId }),
    ...(q.orderId === undefined ? {} : { orderId: q.orderId }),
    ...(q.transactionId === undefined ? {} : { transactionId: q.transactionId }),
    ...(q.tid === undefined ? {} : { tid: q.tid }),
    ...(q.nsu === undefined ? {} : { nsu: q.nsu }),
    ...(q.authorizationId === undefined ? {} : { authorizationId: q.authorizationId }),
    ...(q.serialNumber === undefined ? {} : { serialNumber: q.serialNumber }),
    ...(q.storeId === undefined ? {} : { storeId: q.storeId }),
    ...(merchantId === undefined ? {} : { merchantId }),
    ...(wanted === undefined ? {} : { statuses: wanted }),
    ...(q.from === undefined ? {} : { createdFrom: q.from }),
    ...(q.to === undefined ? {} : { createdTo: q.to }),
    ...(q.cursor === undefined ? {} : { after: decodeCursor(q.cursor) }),
    limit: q.limit,
  };
}

const ResolveBody = z
  .object({
    outcome: z.enum(['approved', 'denied']),
    reason: Reason,
    authorizationId: z.string().min(1).max(64).regex(/^[A-Za-z0-9._/-]+$/).optional(),
  })
  .strict();

const RedeliverBody = z.object({ reason: Reason }).strict();

/** The payment routes, mounted under `/admin/v1` after authentication. */
export function paymentRoutes(ctx: AdminContext): Router {
  const r = Router();

  /** The payment when it exists and is in the caller's scope; else answers 404 and returns null. */
  const scopedPayment = async (p: AdminPrincipal, paymentId: string, res: Parameters<typeof sendAdminError>[0]): Promise<Payment | null> => {
    const payment = await ctx.store.getPayment(paymentId);
    if (!payment || !inScope(p, payment.merchantId)) {
      sendAdminError(res, 'ADMIN_NOT_FOUND', `no payment ${JSON.stringify(paymentId)}`);
      return null;
    }
    return payment;
  };
  const pathId = (value: unknown, what: string): string => parseOr400(Id, value, `path.${what}`);

  const page = async (search: PaymentSearch): Promise<Record<string, unknown>> => {
    const found = await ctx.store.searchPayments(search);
    return { payments: found.payments.map(paymentView), next: found.next === null ? null : encodeCursor(found.next) };
  };

  r.get(
    '/payments',
    route(async (req, res) => {
      res.json(await page(searchOf(principalOf(res), req.query)));
    }),
  );

  r.get(
    '/unknown',
    route(async (req, res) => {
      res.json(await page(searchOf(principalOf(res), req.query, ['unknown', 'reversal_unknown'])));
    }),
  );

  r.get(
    '/payments/:paymentId',
    route(async (req, res) => {
      const payment = await scopedPayment(principalOf(res), pathId(req.params['paymentId'], 'paymentId'), res);
      if (!payment) return;
      const [events, commands, traces] = await Promise.all([
        ctx.store.listPaymentEvents(payment.paymentId),
        ctx.store.listCommands(payment.paymentId),
        ctx.store.listTraceEvents(payment.paymentId),
      ]);
      res.json({ payment: paymentView(payment), timeline: timelineOf(events, commands, traces) });
    }),
  );

  r.get(
    '/payments/:paymentId/callbacks',
    route(async (req, res) => {
      const payment = await scopedPayment(principalOf(res), pathId(req.params['paymentId'], 'paymentId'), res);
      if (!payment) return;
      const now = ctx.now();
      res.json({ callbacks: (await ctx.store.listCallbacks(payment.paymentId)).map((c) => callbackView(c, now)) });
    }),
  );

  r.get(
    '/payments/:paymentId/commands',
    route(async (req, res) => {
      const payment = await scopedPayment(principalOf(res), pathId(req.params['paymentId'], 'paymentId'), res);
      if (!payment) return;
      res.json({ commands: (await ctx.store.listCommands(payment.paymentId)).map(commandView) });
    }),
  );

  r.post(
    '/payments/:paymentId/callbacks/:callbackId/redeliver',
    requireRole('operator'),
    route(async (req, res) => {
      const p = principalOf(res);
      const paymentId = pathId(req.params['paymentId'], 'paymentId');
      const callbackId = parseOr400(z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER), req.params['callbackId'], 'path.callbackId');
      const { reason } = parseOr400(RedeliverBody, req.body ?? {}, 'body');
      const payment = await scopedPayment(p, paymentId, res);
      if (!payment) return;
      const before = (await ctx.store.listCallbacks(paymentId)).find((c) => c.id === callbackId);
      if (!before) {
        sendAdminError(res, 'ADMIN_NOT_FOUND', `payment ${paymentId} has no callback ${callbackId}`);
        return;
      }
      const target = `${paymentId}#${callbackId}`;
      const entry = auditEntry(ctx, p, 'callback.redeliver', target, `${reason} (was ${before.status} after ${before.attempts} attempts)`, 'ok');
      const result = await ctx.store.redeliverCallback(callbackId, ctx.now(), entry);
      if (result !== 'scheduled') {
        await auditRefusal(ctx, p, 'callback.redeliver', target, reason, 'ADMIN_CALLBACK_IN_FLIGHT');
        sendAdminError(res, result === 'in_flight' ? 'ADMIN_CALLBACK_IN_FLIGHT' : 'ADMIN_NOT_FOUND');
        return;
      }
      ctx.logger.warn({ paymentId, callbackId, actor: p.actor, was: before.status }, 'callback redelivery asked by an operator');
      const after = (await ctx.store.listCallbacks(paymentId)).find((c) => c.id === callbackId) ?? before;
      res.json({ callback: callbackView(after, ctx.now()) });
    }),
  );

  r.post(
    '/payments/:paymentId/resolve',
    requireRole('operator'),
    route(async (req, res) => {
      const p = principalOf(res);
      const paymentId = pathId(req.params['paymentId'], 'paymentId');
      const body = parseOr400(ResolveBody, req.body ?? {}, 'body');
      if (body.authorizationId !== undefined && body.outcome !== 'approved') {
        throw new CodedError('ADMIN_INVALID_REQUEST', 'body.authorizationId: only with outcome approved');
      }
      if (!(await scopedPayment(p, paymentId, res))) return;
      try {
        const resolved = await ctx.service.resolveUnknown(
          paymentId,
          {
            outcome: body.outcome,
            reason: body.reason,
            operator: p.actor,
            ...(body.authorizationId === undefined ? {} : { authorizationId: body.authorizationId }),
          },
          auditEntry(ctx, p, 'payment.resolve', paymentId, `${body.outcome}: ${body.reason}`, 'ok'),
        );
        res.json({ payment: paymentView(resolved) });
      } catch (err) {
        if (isCodedError(err) && err.code === 'ADMIN_RESOLVE_REFUSED') await auditRefusal(ctx, p, 'payment.resolve', paymentId, `${body.outcome}: ${body.reason}`, err.code);
        throw err;
      }
    }),
  );

  return r;
}
