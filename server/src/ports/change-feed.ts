/**
 * The change feed: "something changed about key K" (a `paymentId`, or an `operationId`), so a
 * request handler waiting on K (a cancellation or refund waiting for the terminal's answer within
 * its answer budget) re-reads the store at once instead of at its time-out.
 *
 * A hint, never the truth: a waiter always re-reads the store after {@link ChangeFeed.wait}
 * resolves, and reads it before waiting, so a lost, late or spurious notification costs at most
 * one time-out or one extra read, never a wrong answer. That is what lets the feed span server
 * instances (the cluster adapters: NATS, PostgreSQL `LISTEN/NOTIFY`) without any of them deciding
 * anything. The shared assertions every adapter passes are ./change-feed.contract.ts.
 *
 * @see docs/architecture.md
 */

/** Notify / wait on string keys. */
export interface ChangeFeed {
  /**
   * Tells every current waiter of `key` (on every instance the feed spans) that it changed. Call
   * after the change committed. Best effort and fire-and-forget: never throws and is not awaited
   * (an adapter that publishes over the network reports its own failures); a notification with
   * nobody waiting is dropped, not kept for a later {@link wait}.
   */
  notify(key: string): void;
  /**
   * Waits for the next {@link notify} of `key` after this call.
   * @param timeoutMs - longest wait, ms; `<= 0` resolves false at once. An adapter may cut a longer
   *   wait short (resolving false) to bound what it holds.
   * @param signal - resolves false as soon as it aborts (e.g. the HTTP client went away).
   * @returns true when woken by a notification, false on time-out, abort or an adapter limit.
   *   Never rejects.
   */
  wait(key: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
}
