/**
 * The PPP configuration flow, so a merchant can onboard and receive an appKey/appToken issued
 * by posbridge (VTEX stores them and sends them on every later PPP call):
 *
 * 1. `POST /authorization/token` `{applicationId:"vtex", returnUrl}` → `{applicationId, token}`;
 * 2. `GET /authorization/redirect?applicationId=vtex&token=…` → 200, posbridge's sign-up page:
 *    the merchant confirms its VTEX account name (the `merchantName` VTEX sends on Create
 *    Payment; pre-filled from a VTEX `returnUrl` host such as `mystore.myvtex.com`) and submits
 *    the form to the same route with `&merchantName=…` → 302 to `returnUrl` + `authorizationCode`
 *    (a malformed or already-registered name shows the page again with the reason, 400/409);
 * 3. `GET /authorization/credentials?applicationId=vtex&authorizationCode=…` → creates the
 *    merchant with that name and a `default` store (so `agent add --merchant <name>` can give it
 *    terminals at once) and answers `{applicationId, appKey, appToken}` once (single-use code).
 *
 * These routes cannot require merchant credentials (their purpose is to issue them), so every
 * input is bounded: the app rate-limits every request per source (../http/rate-limit.ts), a
 * `returnUrl` is at most 2 KB (`MAX_RETURN_URL_LENGTH`), and pending flows are capped per source
 * and in total (429 `PPP_RATE_LIMITED` beyond). Pending flows live in the store for `ttlMs`
 * (../ports/onboarding-tokens.ts: only sha256 digests of tokens and codes, single-use, expiring),
 * so each step may land on any server instance of a cluster: an interrupted flow is simply
 * started again from the VTEX Admin.
 *
 * @see docs/protocol/vtex-ppp.md §8
 */
import { randomBytes, randomUUID } from 'node:crypto';
import express, { type Router } from 'express';
import type { Logger } from 'pino';
import { CodedError, isCodedError } from '@posbridge/protocol/errors';
import { AuthorizationTokenRequestSchema } from '@posbridge/protocol/ppp';
import type { CallbackMode, PaymentStore } from '../ports/index.ts';
import { hashAppToken } from './auth.ts';
import { parseBody } from '../http/validation.ts';
import { sourceKeyOf, sourceOf } from '../http/rate-limit.ts';

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
  /** Pending flows (tokens issued, not used, not expired) one source (an IPv4 address or IPv6 /56) may hold. @default 5 */
  readonly maxPendingPerSource?: number;
  /** Pending flows in total. @default 1000 */
  readonly maxPending?: number;
}

/** The digest a token or code is stored and looked up by (sha256, hex, as `hashAppToken`). */
const digestOf = hashAppToken;

