/**
 * The life of one payment on one terminal, as a pure state machine:
 * `transition(state, event, now) → { state, effects }`. Effects are data; the payment runner
 * (session/payment-runner.ts) performs them in order. Effect order carries the safety rules:
 * `persist` comes before `ack_start` and `run_sale`, so a payment is journaled before the
 * server is told it was taken and before any byte goes to the terminal.
 *
 *            start                sent              acked / progress
 *   idle ───────────▶ requested ───────▶ sent ──────────────────────▶ acked ◀─┐ progress
 *    │                   │                │  │                         │  └───┘
 *    │ refuse            │                │  └──recovering──┐          │ recovering
 *    ▼                   │                │                 ▼          ▼
 *  rejected ◀────────────┴──── outcome ───┴──────────── recovering ◀───┘
 *    │       (rejected)    │                     │ acked/progress ──▶ acked
 *    │                     │ outcome (result)    │ outcome
 *    │                     ▼                     ▼
 *    │                  result ◀──── outcome ── unknown ──(report_acked: stays unknown,
 *    │                     │        (resolved)    ▲        resolved in the background)
 *    │ report_acked        │ report_acked         └──── outcome (unknown) from sent/acked/recovering
 *    ▼                     ▼
 *   reported ◀─────────────┘          redeliver (duplicate payment.start): re-ack; a finished
 *                                     payment's report goes back into the outbox.
 *                                     abort (payment.abort): journaled and acked; in flight →
 *                                     the terminal is asked to abort and the outcome follows as
 *                                     usual; unknown (e.g. after a restart mid-sale) → the
 *                                     terminal is asked to abort and STATUS learns the outcome;
 *                                     finished → its report is sent again. A journaled abort is
 *                                     sent to the terminal again on resume.
 *                                     new_attempt (payment.start with another id after a
 *                                     refusal, nothing charged): a fresh rid, back to requested
 *                                     (or rejected again when refused at once).
 *
 * A void or refund (`kind`) runs through the same machine, keyed by its operationId. One that
 * arrives while its terminal is busy is taken into `queued` (journaled, acknowledged, waiting its
 * turn: effect `wait_turn`), and `start` from `queued` runs it once the terminal is free; after a
 * restart, `resume` puts it back in line. Operations of one terminal run one after another, in
 * the order they arrived (docs/protocol/ws.md "Delivery"). One the terminal itself refuses
 * as busy (it runs something the agent does not know of, e.g. a sale left running across a
 * restart) goes back to the head of the line (`terminal_busy`) and is tried again later, never
 * reported as a refusal until that happened {@link MAX_BUSY_RETRIES} times.
 *
 * `unknown` is never folded into "denied": it stays until a terminal answer resolves it.
 */
import type { Money } from '@posbridge/protocol/money';
import type { PaymentMethodKind, ProgressStage } from '@posbridge/protocol/ws';
import type { SaleOutcome, SaleRejectionCode } from '../drivers/terminal-driver.ts';

/**
 * Phases of a transaction. `queued`: a void/refund taken (journaled and acknowledged) while its
 * terminal runs another transaction; nothing reached the terminal yet, and `start` runs it when
 * the terminal is free.
 */
export type TxPhase = 'idle' | 'queued' | 'requested' | 'sent' | 'acked' | 'recovering' | 'result' | 'rejected' | 'unknown' | 'reported';

/** What a transaction does on the terminal: a sale, or the reversal (void) / refund of an earlier sale. */
export type TxKind = 'sale' | 'void' | 'refund';

