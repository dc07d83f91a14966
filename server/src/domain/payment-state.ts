/**
 * The data of a payment's lifecycle: its statuses, what the terminal reported, the events the
 * machine takes and the effects it asks for. Only types and constants; the transitions are in
 * ./payment-machine.ts, which re-exports all of this.
 *
 * Documented in docs/ppp.md ("State of a payment", "Unknown outcomes").
 *
 * @see docs/protocol/vtex-ppp.md §2 (flow), §5.3, §5.5, §5.6
 */
import type { CardSummary, Outcome } from '@posbridge/protocol/ws';

/** Persisted state name of a payment. */
export type PaymentStatus =
  | 'awaiting_terminal'
  | 'dispatched'
  | 'accepted'
  | 'approved'
  | 'denied'
  | 'unknown'
  | 'aborting'
  | 'reversing'
  | 'reversal_unknown'
  | 'cancelled'
  | 'expired';

/** Every status, in lifecycle order. */
export const PAYMENT_STATUSES: readonly PaymentStatus[] = [
  'awaiting_terminal',
  'dispatched',
  'accepted',
  'approved',
  'denied',
  'unknown',
  'aborting',
  'reversing',
  'reversal_unknown',
  'cancelled',
  'expired',
];

/** Why a payment is being stopped: VTEX cancelled it, or its server-side deadline passed. */
export type EndReason = 'cancelled' | 'expired';

/** Which terminal (and agent) a payment is bound to, and the id of the `payment.start` message sent there. */
export interface TerminalBinding {
  readonly serialNumber: string;
  readonly agentId: string;
  /** `id` of the `payment.start` message; repeats reuse it, the agent acknowledges it. */
  readonly startId: string;
}

/** What the terminal reported, as recorded on the payment. No card data beyond brand/first6/last4. */
export interface TerminalOutcome {
  readonly outcome: Outcome;
  /** Agent's transaction reference on the terminal wire. */
  readonly terminalRef: string;
  readonly authorizationId: string | null;
  readonly nsu: string | null;
  readonly tid: string | null;
  /** Issuer/acquirer response code (`00`, `51`, …). */
  readonly responseCode: string | null;
  readonly message: string | null;
  readonly card: CardSummary | null;
  /** Amount the terminal processed, minor units (currency is the payment's). */
  readonly amountMinor: number;
}

/** The part of a payment the machine owns. */
export interface PaymentMachineState {
  readonly status: PaymentStatus;
  readonly binding: TerminalBinding | null;
  readonly outcome: TerminalOutcome | null;
  /** Why the payment is aborting / reversing / ended early; null otherwise. */
  readonly endReason: EndReason | null;
  /** ms since epoch after which the server gives up on the payment (null once nothing is pending). */
  readonly deadlineAt: number | null;
  /** ms since epoch of the last status change. */
  readonly changedAt: number;
}

/** Inputs of the machine. */
export type PaymentEvent =
  /** `deadlineAt`: the payment's new deadline, counted from the bind (absent: unchanged). */
  | { readonly type: 'terminal.bound'; readonly binding: TerminalBinding; readonly deadlineAt?: number }
  | { readonly type: 'agent.acked'; readonly startId: string }
  /** `startId`: the attempt refused (absent from older agents: the current one). */
  | { readonly type: 'start.rejected'; readonly code: string; readonly message: string; readonly startId?: string }
  | { readonly type: 'result.received'; readonly outcome: TerminalOutcome }
  /** VTEX called `/cancellations`. `canReverse`: the terminal's agent is online to void an approval. */
  | { readonly type: 'cancel.requested'; readonly canReverse: boolean }
  /** The server-side deadline passed while the payment was not final. */
  | { readonly type: 'deadline.passed' }
  /** The terminal answered the reversal (void) of an approval. */
  | { readonly type: 'void.result'; readonly outcome: Outcome; readonly message: string | null }
  /**
   * The payment's terminal now belongs to another agent (a move inside the store, or an
   * administrator's `terminal move`) while the sale was in flight: the agent that ran it no
   * longer drives the terminal and the new one never saw the sale, so nobody can learn its
   * outcome. `outcome` is the `unknown` record to keep (docs/protocol/ws.md "Terminal ownership").
   */
  | { readonly type: 'terminal.moved'; readonly outcome: TerminalOutcome }
  /**
   * An operator settled an `unknown` outcome (or a `reversal_unknown` reversal: `denied` =
   * nothing is charged any more, `approved` = still charged) from the terminal's journal or
   * receipt (`posbridge-server payment resolve`). `operator` (who) and `reason` (why) are kept in the
   * audit log with the event's time (when).
   */
  | {
      readonly type: 'operator.resolved';
      readonly outcome: 'approved' | 'denied';
      /** Authorization code read from the receipt (approved only); null: keep what the terminal reported. */
      readonly authorizationId: string | null;
      readonly operator: string;
      readonly reason: string;
    };

/** What the caller must do after persisting the new state. */
export type PaymentEffect =
  /** Send `payment.start` to the bound agent (and keep repeating it until acknowledged). */
  | { readonly type: 'send_start'; readonly binding: TerminalBinding }
  /** Stop repeating `payment.start` with this id. */
  | { readonly type: 'stop_resend'; readonly startId: string }
  /** Send `payment.abort` to the bound agent (repeated until acknowledged). */
  | { readonly type: 'send_abort'; readonly reason: EndReason }
  /** Send `operation.start` kind `void` for the approved amount (repeated until acknowledged). */
  | { readonly type: 'start_void'; readonly late: boolean }
  /** Enqueue the mandatory callback (in the same transaction as the state change). */
  | { readonly type: 'enqueue_callback'; readonly status: 'approved' | 'denied' }
  /** The terminal could not tell what happened; alert (error log), wait for the terminal or an operator. */
  | { readonly type: 'outcome_unknown' }
  /** An approval could not be reversed: money was taken; log at error, needs a person. */
  | { readonly type: 'reversal_failed' }
  /** The event was not applied; the state is unchanged. */
  | { readonly type: 'ignored'; readonly reason: string };

/** Result of {@link transition}. */
export interface TransitionResult {
  readonly state: PaymentMachineState;
  readonly effects: readonly PaymentEffect[];
}
