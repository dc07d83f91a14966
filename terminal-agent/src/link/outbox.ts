/**
 * Outgoing messages that must be repeated until the server acknowledges them
 * (`payment.result`, `payment.rejected`, `operation.result`). Keyed by `paymentId` (`op:<operationId>` for operations): a newer report for the same
 * payment (an `unknown` outcome later resolved) replaces the older one, so the server is
 * never sent a stale outcome after a fresher one.
 *
 * Pure bookkeeping; the link decides when to (re)send.
 */
import type { OperationResult, PaymentRejected, PaymentResult } from '@posbridge/protocol/ws';

/** A message the outbox repeats until acknowledged. */
export type ReliableMessage = PaymentResult | PaymentRejected | OperationResult;

/** Outbox key: the paymentId of a payment report, `op:<operationId>` of an operation result (as the journal's txKey). */
export function reportKey(message: ReliableMessage): string {
  return message.type === 'operation.result' ? `op:${message.operationId}` : message.paymentId;
}

interface Entry {
  message: ReliableMessage;
  /** Epoch ms of the last send, or undefined when never sent. */
  lastSentAt: number | undefined;
}

/** Unacknowledged outgoing reports. */
export class Outbox {
  readonly #byPayment = new Map<string, Entry>();

  /** Adds or replaces the report of `message.paymentId`. Returns the replaced message, if any. */
  put(message: ReliableMessage): ReliableMessage | undefined {
    const key = reportKey(message);
    const previous = this.#byPayment.get(key);
    if (previous?.message.id === message.id) return undefined;
    this.#byPayment.set(key, { message, lastSentAt: undefined });
    return previous?.message;
  }

  /** True while a report for `paymentId` awaits its ack. */
  has(paymentId: string): boolean {
    return this.#byPayment.has(paymentId);
  }

  /** Removes and returns the message whose `id` is `ackOf`, or undefined if none waits for it. */
  ack(ackOf: string): ReliableMessage | undefined {
    for (const [paymentId, entry] of this.#byPayment) {
      if (entry.message.id === ackOf) {
        this.#byPayment.delete(paymentId);
        return entry.message;
      }
    }
    return undefined;
  }

  /**
   * Messages due for a (re)send at `nowMs`: never sent, or last sent at least `intervalMs` ago.
   * Pass `intervalMs = 0` to get every pending message (after a reconnect).
   */
  due(nowMs: number, intervalMs: number): ReliableMessage[] {
    const out: ReliableMessage[] = [];
    for (const entry of this.#byPayment.values()) {
      if (entry.lastSentAt === undefined || nowMs - entry.lastSentAt >= intervalMs) out.push(entry.message);
    }
    return out;
  }

  /** Records that `messageId` was written to the socket at `nowMs`. */
  markSent(messageId: string, nowMs: number): void {
    for (const entry of this.#byPayment.values()) {
      if (entry.message.id === messageId) entry.lastSentAt = nowMs;
    }
  }

  /** Number of unacknowledged messages. */
  get size(): number {
    return this.#byPayment.size;
  }
}
