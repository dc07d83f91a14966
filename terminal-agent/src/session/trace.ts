/**
 * The agent's side of one trace across hops (docs/tracing.md): which stage of a transaction each
 * runner event is ({@link stageOf}), and {@link PaymentTracer}, which buffers those stages per
 * payment and sends them to the server as `payment.events` (best effort, not acknowledged, never
 * journaled; only when the link agreed the `trace` feature). Details are only the protocol's
 * allow-listed keys; free text is clipped and masked for card numbers before it leaves
 * (protocol/src/redaction.ts `maskCardNumbers`). Every timer runs on the injected clock.
 */
import { maskCardNumbers } from '@posbridge/protocol/redaction';
import {
  MAX_TRACE_DETAIL_TEXT,
  MAX_TRACE_EVENTS_PER_MESSAGE,
  type TraceDetail,
  type TraceEvent,
  type TraceStage,
} from '@posbridge/protocol/ws';
import type { Clock, Timer } from '@posbridge/kit/clock';
import type { Transaction, TxEffect, TxEvent } from './transaction-machine.ts';

/** Where the tracer sends (the link). */
export interface TraceLink {
  /** Sends `payment.events` if live and agreed; false when it was not sent (the events are dropped). */
  sendEvents(paymentId: string, events: readonly TraceEvent[]): boolean;
}

/** Most events buffered per payment before the oldest are dropped (the link is down long). */
export const MAX_BUFFERED_EVENTS = 64;

/** Delay before buffered events are sent (several stages of one step go in one message), ms. */
export const TRACE_FLUSH_MS = 50;

const isOperation = (tx: Pick<Transaction, 'kind'>): boolean => tx.kind === 'void' || tx.kind === 'refund';

/** Free text as it may leave the agent: card numbers masked, clipped. */
function text(value: string): string {
  return maskCardNumbers(value).slice(0, MAX_TRACE_DETAIL_TEXT);
}

/** `rid` when it is a valid wire reference (old journal entries may hold an empty one). */
function ridOf(tx: Pick<Transaction, 'rid'>): { rid?: string } {
  return /^[A-Za-z0-9._-]{1,64}$/.test(tx.rid) ? { rid: tx.rid } : {};
}

function opOf(tx: Pick<Transaction, 'kind' | 'operationId'>): TraceDetail {
  return isOperation(tx) && tx.operationId !== undefined && tx.kind !== undefined && tx.kind !== 'sale' ? { operationId: tx.operationId, kind: tx.kind } : {};
}

/**
 * The stage a runner event marks on transaction `tx` (the state after it), or null for events
 * that are no stage (repeats, resumes, internal retries).
 */
export function stageOf(tx: Transaction, event: TxEvent): { stage: TraceStage; detail: TraceDetail } | null {
  const op = opOf(tx);
  switch (event.type) {
    case 'start':
    case 'new_attempt':
      if (tx.phase === 'rejected') return null; // a refusal at once: the refuse stage below names it
      return { stage: isOperation(tx) ? 'operation.received' : 'command.received', detail: { ...op, messageId: tx.startMessageId, serialNumber: tx.serialNumber } };
    case 'refuse':
      return { stage: 'command.refused', detail: { ...op, code: event.code, reason: text(event.message) } };
    case 'queue':
      return { stage: 'operation.queued', detail: { ...op, serialNumber: tx.serialNumber } };
    case 'abort':
      return { stage: 'abort.received', detail: { messageId: event.messageId } };
    case 'sent':
      return { stage: 'terminal.request', detail: { ...op, ...ridOf(tx), serialNumber: tx.serialNumber } };
    case 'acked':
      return { stage: 'terminal.ack', detail: { ...op, ...ridOf(tx) } };
    case 'progress':
      return { stage: 'terminal.progress', detail: { stage: event.stage } };
    case 'recovering':
      return { stage: 'terminal.recovering', detail: { ...op, ...ridOf(tx), reason: text(event.reason) } };
    case 'outcome': {
      const o = event.outcome;
      if (o.kind === 'result') {
        return { stage: 'terminal.answer', detail: { ...op, ...ridOf(tx), outcome: o.result.outcome, ...(o.result.responseCode ? { responseCode: o.result.responseCode.slice(0, 16) } : {}) } };
      }
      if (o.kind === 'rejected') return { stage: 'terminal.answer', detail: { ...op, ...ridOf(tx), code: o.code } };
      return { stage: 'terminal.answer', detail: { ...op, ...ridOf(tx), outcome: 'unknown', reason: text(o.reason) } };
    }
    case 'report_acked':
      return { stage: 'result.acked', detail: { ...op, messageId: event.messageId } };
    default:
      return null;
  }
}

/** The stage an effect marks, or null. */
export function effectStageOf(tx: Transaction, effect: TxEffect): { stage: TraceStage; detail: TraceDetail } | null {
  if (effect.type === 'report' && tx.reportId !== undefined) return { stage: 'result.sent', detail: { ...opOf(tx), messageId: tx.reportId } };
  if (effect.type === 'abort_terminal') return { stage: 'terminal.abort', detail: ridOf(tx) };
  return null;
}

/** Buffers stages per payment and sends them as `payment.events`. */
export class PaymentTracer {
  readonly #link: TraceLink;
  readonly #clock: Clock;
  readonly #pending = new Map<string, TraceEvent[]>();
  #timer: Timer | undefined;

  constructor(link: TraceLink, clock: Clock) {
    this.#link = link;
    this.#clock = clock;
  }

  /** Records one stage of `paymentId` now; sent within {@link TRACE_FLUSH_MS}. */
  record(paymentId: string, stage: TraceStage, detail: TraceDetail): void {
    const list = this.#pending.get(paymentId) ?? [];
    list.push({ at: this.#clock.now(), stage, ...(Object.keys(detail).length > 0 ? { detail } : {}) });
    if (list.length > MAX_BUFFERED_EVENTS) list.splice(0, list.length - MAX_BUFFERED_EVENTS);
    this.#pending.set(paymentId, list);
    this.#timer ??= this.#clock.setTimeout(() => this.flush(), TRACE_FLUSH_MS, { unref: true });
  }

  /** Sends what is buffered (at most {@link MAX_TRACE_EVENTS_PER_MESSAGE} per message); what the link does not take is dropped. */
  flush(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    for (const [paymentId, events] of this.#pending) {
      for (let i = 0; i < events.length; i += MAX_TRACE_EVENTS_PER_MESSAGE) {
        if (!this.#link.sendEvents(paymentId, events.slice(i, i + MAX_TRACE_EVENTS_PER_MESSAGE))) break;
      }
    }
    this.#pending.clear();
  }
}
