/**
 * The {@link ChangeFeed} across server instances, over the NATS bus (./nats-bus.ts).
 *
 * - `notify(key)` wakes this instance's waiters of `key` at once (no round trip through NATS)
 *   and publishes `{ key }` on `<prefix>.changes` for the other instances;
 * - `wait(key)` waits in a local, bounded waiter map (the in-process feed,
 *   ../memory/change-feed.ts) that one subscription to `<prefix>.changes` feeds.
 *
 * One subject for every key rather than a subject per key (or per key hash): every instance then
 * hears every notification, which is a few hundred bytes per payment state change and cheap at
 * the rates a payment connector sees, and in exchange a wait needs no subscription of its own, so
 * it can never miss a notification published between its start and the server registering a
 * fresh subscription (per-key subjects would subscribe and unsubscribe on every long poll).
 *
 * NATS is not transactional and loses what is published while it is down; that is allowed (the
 * feed is a hint, ports/change-feed.ts), but a waiter must not sleep through changes it cannot
 * hear. So while the bus is down the feed *polls* for its waiters: a wait longer than `downWaitMs`
 * resolves true after `downWaitMs` ("it may have changed: read the store again"), and the waits in
 * flight when the bus goes down resolve true at once. Their callers re-read the store and wait
 * again for what is left of their budget (payments/operation-service.ts loops so), in steps of
 * `downWaitMs`, until the bus is back. True rather than false because the callers take false as
 * their time-out and answer from what they read: a false after one second would shorten a
 * 4-second answer budget to one second, while a true costs one extra read (the spurious
 * notification the port allows). A wait no longer than `downWaitMs` keeps its own time-out and
 * resolves false on it, as always.
 *
 * @see docs/adr/0003-change-feed-and-wake-ups-over-nats.md
 */
import { z } from 'zod';
import type { ChangeFeed } from '../../ports/change-feed.ts';
import { MemoryChangeFeed, type MemoryChangeFeedOptions } from '../memory/change-feed.ts';
import type { NatsBus } from './nats-bus.ts';

/** Longest key carried over the bus (payment and operation ids are at most 128 characters). */
const MAX_KEY_LENGTH = 256;

/** A message on `<prefix>.changes`. */
const ChangeMessageSchema = z.strictObject({ key: z.string().min(1).max(MAX_KEY_LENGTH) });

/** Options of {@link NatsChangeFeed}. */
export interface NatsChangeFeedOptions extends MemoryChangeFeedOptions {
  /** The bus (started or not: the feed works locally until it is up). */
  readonly bus: NatsBus;
  /** Poll step while the bus is down, ms: the longest a wait lasts before it says "read again". @default 1000 */
  readonly downWaitMs?: number;
}

/** Notify / wait across instances: local waiters, woken by this instance and by the bus. */
export class NatsChangeFeed implements ChangeFeed {
  readonly #bus: NatsBus;
  readonly #local: MemoryChangeFeed;
  readonly #downWaitMs: number;
  readonly #maxWaiters: number;
  /** Keys waited on right now, with how many waits each (woken when the bus goes down). */
  readonly #keys = new Map<string, number>();
  readonly #unsubscribe: () => void;
  readonly #unwatch: () => void;

  constructor(options: NatsChangeFeedOptions) {
    this.#bus = options.bus;
    this.#local = new MemoryChangeFeed(options);
    this.#downWaitMs = options.downWaitMs ?? 1000;
    this.#maxWaiters = options.maxWaiters ?? 10_000;
    this.#unsubscribe = this.#bus.subscribe('changes', ChangeMessageSchema, ({ key }) => this.#local.notify(key));
    this.#unwatch = this.#bus.onStateChange((state) => {
      // What changed elsewhere from now on goes unheard: every waiter reads the store again.
      if (state === 'down') for (const key of [...this.#keys.keys()]) this.#local.notify(key);
    });
  }

  /** Waits held right now (metrics, tests). */
  get waiting(): number {
    return this.#local.waiting;
  }

  /** @inheritdoc */
  notify(key: string): void {
    this.#local.notify(key);
    if (key.length <= MAX_KEY_LENGTH) this.#bus.publish('changes', { key });
  }

  /**
   * @inheritdoc
   * While the bus is down, a wait longer than `downWaitMs` resolves true after `downWaitMs` (read
   * the store again); a wait in flight when the bus goes down resolves true at once.
   */
  async wait(key: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (timeoutMs <= 0 || signal?.aborted === true || this.#local.waiting >= this.#maxWaiters) return false;
    if (this.#bus.state() === 'up' || timeoutMs <= this.#downWaitMs) return this.#waitLocally(key, timeoutMs, signal);
    const woken = await this.#waitLocally(key, this.#downWaitMs, signal);
    // Not woken: its poll step ran out (read again), unless the caller gave up meanwhile.
    return woken || !isAborted(signal);
  }

  /** Stops hearing the bus (the bus itself is closed by its owner). Waits in flight run out. */
  close(): void {
    this.#unsubscribe();
    this.#unwatch();
  }

  async #waitLocally(key: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    this.#keys.set(key, (this.#keys.get(key) ?? 0) + 1);
    try {
      return await this.#local.wait(key, timeoutMs, signal);
    } finally {
      const left = (this.#keys.get(key) ?? 1) - 1;
      if (left > 0) this.#keys.set(key, left);
      else this.#keys.delete(key);
    }
  }
}

/** Whether `signal` has aborted by now (read after an await: not narrowed by an earlier check). */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
