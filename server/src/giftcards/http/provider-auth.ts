/**
 * Authentication of the Gift Card Provider endpoints: every call under
 * `/giftcard-provider/<merchant>` must carry that merchant's provider credentials
 * (`X-PROVIDER-API-AppKey` / `X-PROVIDER-API-AppToken`, ../provider-credentials.ts), checked in
 * constant time. Missing or wrong credentials → 401 `PPP_UNAUTHORIZED`, counted per source by the
 * `giftcard` failure limiter (../../http/rate-limit.ts; a limited source is answered 429 before
 * anything is checked); another merchant's valid credentials → 403 `PPP_MERCHANT_MISMATCH`
 * (authenticated, not allowed here; not counted).
 *
 * @see docs/gift-cards.md "Credentials"
 */
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import { sourceKeyOf, sourceOf, type FailureLimiter } from '../../http/rate-limit.ts';
import type { MetaPort } from '../../ports/meta.ts';
import { credentialsMatch, findProviderCredentials, merchantOfProviderKey } from '../provider-credentials.ts';

/** What authentication attached to the request (`res.locals.giftcardMerchant`). */
export const MERCHANT_LOCAL = 'giftcardMerchant';

/** A merchant name as it may appear in a `serviceUrl` (VTEX account names). */
export const MERCHANT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function header(req: Request, name: string): string {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s.length > 256 ? '' : s;
}

/** Middleware checking the provider credentials of the path's merchant (`req.params.merchantName`). */
export function providerAuth(meta: MetaPort, logger: Logger, limiter: FailureLimiter): RequestHandler {
  const log = logger.child({ component: 'giftcard' });
  return (req, res, next) => {
    void (async () => {
      const merchantName = String(req.params['merchantName'] ?? '');
      const source = sourceKeyOf(req);
      if (await limiter.refuseIfLimited(req, res, source, 'wire')) return;
      const appKey = header(req, 'x-provider-api-appkey');
      const appToken = header(req, 'x-provider-api-apptoken');
      const record = MERCHANT_NAME_PATTERN.test(merchantName) ? await findProviderCredentials(meta, merchantName) : null;
      if (credentialsMatch(record, appKey, appToken)) {
        res.locals[MERCHANT_LOCAL] = merchantName;
        next();
        return;
      }
      const owner = appKey === '' ? null : await merchantOfProviderKey(meta, appKey);
      if (owner !== null && owner !== merchantName && credentialsMatch(await findProviderCredentials(meta, owner), appKey, appToken)) {
        log.warn({ merchantName, credentialsOf: owner, remoteAddress: sourceOf(req) }, 'gift card provider call with another merchant\'s credentials; refused');
        next(new CodedError('PPP_MERCHANT_MISMATCH', 'these provider credentials belong to another merchant'));
        return;
      }
      log.warn({ merchantName: MERCHANT_NAME_PATTERN.test(merchantName) ? merchantName : '?', remoteAddress: sourceOf(req), method: req.method }, 'gift card provider call unauthorized');
      await limiter.fail(source);
      next(new CodedError('PPP_UNAUTHORIZED', 'missing or wrong X-PROVIDER-API-AppKey/AppToken for this merchant'));
    })().catch(next);
  };
}

/** The authenticated merchant of a request. @throws Error when {@link providerAuth} did not run. */
export function merchantOf(res: { locals: Record<string, unknown> }): string {
  const m = res.locals[MERCHANT_LOCAL];
  if (typeof m !== 'string') throw new Error('providerAuth did not run');
  return m;
}
