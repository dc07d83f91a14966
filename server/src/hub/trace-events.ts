/**
 * What the hub keeps of an agent's `payment.events` (docs/tracing.md "Agent events"), once the
 * report guard (./report-guard.ts) has authorised the sender as the owner of the payment's
 * terminal: each event's details pass an allow-list again, free text is masked for card numbers
 * and track data (protocol/src/redaction.ts `maskCardNumbers`), a detail's JSON is bounded in
 * bytes, and each agent is bounded in events per second (a token bucket); the store bounds the
 * events per payment (ports/events.ts `appendTraceEvents`). What is dropped is counted by reason.
 *
 * @see docs/tracing.md "Bounds and redaction"
 */
import { maskCardNumbers } from '@posbridge/protocol/redaction';
import { TraceDetailSchema, type PaymentEvents, type TraceEvent } from '@posbridge/protocol/ws';
import { MAX_TRACE_DETAIL_BYTES, MAX_TRACE_EVENTS_PER_PAYMENT, type NewTraceEvent, type PaymentEventsPort } from '../ports/events.ts';

/** Detail keys kept (the protocol's allow-list; anything else is dropped even if a schema let it through). */
const ALLOWED_DETAIL_KEYS: ReadonlySet<string> = new Set(Object.keys(TraceDetailSchema.shape));

/** Why trace events were dropped (the `reason` label of `posbridge_trace_events_dropped_total`). */
export type TraceDropReason = 'agent_rate' | 'payment_limit';

/** Options of {@link TraceIntake}. */
export interface TraceIntakeOptions {
  readonly store: Pick<PaymentEventsPort, 'appendTraceEvents'>;
  /** Clock, ms since epoch (rate bucket, `receivedAt`). */
  readonly now: () => number;
  /** Events per second an agent may add on average. @default 50 */
  readonly eventsPerSecond?: number;
  /** Events an agent may add at once (bucket size). @default 200 */
  readonly burst?: number;
  /** Most events kept per payment. @default MAX_TRACE_EVENTS_PER_PAYMENT */
  readonly maxPerPayment?: number;
  /** Called with how many events were dropped and why (metrics). */
  readonly onDropped?: (reason: TraceDropReason, count: number) => void;
}

/** What {@link TraceIntake.take} did with a message. */
export interface TraceIntakeResult {
  readonly stored: number;
  readonly dropped: number;
}

/**
 * A trace event as stored: only allow-listed keys, strings masked for card data, the whole
 * detail at most {@link MAX_TRACE_DETAIL_BYTES} bytes of JSON (else `{ truncated: true }`).
 */
export function redactedTraceEvent(event: TraceEvent): NewTraceEvent {
  const detail: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(event.detail ?? {})) {
    if (!ALLOWED_DETAIL_KEYS.has(key)) continue;
    if (typeof value === 'string') detail[key] = maskCardNumbers(value);
    else if (typeof value === 'number' || typeof value === 'boolean') detail[key] = value;
  }
  const bounded = Buffer.byteLength(JSON.stringify(detail), 'utf8') <= MAX_TRACE_DETAIL_BYTES ? detail : { truncated: true };
  return { at: event.at, stage: event.stage, detail: bounded };
}

/** Per-agent bounded, redacted storage of `payment.events`. */
export class TraceIntake {
  readonly #o: TraceIntakeOptions;
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: TraceIntakeOptions) {
    this.#o = options;
    this.#rate = options.eventsPerSecond ?? 50;
    this.#burst = options.burst ?? 200;
  }

  /**
   * Stores what `agentId` may still add of `message` (authorised by the caller).
   * @throws CodedError `STORE_FAILED`.
   */
  async take(agentId: string, message: PaymentEvents): Promise<TraceIntakeResult> {
    const allowed = this.#spend(agentId, message.events.length);
    const rated = message.events.length - allowed;
    if (rated > 0) this.#o.onDropped?.('agent_rate', rated);
    if (allowed === 0) return { stored: 0, dropped: rated };
    const events = message.events.slice(0, allowed).map(redactedTraceEvent);
    const stored = await this.#o.store.appendTraceEvents(
      { paymentId: message.paymentId, agentId, receivedAt: this.#o.now(), events },
      this.#o.maxPerPayment ?? MAX_TRACE_EVENTS_PER_PAYMENT,
    );
    if (stored < allowed) this.#o.onDropped?.('payment_limit', allowed - stored);
    return { stored, dropped: message.events.length - stored };
  }

  /** Forgets an agent's bucket (its session closed). */
  forget(agentId: string): void {
    this.#buckets.delete(agentId);
  }

  /** Takes up to `n` tokens of the agent's bucket; returns how many it got. */
  #spend(agentId: string, n: number): number {
    const now = this.#o.now();
    const b = this.#buckets.get(agentId) ?? { tokens: this.#burst, at: now };
    b.tokens = Math.min(this.#burst, b.tokens + (Math.max(0, now - b.at) / 1000) * this.#rate);
    b.at = now;
    const got = Math.min(n, Math.floor(b.tokens));
    b.tokens -= got;
    this.#buckets.set(agentId, b);
    return got;
  }
}
