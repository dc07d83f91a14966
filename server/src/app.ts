/**
 * The express application: PPP routes, the submitUrl route, JSON 404 and error mapping.
 * Pure wiring; no listening here (see main.ts).
 *
 * @see ../../../shared/spec/ppp-pos.md §4 (PPP routes), §5.4 (submitUrl)
 */
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { AppCredentials } from './config.ts';
import { pppErrorHandler, sendPppError } from './errors/http-errors.ts';
import type { PaymentService } from './payments/payment-service.ts';
import { createSubmitRouter } from './pos/submit-router.ts';
import { MANIFEST } from './ppp/manifest.ts';
import type { PppAnswerSettings } from './ppp/mappers.ts';
import { createPaymentsRouter } from './ppp/payments-router.ts';

/** Dependencies of {@link createApp}. */
export interface AppDeps {
  readonly service: PaymentService;
  readonly logger: Logger;
  readonly settings: PppAnswerSettings;
  /** Merchant credentials VTEX sends on PPP calls. */
  readonly credentials: AppCredentials;
  /** HMAC key of submit tokens. */
  readonly submitSecret: string;
  /** submitUrl of a payment. */
  readonly submitUrlFor: (paymentId: string) => string;
  /** Largest accepted PPP body in bytes. */
  readonly bodyLimitBytes: number;
}

/** Masks the token of a submitUrl path for logs. */
function loggablePath(path: string): string {
  return path.startsWith('/pos/v1/submit/') ? '/pos/v1/submit/[token]' : path;
}

/** Builds the express app. */
export function createApp(deps: AppDeps): Express {
  const log = deps.logger.child({ component: 'http' });
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      log.debug(
        {
          method: req.method,
          path: loggablePath(req.originalUrl.split('?')[0] ?? ''),
          statusCode: res.statusCode,
          durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request completed',
      );
    });
    next();
  });

  app.get('/manifest', (_req, res) => {
    res.status(200).json(MANIFEST);
  });
  app.use('/payments', createPaymentsRouter({ ...deps, logger: deps.logger }));
  app.use('/pos/v1', createSubmitRouter(deps));

  app.use((req, res) => {
    sendPppError(res, 404, 'PPP_NOT_FOUND', `no route ${req.method} ${loggablePath(req.path)}`);
  });
  app.use(pppErrorHandler(log));
  return app;
}
