/**
 * Durable delivery of the mandatory PPP notification callback.
 *
 * Rows are enqueued in `callback_outbox` in the same transaction that makes a payment final;
 * this worker leases due rows, POSTs each to its `callbackUrl` exactly as received (query
 * string included) with the partner credentials, and records the outcome:
 * - 2xx → delivered (`callback delivered`, info);
 * - network error, timeout, 408, 429, 5xx → retried with exponential backoff and full jitter
 *   (`callback attempt failed`, warn) until the payment's window closes (`expiresAt`, VTEX's
 *   `delayToCancel`) or `maxAttempts`, then given up (error);
 * - other 4xx → given up at once (error): repeating the same request cannot succeed;
 * - a URL the host policy refuses (callback-url-policy.ts: checked again before every attempt,
 *   the host resolved and the connection pinned to the checked addresses) → given up at once
 *   (`callback URL refused by the host policy; giving up`, error): the partner credentials
 *   never go to a host outside the policy.
 * Pending rows are picked up at startup too, so deliveries survive a restart.
 * Several instances share one outbox through leases (../ports/leases.ts): each claim leases its
 * rows to this worker's `owner` for {@link callbackLeaseMs} (one attempt's time-out plus a
 * margin), a row whose holder died is claimed again once its lease ran out, and a worker whose
 * lease was taken over meanwhile finds its settle refused: it logs `callback lease lost; result
 * dropped` (warn) and stops there, leaving the row to its new holder.
 * A row with an empty body is a retry-mode callback (docs/protocol/vtex-ppp.md §6.3): an empty POST after
 * which VTEX calls Create Payment again and reads the final status there.
 *
 * @see docs/protocol/vtex-ppp.md §6.1, §6.2
 */
import type { Logger } from 'pino';
import { backoff } from '@posbridge/kit/backoff';
import { formatTraceparent } from '@posbridge/protocol/ws';
import type { AppCredentials, CallbackConfig } from '../config.ts';
import { defaultLeaseOwner } from '../lease-owner.ts';
import { checkLeaseOwner, leaseOf, type ClaimedCallback, type Lease, type PaymentStore } from '../ports/index.ts';
import { createCallbackHttpClient, type CallbackPoster } from './callback-http.ts';
import { checkCallbackUrl, isCallbackHostRefused, pinnedLookup, systemResolver, type HostResolver } from './callback-url-policy.ts';

/** Options of {@link CallbackWorker}. */
export interface CallbackWorkerOptions {
  readonly store: PaymentStore;
  readonly logger: Logger;
  /** Partner credentials sent as `X-VTEX-API-AppKey` / `X-VTEX-API-AppToken`. */
  readonly credentials: AppCredentials;
  readonly config: CallbackConfig;
  /** Clock, ms since epoch. @default Date.now */
  readonly now?: () => number;
  /** Uniform [0, 1) source for jitter. @default Math.random */
  readonly random?: () => number;
  /** HTTP client. @default node:http/https with keep-alive ({@link createCallbackHttpClient}) */
  readonly post?: CallbackPoster;
  /**
   * Resolves callback hosts that are not allowlisted; the connection goes to the addresses it
   * returns, once checked. @default the system's DNS, bounded by the attempt's time-out
   */
  readonly resolveHost?: HostResolver;
  /**
   * Lease owner of this worker's claims: the instance id (1..128 characters).
   * @default ../lease-owner.ts `defaultLeaseOwner()` (random per process)
   */
  readonly owner?: string;
  /** Called after each attempt (metrics). */
  readonly onAttempt?: (outcome: 'delivered' | 'retry' | 'failed', reason: CallbackFailureReason | null) => void;
}

/** Why an attempt failed: HTTP answer, network, payment window closed, or host policy. */
export type CallbackFailureReason = 'http' | 'network' | 'expired' | 'policy';

/**
 * Delay (whole ms) before attempt `attempt + 1`, after `attempt` failed attempts (≥ 1): the kit's
 * backoff (`@posbridge/kit/backoff`) with jitter over `min(maxDelayMs, baseDelayMs × 2^(attempt-1))`,
 * never below 10% of that ceiling.
 * @param random - a uniform draw in [0, 1).
 */
