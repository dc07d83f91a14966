/**
 * Security headers computed once: helmet's API policy is the same for every request (no nonces,
 * nothing read from the request), so its headers are recorded once at startup by running the
 * helmet middleware against a recorder, and set on each response in one loop instead of a dozen
 * nested middleware calls per request (docs/performance.md "PPP": ~3% of the PPP call's CPU).
 * Helmet stays the source of every header name and value.
 *
 * @see https://helmetjs.github.io/
 */
import type { RequestHandler } from 'express';

/** A header helmet sets (`value`) or removes (`null`). */
type HeaderStep = readonly [name: string, value: string | number | readonly string[] | null];

/**
 * Runs `middleware` once against a recording response and returns a middleware that replays
 * what it did.
 * @throws Error when `middleware` does anything but set or remove headers and call `next()`
 *   synchronously (a policy that depends on the request cannot be recorded).
 */
export function recordedHeaders(middleware: RequestHandler): RequestHandler {
  const steps: HeaderStep[] = [];
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) {
      steps.push([name, value]);
      return res;
    },
    removeHeader(name: string) {
      steps.push([name, null]);
    },
  };
  let nexted = false;
  const req = { method: 'GET', url: '/', headers: {} };
  middleware(req as never, res as never, (err?: unknown) => {
    if (err) throw err instanceof Error ? err : new Error(String(err));
    nexted = true;
  });
  if (!nexted) throw new Error('security headers middleware did not call next() synchronously: it cannot be recorded');
  return (_req, out, next) => {
    for (const [name, value] of steps) {
      if (value === null) out.removeHeader(name);
      else out.setHeader(name, value);
    }
    next();
  };
}
