/**
 * Error → HTTP mapping, at the edge only. Two body shapes:
 * - PPP routes: `{ status: "error", code, message }` (docs/protocol/vtex-ppp.md §4.2 "Errors", §7);
 * - the submit route (called by the Payment App): `{ code, message, retryable }` (CONTRIBUTING.md "Errors").
 * Never a stack trace. Unexpected errors are logged with `err` and answered 500; a malformed
 * request (bad `%` escape, undecompressable body, unreadable body) is the client's: 400 logged
 * at debug (docs/ppp.md "Validation and errors"). A store that fails (`STORE_FAILED`) or a request
 * past its deadline (`PPP_UNAVAILABLE`, ./deadline.ts) is answered 503 with `Retry-After` and a
 * body that says it is retryable, logged at warn once per refusal (docs/deployment.md).
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { CodedError, ERROR_CODES, isCodedError, type ErrorCode } from '@posbridge/protocol/errors';
import type { PppErrorBody } from '@posbridge/protocol/ppp';

/** HTTP status of a catalogue code (500 when the code has none). */
export function httpStatusOf(code: ErrorCode): number {
  const entry = ERROR_CODES[code] as { readonly httpStatus?: number };
  return entry.httpStatus ?? 500;
}

/** body-parser errors carry `type` and `status`. */
function bodyParserError(err: unknown): { type: string; status: number } | null {
  if (typeof err !== 'object' || err === null) return null;
  const { type, status } = err as { type?: unknown; status?: unknown };
  return typeof type === 'string' && typeof status === 'number' ? { type, status } : null;
}

/**
 * A client's fault that express or its body reader reports without a body-parser `type`: a
 * malformed `%` escape in a route parameter (the router's `URIError`, status 400) and a body
 * that does not decompress (body-parser wraps the zlib/brotli error with status 400). Any other
 * error carrying a 4xx `status` (the http-errors convention) is the client's too.
 * @returns the status (400 unless the error says another 4xx) and a message naming the problem.
 */
function clientError(err: unknown): { status: number; message: string } | null {
  if (typeof err !== 'object' || err === null) return null;
  const status = (err as { status?: unknown }).status;
  const code = (err as { code?: unknown }).code;
  if (err instanceof URIError) return { status: 400, message: 'the URL has a malformed percent-escape' };
  if (typeof status !== 'number' || status < 400 || status >= 500) return null;
  if (typeof code === 'string' && /^(Z_|ERR_BROTLI|ERR__ZLIB|ERR_ZSTD)/.test(code)) {
    return { status: 400, message: 'request body could not be decompressed (Content-Encoding does not match the body)' };
  }
  return { status: status === 404 ? 404 : 400, message: status === 404 ? 'no such route' : 'request could not be read' };
}

/** Normalises anything thrown in a request into a status + coded error. */
export function toHttpError(err: unknown, malformedCode: ErrorCode): { status: number; error: CodedError; unexpected: boolean } {
  if (isCodedError(err)) {
    const coded: { code: ErrorCode; message: string } = err;
    const error = err instanceof CodedError ? err : new CodedError(coded.code, coded.message);
    return { status: httpStatusOf(error.code), error, unexpected: false };
  }
  const bp = bodyParserError(err);
  if (bp?.type === 'entity.parse.failed') {
    const code = malformedCode;
    return { status: 400, error: new CodedError(code, 'request body is not valid JSON'), unexpected: false };
  }
  if (bp?.type === 'entity.too.large') {
    return { status: 413, error: new CodedError('PPP_BODY_TOO_LARGE'), unexpected: false };
  }
  if (bp && bp.status >= 400 && bp.status < 500) {
    return { status: bp.status, error: new CodedError('PPP_INVALID_REQUEST', 'request body could not be read'), unexpected: false };
  }
  const client = clientError(err);
  if (client) return { status: client.status, error: new CodedError(client.status === 404 ? 'PPP_NOT_FOUND' : 'PPP_INVALID_REQUEST', client.message), unexpected: false };
  return { status: 500, error: new CodedError('PPP_INTERNAL', undefined, { cause: err }), unexpected: true };
}

/** `{ paymentId }` of the request when a route has set `res.locals.paymentId`, else nothing. */
function paymentOf(res: { locals: Record<string, unknown> }): { paymentId?: string } {
  const id = res.locals['paymentId'];
  return typeof id === 'string' ? { paymentId: id } : {};
}

/** Sends a PPP error body. */
export function sendPppError(res: Parameters<RequestHandler>[1], status: number, code: string, message: string): void {
  const body: PppErrorBody = { status: 'error', code, message };
  res.status(status).json(body);
}

/** Seconds a client is asked to wait (`Retry-After`) before repeating a request answered 503 unavailable. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/** What a 503 unavailable answer says, whatever the adapter's own message was (it is logged, not sent). */
const UNAVAILABLE_MESSAGES = {
  STORE_FAILED: 'the payment store is unavailable right now; repeat the same request (it is idempotent)',
  PPP_UNAVAILABLE: ERROR_CODES.PPP_UNAVAILABLE.message,
} as const;

