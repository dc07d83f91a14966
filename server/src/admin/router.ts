/**
 * The admin API (`/admin/v1`, JSON) and the console's placeholder page (`/console/`): body
 * parsing (16 KiB at most), the login route, authentication of everything else (./auth.ts),
 * the payment, directory (with the terminals' event stream, ./terminal-events.ts), gift card and account routes, a JSON 404 and the error mapping, all answered in
 * the `{code, message, retryable}` shape.
 *
 * @see docs/admin-api.md
 */
import express, { Router, type ErrorRequestHandler, type RequestHandler } from 'express';
import { isCodedError } from '@posbridge/protocol/errors';
import { isUnavailableCode, sendUnavailable, toHttpError } from '../http/errors.ts';
import { accountRoutes, loginRoutes } from './account-routes.ts';
import { adminAuth, sendAdminError } from './auth.ts';
import type { AdminContext } from './context.ts';
import { directoryRoutes } from './directory-routes.ts';
import { giftCardRoutes } from './giftcard-routes.ts';
import { operationRoutes } from './operation-routes.ts';
import { paymentRoutes } from './payment-routes.ts';
import { terminalEventRoutes } from './terminal-events.ts';

/** Where the admin API is mounted. */
export const ADMIN_API_PATH = '/admin/v1';
/** Where the console is served. */
export const CONSOLE_PATH = '/console';
/** Largest admin request body, bytes. */
export const ADMIN_BODY_LIMIT_BYTES = 16 * 1024;

/** The error handler of the admin API. */
function adminErrorHandler(ctx: AdminContext): ErrorRequestHandler {
  const log = ctx.logger.child({ component: 'admin' });
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const { status, error, unexpected } = toHttpError(err, 'ADMIN_INVALID_REQUEST');
    if (isUnavailableCode(error.code)) {
      sendUnavailable(req, res, { code: error.code, shape: 'wire', logger: log, reason: error.message });
      return;
    }
    if (unexpected) log.error({ err, method: req.method, path: req.baseUrl + req.path }, 'admin request failed');
    else log.info({ code: error.code, status, method: req.method, path: req.baseUrl + req.path }, 'admin request refused');
    // Errors of the body reader and the router carry PPP codes; the admin API answers its own.
    if (!isCodedError(err) && status === 400) {
      sendAdminError(res, 'ADMIN_INVALID_REQUEST', error.message);
      return;
    }
    res.status(status).json(error.toWire());
  };
}

/** The router of `/admin/v1`. */
export function createAdminRouter(ctx: AdminContext): Router {
  const r = Router();
  r.use(express.json({ limit: ADMIN_BODY_LIMIT_BYTES, type: () => true }));
  r.use(loginRoutes(ctx));
  r.use(adminAuth({ store: ctx.store, now: ctx.now, limiter: ctx.limiter, logger: ctx.logger }));
  r.use(paymentRoutes(ctx));
  r.use(operationRoutes(ctx));
  r.use(terminalEventRoutes(ctx));
  r.use(directoryRoutes(ctx));
  r.use(giftCardRoutes(ctx));
  r.use(accountRoutes(ctx));
  for (const extension of ctx.extensions ?? []) r.use(extension);
  r.use((req, res) => {
    sendAdminError(res, 'ADMIN_NOT_FOUND', `no admin route ${req.method} ${req.path.slice(0, 200)}`);
  });
  r.use(adminErrorHandler(ctx));
  return r;
}

/** The page served at `/console/` while the console UI is not built (../http/console-static.ts): says so, how to build it, and where the API is. */
export const CONSOLE_PLACEHOLDER_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>posbridge console</title></head>
<body>
<h1>posbridge operations console</h1>
<p>The console UI is not built yet on this server. Build it with <code>npm run console:build</code>, or point <code>POSBRIDGE_CONSOLE_DIR</code> at a build (docs/console.md).</p>
<p>The admin API it will use is available now at <code>${ADMIN_API_PATH}</code>; see docs/admin-api.md.</p>
</body>
</html>
`;

/** `/console/`: the placeholder page (any other path under it: 404). */
export function consolePlaceholder(): RequestHandler {
  return (req, res) => {
    if (req.path !== '/' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      sendAdminError(res, 'ADMIN_NOT_FOUND', 'the console UI is not built yet');
      return;
    }
    if (!req.originalUrl.split('?')[0]?.endsWith('/')) {
      res.redirect(301, `${CONSOLE_PATH}/`);
      return;
    }
    res.status(200).type('html').setHeader('Cache-Control', 'no-cache').send(CONSOLE_PLACEHOLDER_HTML);
  };
}
