/**
 * PPP request authentication. VTEX sends the merchant's appKey/appToken as
 * `X-VTEX-API-AppKey`/`X-VTEX-API-AppToken`, or as `X-PROVIDER-API-AppKey`/`X-PROVIDER-API-AppToken`
 * when the connector uses provider header names. Both spellings are accepted (Node lower-cases
 * header names, so any case works); a pair must come from one spelling.
 *
 * The appKey finds the merchant; the appToken is compared constant-time over sha256 digests
 * (only the digest is stored). A failed attempt is logged without the credentials and counted
 * by the PPP surface's failure limiter (../http/rate-limit.ts). `X-VTEX-API-Is-TestSuite: true` is
 * recognised and recorded on the request.
 *
 * @see docs/protocol/vtex-ppp.md §3
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import type { MerchantRecord, PaymentStore } from '../ports/index.ts';
import { sourceKeyOf, type FailureLimiter } from '../http/rate-limit.ts';

/** sha256 hex of a merchant appToken (the only form that is stored). */
export function hashAppToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** What authentication attached to a PPP request (`res.locals.ppp`). */
export interface PppRequestContext {
  readonly merchant: MerchantRecord;
  /** `X-VTEX-API-Is-TestSuite: true` was sent. */
  readonly testSuite: boolean;
}

/** True when the request comes from VTEX's Test Suite. @see docs/protocol/vtex-ppp.md §3 */
export function isTestSuite(req: Request): boolean {
  return header(req.headers['x-vtex-api-is-testsuite'])?.trim().toLowerCase() === 'true';
}

const DUMMY_HASH = hashAppToken('posbridge-no-such-merchant');

/**
 * Middleware that resolves the merchant from the credentials (either spelling) into
 * `res.locals.ppp`, or fails with `PPP_UNAUTHORIZED` (401).
 *
 * With a `limiter`, failed authentications (answered 401) count per source and presented appKey (a key of
 * no merchant counts as `?`, so every unknown key of one source shares a bucket); a limited
 * bucket is answered 429 before the credentials are checked, so a brute-forcing source learns
 * nothing, while another merchant's calls from the same address are unaffected.
 */
export function pppAuth(store: PaymentStore, logger: Logger, limiter?: FailureLimiter): RequestHandler {
  const lookup = async (key: string | undefined): Promise<MerchantRecord | null> =>
    key === undefined || key === '' ? null : store.findMerchantByAppKey(key);
  const check = (merchant: MerchantRecord | null, token: string | undefined): MerchantRecord | null => {
    if (token === undefined || token === '') return null;
    // Compare even for an unknown key, so timing does not reveal which keys exist.
    const given = Buffer.from(hashAppToken(token), 'hex');
    const expected = Buffer.from(merchant?.appTokenSha256 ?? DUMMY_HASH, 'hex');
    const ok = given.length === expected.length && timingSafeEqual(given, expected);
    return ok && merchant ? merchant : null;
  };
  return (req, res, next) => {
    const h = req.headers;
    const testSuite = isTestSuite(req);
    void (async () => {
      const vtex = await lookup(header(h['x-vtex-api-appkey']));
      const provider = await lookup(header(h['x-provider-api-appkey']));
      const bucket = `${sourceKeyOf(req)}|${(vtex ?? provider)?.appKey ?? '?'}`;
      if (limiter && (await limiter.refuseIfLimited(req, res, bucket, 'ppp'))) return;
      const merchant = check(vtex, header(h['x-vtex-api-apptoken'])) ?? check(provider, header(h['x-provider-api-apptoken']));
      if (merchant) {
        const context: PppRequestContext = { merchant, testSuite };
        res.locals['ppp'] = context;
        next();
        return;
      }
      const path = req.originalUrl.split('?')[0] ?? '';
      // As sent (not decoded: a malformed escape must not turn a 401 into a 500).
      const paymentId = /^\/payments\/([^/]{1,128})\//.exec(path)?.[1];
      logger.warn(
        { method: req.method, path, remoteAddress: req.ip, testSuite, ...(paymentId === undefined ? {} : { paymentId }) },
        'PPP request unauthorized',
      );
      // Only this refusal counts: later refusals of authenticated calls (403
      // PPP_MERCHANT_MISMATCH) are no failed authentication and never limit valid credentials.
      // Counted before the 401 is sent, so the client's next attempt (on any instance) sees it.
      await limiter?.fail(bucket);
      next(new CodedError('PPP_UNAUTHORIZED'));
    })().catch(next);
  };
}

/** The authenticated context of a PPP request. @throws Error when {@link pppAuth} did not run. */
export function pppContext(res: { locals: Record<string, unknown> }): PppRequestContext {
  const ctx = res.locals['ppp'] as PppRequestContext | undefined;
  if (!ctx) throw new Error('pppAuth did not run');
  return ctx;
}