export function backoffDelayMs(attempt: number, config: Pick<CallbackConfig, 'baseDelayMs' | 'maxDelayMs'>, random: number): number {
  return backoff({ baseMs: config.baseDelayMs, capMs: config.maxDelayMs, minFraction: 0.1, random: () => random }).delayFor(attempt - 1);
}

/** Least time a lease outlasts one attempt's time-out: the store writes before and after the POST. */
export const LEASE_MARGIN_MS = 5000;

/**
 * Length of a callback lease (ms): one attempt's HTTP time-out (which bounds DNS, connection and
 * answer) plus a margin of at least {@link LEASE_MARGIN_MS} — twice the time-out when that is
 * longer — so a live worker settles its row before any other instance may claim it.
 */
export function callbackLeaseMs(config: Pick<CallbackConfig, 'timeoutMs'>): number {
  return config.timeoutMs + Math.max(config.timeoutMs, LEASE_MARGIN_MS);
}

/** True for HTTP statuses worth repeating the same request for. */
function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** Most callbacks one claim leases. */
const BATCH = 20;

/**
 * Polls the outbox and delivers callbacks.
 *
 * Deliveries run independently: a claim never waits for earlier deliveries to finish. Each
 * merchant has at most `perMerchantConcurrency` callbacks in flight and all merchants together
 * `maxConcurrency`; claims take merchants in turn (see {@link PaymentStore.claimDueCallbacks}),
 * so a merchant whose endpoint hangs only ties up its own slots until `timeoutMs`, never another
 * merchant's callbacks.
 */
export class CallbackWorker {
  readonly #store: PaymentStore;
  readonly #log: Logger;
  readonly #credentials: AppCredentials;
  readonly #config: CallbackConfig;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #post: CallbackPoster;
  readonly #closeHttp: () => void;
  readonly #lookup: ReturnType<typeof pinnedLookup>;
  readonly #onAttempt: NonNullable<CallbackWorkerOptions['onAttempt']>;
  readonly #owner: string;
  readonly #leaseMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #stopped = true;
  #again = false;
  #loop: Promise<void> = Promise.resolve();
  /** Deliveries in flight, by merchantId. */
  readonly #inFlight = new Map<string, number>();
  /** Ids of the callbacks being delivered. */
  readonly #inFlightIds = new Set<number>();
  readonly #deliveries = new Set<Promise<void>>();

