/**
 * The payment event log, read side: the append-only timeline of a payment that a support person
 * reads. Rows are written by the port whose change causes them, in the same transaction
 * (./payments.ts `createPayment`/`applyTransition`, ./operations.ts `resolveUnknownOperation`).
 */
import type { PaymentStatus } from '../domain/payment-machine.ts';

/** One row of the append-only audit log. */
export interface PaymentEventRecord {
  /** Increasing over the whole log (the order of the writes). */
  readonly seq: number;
  readonly paymentId: string;
  readonly type: string;
  readonly fromStatus: PaymentStatus | null;
  readonly toStatus: PaymentStatus;
  /** What happened (domain/audit-data.ts), never card data beyond brand/first6/last4. */
  readonly data: unknown;
  /** ms since epoch. */
  readonly at: number;
}

/** Most trace events stored per payment; later ones are dropped (docs/tracing.md "Bounds and redaction"). */
export const MAX_TRACE_EVENTS_PER_PAYMENT = 200;

/** Longest `detail` of a stored trace event, bytes of its JSON text; a longer one is stored as `{"truncated":true}`. */
export const MAX_TRACE_DETAIL_BYTES = 1024;

/** One stage an agent reported for a payment (`payment.events`, docs/tracing.md), as stored. */
export interface NewTraceEvent {
  /** ms since epoch, the agent's clock. */
  readonly at: number;
  /** `command.received`, `terminal.request`, … (protocol TraceStage). */
  readonly stage: string;
  /** Allow-listed, redacted details (hub/trace-events.ts), at most {@link MAX_TRACE_DETAIL_BYTES} as JSON. */
  readonly detail: Readonly<Record<string, string | number | boolean>>;
}

/** A stored trace event. */
export interface TraceEventRecord extends NewTraceEvent {
  /** Increasing over all trace events (the order of the writes). */
  readonly seq: number;
  readonly paymentId: string;
  /** The agent that reported it (authorised as the owner of the payment's terminal). */
  readonly agentId: string;
  /** ms since epoch, the server's clock when it was stored. */
  readonly receivedAt: number;
}

/** A batch of trace events of one payment from one agent. */
export interface TraceEventBatch {
  readonly paymentId: string;
  readonly agentId: string;
  readonly receivedAt: number;
  readonly events: readonly NewTraceEvent[];
}

/** Reads the payment event log and keeps agents' trace events. May reject with `CodedError('STORE_FAILED')`. */
export interface PaymentEventsPort {
  /** The audit log of a payment, oldest first. */
  listPaymentEvents(paymentId: string): Promise<PaymentEventRecord[]>;
  /**
   * Stores the batch's events in order, as long as the payment holds fewer than `maxPerPayment`
   * trace events (atomically: concurrent batches never exceed it); the rest are dropped.
   * The caller has authorised the agent and bounded and redacted the events.
   * @param maxPerPayment - ≥ 0, normally {@link MAX_TRACE_EVENTS_PER_PAYMENT}.
   * @returns how many were stored (0 … `events.length`).
   */
  appendTraceEvents(batch: TraceEventBatch, maxPerPayment: number): Promise<number>;
  /** The trace events of a payment in the order they were stored. */
  listTraceEvents(paymentId: string): Promise<TraceEventRecord[]>;
}