/** One payment on one terminal: what the journal stores. Card data is summary only. */
export interface Transaction {
  paymentId: string;
  /** @default 'sale' (transactions journaled before operations existed have no kind) */
  kind?: TxKind;
  /** `operation.start` id of a void/refund; its journal key. */
  operationId?: string;
  /** Void/refund: the original sale's terminal reference. */
  originalTerminalRef?: string;
  /** The server asked to abort the sale (`payment.abort`). */
  abortRequested?: boolean;
  /** Void/refund: times the terminal refused it as busy (ERR BUSY: nothing ran) and it was put back in line. */
  busyRetries?: number;
  serialNumber: string;
  /** Terminal request id of this payment (fresh per payment). */
  rid: string;
  amount: Money;
  method: PaymentMethodKind;
  installments: number;
  /** `id` of the payment.start that created it. */
  startMessageId: string;
  /** The payment's W3C trace id, from the command's `traceparent` (docs/tracing.md); absent without one. */
  traceId?: string;
  phase: TxPhase;
  /** The terminal acknowledged the sale at least once (it may have charged). */
  acked: boolean;
  /** Last progress stage reported. */
  stage?: ProgressStage;
  /** How the sale ended (set in result, rejected, unknown, reported). */
  outcome?: SaleOutcome;
  /** `id` of the report (payment.result / payment.rejected) owed to the server. */
  reportId?: string;
  /** The server acknowledged `reportId`. */
  reportAcked: boolean;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms of the last transition. */
  updatedAt: number;
}

/**
 * The journal and runner key of a transaction: the `paymentId` of a sale, `op:<operationId>`
 * of a void/refund (so an operation never collides with the sale it reverses).
 */
export function txKey(tx: Pick<Transaction, 'paymentId' | 'kind' | 'operationId'>): string {
  return tx.kind === undefined || tx.kind === 'sale' ? tx.paymentId : `op:${tx.operationId ?? ''}`;
}

/** What happens to a transaction. */
export type TxEvent =
  /** Take the payment: journal it, ack it, run the sale (from `queued`: only run it, it was acked). */
  | { type: 'start' }
  /** Take a void/refund while its terminal is busy: journal it, ack it, wait for the terminal. */
  | { type: 'queue' }
  /** Refuse the payment before anything reaches the terminal (busy, unknown terminal). */
  | { type: 'refuse'; code: SaleRejectionCode; message: string; reportId: string }
  /** The server sent the same payment.start again (message `startMessageId`). */
  | { type: 'redeliver'; startMessageId: string }
  /** The sale was written to the terminal. */
  | { type: 'sent' }
  /** The terminal acknowledged the sale. */
  | { type: 'acked' }
  /** Customer-facing progress. */
  | { type: 'progress'; stage: ProgressStage }
  /** The answer was lost; the driver is asking the terminal with STATUS. */
  | { type: 'recovering'; reason: string }
  /** The sale ended (or an unknown outcome was resolved); `reportId` is the id of the report to send. */
  | { type: 'outcome'; outcome: SaleOutcome; reportId: string }
  /** The server acknowledged report `messageId`. */
  | { type: 'report_acked'; messageId: string }
  /** The agent restarted with this transaction in the journal. */
  | { type: 'resume'; reportId: string }
  /** The server asked to abort the sale (`payment.abort`, message `messageId`). */
  | { type: 'abort'; messageId: string }
  /**
   * The terminal refused this void/refund as busy (nothing ran on it): back to the head of the
   * line, tried again later with the fresh terminal reference `rid`.
   */
  | { type: 'terminal_busy'; rid: string }
  /**
   * The server bound the payment again after its attempt was refused (nothing charged): a
   * `payment.start` with another id is a new attempt. `refusal`: this attempt is refused at once too.
   */
  | {
      type: 'new_attempt';
      attempt: Pick<Transaction, 'serialNumber' | 'rid' | 'amount' | 'method' | 'installments' | 'startMessageId'>;
      refusal?: { code: SaleRejectionCode; message: string; reportId: string };
    };

