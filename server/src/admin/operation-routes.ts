/**
 * Operation routes of the admin API: a payment's cancellations, settlements and refunds, the
 * queue of refunds whose terminal outcome is unknown, and an operator's resolution of one
 * (reusing ../payments/resolve-unknown.ts, as `posbridge-server operation resolve` does).
 * Limited to the caller's merchant scope; an operation outside it is answered 404.
 *
 * @see docs/admin-api.md "Payments"
 */
import { Router } from 'express';
import { z } from 'zod';
import { isCodedError } from '@posbridge/protocol/errors';
import { MAX_SEARCH_PAGE, type OperationRecord } from '../ports/index.ts';
import { inScope, principalOf, requireRole, sendAdminError } from './auth.ts';
import { auditEntry, auditRefusal, Id, parseOr400, Reason, route, type AdminContext } from './context.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

/** An operation as the admin API shows it (not the answer body given to VTEX). */
export function operationView(o: OperationRecord): Record<string, unknown> {
  return {
    operationId: o.operationId,
    paymentId: o.paymentId,
    kind: o.kind,
    requestId: o.requestId,
    amountMinor: o.amountMinor,
    status: o.status,
    serialNumber: o.serialNumber,
    authorizationId: o.authorizationId,
    nsu: o.nsu,
    responseCode: o.responseCode,
    answeredStatus: o.answer?.httpStatus ?? null,
    createdAt: iso(o.createdAt),
    updatedAt: iso(o.updatedAt),
  };
}

const QueueQuery = z.object({ limit: z.coerce.number().int().min(1).max(MAX_SEARCH_PAGE).default(50) }).strict();
const ResolveBody = z.object({ outcome: z.enum(['approved', 'denied']), reason: Reason }).strict();

/** The operation routes, mounted under `/admin/v1` after authentication. */
export function operationRoutes(ctx: AdminContext): Router {
  const r = Router();

  r.get(
    '/payments/:paymentId/operations',
    route(async (req, res) => {
      const p = principalOf(res);
      const paymentId = parseOr400(Id, req.params['paymentId'], 'path.paymentId');
      const payment = await ctx.store.getPayment(paymentId);
      if (!payment || !inScope(p, payment.merchantId)) {
        sendAdminError(res, 'ADMIN_NOT_FOUND', `no payment ${JSON.stringify(paymentId)}`);
        return;
      }
      const operations = await ctx.store.listOperations({ paymentId, limit: MAX_SEARCH_PAGE });
      res.json({ operations: operations.map(operationView) });
    }),
  );

  r.get(
    '/unknown-operations',
    route(async (req, res) => {
      const p = principalOf(res);
      const { limit } = parseOr400(QueueQuery, req.query, 'query');
      const operations = await ctx.store.listOperations({ statuses: ['unknown'], limit, ...(p.merchantId === null ? {} : { merchantId: p.merchantId }) });
      res.json({ operations: operations.map(operationView) });
    }),
  );

  r.post(
    '/operations/:operationId/resolve',
    requireRole('operator'),
    route(async (req, res) => {
      const p = principalOf(res);
      const operationId = parseOr400(Id, req.params['operationId'], 'path.operationId');
      const body = parseOr400(ResolveBody, req.body ?? {}, 'body');
      const op = await ctx.store.getOperation(operationId);
      const payment = op === null ? null : await ctx.store.getPayment(op.paymentId);
      if (!op || !payment || !inScope(p, payment.merchantId)) {
        sendAdminError(res, 'ADMIN_NOT_FOUND', `no operation ${JSON.stringify(operationId)}`);
        return;
      }
      const why = `${body.outcome}: ${body.reason}`;
      try {
        const resolved = await ctx.service.resolveUnknownOperation(
          operationId,
          { outcome: body.outcome, reason: body.reason, operator: p.actor },
          auditEntry(ctx, p, 'operation.resolve', operationId, why, 'ok'),
        );
        res.json({ operation: operationView(resolved) });
      } catch (err) {
        if (isCodedError(err) && err.code === 'ADMIN_RESOLVE_REFUSED') await auditRefusal(ctx, p, 'operation.resolve', operationId, why, err.code);
        throw err;
      }
    }),
  );

  return r;
}
