/**
 * What the payment use cases (./create-payment.ts, ./bind-terminal.ts, ./expire.ts,
 * ./resolve-unknown.ts, ./agent-reports.ts) need of the payment service: the store, the clock,
 * the loggers, and the one way to change a payment (through the machine, with a compare-and-set,
 * the rows of its effects in the same transaction). `PaymentService` (./payment-service.ts) builds it and delegates to the use cases.
 */
import type { Logger } from 'pino';
import type { PaymentEvent, PaymentStatus } from '../domain/payment-machine.ts';
import type { ChangeFeed } from '../ports/change-feed.ts';
import type { Presence } from '../ports/presence.ts';
import type { NewAuditEntry, Payment, PaymentStore } from '../ports/index.ts';

/** Deadlines and callback windows, seconds. */
export interface DeadlineSettings {
  /** `secondsWaiting` of the wait app. */
  readonly secondsWaiting: number;
  /** `delayToCancel` reported to VTEX. */
  readonly delayToCancelSeconds: number;
  /** Added to `secondsWaiting` for the server-side deadline (the app's last poll must see the result). */
  readonly graceSeconds: number;
}

/** Answer of `PaymentService.applyEvent`. */
export interface ApplyOutcome {
  readonly payment: Payment | null;
  readonly applied: boolean;
  readonly reason?: string;
}

/** Compare-and-set attempts before a change gives up with `STORE_FAILED`. */
export const MAX_CAS_ATTEMPTS = 8;

/** The payment service as its use cases see it. */
export interface PaymentCore {
  readonly store: PaymentStore;
  /** Logger of component `payments`. */
  readonly log: Logger;
  /** Logger of component `pos` (the Payment App's flow). */
  readonly posLog: Logger;
  readonly deadlines: DeadlineSettings;
  /** The service clock, ms since epoch. */
  now(): number;
  /** Called after a payment was created (from null) or changed status (metrics). */
  onStatusChanged(from: PaymentStatus | null, to: PaymentStatus): void;
  /** Wakes request handlers waiting on a payment (key: paymentId) or an operation (key: operationId). */
  readonly changes: ChangeFeed;
  /** Where terminals are driven from. @throws Error when the service was built without one (the CLI). */
  presence(): Presence;
  /** `PaymentService.applyEvent`: re-reads and applies until the compare-and-set succeeds (`audit` written with the change). */
  applyEvent(
    paymentId: string,
    makeEvent: (p: Payment) => PaymentEvent | null | Promise<PaymentEvent | null>,
    audit?: NewAuditEntry,
  ): Promise<ApplyOutcome>;
  /**
   * One compare-and-set attempt of `event` on `p` (persisted with its callback and agent-command
   * rows; `onCommitted` runs after the commit, before delivery is woken).
   * @returns the updated payment, or null when it moved on meanwhile or the event was ignored.
   */
  tryApply(p: Payment, event: PaymentEvent, onCommitted?: (updated: Payment) => void): Promise<Payment | null>;
}
