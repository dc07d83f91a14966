/**
 * The request deadline of the PPP and Payment App routes: whatever a request waits for (the
 * store above all: a PostgreSQL that hangs, a pool with no free connection), its answer leaves
 * within the PPP budget (5 s, docs/protocol/vtex-ppp.md §1). When the route has not answered
 * after `deadlineMs`, the request is answered 503 `PPP_UNAVAILABLE` with `Retry-After`
 * (./errors.ts `sendUnavailable`); the work's late completion is dropped, never a second answer
 * (the routes are idempotent, so the client's repeat is safe whether or not that work committed).
 *
 * @see docs/deployment.md "What each component's loss does"
 */
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ANSWERED_EARLY, sendUnavailable, type ErrorShape } from './errors.ts';

/** Options of {@link requestDeadline}. */
export interface RequestDeadlineOptions {
  /** How long a request may take before it is answered 503, ms (> 0; below the 5 s budget). */
  readonly deadlineMs: number;
  /** Body shape of the 503: PPP routes' or the Payment App routes'. */
  readonly shape: ErrorShape;
  readonly logger: Logger;
}

/**
 * Middleware that arms the deadline (cleared when the answer finishes or the client goes away).
 * Mount it before authentication, so a store that hangs in the credential lookup is bounded too.
 */
export function requestDeadline(options: RequestDeadlineOptions): RequestHandler {
  const { deadlineMs, shape, logger } = options;
  return (req, res, next) => {
    const timer = setTimeout(() => {
      sendUnavailable(req, res, { code: 'PPP_UNAVAILABLE', shape, logger, reason: `no answer within ${deadlineMs} ms` });
    }, deadlineMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    res.once('finish', clear);
    res.once('close', clear);
    next();
  };
}

/**
 * Middleware that ends the chain when an answer already left (a deadline fired while an earlier
 * middleware, e.g. authentication, was waiting): the route's work is not started late.
 */
export const stopIfAnswered: RequestHandler = (_req, res, next) => {
  if (res.locals[ANSWERED_EARLY] === true || res.headersSent) return;
  next();
};