  /**
   * @throws TypeError for an empty or overlong `owner`; RangeError when `config.timeoutMs` is not
   *   a positive integer (the lease is derived from it).
   */
  constructor(options: CallbackWorkerOptions) {
    if (!Number.isInteger(options.config.timeoutMs) || options.config.timeoutMs < 1) {
      throw new RangeError(`callback timeoutMs must be an integer ≥ 1 (got ${options.config.timeoutMs})`);
    }
    this.#owner = checkLeaseOwner(options.owner ?? defaultLeaseOwner());
    this.#leaseMs = callbackLeaseMs(options.config);
    this.#store = options.store;
    this.#log = options.logger.child({ component: 'callback' });
    this.#credentials = options.credentials;
    this.#config = options.config;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    if (options.post) {
      this.#post = options.post;
      this.#closeHttp = () => undefined;
    } else {
      const client = createCallbackHttpClient();
      this.#post = client.post;
      this.#closeHttp = () => client.close();
    }
    const timeoutMs = Math.max(100, Math.floor(this.#config.timeoutMs / 2));
    this.#lookup = pinnedLookup(options.resolveHost ?? systemResolver({ timeoutMs, tries: 1 }));
    this.#onAttempt = options.onAttempt ?? (() => undefined);
  }

  /** Starts polling (and immediately delivers whatever is due, e.g. left over from a previous run). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#timer = setInterval(() => this.notify(), this.#config.pollIntervalMs);
    this.#timer.unref();
    this.notify();
  }

  /** Wakes the worker now (a callback was just enqueued, or a delivery finished). */
  notify(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    this.#loop = this.#claim().finally(() => {
      this.#running = false;
    });
  }

  /** Resolves when the claim pass under way (if any) has started its deliveries. */
  async idle(): Promise<void> {
    await this.#loop;
  }

  /** Stops polling and waits for in-flight deliveries (each bounded by `timeoutMs`). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#loop;
    await Promise.all([...this.#deliveries]);
    this.#closeHttp();
  }

  /** Leases due callbacks while there are free slots, and starts their deliveries. */
  async #claim(): Promise<void> {
    do {
      this.#again = false;
      const free = this.#config.maxConcurrency - this.#deliveries.size;
      if (free <= 0) return; // a delivery that finishes wakes the worker again
      const limit = Math.min(free, BATCH);
      let batch: ClaimedCallback[];
      try {
        // Leased past one attempt, so a crash mid-POST retries after the lease (on any instance).
        batch = await this.#store.claimDueCallbacks(
          this.#now(),
          this.#leaseMs,
          limit,
          { perMerchantLimit: this.#config.perMerchantConcurrency, inFlight: this.#inFlight },
          this.#owner,
        );
      } catch (err) {
        this.#log.error({ err }, 'could not read the callback outbox');
        return;
      }
      for (const entry of batch) {
        // Our own lease ran out mid-delivery (a store write slower than the margin) and we
        // claimed the row again: a second POST now would double it. The running delivery's settle
        // is refused (its lease is stale), and the row is retried when this new lease runs out.
        if (this.#inFlightIds.has(entry.id)) {
          this.#log.warn(
            { paymentId: entry.paymentId, leaseUntil: entry.leaseUntil },
            'callback claimed again while its delivery is in flight; left to the lease',
          );
          continue;
        }
        this.#start(entry);
      }
      if (batch.length === limit) this.#again = true;
    } while (this.#again && !this.#stopped);
  }

  #start(entry: ClaimedCallback): void {
    const merchantId = entry.merchantId;
    this.#inFlight.set(merchantId, (this.#inFlight.get(merchantId) ?? 0) + 1);
    this.#inFlightIds.add(entry.id);
    const delivery: Promise<void> = this.#deliver(entry)
      .catch((err: unknown) => this.#log.error({ err, paymentId: entry.paymentId }, 'callback delivery failed unexpectedly'))
      .finally(() => {
        const left = (this.#inFlight.get(merchantId) ?? 1) - 1;
        if (left > 0) this.#inFlight.set(merchantId, left);
        else this.#inFlight.delete(merchantId);
        this.#inFlightIds.delete(entry.id);
        this.#deliveries.delete(delivery);
        this.notify(); // a slot is free: this merchant's next callback, or anyone's
      });
    this.#deliveries.add(delivery);
  }

  async #deliver(entry: ClaimedCallback): Promise<void> {
    const lease = leaseOf(entry);
    const attempt = entry.attempts + 1;
    const status = statusOf(entry.body);
    const ctx = {
      paymentId: entry.paymentId,
      ...(entry.traceId === undefined ? {} : { traceId: entry.traceId }),
      attempt,
      mode: entry.body === '' ? 'retry' : 'notification',
    };
    let httpStatus: number | null = null;
    let failure: string;
    if (entry.expiresAt !== null && this.#now() >= entry.expiresAt) {
      if (!(await this.#store.markCallbackFailed(entry.id, lease, entry.attempts, 'payment window closed', entry.lastHttpStatus, this.#now()))) {
        this.#lost(ctx, lease);
        return;
      }
      this.#onAttempt('failed', 'expired');
      this.#log.error({ ...ctx, status }, 'callback window closed before delivery; giving up');
      return;
    }
    const verdict = checkCallbackUrl(entry.url, this.#config.hostPolicy);
    if (!verdict.ok) {
      await this.#refuse(entry, lease, ctx, status, `callbackUrl ${verdict.reason}`);
      return;
    }
    try {
      const res = await this.#post({
        url: verdict.url,
        headers: {
          ...(entry.body === '' ? {} : { 'Content-Type': 'application/json' }),
          Accept: 'application/json',
          'X-VTEX-API-AppKey': this.#credentials.appKey,
          'X-VTEX-API-AppToken': this.#credentials.appToken,
          // The payment's trace, a new span per attempt (docs/tracing.md).
          ...(entry.traceId === undefined ? {} : { traceparent: formatTraceparent(entry.traceId) }),
        },
        body: entry.body,
        signal: AbortSignal.timeout(this.#config.timeoutMs),
        ...(verdict.allowlisted ? {} : { lookup: this.#lookup }),
      });
      httpStatus = res.status;
      if (res.status >= 200 && res.status < 300) {
        const settled = await this.#store.markCallbackDelivered(entry.id, lease, attempt, res.status, this.#now());
        this.#onAttempt('delivered', null);
        if (!settled) {
          this.#lost(ctx, lease);
          return;
        }
        this.#log.info({ ...ctx, status, httpStatus }, 'callback delivered');
        return;
      }
      failure = `HTTP ${res.status}`;
      if (!isRetryableStatus(res.status)) {
        const settled = await this.#store.markCallbackFailed(entry.id, lease, attempt, failure, res.status, this.#now());
        this.#onAttempt('failed', 'http');
        if (!settled) {
          this.#lost(ctx, lease);
          return;
        }
        this.#log.error({ ...ctx, status, httpStatus }, 'callback refused; giving up');
        return;
      }
      this.#log.warn({ ...ctx, httpStatus }, 'callback attempt failed');
    } catch (err) {
      if (isCallbackHostRefused(err)) {
        await this.#refuse(entry, lease, ctx, status, (err as Error).message);
        return;
      }
      failure = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      this.#log.warn({ ...ctx, err }, 'callback attempt failed');
    }
    const reason = httpStatus === null ? 'network' : 'http';
    try {
      const delayMs = backoffDelayMs(attempt, this.#config, this.#random());
      const windowClosed = entry.expiresAt !== null && this.#now() + delayMs >= entry.expiresAt;
      if (attempt >= this.#config.maxAttempts || windowClosed) {
        const settled = await this.#store.markCallbackFailed(entry.id, lease, attempt, failure, httpStatus, this.#now());
        this.#onAttempt('failed', windowClosed ? 'expired' : reason);
        if (!settled) {
          this.#lost(ctx, lease);
          return;
        }
        this.#log.error({ ...ctx, status, httpStatus, reason: failure }, 'callback attempts exhausted; giving up');
        return;
      }
      this.#onAttempt('retry', reason);
      if (!(await this.#store.scheduleCallbackRetry(entry.id, lease, attempt, this.#now() + delayMs, failure, httpStatus, this.#now()))) {
        this.#lost(ctx, lease);
        return;
      }
      this.#log.debug({ ...ctx, delayMs }, 'callback retry scheduled');
      if (delayMs < this.#config.pollIntervalMs && !this.#stopped) {
        setTimeout(() => this.notify(), delayMs).unref();
      }
    } catch (err) {
      this.#log.error({ err, ...ctx }, 'could not record the callback attempt');
    }
  }

  /**
   * The row was claimed again (this worker's lease ran out and another claim took it) or settled
   * meanwhile: this worker's result is dropped, the row is its new holder's.
   */
  #lost(ctx: Record<string, unknown>, lease: Lease): void {
    this.#log.warn({ ...ctx, leaseOwner: lease.owner, leaseUntil: lease.until }, 'callback lease lost; result dropped');
  }

  /** Gives a callback up because the host policy refuses its URL (nothing was sent). */
  async #refuse(entry: ClaimedCallback, lease: Lease, ctx: Record<string, unknown>, status: string | undefined, reason: string): Promise<void> {
    try {
      if (!(await this.#store.markCallbackFailed(entry.id, lease, entry.attempts, reason, null, this.#now()))) {
        this.#lost(ctx, lease);
        return;
      }
    } catch (err) {
      this.#log.error({ err, ...ctx }, 'could not record the callback attempt');
    }
    this.#onAttempt('failed', 'policy');
    this.#log.error({ ...ctx, status, merchantId: entry.merchantId, reason }, 'callback URL refused by the host policy; giving up');
  }
}

function statusOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { status?: unknown };
    return typeof parsed.status === 'string' ? parsed.status : undefined;
  } catch {
    return undefined;
  }
}
