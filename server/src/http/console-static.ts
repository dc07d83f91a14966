/**
 * The operations console's web build served at `/console/` (docs/console.md, issue 14 item 6):
 * files from the configured folder (`POSBRIDGE_CONSOLE_DIR`) with a CSP that lets the app run
 * its own scripts and styles and talk to its own origin only, never framed; hashed assets
 * cached for a year, `index.html` revalidated. Without a build (no `index.html` in the folder)
 * the admin router's placeholder page answers instead, saying how to build it.
 *
 * @see docs/admin-api.md (the API it uses)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router, type ErrorRequestHandler } from 'express';
import helmet from 'helmet';
import { CONSOLE_PATH, consolePlaceholder } from '../admin/router.ts';
import { sendAdminError } from '../admin/auth.ts';

/** True when `dir` holds a console build. */
export function consoleBuilt(dir: string): boolean {
  return existsSync(join(dir, 'index.html'));
}

/**
 * The `/console` mount: the build in `dir` when there is one (looked up at each request to the
 * page, so a build made while the server runs is picked up), else the placeholder.
 */
export function consoleRoutes(dir: string): Router {
  const r = Router();
  r.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
      referrerPolicy: { policy: 'no-referrer' },
      frameguard: { action: 'deny' },
    }),
  );
  const placeholder = consolePlaceholder();
  const files = express.static(dir, {
    index: 'index.html',
    fallthrough: false,
    redirect: true,
    setHeaders: (res, path) => {
      res.setHeader('Cache-Control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  r.use((req, res, next) => {
    // `/console` → `/console/`: the build's relative asset paths resolve under the mount.
    if (req.path === '/' && !(req.originalUrl.split('?')[0] ?? '').endsWith('/')) {
      res.redirect(301, `${CONSOLE_PATH}/`);
      return;
    }
    if (!consoleBuilt(dir)) {
      placeholder(req, res, next);
      return;
    }
    files(req, res, next);
  });
  // serve-static's refusals (a missing file, a traversal, a malformed path) answer the admin API's JSON 404.
  r.use(((err, _req, res, next) => {
    const status = (err as { status?: unknown }).status;
    if (typeof status !== 'number' || status < 400 || status >= 500) {
      next(err);
      return;
    }
    sendAdminError(res, 'ADMIN_NOT_FOUND', 'no such console file');
  }) as ErrorRequestHandler);
  return r;
}
