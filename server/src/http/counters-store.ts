/**
 * An express-rate-limit `Store` over the store's shared counters (../ports/counters.ts), so the
 * library keeps doing the limiting while the counts live in the database every server instance
 * shares: a client spreading its attempts over the instances behind a load balancer gets one
 * allowance, not one per instance.
 *
 * Keys are stored as `<prefix><base64url sha256 of the key>` (at most 32 + 43 characters):
 * bounded whatever the client sends, and no source address or appKey lands in the database in
 * the clear. Windows are fixed, of the limiter's `windowMs`, on the injected clock.
 *
 * @see https://express-rate-limit.mintlify.app/guides/creating-a-store
 */
import { createHash } from 'node:crypto';
import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';
import type { CountersPort, CounterWindow } from '../ports/counters.ts';

/** Longest {@link CountersStoreOptions.prefix}. */
export const MAX_COUNTER_PREFIX_LENGTH = 32;

/** Options of {@link CountersStore}. */
export interface CountersStoreOptions {
  /** Prepended to every stored key (one per limit, so limits never share counts), e.g. `ppp:`; at most 32 characters. */
  readonly prefix: string;
  /** Window, ms; a `rateLimit` middleware using the store sets it again from its own options (`init`). */
  readonly windowMs: number;
  /** Clock, ms since epoch. */
  readonly now: () => number;
}

const infoOf = (w: CounterWindow): ClientRateLimitInfo => ({ totalHits: w.count, resetTime: new Date(w.resetAt) });

/** express-rate-limit `Store` whose counts live in a {@link CountersPort}. Every method may reject with `STORE_FAILED`. */
export class CountersStore implements Store {
  /** Counts are shared by every instance on the database (express-rate-limit's double-count check). */
  readonly localKeys = false;
  readonly prefix: string;
  readonly #counters: CountersPort;
  readonly #now: () => number;
  #windowMs: number;

  /** @throws RangeError for a prefix longer than {@link MAX_COUNTER_PREFIX_LENGTH}. */
  constructor(counters: CountersPort, options: CountersStoreOptions) {
    if (options.prefix.length > MAX_COUNTER_PREFIX_LENGTH) throw new RangeError(`counter prefix longer than ${MAX_COUNTER_PREFIX_LENGTH}`);
    this.#counters = counters;
    this.prefix = options.prefix;
    this.#now = options.now;
    this.#windowMs = options.windowMs;
  }

  /** Takes the window of the middleware using this store. */
  init(options: Options): void {
    this.#windowMs = options.windowMs;
  }

  /** The stored key of `key`. */
  keyOf(key: string): string {
    return `${this.prefix}${createHash('sha256').update(key, 'utf8').digest('base64url')}`;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const w = await this.#counters.getCounter(this.keyOf(key), this.#now());
    return w === null ? undefined : infoOf(w);
  }

  async increment(key: string): Promise<IncrementResponse> {
    return infoOf(await this.#counters.hitCounter(this.keyOf(key), this.#windowMs, this.#now()));
  }

  async decrement(key: string): Promise<void> {
    await this.#counters.decrementCounter(this.keyOf(key), this.#now());
  }

  async resetKey(key: string): Promise<void> {
    await this.#counters.resetCounter(this.keyOf(key));
  }
}
