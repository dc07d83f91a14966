/**
 * The express application: security headers, request metrics and logs, health and metrics
 * routes, PPP routes (authenticated per merchant), the configuration flow, the Payment App
 * routes, JSON 404 and error mapping. Pure wiring; no listening here (../compose.ts builds it, ../main.ts listens).
 *
 * @see docs/protocol/vtex-ppp.md §4 (PPP routes), §5.4 (submitUrl), §8 (configuration flow)
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { maskTokenPaths } from '@posbridge/protocol/redaction';
import { isSandboxRequest } from '@posbridge/protocol/ppp';
import { requestDeadline, stopIfAnswered } from './deadline.ts';
import { pppErrorHandler, sendPppError } from './errors.ts';
import { healthRoutes, type HealthDeps } from './health.ts';
import { recordedHeaders } from './static-headers.ts';
import type { ServerMetrics } from '../observability/metrics.ts';
import { routeTemplateOf } from '../observability/route-label.ts';
import type { OperationService } from '../payments/operation-service.ts';
import type { PaymentService } from '../payments/payment-service.ts';
import { createPosRouter } from '../pos/pos-router.ts';
import { isTestSuite, pppAuth } from '../ppp/auth.ts';
import { createAuthorizationRouter } from '../ppp/authorization-router.ts';
import { MANIFEST } from '../ppp/manifest.ts';
import type { PppAnswerSettings } from '../domain/ppp-outcome.ts';
import type { PaymentAppUrls } from '../ppp/mappers.ts';
import type { CallbackUrlGuard } from '../callbacks/callback-url-policy.ts';
import { createPaymentsRouter } from '../ppp/payments-router.ts';
import type { VirtualTerminal } from '../testsuite/virtual-terminal.ts';
import { FailureLimiter, onboardingRateLimit, sourceKeyOf } from './rate-limit.ts';
import type { AgentEnrolment } from '../enrolment/enrolment-service.ts';
import { createPairingRouter, PAIRING_PATH } from '../enrolment/pairing-router.ts';
import { adminExtensions } from '../admin-ext/admin-extensions.ts';
import type { GiftCardBackend } from '../giftcards/backend.ts';
import { createGiftCardProviderRouter } from '../giftcards/http/router.ts';
import type { CallbackMode, PaymentStore } from '../ports/index.ts';
import type { Presence } from '../ports/presence.ts';
import { ADMIN_API_PATH, CONSOLE_PATH, createAdminRouter } from '../admin/router.ts';
import { consoleRoutes } from './console-static.ts';

/** Dependencies of {@link createApp}. */
export interface AppDeps {
  readonly service: PaymentService;
  /** Pairing codes redeemed at `POST /agent/v1/pair` (../enrolment/pairing-router.ts). */
  readonly enrolment: AgentEnrolment;
  /** The agents connected to this instance (readiness, the Payment App's terminal list). */
  readonly agents: { readonly sessionCount: number; onlineSerials(): ReadonlySet<string> };
  readonly operations: OperationService;
  readonly store: PaymentStore;
  readonly logger: Logger;
  /** Clock, ms since epoch, of what the routers decide and record themselves (the onboarding flow, the rate limits' windows). */
  readonly now: () => number;
  readonly metrics: ServerMetrics;
  readonly settings: PppAnswerSettings;
  /** HMAC key of submit tokens. */
  readonly submitSecret: string;
  /** The callback host policy Create Payment applies to `callbackUrl`. */
  readonly callbackUrls: CallbackUrlGuard;
  /** Payment App URLs of a payment. */
  readonly appUrlsFor: (paymentId: string) => PaymentAppUrls;
  /** The virtual terminal of merchants in Test Suite mode (../testsuite/virtual-terminal.ts); absent: none. */
  readonly virtualTerminal?: VirtualTerminal;
  /** Largest accepted PPP body in bytes. */
  readonly bodyLimitBytes: number;
  /** express `trust proxy` setting (false: use the socket address). */
  readonly trustProxy: boolean | number | string;
  /** Failed authentications allowed per surface, key and window before 429 (./rate-limit.ts). */
  readonly authFailureLimit: number;
  /** Window of {@link authFailureLimit}, ms. */
  readonly authFailureWindowMs: number;
  /** Limits of the configuration flow (`/authorization`). */
  readonly onboarding: OnboardingLimits;
  /** Callback mode of merchants onboarded through the configuration flow. */
  readonly onboardingCallbackMode: CallbackMode;
  /** Bearer token required on `/metrics`; undefined = open. */
  readonly metricsToken: string | undefined;
  /** Folder of the Payment App's web build, served at `/pos/app/` (a missing folder answers 404 with a hint). */
  readonly paymentAppDir: string;
  /** Folder of the console's web build, served at `/console/` (./console-static.ts; without a build, a page says how to make one). */
  readonly consoleDir: string;
  /** What `/healthz` and `/readyz` report (./health.ts): instance id, store probe, bus, phase. */
  readonly health: Omit<HealthDeps, 'agents'>;
  /**
   * Longest a PPP or Payment App request may take before it is answered 503 `PPP_UNAVAILABLE`,
   * ms (./deadline.ts): below the PPP budget of 5 s, above the answer budget of the use cases.
   */
  readonly requestDeadlineMs: number;
  /**
   * Who keeps the merchants' gift cards (../giftcards/backend.ts): the Gift Card Provider
   * endpoints at `/giftcard-provider/<merchant>` (docs/gift-cards.md) call it.
   */
  readonly giftcards: GiftCardBackend;
  /** Where terminals are online (the admin API's terminal and agent listings). */
  readonly presence: Pick<Presence, 'locate'>;
  /** Settings of the admin API (../admin/router.ts, docs/admin-api.md). */
  readonly admin: AdminHttpSettings;
}

