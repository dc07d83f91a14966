/**
 * `GET /admin/v1/totals` (docs/totals.md), mounted by the admin API under `/admin/v1`; role
 * `viewer`. Query: `merchantId` (required unless the caller is limited to one merchant, which is
 * then the default and the only one allowed), `storeId`, `date` (`YYYY-MM-DD`, required), `tz`
 * (IANA zone, default `UTC`), `format` (`json`, the default, or `csv`; `Accept: text/csv` also
 * selects CSV). JSON answers the report of ../totals/totals-report.ts; CSV is
 * `text/csv; charset=utf-8` with a file name. Errors are `{code, message, retryable}`: 400
 * `PPP_INVALID_REQUEST` for a bad query, 404 `ADMIN_MERCHANT_UNKNOWN` for a merchant outside the caller's scope.
 */
import express, { type Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { CodedError } from '@posbridge/protocol/errors';
import { wireErrorHandler } from '../http/errors.ts';
import { parseBody } from '../http/validation.ts';
import type { TotalsPort } from '../ports/totals.ts';
import { buildTotalsReport, totalsCsv } from '../totals/totals-report.ts';
import type { AdminRouteDeps } from './admin-deps.ts';

/** What {@link createTotalsRoutes} needs. */
export interface TotalsRoutesDeps extends AdminRouteDeps {
  readonly store: TotalsPort;
  readonly logger: Logger;
}

const ID = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an id');
const QuerySchema = z.strictObject({
  merchantId: ID.optional(),
  storeId: ID.optional(),
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD'),
  tz: z.string().min(1).max(64).optional(),
  format: z.enum(['json', 'csv']).optional(),
});

/** The router of `/totals` (relative path: mount it under `/admin/v1`). */
export function createTotalsRoutes(deps: TotalsRoutesDeps): Router {
  const log = deps.logger.child({ component: 'admin' });
  const router = express.Router();
  router.get('/totals', deps.authorize('viewer'), async (req, res) => {
    const q = parseBody(QuerySchema, req.query, 'totals');
    const scope = deps.merchantScopeOf(req);
    const merchantId = q.merchantId ?? scope;
    if (merchantId === null) throw new CodedError('PPP_INVALID_REQUEST', 'invalid totals request: merchantId is required');
    if (scope !== null && merchantId !== scope) throw new CodedError('ADMIN_MERCHANT_UNKNOWN');
    let report;
    try {
      report = await buildTotalsReport(deps.store, {
        merchantId,
        date: q.date,
        ...(q.storeId === undefined ? {} : { storeId: q.storeId }),
        ...(q.tz === undefined ? {} : { timeZone: q.tz }),
      });
    } catch (err) {
      if (err instanceof RangeError) throw new CodedError('PPP_INVALID_REQUEST', `invalid totals request: ${err.message}`);
      throw err;
    }
    const csv = q.format === 'csv' || (q.format === undefined && req.accepts(['application/json', 'text/csv']) === 'text/csv');
    if (csv) {
      res
        .status(200)
        .setHeader('Content-Type', 'text/csv; charset=utf-8')
        .setHeader('Content-Disposition', `attachment; filename="totals-${merchantId}-${q.date}.csv"`)
        .send(totalsCsv(report));
      return;
    }
    res.status(200).json(report);
  });
  router.use(wireErrorHandler(log));
  return router;
}
