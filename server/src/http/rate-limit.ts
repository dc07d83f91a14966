/**
 * Rate limits of the HTTP edge, one per surface, so a failure on one surface never refuses valid
 * calls on another (docs/ppp.md "Authentication"):
 *
 * | surface | counts | key |
 * |---|---|---|
 * | `ppp` (`/payments`) | answered 401 (failed authentication; never a 403 to valid credentials) | source + the presented appKey when it belongs to a merchant, else source + `?` (every unknown key of a source shares one bucket) |
 * | `pos` (Payment App, `/pos/v1`) | forged or malformed tokens | source; a valid token is never limited (it cannot be guessed) |
 * | `metrics` (`/metrics` with `POSBRIDGE_METRICS_TOKEN`) | wrong bearer tokens | source |
 * | `onboarding` (`/authorization`) | every request (unauthenticated by design) | source |
 * | `pairing` (`POST /agent/v1/pair`, ../enrolment/pairing-router.ts) | refused pairing codes (malformed, unknown, used, expired) | source |
 * | `giftcard` (`/giftcard-provider/<merchant>`) | answered 401 (missing or wrong provider credentials) | source |
 * | `giftcard-code` (gift card search) | typed redemption codes that match no card | merchant + client |
 *
 * A source is an IPv4 address or an IPv6 /56 network ({@link sourceKeyOf}).
 *
 * Every count lives in the store's shared counters (../ports/counters.ts, through the
 * express-rate-limit `Store` of ./counters-store.ts, one key prefix per surface), so all server
 * instances on one database share each limit: a client spreading its attempts over the instances
 * behind a load balancer gets one allowance, not one per instance. Windows are fixed and run on
 * the injected clock.
 *
 * Failure limits use that store directly rather than the library's middleware: the middleware
 * counts every request while it is in flight and a client-aborted one as a failure, which 429s a
 * busy gateway's valid calls (server/src/ppp/auth-rate-limit.test.ts). Here only a failure
 * counts, once decided and before its refusal is sent (so the client's next attempt sees it on
 * whichever instance it lands). The onboarding limit counts every request, so it is the
 * library's middleware as is.
 *
 * @see https://express-rate-limit.mintlify.app/reference/configuration
 */
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Logger } from 'pino';
import { ERROR_CODES, type ErrorCode } from '@posbridge/protocol/errors';
import { maskTokenPaths } from '@posbridge/protocol/redaction';
import type { CountersPort } from '../ports/counters.ts';
import { CountersStore } from './counters-store.ts';
import { sendPppError } from './errors.ts';

/** The surfaces that have their own limit. */
export type LimitSurface = 'ppp' | 'pos' | 'metrics' | 'onboarding' | 'giftcard' | 'giftcard-code' | 'admin' | 'pairing';

/** Body shape of a refusal: PPP `{status, code, message}` or the Payment App's `{code, message, retryable}`. */
export type ErrorShape = 'ppp' | 'wire';

/** Options of {@link FailureLimiter}. */
export interface FailureLimiterOptions {
  /** Failures allowed per key and window; the next request of the key is refused (429). */
  readonly limit: number;
  /** Window, ms (fixed windows, as express-rate-limit's MemoryStore keeps them). */
  readonly windowMs: number;
  /** Where the counts live (the store: shared by every instance on the database). */
  readonly counters: CountersPort;
  /** Clock, ms since epoch. */
  readonly now: () => number;
  readonly logger: Logger;
  /** Called on every counted failure (metrics). */
  readonly onFailure?: () => void;
}