/** Work the interpreter does after a transition, in order. */
export type TxEffect =
  /** Write the new state to the journal (insert when coming from idle). */
  | { type: 'persist' }
  /** Send `ack` for payment.start `messageId`. */
  | { type: 'ack_start'; messageId: string }
  /** Run the sale on the terminal. */
  | { type: 'run_sale' }
  /** Put the report for the current outcome into the outbox. */
  | { type: 'report' }
  /** Send payment.progress. */
  | { type: 'progress'; stage: ProgressStage }
  /** Keep asking the terminal (STATUS) until the unknown outcome is resolved; `immediate` asks at once first (after a restart). */
  | { type: 'resolve_later'; immediate?: boolean }
  /** Send `ack` for server message `messageId` (payment.abort). */
  | { type: 'ack_message'; messageId: string }
  /** Ask the terminal to abort the running sale. */
  | { type: 'abort_terminal' }
  /** Put the transaction in its terminal's line of waiting operations (run by `start` when its turn comes). */
  | { type: 'wait_turn' }
  /** Put the transaction back at the head of its terminal's line, started again after the recovery interval. */
  | { type: 'retry_later' };

/** Result of {@link transition}. `ignored` explains a no-op (event not valid in this phase). */
export interface TxTransition {
  state: Transaction;
  effects: TxEffect[];
  ignored?: string;
}

/** Fields of a new transaction, before `start`/`refuse`. */
export type NewTransaction = Pick<
  Transaction,
  'paymentId' | 'serialNumber' | 'rid' | 'amount' | 'method' | 'installments' | 'startMessageId'
> &
  Partial<Pick<Transaction, 'kind' | 'operationId' | 'originalTerminalRef'>>;

/** A transaction in phase `idle`. */
export function newTransaction(fields: NewTransaction, now: number): Transaction {
  return { ...fields, phase: 'idle', acked: false, reportAcked: false, createdAt: now, updatedAt: now };
}

/** True when the sale is over on the terminal side (whatever the report state). */
export function isFinished(phase: TxPhase): boolean {
  return phase === 'result' || phase === 'rejected' || phase === 'unknown' || phase === 'reported';
}

/** Times a void/refund refused by the terminal as busy is tried again before the refusal is reported. */
export const MAX_BUSY_RETRIES = 20;

const IN_FLIGHT: readonly TxPhase[] = ['requested', 'sent', 'acked', 'recovering'];

/**
 * True when `tx` is a sale the terminal refused before charging (busy, unknown terminal) and
 * that was never aborted, so a `payment.start` with another id (the server bound the payment
 * again) may run as a new attempt. Anything that may have reached the card stays answered by
 * its own outcome.
 */
export function canStartAnew(tx: Transaction): boolean {
  return (
    (tx.kind === undefined || tx.kind === 'sale') &&
    (tx.phase === 'rejected' || tx.phase === 'reported') &&
    tx.outcome?.kind === 'rejected' &&
    tx.abortRequested !== true
  );
}

function phaseOfOutcome(outcome: SaleOutcome): TxPhase {
  switch (outcome.kind) {
    case 'result':
      return 'result';
    case 'rejected':
      return 'rejected';
    case 'unknown':
      return 'unknown';
    default: {
      const never: never = outcome;
      throw new TypeError(`unknown outcome ${JSON.stringify(never)}`);
    }
  }
}

