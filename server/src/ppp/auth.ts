/**
 * PPP request authentication: VTEX sends the merchant's appKey/appToken as
 * `X-VTEX-API-AppKey`/`X-VTEX-API-AppToken`, or as `X-PROVIDER-API-AppKey`/`X-PROVIDER-API-AppToken`
 * when the connector uses provider header names. Both spellings are accepted; comparison is
 * constant-time over sha256 digests (equal lengths, no early exit).
 *
 * @see ../../../../shared/spec/ppp-pos.md §3
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { AppCredentials } from '../config.ts';
import { sendPppError } from '../errors/http-errors.ts';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time string equality (via sha256 digests, so lengths never leak). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Middleware answering 401 `{status:"error", code:"PPP_UNAUTHORIZED", message}` unless the
 * request carries the configured credentials under either header spelling.
 */
export function pppAuth(credentials: AppCredentials, logger: Logger): RequestHandler {
  const expectedKey = digest(credentials.appKey);
  const expectedToken = digest(credentials.appToken);
  const matches = (key: string | undefined, token: string | undefined): boolean => {
    if (key === undefined || token === undefined) return false;
    // Both comparisons always run, so timing does not reveal which one failed.
    const keyOk = timingSafeEqual(digest(key), expectedKey);
    const tokenOk = timingSafeEqual(digest(token), expectedToken);
    return keyOk && tokenOk;
  };
  return (req, res, next) => {
    const h = req.headers;
    const vtexOk = matches(header(h['x-vtex-api-appkey']), header(h['x-vtex-api-apptoken']));
    const providerOk = matches(header(h['x-provider-api-appkey']), header(h['x-provider-api-apptoken']));
    if (vtexOk || providerOk) {
      next();
      return;
    }
    logger.warn({ method: req.method, path: req.originalUrl.split('?')[0], remoteAddress: req.socket.remoteAddress }, 'PPP request unauthorized');
    sendPppError(res, 401, 'PPP_UNAUTHORIZED', 'missing or wrong appKey/appToken');
  };
}