/** The source address of a request, for logs (express `trust proxy` decides `req.ip`). */
export function sourceOf(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/** IPv6 prefix length one source is counted by: express-rate-limit's default, as the onboarding limit uses. */
export const IPV6_SOURCE_PREFIX = 56;

/**
 * The key a request's source is limited by: its IPv4 address (also when written IPv4-mapped,
 * `::ffff:192.0.2.1`), or the /{@link IPV6_SOURCE_PREFIX} network of its IPv6 address. One
 * IPv6 client holds a whole prefix, so counting single addresses would let it rotate through
 * them past every limit.
 */
export function sourceKeyOf(req: Request): string {
  return ipKeyGenerator(sourceOf(req), IPV6_SOURCE_PREFIX);
}

/**
 * Failed authentications of one surface, counted per key in fixed windows (stored keys
 * `<surface>:<sha256 of the key>`).
 */
export class FailureLimiter {
  readonly #store: CountersStore;
  readonly #o: FailureLimiterOptions;
  readonly #log: Logger;

  /** @param surface - prefixes its stored keys and is named on the refusal log line. */
  constructor(
    readonly surface: LimitSurface,
    options: FailureLimiterOptions,
  ) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'http' });
    this.#store = new CountersStore(options.counters, { prefix: `${surface}:`, windowMs: options.windowMs, now: options.now });
  }

  /** Seconds until `key` may try again; 0 when it is not limited. @throws CodedError `STORE_FAILED`. */
  async retryAfterSeconds(key: string): Promise<number> {
    const info = await this.#store.get(key);
    if (!info || info.totalHits < this.#o.limit) return 0;
    const resetAt = info.resetTime?.getTime() ?? this.#o.now();
    return Math.max(1, Math.ceil((resetAt - this.#o.now()) / 1000));
  }

  /** Counts one failure of `key` now. @throws CodedError `STORE_FAILED`. */
  async fail(key: string): Promise<void> {
    this.#o.onFailure?.();
    await this.#store.increment(key);
  }

  /**
   * Refuses `req` with 429 `PPP_TOO_MANY_ATTEMPTS` and `Retry-After` when `key` is limited.
   * @returns true when the request was refused (the caller stops).
   * @throws CodedError `STORE_FAILED` when the counts cannot be read (the request is not served).
   */
  async refuseIfLimited(req: Request, res: Response, key: string, shape: ErrorShape): Promise<boolean> {
    const wait = await this.retryAfterSeconds(key);
    if (wait === 0) return false;
    this.#log.warn(
      { surface: this.surface, remoteAddress: sourceOf(req), method: req.method, path: maskTokenPaths(req.originalUrl.split('?')[0] ?? '') },
      'too many failed authentications; refused',
    );
    res.setHeader('Retry-After', String(wait));
    sendRefusal(res, 429, 'PPP_TOO_MANY_ATTEMPTS', ERROR_CODES.PPP_TOO_MANY_ATTEMPTS.message, shape);
    return true;
  }
}

function sendRefusal(res: Response, status: number, code: ErrorCode, message: string, shape: ErrorShape): void {
  if (shape === 'wire') res.status(status).json({ code, message, retryable: ERROR_CODES[code].retryable });
  else sendPppError(res, status, code, message);
}

/** Options of {@link onboardingRateLimit}. */
export interface OnboardingRateLimitOptions {
  /** Requests per source and window. */
  readonly limit: number;
  /** Window, ms. */
  readonly windowMs: number;
  /** Where the counts live (stored keys `onboarding:<sha256 of the source>`). */
  readonly counters: CountersPort;
  /** Clock, ms since epoch. */
  readonly now: () => number;
  readonly logger: Logger;
}

/**
 * express-rate-limit middleware of the configuration flow: every request counts (the routes are
 * unauthenticated by design and create state); over the limit → 429 `PPP_RATE_LIMITED` with
 * `RateLimit`/`Retry-After` headers. A store failure fails the request (express-rate-limit's
 * default: the error goes to the error handler, nothing is served unlimited).
 */
export function onboardingRateLimit(options: OnboardingRateLimitOptions): RequestHandler {
  const log = options.logger.child({ component: 'onboarding' });
  return rateLimit({
    windowMs: options.windowMs,
    limit: options.limit,
    store: new CountersStore(options.counters, { prefix: 'onboarding:', windowMs: options.windowMs, now: options.now }),
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // `trust proxy` is the operator's documented choice (POSBRIDGE_TRUST_PROXY), and forwarding
    // headers are the client's to send: neither may print the library's console warnings.
    validate: { trustProxy: false, xForwardedForHeader: false, forwardedHeader: false },
    handler: (req, res) => {
      log.warn({ remoteAddress: sourceOf(req), path: maskTokenPaths(req.originalUrl.split('?')[0] ?? '') }, 'too many onboarding requests; refused');
      sendRefusal(res, 429, 'PPP_RATE_LIMITED', 'too many configuration-flow requests from this source', 'ppp');
    },
  });
}