/** What a VTEX account name (`merchantName`) may look like. */
export const MERCHANT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** VTEX hosts whose first label is the account name (the Admin's `returnUrl`, docs/protocol/vtex-ppp.md §8). */
const VTEX_ACCOUNT_HOST = /^([a-z0-9][a-z0-9-]{0,62})\.(myvtex\.com|vtexcommercestable\.com\.br|vtexcommercebeta\.com\.br|vtexpayments\.com\.br)$/;

/** The VTEX account a `returnUrl` points at, if its host is a VTEX one. */
export function accountOfReturnUrl(returnUrl: string): string | undefined {
  try {
    return VTEX_ACCOUNT_HOST.exec(new URL(returnUrl).hostname)?.[1];
  } catch {
    return undefined;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** posbridge's sign-up page of the configuration flow (no script, no style: the API's CSP applies). */
function signUpPage(token: string, merchantName: string, problem: string | undefined): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Connect your VTEX store to posbridge</title></head>
<body>
<h1>Connect your VTEX store to posbridge</h1>
<p>posbridge will issue the App Key and App Token VTEX uses to send your in-store
(Venda Direta) payments to your payment terminals.</p>
${problem === undefined ? '' : `<p role="alert"><strong>${escapeHtml(problem)}</strong></p>\n`}<form method="get" action="/authorization/redirect">
<input type="hidden" name="applicationId" value="vtex">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<label>VTEX account name <input name="merchantName" required pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}" value="${escapeHtml(merchantName)}"></label>
<button type="submit">Authorize</button>
</form>
</body></html>
`;
}

/** Name of the store every new merchant gets (agents created with `--merchant M` and no `--store`). */
export const DEFAULT_STORE_NAME = 'default';

/** A new store id. */
export function newStoreId(): string {
  return `sto_${randomUUID().replaceAll('-', '')}`;
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
  const caps = { maxPerSource: deps.maxPendingPerSource ?? 5, maxPending: deps.maxPending ?? 1000 };
  const router = express.Router();

  router.post('/token', async (req, res) => {
    const body = parseBody(AuthorizationTokenRequestSchema, req.body, 'Create Authorization Token');
    const source = sourceKeyOf(req);
    const token = randomUUID();
    const at = now();
    const created = await deps.store.createOnboardingToken({ tokenSha256: digestOf(token), source, returnUrl: body.returnUrl, expiresAt: at + ttlMs }, caps, at);
    if (created.kind === 'full') {
      const { full, pendingOfSource, pending } = created;
      log.warn({ remoteAddress: sourceOf(req), full, pendingOfSource, pending }, 'onboarding token refused: too many pending flows');
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil((created.oldestExpiresAt - at) / 1000))));
      throw new CodedError(
        'PPP_RATE_LIMITED',
        full === 'source'
          ? `too many configuration flows pending from this source (at most ${caps.maxPerSource}); finish one or wait for it to expire`
          : 'too many configuration flows pending on this server; try again later',
      );
    }
    log.info('onboarding token issued');
    res.status(200).json({ applicationId: 'vtex', token });
  });

  router.get('/redirect', async (req, res) => {
    const token = queryString(req.query['token']);
    const pending = token === undefined ? null : await deps.store.getOnboardingToken(digestOf(token), now());
    if (queryString(req.query['applicationId']) !== 'vtex' || token === undefined || pending === null || pending.authorized) {
      throw new CodedError('PPP_ONBOARDING_INVALID');
    }
    const page = (status: number, name: string, problem?: string) => {
      res.status(status).setHeader('Cache-Control', 'no-store').type('html').send(signUpPage(token, name, problem));
    };
    const given = queryString(req.query['merchantName'])?.trim();
    if (given === undefined) {
      page(200, accountOfReturnUrl(pending.returnUrl) ?? '');
      return;
    }
    if (!MERCHANT_NAME_RE.test(given)) {
      page(400, given, 'The account name is 1 to 64 letters, digits, dots, dashes or underscores, as in <account>.myvtex.com.');
      return;
    }
    if (await deps.store.findMerchantByName(given)) {
      log.warn({ merchantName: given }, 'onboarding refused: merchant name already registered');
      page(409, given, `${given} is already connected to posbridge. Ask the posbridge operator for its credentials.`);
      return;
    }
    const code = randomBytes(16).toString('hex').toUpperCase();
    // Compare-and-set: of two submissions of one token (on any instances) only one gets a code.
    if (!(await deps.store.authorizeOnboardingToken(digestOf(token), { codeSha256: digestOf(code), merchantName: given }, now()))) {
      throw new CodedError('PPP_ONBOARDING_INVALID');
    }
    log.info({ merchantName: given }, 'onboarding authorized; redirecting to VTEX');
    res.redirect(302, `${pending.returnUrl}${encodeURIComponent(code)}`);
  });

  router.get('/credentials', async (req, res) => {
    const code = queryString(req.query['authorizationCode']);
    if (queryString(req.query['applicationId']) !== 'vtex' || code === undefined) throw new CodedError('PPP_ONBOARDING_INVALID');
    // Single use: taking the code deletes the flow, so a replay (on any instance) gets nothing.
    const grant = await deps.store.takeOnboardingCode(digestOf(code), now());
    if (grant === null) throw new CodedError('PPP_ONBOARDING_INVALID');
    const { merchantName } = grant;
    const issued = newMerchantCredentials();
    const createdAt = now();
    try {
      await deps.store.createMerchant({
        merchantId: issued.merchantId,
        name: merchantName,
        appKey: issued.appKey,
        appTokenSha256: hashAppToken(issued.appToken),
        callbackMode: deps.callbackMode,
        createdAt,
      });
    } catch (err) {
      // Registered meanwhile (another flow or the CLI): the store's unique name decides.
      if (isCodedError(err) && err.code === 'CFG_INVALID') {
        throw new CodedError('PPP_ONBOARDING_INVALID', `merchant ${merchantName} is already registered; start the configuration flow again`);
      }
      throw err;
    }
    await deps.store.createStore({ storeId: newStoreId(), merchantId: issued.merchantId, name: DEFAULT_STORE_NAME, createdAt });
    log.info({ merchantId: issued.merchantId, merchantName, appKey: issued.appKey }, 'merchant onboarded');
    res.status(200).setHeader('Cache-Control', 'no-store').json({ applicationId: 'vtex', appKey: issued.appKey, appToken: issued.appToken });
  });

  return router;
}
