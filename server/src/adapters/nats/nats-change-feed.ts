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
 * hear. So while the bus is down a wait lasts at most `downWaitMs` (the "adapter limit" of the
 * port), and the waits in flight when the bus goes down resolve false at once: their callers
 * re-read the store and wait again, now in short steps, until the bus is back.
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
  /** Longest wait while the bus is down, ms. @default 1000 */
  readonly downWaitMs?: number;
}

/** Notify / wait across instances: local waiters, woken by this instance and by the bus. */
export class NatsChangeFeed implements ChangeFeed {
  readonly #bus: NatsBus;
  readonly #local: MemoryChangeFeed;
  readonly #downWaitMs: number;
  /** Aborted (and replaced) when the bus goes down: cuts the waits in flight short. */
  #down = new AbortController();
  readonly #unsubscribe: () => void;
  readonly #unwatch: () => void;

  constructor(options: NatsChangeFeedOptions) {
    this.#bus = options.bus;
    this.#local = new MemoryChangeFeed(options);
    this.#downWaitMs = options.downWaitMs ?? 1000;
    this.#unsubscribe = this.#bus.subscribe('changes', ChangeMessageSchema, ({ key }) => this.#local.notify(key));
    this.#unwatch = this.#bus.onStateChange((state) => {
      if (state !== 'down') return;
      const previous = this.#down;
      this.#down = new AbortController();
      previous.abort();
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
   * While the bus is down the wait is cut to `downWaitMs`; a wait in flight when the bus goes
   * down resolves false then.
   */
  async wait(key: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted === true) return false;
    const limit = this.#bus.state() === 'up' ? timeoutMs : Math.min(timeoutMs, this.#downWaitMs);
    const down = this.#down.signal;
    if (signal === undefined) return this.#local.wait(key, limit, down);
    // Either signal ends the wait; both listeners are removed when it is over.
    const both = new AbortController();
    const abort = () => both.abort();
    signal.addEventListener('abort', abort, { once: true });
    down.addEventListener('abort', abort, { once: true });
    try {
      return await this.#local.wait(key, limit, both.signal);
    } finally {
      signal.removeEventListener('abort', abort);
      down.removeEventListener('abort', abort);
    }
  }

  /** Stops hearing the bus (the bus itself is closed by its owner). Waits in flight run out. */
  close(): void {
    this.#unsubscribe();
    this.#unwatch();
  }
}