/** Applies `event` to `state` at time `now` (epoch ms). Pure. */
export function transition(state: Transaction, event: TxEvent, now: number): TxTransition {
  const to = (patch: Partial<Transaction>, effects: TxEffect[]): TxTransition => ({
    state: { ...state, ...patch, updatedAt: now },
    effects,
  });
  const ignore = (why: string): TxTransition => ({ state, effects: [], ignored: `${event.type} in ${state.phase}: ${why}` });
  const inFlight = IN_FLIGHT.includes(state.phase);

  switch (event.type) {
    case 'start':
      if (state.phase === 'queued') return to({ phase: 'requested' }, [{ type: 'persist' }, { type: 'run_sale' }]);
      if (state.phase !== 'idle') return ignore('already started');
      return to({ phase: 'requested' }, [
        { type: 'persist' },
        { type: 'ack_start', messageId: state.startMessageId },
        { type: 'run_sale' },
      ]);

    case 'queue':
      if (state.phase !== 'idle') return ignore('already taken');
      if (state.kind === undefined || state.kind === 'sale') return ignore('only voids and refunds wait for a busy terminal');
      return to({ phase: 'queued' }, [{ type: 'persist' }, { type: 'ack_start', messageId: state.startMessageId }, { type: 'wait_turn' }]);

    case 'refuse':
      if (state.phase !== 'idle') return ignore('already started');
      return to(
        {
          phase: 'rejected',
          outcome: { kind: 'rejected', code: event.code, message: event.message },
          reportId: event.reportId,
        },
        [{ type: 'persist' }, { type: 'ack_start', messageId: state.startMessageId }, { type: 'report' }],
      );

    case 'redeliver':
      if (state.phase === 'idle') return ignore('not started');
      if (state.phase === 'reported') {
        // The server asks again for a payment it acknowledged: it lost its copy; send it again.
        const phase = state.outcome ? phaseOfOutcome(state.outcome) : 'result';
        return to({ phase, reportAcked: false }, [
          { type: 'persist' },
          { type: 'ack_start', messageId: event.startMessageId },
          { type: 'report' },
        ]);
      }
      if (state.phase === 'unknown' && state.reportAcked) {
        return to({ reportAcked: false }, [
          { type: 'persist' },
          { type: 'ack_start', messageId: event.startMessageId },
          { type: 'report' },
        ]);
      }
      if (isFinished(state.phase)) {
        return { state, effects: [{ type: 'ack_start', messageId: event.startMessageId }, { type: 'report' }] };
      }
      return { state, effects: [{ type: 'ack_start', messageId: event.startMessageId }] };

    case 'sent':
      if (state.phase === 'requested') return to({ phase: 'sent' }, [{ type: 'persist' }]);
      if (inFlight) return { state, effects: [] };
      return ignore('sale is over');

    case 'acked':
      if (state.phase === 'requested' || state.phase === 'sent' || state.phase === 'recovering') {
        return to({ phase: 'acked', acked: true }, [{ type: 'persist' }]);
      }
      if (state.phase === 'acked') return { state, effects: [] };
      return ignore('sale is over');

    case 'progress':
      if (!inFlight) return ignore('sale is over');
      return to({ phase: 'acked', acked: true, stage: event.stage }, [
        ...(state.phase === 'acked' && state.acked ? [] : [{ type: 'persist' } as const]),
        { type: 'progress', stage: event.stage },
      ]);

    case 'recovering':
      if (state.phase === 'sent' || state.phase === 'acked' || state.phase === 'requested') {
        return to({ phase: 'recovering' }, [{ type: 'persist' }]);
      }
      if (state.phase === 'recovering') return { state, effects: [] };
      return ignore('sale is over');

    case 'outcome': {
      const phase = phaseOfOutcome(event.outcome);
      if (inFlight) {
        return to({ phase, outcome: event.outcome, reportId: event.reportId, reportAcked: false }, [
          { type: 'persist' },
          { type: 'report' },
          ...(phase === 'unknown' ? [{ type: 'resolve_later' } as const] : []),
        ]);
      }
      if (state.phase === 'unknown') {
        // Only a terminal answer resolves an unknown outcome.
        if (event.outcome.kind !== 'result') return ignore('an unknown outcome is resolved only by a result');
        return to({ phase: 'result', outcome: event.outcome, reportId: event.reportId, reportAcked: false }, [
          { type: 'persist' },
          { type: 'report' },
        ]);
      }
      return ignore('sale already has an outcome');
    }

    case 'report_acked':
      if (event.messageId !== state.reportId) return ignore('not the current report');
      if (state.phase === 'result' || state.phase === 'rejected') {
        return to({ phase: 'reported', reportAcked: true }, [{ type: 'persist' }]);
      }
      if (state.phase === 'unknown') return to({ reportAcked: true }, [{ type: 'persist' }]);
      return ignore('nothing to acknowledge');

    case 'abort':
      if (state.phase === 'idle' || state.phase === 'queued') return ignore('not started');
      if (inFlight) {
        // Journal the request, ack it, then ask the terminal; the outcome comes as usual.
        return to({ abortRequested: true }, [
          { type: 'persist' },
          { type: 'ack_message', messageId: event.messageId },
          { type: 'abort_terminal' },
        ]);
      }
      if (state.phase === 'reported') {
        const phase = state.outcome ? phaseOfOutcome(state.outcome) : 'result';
        return to({ phase, reportAcked: false, abortRequested: true }, [
          { type: 'persist' },
          { type: 'ack_message', messageId: event.messageId },
          { type: 'report' },
        ]);
      }
      if (state.phase === 'unknown') {
        // The terminal may still be running the sale (the agent restarted mid-sale, or lost the
        // link): ask it to abort, then learn the outcome with STATUS. An approval that came
        // first is reported as such and voided by the server.
        return to({ abortRequested: true, reportAcked: false }, [
          { type: 'persist' },
          { type: 'ack_message', messageId: event.messageId },
          { type: 'abort_terminal' },
          { type: 'report' },
          { type: 'resolve_later', immediate: true },
        ]);
      }
      // Finished: the server is told the outcome again (it may be approved: the server voids it).
      return to({ abortRequested: true, reportAcked: false }, [
        { type: 'persist' },
        { type: 'ack_message', messageId: event.messageId },
        { type: 'report' },
      ]);

    case 'terminal_busy':
      if (state.kind === undefined || state.kind === 'sale') return ignore('a refused sale is reported (the customer picks again)');
      if (!inFlight) return ignore('operation is not running');
      return to({ phase: 'queued', rid: event.rid, acked: false, busyRetries: (state.busyRetries ?? 0) + 1 }, [
        { type: 'persist' },
        { type: 'retry_later' },
      ]);

    case 'new_attempt': {
      if (!canStartAnew(state)) return ignore('the earlier attempt was not refused before charging');
      if (event.attempt.startMessageId === state.startMessageId) return ignore('same attempt');
      const { stage: _stage, outcome: _outcome, reportId: _reportId, ...rest } = state;
      const fresh: Transaction = { ...rest, ...event.attempt, acked: false, reportAcked: false, updatedAt: now };
      const ack: TxEffect = { type: 'ack_start', messageId: event.attempt.startMessageId };
      if (event.refusal) {
        const { code, message, reportId } = event.refusal;
        return {
          state: { ...fresh, phase: 'rejected', outcome: { kind: 'rejected', code, message }, reportId },
          effects: [{ type: 'persist' }, ack, { type: 'report' }],
        };
      }
      return { state: { ...fresh, phase: 'requested' }, effects: [{ type: 'persist' }, ack, { type: 'run_sale' }] };
    }

    case 'resume': {
      // An abort journaled before the restart may never have reached the terminal: send it again
      // (a terminal that already finished the sale answers it with the stored result).
      // Taken but never sent to the terminal: back in line.
      if (state.phase === 'queued') return { state, effects: [{ type: 'wait_turn' }] };
      const abortAgain: TxEffect[] = state.abortRequested === true ? [{ type: 'abort_terminal' }] : [];
      if (inFlight) {
        // The agent stopped mid-sale: the terminal may have charged. Report unknown, then ask it.
        return to(
          {
            phase: 'unknown',
            outcome: { kind: 'unknown', reason: 'agent restarted during the sale' },
            reportId: event.reportId,
            reportAcked: false,
          },
          [{ type: 'persist' }, ...abortAgain, { type: 'report' }, { type: 'resolve_later', immediate: true }],
        );
      }
      if (state.phase === 'unknown') {
        return {
          state,
          effects: [...abortAgain, ...(state.reportAcked ? [] : [{ type: 'report' } as const]), { type: 'resolve_later', immediate: true }],
        };
      }
      if (state.phase === 'result' || state.phase === 'rejected') return { state, effects: [{ type: 'report' }] };
      return ignore('nothing to resume');
    }

    default: {
      const never: never = event;
      throw new TypeError(`unknown event ${JSON.stringify(never)}`);
    }
  }
}
