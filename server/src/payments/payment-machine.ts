/**
 * The lifecycle of one POS payment, as a pure state machine:
 * `transition(state, event, now) → { state, effects }`. No I/O, no clock: the service persists
 * the returned state (one `state` column + an append-only `payment_events` row) and then runs
 * the effects.
 *
 * ```
 *                      terminal.bound (submitUrl)
 *  ┌───────────────────┐ ───────────────────────► ┌────────────┐  agent.acked  ┌──────────┐
 *  │ awaiting_terminal │                          │ dispatched │ ────────────► │ accepted │
 *  └───────────────────┘ ◄─────────────────────── └────────────┘               └──────────┘
 *            ▲              start.rejected               │ result.received           │
 *            │          (busy / unknown terminal,        │ (ack may be lost)         │
 *            │           nothing charged: unbind)        ▼                           ▼
 *            └──────────────────────────────────── ┌───────────────────────────────────────┐
 *                    start.rejected (from accepted) │ approved │ denied │ unknown           │
 *                                                   └───────────────────────────────────────┘
 *                                                   unknown ──result.received──► approved | denied
 * ```
 *
 * Rules:
 * - `approved` and `denied` are final: a later result is ignored (and acknowledged by the hub),
 *   so the callback is enqueued exactly once.
 * - `unknown` is never folded into `denied`; a later result resolves it.
 * - `start.rejected` means the terminal refused before charging, so the payment goes back to
 *   `awaiting_terminal` and the Payment App can bind another terminal.
 * - Events that make no sense in the current state produce an `ignored` effect and leave the
 *   state untouched.
 *
 * @see ../../../../shared/spec/ppp-pos.md §2 (flow), §5.3, §5.6
 * @see ../../../../shared/STYLE.md b.3
 */
import type { CardSummary, Outcome } from '@posbridge/protocol/ws';

/** Persisted state name of a payment. */
export type PaymentStatus = 'awaiting_terminal' | 'dispatched' | 'accepted' | 'approved' | 'denied' | 'unknown';

/** Every status, in lifecycle order. */
export const PAYMENT_STATUSES: readonly PaymentStatus[] = [
  'awaiting_terminal',
  'dispatched',
  'accepted',
  'approved',
  'denied',
  'unknown',
];

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
  /** ms since epoch of the last status change. */
  readonly changedAt: number;
}

/** Inputs of the machine. */
export type PaymentEvent =
  | { readonly type: 'terminal.bound'; readonly binding: TerminalBinding }
  | { readonly type: 'agent.acked'; readonly startId: string }
  | { readonly type: 'start.rejected'; readonly code: string; readonly message: string }
  | { readonly type: 'result.received'; readonly outcome: TerminalOutcome };

/** What the caller must do after persisting the new state. */
export type PaymentEffect =
  /** Send `payment.start` to the bound agent (and keep repeating it until acknowledged). */
  | { readonly type: 'send_start'; readonly binding: TerminalBinding }
  /** Stop repeating `payment.start` with this id. */
  | { readonly type: 'stop_resend'; readonly startId: string }
  /** Enqueue the mandatory callback (in the same transaction as the state change). */
  | { readonly type: 'enqueue_callback'; readonly status: 'approved' | 'denied' }
  /** The terminal could not tell what happened; log at warn, wait for reconciliation. */
  | { readonly type: 'outcome_unknown' }
  /** The event was not applied; the state is unchanged. */
  | { readonly type: 'ignored'; readonly reason: string };

/** Result of {@link transition}. */
export interface TransitionResult {
  readonly state: PaymentMachineState;
  readonly effects: readonly PaymentEffect[];
}

/** Initial state of a freshly created payment. */
export function initialPaymentState(now: number): PaymentMachineState {
  return { status: 'awaiting_terminal', binding: null, outcome: null, changedAt: now };
}

/** True for `approved` and `denied`: nothing can change them any more (in this scope). */
export function isFinalStatus(status: PaymentStatus): status is 'approved' | 'denied' {
  return status === 'approved' || status === 'denied';
}

function ignore(state: PaymentMachineState, reason: string): TransitionResult {
  return { state, effects: [{ type: 'ignored', reason }] };
}

function applyOutcome(state: PaymentMachineState, outcome: TerminalOutcome, now: number): TransitionResult {
  const stop: PaymentEffect[] =
    state.binding && state.status === 'dispatched' ? [{ type: 'stop_resend', startId: state.binding.startId }] : [];
  switch (outcome.outcome) {
    case 'approved':
    case 'denied':
      return {
        state: { ...state, status: outcome.outcome, outcome, changedAt: now },
        effects: [...stop, { type: 'enqueue_callback', status: outcome.outcome }],
      };
    case 'unknown':
      if (state.status === 'unknown') return ignore(state, 'outcome already unknown');
      return {
        state: { ...state, status: 'unknown', outcome, changedAt: now },
        effects: [...stop, { type: 'outcome_unknown' }],
      };
    default: {
      const never: never = outcome.outcome;
      throw new Error(`unhandled outcome ${String(never)}`);
    }
  }
}

/**
 * Applies one event to a payment.
 *
 * @param state - current persisted state.
 * @param event - what happened.
 * @param now - ms since epoch; becomes `changedAt` when the status changes.
 * @returns the next state (identical object when the event is ignored) and the effects to run.
 */
export function transition(state: PaymentMachineState, event: PaymentEvent, now: number): TransitionResult {
  const status = state.status;
  switch (event.type) {
    case 'terminal.bound':
      if (status !== 'awaiting_terminal') return ignore(state, `cannot bind a terminal in state ${status}`);
      return {
        state: { ...state, status: 'dispatched', binding: event.binding, changedAt: now },
        effects: [{ type: 'send_start', binding: event.binding }],
      };

    case 'agent.acked':
      if (status !== 'dispatched') return ignore(state, `start acknowledged in state ${status}`);
      if (state.binding?.startId !== event.startId) return ignore(state, 'acknowledgement of another start');
      return {
        state: { ...state, status: 'accepted', changedAt: now },
        effects: [{ type: 'stop_resend', startId: event.startId }],
      };

    case 'start.rejected':
      if (status !== 'dispatched' && status !== 'accepted') return ignore(state, `rejection in state ${status}`);
      return {
        state: { ...state, status: 'awaiting_terminal', binding: null, changedAt: now },
        effects: state.binding ? [{ type: 'stop_resend', startId: state.binding.startId }] : [],
      };

    case 'result.received':
      switch (status) {
        case 'dispatched':
        case 'accepted':
        case 'unknown':
          return applyOutcome(state, event.outcome, now);
        case 'approved':
        case 'denied':
          return ignore(state, `payment already ${status}`);
        case 'awaiting_terminal':
          return ignore(state, 'result for a payment not bound to a terminal');
        default: {
          const never: never = status;
          throw new Error(`unhandled status ${String(never)}`);
        }
      }

    default: {
      const never: never = event;
      throw new Error(`unhandled event ${JSON.stringify(never)}`);
    }
  }
}
