/**
 * The PPP configuration flow, so a merchant can onboard and receive an appKey/appToken issued
 * by posbridge (VTEX stores them and sends them on every later PPP call):
 *
 * 1. `POST /authorization/token` `{applicationId:"vtex", returnUrl}` → `{applicationId, token}`;
 * 2. `GET /authorization/redirect?applicationId=vtex&token=…` → 302 to `returnUrl` +
 *    `authorizationCode` (posbridge has no sign-up screen: the token itself is the consent of
 *    the VTEX Admin user who started the flow);
 * 3. `GET /authorization/credentials?applicationId=vtex&authorizationCode=…` → creates the
 *    merchant and answers `{applicationId, appKey, appToken}` once (the code is single-use).
 *
 * These routes cannot require merchant credentials (their purpose is to issue them); they are
 * rate-limited per source like failed authentications. Tokens and codes live in memory for
 * `ttlMs`: an interrupted flow is simply started again from the VTEX Admin.
 *
 * @see ../../../../shared/spec/ppp-pos.md §8
 */
import { randomBytes, randomUUID } from 'node:crypto';
import express, { type Router } from 'express';
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import { AuthorizationTokenRequestSchema } from '@posbridge/protocol/ppp';
import type { CallbackMode, PaymentStore } from '../store/store.ts';
import { hashAppToken } from './auth.ts';
import { parseBody } from './payments-router.ts';

/** Dependencies of {@link createAuthorizationRouter}. */
export interface AuthorizationRouterDeps {
  readonly store: PaymentStore;
  readonly logger: Logger;
  /** Callback mode of merchants created by the flow. */
  readonly callbackMode: CallbackMode;
  /** Lifetime of a token or an authorization code. @default 600000 */
  readonly ttlMs?: number;
  /** Clock. @default Date.now */
  readonly now?: () => number;
}

interface Pending {
  readonly returnUrl: string;
  readonly expiresAt: number;
  code: string | null;
}

/** Issues a merchant's credentials: `appKey` is public-ish, `appToken` is secret and shown once. */
export function newMerchantCredentials(): { merchantId: string; appKey: string; appToken: string } {
  return {
    merchantId: `mch_${randomUUID().replaceAll('-', '')}`,
    appKey: `pbk_${randomBytes(12).toString('hex')}`,
    appToken: randomBytes(32).toString('base64url'),
  };
}

function queryString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Router mounted at `/authorization`. */
export function createAuthorizationRouter(deps: AuthorizationRouterDeps): Router {
  const log = deps.logger.child({ component: 'onboarding' });
  const ttlMs = deps.ttlMs ?? 600_000;
  const now = deps.now ?? Date.now;
  const byToken = new Map<string, Pending>();
  const byCode = new Map<string, string>();
  const sweep = () => {
    const t = now();
    for (const [token, p] of byToken) {
      if (p.expiresAt <= t) {
        byToken.delete(token);
        if (p.code !== null) byCode.delete(p.code);
      }
    }
  };
  const router = express.Router();

  router.post('/token', (req, res) => {
    const body = parseBody(AuthorizationTokenRequestSchema, req.body, 'Create Authorization Token');
    sweep();
    const token = randomUUID();
    byToken.set(token, { returnUrl: body.returnUrl, expiresAt: now() + ttlMs, code: null });
    log.info('onboarding token issued');
    res.status(200).json({ applicationId: 'vtex', token });
  });

  router.get('/redirect', (req, res) => {
    sweep();
    const token = queryString(req.query['token']);
    const pending = token === undefined ? undefined : byToken.get(token);
    if (queryString(req.query['applicationId']) !== 'vtex' || !pending || pending.code !== null) {
      throw new CodedError('PPP_ONBOARDING_INVALID');
    }
    pending.code = randomBytes(16).toString('hex').toUpperCase();
    byCode.set(pending.code, token ?? '');
    log.info('onboarding authorized; redirecting to VTEX');
    res.redirect(302, `${pending.returnUrl}${encodeURIComponent(pending.code)}`);
  });

  router.get('/credentials', async (req, res) => {
    sweep();
    const code = queryString(req.query['authorizationCode']);
    const token = code === undefined ? undefined : byCode.get(code);
    if (queryString(req.query['applicationId']) !== 'vtex' || code === undefined || token === undefined) {
      throw new CodedError('PPP_ONBOARDING_INVALID');
    }
    // Single use: a replay of the code gets nothing.
    byCode.delete(code);
    byToken.delete(token);
    const issued = newMerchantCredentials();
    await deps.store.createMerchant({
      merchantId: issued.merchantId,
      name: null,
      appKey: issued.appKey,
      appTokenSha256: hashAppToken(issued.appToken),
      callbackMode: deps.callbackMode,
      createdAt: now(),
    });
    log.info({ merchantId: issued.merchantId, appKey: issued.appKey }, 'merchant onboarded');
    res.status(200).setHeader('Cache-Control', 'no-store').json({ applicationId: 'vtex', appKey: issued.appKey, appToken: issued.appToken });
  });

  return router;
}
