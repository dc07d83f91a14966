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
 *     │  │                    start.rejected             │ result.received           │
 *     │  │                                               ▼                           ▼
 *     │  │                                  ┌───────────────────────────────────────────┐
 *     │  │                                  │ approved │ denied │ unknown ──result──►    │
 *     │  │                                  └───────────────────────────────────────────┘
 *     │  │ cancel.requested     cancel.requested /      │ cancel.requested (agent online)
 *     │  │ deadline.passed      deadline.passed         │ (from approved only)
 *     │  ▼                      (dispatched,            ▼
 *     │ ┌───────────┐           accepted)           ┌───────────┐ void.result approved ┌───────────┐
 *     │ │ cancelled │ ◄──────────┐                  │ reversing │ ───────────────────► │ cancelled │
 *     │ └───────────┘            │                  └───────────┘                      │ / expired │
 *     ▼                    ┌──────────┐  result approved ▲  │ void.result denied       └───────────┘
 *  ┌─────────┐  ◄───────── │ aborting │ ─────────────────┘  ▼ (cannot reverse)
 *  │ expired │ result      └──────────┘                  approved (logged at error)
 *  └─────────┘ denied / start.rejected (never started)
 *                            │ result unknown
 *                            ▼
 *                         unknown ──operator.resolved──► approved │ denied (│ cancelled)
 *
 *  reversing ──void.result unknown──► reversal_unknown ──void.result / operator.resolved──►
 *      cancelled │ expired (nothing charged any more) │ approved (still charged: cancel-manually)
 * ```
 *
 * `aborting` and `reversing` remember why (`endReason`: `cancelled` by VTEX, or `expired` at the
 * server-side deadline) and end in the matching state. `expired` is reported to VTEX as `denied`
 * (callback enqueued); `cancelled` needs no callback (VTEX asked for it).
 *
 * Rules:
 * - `approved`, `denied`, `cancelled` and `expired` are final for the authorization; only a
 *   cancellation (→ `reversing`) or a late approval (→ `reversing`) moves them on.
 * - `unknown` is never folded into `denied`. It is the flagged state of an outcome the driver
 *   could not learn (Concert E+ has no status query; PBL/1 after its STATUS attempts, or a
 *   terminal that moved to another agent mid-sale: `terminal.moved`), entered from
 *   `dispatched`/`accepted`/`aborting`. Nothing runs on the terminal any more, so it has no
 *   deadline and a deadline or a cancellation never moves it to `aborting` or `denied`: a
 *   cancellation is remembered (`endReason: cancelled`, and `payment.abort` goes to the agent,
 *   which may stop the sale and learn its outcome) and the payment stays `unknown`. Only a
 *   later terminal result or an operator (`operator.resolved`, `posbridge-server payment
 *   resolve`) resolves it; after a cancellation a resolution is treated like a late result
 *   (denied → `cancelled`; a terminal approval → reversed; an operator's approval → `approved`,
 *   which VTEX's repeated cancellation then reverses). An expiry abort answered `unknown` drops
 *   its `expired` reason: VTEX was told nothing yet.
 * - `reversal_unknown` is the flagged state of a reversal (void) whose answer was lost (Concert
 *   E+ has no status query; PBL/1 after its STATUS attempts). The original approval (`outcome`:
 *   authorization, NSU, card) and `endReason` are kept untouched. Only a later `void.result`
 *   from the terminal or an operator resolves it: void approved / operator `denied` ("nothing is
 *   charged any more") ends it like a completed reversal (`cancelled`, or `expired` with its
 *   `denied` callback); void denied / operator `approved` ("still charged") makes it `approved`
 *   like a void the terminal refused (`reversal_failed`; VTEX's cancellation is answered
 *   `cancel-manually`). Cancellations, deadlines and sale results are ignored meanwhile.
 * - An approved payment whose reversal failed (its `endReason` kept) is not reversed
 *   again by a repeated cancellation: it needs a person (`cancel-manually`).
 * - An approval that arrives while aborting, or after `cancelled`/`expired`/`denied` (an operator
 *   resolved an unknown outcome `denied`, then the terminal answered approved), is a late
 *   approval: it is reversed automatically (`start_void`) and logged; after `denied` the reversal
 *   ends `cancelled` (VTEX already has its `denied` callback).
 * - `start.rejected` means the terminal refused before charging, so the payment goes back to
 *   `awaiting_terminal` and the Payment App can bind another terminal (or the same one again).
 *   Each bind is a new attempt with a new `startId`; a rejection naming another attempt's
 *   `startId` is ignored. While `aborting` with no outcome recorded, a rejection (the agent
 *   never started the sale) ends the abort like a `denied`.
 * - Events that make no sense in the current state produce an `ignored` effect and leave the
 *   state untouched.
 *
 * Documented in docs/ppp.md ("State of a payment", "Unknown outcomes").
 *
 * @see docs/protocol/vtex-ppp.md §2 (flow), §4.3 (cancellations), §5.3, §5.5, §5.6
 * @see CONTRIBUTING.md "State machines"
 */
import type { PaymentStatus, EndReason, TerminalOutcome, PaymentMachineState, PaymentEvent, PaymentEffect, TransitionResult } from './payment-state.ts';
export type { PaymentStatus, EndReason, TerminalBinding, TerminalOutcome, PaymentMachineState, PaymentEvent, PaymentEffect, TransitionResult } from './payment-state.ts';
export { PAYMENT_STATUSES } from './payment-state.ts';

/**
 * Initial state of a freshly created payment.
 * @param deadlineAt - ms since epoch when the server gives up waiting for a terminal (null: never).
 */
export function initialPaymentState(now: number, deadlineAt: number | null = null): PaymentMachineState {
  return { status: 'awaiting_terminal', binding: null, outcome: null, endReason: null, deadlineAt, changedAt: now };
}

/** True for the statuses VTEX sees as final (`approved`, and everything reported `denied`). */
export function isFinalStatus(status: PaymentStatus): status is 'approved' | 'denied' | 'cancelled' | 'expired' {
  return status === 'approved' || status === 'denied' || status === 'cancelled' || status === 'expired';
}

function ignore(state: PaymentMachineState, reason: string): TransitionResult {
  return { state, effects: [{ type: 'ignored', reason }] };
}

function stopStart(state: PaymentMachineState): PaymentEffect[] {
  return state.binding && state.status === 'dispatched' ? [{ type: 'stop_resend', startId: state.binding.startId }] : [];
}

/** The end of an abort or reversal: `cancelled` silently, `expired` reported denied. */
function ended(state: PaymentMachineState, reason: EndReason, now: number, extra: Partial<PaymentMachineState> = {}): TransitionResult {
  return {
    state: { ...state, ...extra, status: reason, deadlineAt: null, changedAt: now },
    effects: reason === 'expired' ? [{ type: 'enqueue_callback', status: 'denied' }] : [],
  };
}

function applyOutcome(state: PaymentMachineState, outcome: TerminalOutcome, now: number): TransitionResult {
  const stop = stopStart(state);
  switch (outcome.outcome) {
    case 'approved':
    case 'denied':
      return {
        state: { ...state, status: outcome.outcome, outcome, deadlineAt: null, changedAt: now },
        effects: [...stop, { type: 'enqueue_callback', status: outcome.outcome }],
      };
    case 'unknown':
      if (state.status === 'unknown') return ignore(state, 'outcome already unknown');
      // Nothing runs on the terminal any more: no deadline to abort at (never guessed denied).
      return {
        state: { ...state, status: 'unknown', outcome, deadlineAt: null, changedAt: now },
        effects: [...stop, { type: 'outcome_unknown' }],
      };
    default: {
      const never: never = outcome.outcome;
      throw new Error(`unhandled outcome ${String(never)}`);
    }
  }
}

/** A reversal went through: the payment ends as its `endReason` says (`expired` reported denied). */
function reversalEnded(state: PaymentMachineState, now: number): TransitionResult {
  return ended(state, state.endReason ?? 'cancelled', now);
}

/**
 * A reversal did not happen: money stays taken, so the payment is approved after all (and VTEX
 * is told so when it was waiting on an expiry). `endReason` is kept, so a repeated cancellation
 * answers cancel-manually.
 */
function reversalFailed(state: PaymentMachineState, now: number): TransitionResult {
  const reason = state.endReason ?? 'cancelled';
  return {
    state: { ...state, status: 'approved', deadlineAt: null, changedAt: now },
    effects: [
      { type: 'reversal_failed' },
      ...(reason === 'expired' ? [{ type: 'enqueue_callback', status: 'approved' } as const] : []),
    ],
  };
}

/** A result while aborting, or after the payment ended early. */
function lateResult(state: PaymentMachineState, reason: EndReason, outcome: TerminalOutcome, now: number): TransitionResult {
  switch (outcome.outcome) {
    case 'approved':
      // The terminal charged after all: reverse it, and report the payment as the reason says.
      return {
        state: { ...state, status: 'reversing', endReason: reason, outcome, changedAt: now },
        effects: [{ type: 'start_void', late: true }],
      };
    case 'denied':
      if (state.status !== 'aborting' && state.status !== 'unknown') return ignore(state, `payment already ${state.status}`);
      return ended(state, reason, now, { outcome });
    case 'unknown':
      if (state.status !== 'aborting') return ignore(state, `payment already ${state.status}`);
      // Flagged unknown. A cancellation stays remembered; an expiry does not (VTEX was told nothing).
      return {
        state: {
          ...state,
          status: 'unknown',
          outcome,
          endReason: reason === 'cancelled' ? 'cancelled' : null,
          deadlineAt: null,
          changedAt: now,
        },
        effects: [{ type: 'outcome_unknown' }],
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
        state: {
          ...state,
          status: 'dispatched',
          binding: event.binding,
          deadlineAt: event.deadlineAt ?? state.deadlineAt,
          changedAt: now,
        },
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
      // A repeated rejection of an earlier bind must not undo the current one.
      if (event.startId !== undefined && state.binding?.startId !== event.startId) return ignore(state, 'rejection of another attempt');
      if (status === 'aborting' && state.outcome === null) {
        // The agent never started the sale (e.g. it died before journaling the start): nothing
        // was charged, so the abort is over. After an `unknown` only the terminal's answer counts.
        return ended(state, state.endReason ?? 'cancelled', now);
      }
      if (status !== 'dispatched' && status !== 'accepted') return ignore(state, `rejection in state ${status}`);
      return {
        state: { ...state, status: 'awaiting_terminal', binding: null, changedAt: now },
        effects: state.binding ? [{ type: 'stop_resend', startId: state.binding.startId }] : [],
      };

    case 'result.received':
      switch (status) {
        case 'dispatched':
        case 'accepted':
          return applyOutcome(state, event.outcome, now);
        case 'unknown':
          // Cancelled while unknown: the answer ends it like an abort's answer would.
          if (state.endReason === 'cancelled' && event.outcome.outcome !== 'unknown') {
            return lateResult(state, 'cancelled', event.outcome, now);
          }
          return applyOutcome(state, event.outcome, now);
        case 'aborting':
        case 'cancelled':
        case 'expired':
          if (state.binding === null) return ignore(state, 'result for a payment never bound to a terminal');
          return lateResult(state, state.endReason ?? (status === 'expired' ? 'expired' : 'cancelled'), event.outcome, now);
        case 'denied':
          // VTEX was told denied (an operator resolved an unknown outcome so), yet the terminal
          // charged: reversed like any late approval, never ignored (the charge would be lost).
          if (event.outcome.outcome === 'approved' && state.binding !== null) {
            return lateResult(state, 'cancelled', event.outcome, now);
          }
          return ignore(state, `payment already ${status}`);
        case 'approved':
        case 'reversing':
        case 'reversal_unknown':
          return ignore(state, `payment already ${status}`);
        case 'awaiting_terminal':
          return ignore(state, 'result for a payment not bound to a terminal');
        default: {
          const never: never = status;
          throw new Error(`unhandled status ${String(never)}`);
        }
      }

    case 'cancel.requested':
      switch (status) {
        case 'awaiting_terminal':
          return { state: { ...state, status: 'cancelled', endReason: 'cancelled', deadlineAt: null, changedAt: now }, effects: [] };
        case 'dispatched':
        case 'accepted':
          return {
            state: { ...state, status: 'aborting', endReason: 'cancelled', changedAt: now },
            effects: [...stopStart(state), { type: 'send_abort', reason: 'cancelled' }],
          };
        case 'unknown':
          // Remembered, and the payment stays flagged: never reported denied on its own. The abort
          // still goes to the agent, which may stop the sale and learn the outcome (PBL/1 STATUS).
          if (state.endReason === 'cancelled') return ignore(state, 'cancellation already recorded; the outcome is unknown');
          return {
            state: { ...state, endReason: 'cancelled', deadlineAt: null },
            effects: [{ type: 'send_abort', reason: 'cancelled' }],
          };
        case 'approved':
          if (!event.canReverse) return ignore(state, 'approved and the terminal cannot reverse it now');
          // A reversal already failed (the terminal refused it, or an operator found it still
          // charged): a repeated cancellation answers cancel-manually, never voids again.
          if (state.endReason !== null) return ignore(state, 'the terminal could not reverse the approval');
          return {
            state: { ...state, status: 'reversing', endReason: 'cancelled', changedAt: now },
            effects: [{ type: 'start_void', late: false }],
          };
        case 'aborting':
        case 'reversing':
        case 'reversal_unknown':
        case 'denied':
        case 'cancelled':
        case 'expired':
          return ignore(state, `cancellation in state ${status}`);
        default: {
          const never: never = status;
          throw new Error(`unhandled status ${String(never)}`);
        }
      }

    case 'deadline.passed':
      switch (status) {
        case 'awaiting_terminal':
          return ended(state, 'expired', now, { endReason: 'expired' });
        case 'dispatched':
        case 'accepted':
          return {
            state: { ...state, status: 'aborting', endReason: 'expired', deadlineAt: null, changedAt: now },
            effects: [...stopStart(state), { type: 'send_abort', reason: 'expired' }],
          };
        case 'unknown':
          // An uncertain outcome is never guessed at a deadline: the deadline is only dropped.
          if (state.deadlineAt === null) return ignore(state, 'outcome unknown; no deadline');
          return { state: { ...state, deadlineAt: null }, effects: [] };
        case 'approved':
        case 'denied':
        case 'aborting':
        case 'reversing':
        case 'reversal_unknown':
        case 'cancelled':
        case 'expired':
          return ignore(state, `deadline in state ${status}`);
        default: {
          const never: never = status;
          throw new Error(`unhandled status ${String(never)}`);
        }
      }

    case 'void.result': {
      // A flagged reversal takes the terminal's late answer too (PBL/1 STATUS after all).
      if (status !== 'reversing' && status !== 'reversal_unknown') return ignore(state, `void result in state ${status}`);
      const voidOutcome = event.outcome;
      switch (voidOutcome) {
        case 'approved':
          return reversalEnded(state, now);
        case 'denied':
          return reversalFailed(state, now);
        case 'unknown':
          if (status === 'reversal_unknown') return ignore(state, 'reversal outcome already unknown');
          // Flagged like an unknown sale; the approval stays recorded as it was.
          return {
            state: { ...state, status: 'reversal_unknown', deadlineAt: null, changedAt: now },
            effects: [{ type: 'outcome_unknown' }],
          };
        default: {
          const never: never = voidOutcome;
          throw new Error(`unhandled outcome ${String(never)}`);
        }
      }
    }

    case 'operator.resolved':
      return operatorResolved(state, event, now);

    case 'terminal.moved':
      switch (status) {
        case 'dispatched':
        case 'accepted':
        case 'aborting':
          // Flagged unknown like an abort answered unknown: a cancellation stays remembered, an
          // expiry does not (VTEX was told nothing yet). Never guessed denied.
          return {
            state: {
              ...state,
              status: 'unknown',
              outcome: event.outcome,
              endReason: state.endReason === 'cancelled' ? 'cancelled' : null,
              deadlineAt: null,
              changedAt: now,
            },
            effects: [...stopStart(state), { type: 'outcome_unknown' }],
          };
        default:
          return ignore(state, `terminal moved in state ${status}`);
      }

    default: {
      const never: never = event;
      throw new Error(`unhandled event ${JSON.stringify(never)}`);
    }
  }
}

/** `operator.resolved`: only an `unknown` payment with a terminal report can be resolved by hand. */
function operatorResolved(
  state: PaymentMachineState,
  event: Extract<PaymentEvent, { type: 'operator.resolved' }>,
  now: number,
): TransitionResult {
  if (state.status === 'reversal_unknown') {
    // `denied`: nothing is charged any more (the void went through); `approved`: still charged.
    // The approval's own fields stay as the terminal reported them.
    if (event.authorizationId !== null) return ignore(state, 'a reversal keeps the approval\'s authorization; give none');
    return event.outcome === 'denied' ? reversalEnded(state, now) : reversalFailed(state, now);
  }
  if (state.status !== 'unknown') return ignore(state, `only an unknown outcome can be resolved, not ${state.status}`);
  if (state.outcome === null) return ignore(state, 'no terminal report to resolve');
  const outcome: TerminalOutcome = {
    ...state.outcome,
    outcome: event.outcome,
    authorizationId: event.outcome === 'approved' ? (event.authorizationId ?? state.outcome.authorizationId) : null,
    message: `${event.outcome} (confirmed by an operator)`,
  };
  if (state.endReason === 'cancelled') {
    if (event.outcome === 'denied') return ended(state, 'cancelled', now, { outcome });
    // Money was taken and VTEX cancelled: approved, so VTEX's repeated cancellation reverses it
    // on the terminal (or answers cancel-manually) like any approved payment.
    return { state: { ...state, status: 'approved', outcome, endReason: null, deadlineAt: null, changedAt: now }, effects: [] };
  }
  return {
    state: { ...state, status: event.outcome, outcome, endReason: null, deadlineAt: null, changedAt: now },
    effects: [{ type: 'enqueue_callback', status: event.outcome }],
  };
}