/** The codes answered 503 unavailable with `Retry-After`: the server's dependencies failed, not the request. */
export type UnavailableCode = keyof typeof UNAVAILABLE_MESSAGES;

/** True for the codes of {@link UnavailableCode}. */
export function isUnavailableCode(code: string): code is UnavailableCode {
  return Object.hasOwn(UNAVAILABLE_MESSAGES, code);
}

/** The two error body shapes: PPP routes', and the Payment App routes' `{code, message, retryable}`. */
export type ErrorShape = 'ppp' | 'wire';

/** `res.locals` key set once an answer was sent on the request's behalf (deadline or refusal): later writes are dropped. */
export const ANSWERED_EARLY = 'posbridgeAnsweredEarly';

/**
 * Answers 503 with `Retry-After` and a retryable body of `shape`, and logs one warn line
 * (`request refused: unavailable`) with the payment (when known), path and `reason` (the
 * adapter's message: no secrets reach store errors). Nothing happens when an answer was sent.
 */
export function sendUnavailable(
  req: Parameters<RequestHandler>[0],
  res: Parameters<RequestHandler>[1],
  options: { readonly code: UnavailableCode; readonly shape: ErrorShape; readonly logger: Logger; readonly reason: string },
): void {
  if (res.headersSent) return;
  res.locals[ANSWERED_EARLY] = true;
  const message = UNAVAILABLE_MESSAGES[options.code];
  const path = req.originalUrl.split('?')[0] ?? '';
  // Before the router ran (authentication still waiting), a follow-up route's paymentId is in
  // its path, as sent (not decoded: a malformed escape must not throw here).
  const fromPath = /^\/payments\/([^/]{1,128})\//.exec(path)?.[1];
  const payment = paymentOf(res).paymentId ?? fromPath;
  options.logger.warn(
    { code: options.code, status: 503, method: req.method, path, ...(payment === undefined ? {} : { paymentId: payment }), reason: options.reason.slice(0, 500) },
    'request refused: unavailable',
  );
  res.setHeader('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
  if (options.shape === 'ppp') {
    const body: PppErrorBody = { status: 'error', code: options.code, message, retryable: true };
    res.status(503).json(body);
  } else {
    res.status(503).json({ code: options.code, message, retryable: true });
  }
}

/**
 * Handles an error that arrives after an answer already left: the late completion of work a
 * deadline answered for (./deadline.ts) is dropped with a debug line, never a second answer nor
 * a reset connection.
 * @returns true when the error was such a late one (handled), false otherwise.
 */
function droppedLate(err: unknown, req: Parameters<RequestHandler>[0], res: Parameters<RequestHandler>[1], logger: Logger): boolean {
  if (res.locals[ANSWERED_EARLY] !== true) return false;
  const code = isCodedError(err) ? err.code : (err as { code?: unknown } | null)?.code;
  logger.debug({ method: req.method, path: req.originalUrl.split('?')[0], ...paymentOf(res), code }, 'late completion dropped: answered already');
  return true;
}

/** Express error middleware for PPP routes. */
export function pppErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (droppedLate(err, req, res, logger)) return;
    if (res.headersSent) {
      next(err);
      return;
    }
    const { status, error, unexpected } = toHttpError(err, 'PPP_MALFORMED_JSON');
    if (isUnavailableCode(error.code)) {
      sendUnavailable(req, res, { code: error.code, shape: 'ppp', logger, reason: error.message });
      return;
    }
    const ctx = { ...paymentOf(res), path: req.originalUrl.split('?')[0] };
    if (unexpected) logger.error({ err, method: req.method, ...ctx }, 'request failed');
    else logger.debug({ code: error.code, status, ...ctx, ...(isCodedError(err) ? {} : { reason: error.message }) }, 'request refused');
    sendPppError(res, status, error.code, error.message);
  };
}

/** Express error middleware for the submit route: `{ code, message, retryable }`. */
export function wireErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (droppedLate(err, req, res, logger)) return;
    if (res.headersSent) {
      next(err);
      return;
    }
    const { status, error, unexpected } = toHttpError(err, 'POS_INVALID_SERIAL');
    if (isUnavailableCode(error.code)) {
      sendUnavailable(req, res, { code: error.code, shape: 'wire', logger, reason: error.message });
      return;
    }
    if (unexpected) logger.error({ err, method: req.method, ...paymentOf(res) }, 'submit request failed');
    // A malformed request (not a refusal of the payment's route) is the client's noise: debug.
    else if (!isCodedError(err)) logger.debug({ code: error.code, status, method: req.method, reason: error.message }, 'request refused');
    else logger.info({ code: error.code, status, ...paymentOf(res), ...(error.details ?? {}) }, 'submit refused');
    res.status(status).json(error.toWire());
  };
}