/** Settings of the admin API. */
export interface AdminHttpSettings {
  /** Lifetime of a console session, ms. */
  readonly sessionTtlMs: number;
  /** Mark cookies `Secure` on every request (TLS configured, or behind a configured proxy); otherwise only on HTTPS requests. */
  readonly secureCookies: boolean;
}

/** Limits of the unauthenticated configuration flow. @see ../ppp/authorization-router.ts */
export interface OnboardingLimits {
  /** Requests per source and window (every request counts). */
  readonly rateLimit: number;
  /** Window of {@link rateLimit}, ms. */
  readonly rateWindowMs: number;
  /** Pending flows (issued tokens not yet used or expired) per source. */
  readonly pendingPerSource: number;
  /** Pending flows in total. */
  readonly pendingMax: number;
}

/** Largest configuration-flow body: `{applicationId, returnUrl}` with a returnUrl of at most 2 KB. */
const ONBOARDING_BODY_LIMIT_BYTES = 4096;

/** Where the Payment App's web build is served. */
export const PAYMENT_APP_PATH = '/pos/app';

/** Masks per-payment tokens in a path for logs (the shared `maskTokenPaths`; every root logger also masks whole lines). */
export function loggablePath(path: string): string {
  return maskTokenPaths(path);
}

/** sha256 digest of a header value: equal-length inputs for `timingSafeEqual`, whatever was sent. */
function digestOf(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Builds the express app. */
export function createApp(deps: AppDeps): Express {
  const log = deps.logger.child({ component: 'http' });
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy);
  app.set('query parser', 'simple');

  // The Payment App's web build (docs/ppp.md "Payment App"): its own CSP, since it runs scripts and
  // may be framed by a web host on the same origin; everything else keeps the strict API policy.
  app.use(
    PAYMENT_APP_PATH,
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          frameSrc: ["'self'"],
          frameAncestors: ["'self'"],
        },
      },
      frameguard: false,
    }),
    express.static(deps.paymentAppDir, {
      index: 'index.html',
      fallthrough: false,
      setHeaders: (res, path) => {
        res.setHeader('Cache-Control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
    // serve-static's refusals are the client's: 400 for a malformed escape or a NUL byte, 404 for
    // a missing file, a traversal (`..`, which send refuses with 403) or a wrong method. Debug only.
    ((err, req, res, next) => {
      const status = (err as { status?: unknown }).status;
      if (typeof status !== 'number' || status < 400 || status >= 500) {
        next(err);
        return;
      }
      const path = loggablePath(req.originalUrl.split('?')[0] ?? '');
      if (status === 400) {
        log.debug({ status, path }, 'static file path refused');
        sendPppError(res, 400, 'PPP_INVALID_REQUEST', 'malformed Payment App path');
        return;
      }
      log.debug({ status: 404, path, refusedWith: status }, 'static file not found');
      const hint = existsSync(deps.paymentAppDir) ? '' : ' (the Payment App is not built: run `npm run app:build`)';
      sendPppError(res, 404, 'PPP_NOT_FOUND', `no such Payment App file${hint}`);
    }) as express.ErrorRequestHandler,
  );

  // Security headers; the API serves JSON only, so the strictest CSP costs nothing. Recorded once (./static-headers.ts).
  app.use(
    recordedHeaders(
      helmet({
        contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
        crossOriginResourcePolicy: { policy: 'cross-origin' },
      }),
    ),
  );

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      deps.metrics.httpDuration.observe(
        { method: req.method, route: routeTemplateOf(req.originalUrl.split('?')[0] ?? ''), status_code: String(res.statusCode) },
        seconds,
      );
      if (!log.isLevelEnabled('debug')) return;
      const paymentId = res.locals['paymentId'] as string | undefined;
      log.debug(
        {
          method: req.method,
          path: loggablePath(req.originalUrl.split('?')[0] ?? ''),
          statusCode: res.statusCode,
          durationMs: seconds * 1000,
          ...(paymentId === undefined ? {} : { paymentId }),
          ...(isTestSuite(req) ? { testSuite: true } : {}),
          // VTEX sandbox requests (docs/homologation.md "Sandbox mode"), on every PPP route.
          ...(typeof req.body === 'object' && req.body !== null && isSandboxRequest(req.body as Record<string, boolean | undefined>) ? { sandbox: true } : {}),
        },
        'request completed',
      );
    });
    next();
  });

  // Failed authentications count per surface, each under its own key prefix in the store (./rate-limit.ts):
  // a failure on one surface never refuses valid calls on another.
  const limits = { limit: deps.authFailureLimit, windowMs: deps.authFailureWindowMs, counters: deps.store, now: deps.now, logger: deps.logger };
  const pppLimiter = new FailureLimiter('ppp', { ...limits, onFailure: () => deps.metrics.authFailures.inc({ surface: 'ppp' }) });
  const posLimiter = new FailureLimiter('pos', { ...limits, onFailure: () => deps.metrics.authFailures.inc({ surface: 'pos' }) });
  const adminLimiter = new FailureLimiter('admin', { ...limits, onFailure: () => deps.metrics.authFailures.inc({ surface: 'admin' }) });
  const metricsLimiter = new FailureLimiter('metrics', { ...limits, onFailure: () => deps.metrics.authFailures.inc({ surface: 'metrics' }) });
  const pairingLimiter = new FailureLimiter('pairing', { ...limits, onFailure: () => deps.metrics.authFailures.inc({ surface: 'pairing' }) });
  const onboardingLimit = onboardingRateLimit({
    limit: deps.onboarding.rateLimit,
    windowMs: deps.onboarding.rateWindowMs,
    counters: deps.store,
    now: deps.now,
    logger: deps.logger,
  });

  const health = healthRoutes({ ...deps.health, agents: deps.agents });
  app.get('/healthz', health.healthz);
  app.get('/readyz', health.readyz);
  // The bearer header is compared constant-time over sha256 digests, so neither its content nor
  // its length leaks through timing.
  const metricsBearer = deps.metricsToken === undefined ? undefined : digestOf(`Bearer ${deps.metricsToken}`);
  app.get('/metrics', async (req, res) => {
    if (metricsBearer !== undefined) {
      const source = sourceKeyOf(req);
      if (await metricsLimiter.refuseIfLimited(req, res, source, 'ppp')) return;
      if (!timingSafeEqual(digestOf(req.headers.authorization ?? ''), metricsBearer)) {
        await metricsLimiter.fail(source);
        sendPppError(res, 401, 'PPP_UNAUTHORIZED', 'metrics need the configured bearer token');
        return;
      }
    }
    res.status(200).setHeader('Content-Type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  app.get('/manifest', (_req, res) => {
    res.status(200).json(MANIFEST);
  });

  const json = express.json({ limit: deps.bodyLimitBytes, type: () => true });
  // Every PPP and Payment App answer leaves within the budget, whatever the store does (./deadline.ts).
  const pppDeadline = requestDeadline({ deadlineMs: deps.requestDeadlineMs, shape: 'ppp', logger: log });
  app.use(
    '/authorization',
    pppDeadline,
    onboardingLimit,
    express.json({ limit: ONBOARDING_BODY_LIMIT_BYTES, type: () => true }),
    createAuthorizationRouter({
      store: deps.store,
      logger: deps.logger,
      callbackMode: deps.onboardingCallbackMode,
      now: deps.now,
      maxPendingPerSource: deps.onboarding.pendingPerSource,
      maxPending: deps.onboarding.pendingMax,
    }),
  );
  app.use(
    '/payments',
    pppDeadline,
    pppAuth(deps.store, log, pppLimiter),
    stopIfAnswered,
    json,
    createPaymentsRouter(deps),
  );
  app.use(
    '/pos/v1',
    requestDeadline({ deadlineMs: deps.requestDeadlineMs, shape: 'wire', logger: log }),
    createPosRouter({
      service: deps.service,
      agents: deps.agents,
      store: deps.store,
      logger: deps.logger,
      submitSecret: deps.submitSecret,
      limiter: posLimiter,
    }),
  );

  // Agent pairing (unauthenticated: the code is the credential; bounded, rate-limited).
  app.use(
    PAIRING_PATH,
    requestDeadline({ deadlineMs: deps.requestDeadlineMs, shape: 'wire', logger: log }),
  );
  app.use(createPairingRouter({ enrolment: deps.enrolment, limiter: pairingLimiter, logger: deps.logger }));
  // The Gift Card Provider endpoints (docs/gift-cards.md): one serviceUrl per merchant, their own
  // credentials and limits, answered within the same deadline as PPP calls.
  const giftcardLimiter = new FailureLimiter('giftcard', { ...limits, onFailure: () => deps.metrics.authFailures.inc({ surface: 'giftcard' }) });
  const giftcardCodeLimiter = new FailureLimiter('giftcard-code', { ...limits, onFailure: () => deps.metrics.authFailures.inc({ surface: 'giftcard-code' }) });
  app.use(
    '/giftcard-provider/:merchantName',
    requestDeadline({ deadlineMs: deps.requestDeadlineMs, shape: 'wire', logger: log }),
    createGiftCardProviderRouter({
      backend: deps.giftcards,
      meta: deps.store,
      logger: deps.logger,
      authLimiter: giftcardLimiter,
      codeLimiter: giftcardCodeLimiter,
      transactions: deps.metrics.giftcardTransactions,
      bodyLimitBytes: deps.bodyLimitBytes,
    }),
  );
  // The operations console's API (docs/admin-api.md) and its web build (docs/console.md).
  app.use(
    ADMIN_API_PATH,
    requestDeadline({ deadlineMs: deps.requestDeadlineMs, shape: 'wire', logger: log }),
    createAdminRouter({
      store: deps.store,
      service: deps.service,
      presence: deps.presence,
      now: deps.now,
      logger: deps.logger,
      limiter: adminLimiter,
      sessionTtlMs: deps.admin.sessionTtlMs,
      secureCookies: deps.admin.secureCookies,
      extensions: adminExtensions({ enrolment: deps.enrolment, store: deps.store, logger: deps.logger }),
    }),
  );
  app.use(CONSOLE_PATH, consoleRoutes(deps.consoleDir));

  app.use((req, res) => {
    sendPppError(res, 404, 'PPP_NOT_FOUND', `no route ${req.method} ${loggablePath(req.path)}`);
  });
  app.use(pppErrorHandler(log));
  return app;
}
