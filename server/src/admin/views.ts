/**
 * What the admin API answers about a payment: the payment without its secrets (the callback URL
 * only as its origin — its query carries VTEX's signature — and the card only as brand and last
 * four digits), its callbacks and agent commands without their bodies, and its timeline: the
 * payment's event rows, its commands' sends and acknowledgements, and the stages its agent
 * reported (`payment.events`, docs/tracing.md), in time order, each named by the component that
 * produced it.
 *
 * @see docs/admin-api.md "Payments"
 */
import type { AgentCommandRecord, CallbackEntry, Payment, PaymentEventRecord, TraceEventRecord } from '../ports/index.ts';

/** Which hop an entry comes from. */
export type TimelineComponent = 'server' | 'agent' | 'terminal';

/** One entry of a timeline. */
export interface TimelineEntry {
  /** ISO 8601 time. */
  readonly at: string;
  readonly component: TimelineComponent;
  /** What happened: a payment event type (`created`, `agent.acked`, …) or `command.<sent|acked|closed>`. */
  readonly event: string;
  readonly [detail: string]: unknown;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

/** Origin of a URL (scheme, host, port), or null when it does not parse. */
function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** Keys never copied out of event data: card digits beyond the last four, URLs (signed), anything secret-looking. */
const DROPPED_KEYS = /^(firstDigits|callbackUrl|url|body)$|token|secret|password|signature/i;

/** A copy of event data without {@link DROPPED_KEYS}, bounded in depth. */
export function sanitized(value: unknown, depth = 0): unknown {
  if (depth > 6) return null;
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => sanitized(v, depth + 1));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!DROPPED_KEYS.test(k)) out[k] = sanitized(v, depth + 1);
    return out;
  }
  if (typeof value === 'string') return value.slice(0, 500);
  return value;
}

/** The payment as the admin API shows it. */
export function paymentView(p: Payment): Record<string, unknown> {
  const o = p.outcome;
  return {
    paymentId: p.paymentId,
    tid: p.id,
    traceId: p.traceId ?? null,
    transactionId: p.transactionId,
    orderId: p.orderId,
    reference: p.reference,
    merchantId: p.merchantId,
    merchantName: p.merchantName,
    status: p.status,
    method: p.method,
    installments: p.installments,
    amount: { amountMinor: p.amount.amountMinor, currency: p.amount.currency },
    testSuite: p.testSuite,
    callbackOrigin: originOf(p.callbackUrl),
    serialNumber: p.binding?.serialNumber ?? null,
    agentId: p.binding?.agentId ?? null,
    progressStage: p.progressStage,
    endReason: p.endReason,
    outcome:
      o === null
        ? null
        : {
            outcome: o.outcome,
            authorizationId: o.authorizationId,
            nsu: o.nsu,
            terminalTid: o.tid,
            responseCode: o.responseCode,
            amountMinor: o.amountMinor,
            card: o.card === null ? null : { brand: o.card.brand, lastDigits: o.card.lastDigits },
          },
    createdAt: iso(p.createdAt),
    changedAt: iso(p.changedAt),
    updatedAt: iso(p.updatedAt),
    deadlineAt: isoOrNull(p.deadlineAt),
  };
}

/** A callback as the admin API shows it (no URL query, no body). */
export function callbackView(c: CallbackEntry, now: number): Record<string, unknown> {
  return {
    callbackId: c.id,
    status: c.status,
    attempts: c.attempts,
    lastHttpStatus: c.lastHttpStatus,
    lastError: c.lastError === null ? null : c.lastError.slice(0, 500),
    nextAttemptAt: c.status === 'pending' ? iso(c.nextAttemptAt) : null,
    expiresAt: isoOrNull(c.expiresAt),
    inFlight: c.status === 'pending' && c.leaseUntil !== null && c.leaseUntil > now,
    origin: originOf(c.url),
  };
}

/** An agent command as the admin API shows it (the message only by its type). */
export function commandView(c: AgentCommandRecord): Record<string, unknown> {
  let type: string | null;
  try {
    const parsed = JSON.parse(c.message) as { type?: unknown };
    type = typeof parsed.type === 'string' ? parsed.type : null;
  } catch {
    type = null;
  }
  return {
    commandId: c.commandId,
    kind: c.kind,
    messageType: type,
    status: c.status,
    serialNumber: c.serialNumber,
    agentId: c.agentId,
    attempts: c.attempts,
    createdAt: iso(c.createdAt),
    lastSentAt: isoOrNull(c.lastSentAt),
    nextAttemptAt: isoOrNull(c.nextAttemptAt),
    ackedAt: isoOrNull(c.ackedAt),
    closedAt: isoOrNull(c.closedAt),
    closeReason: c.closeReason,
  };
}

/** Component of a payment event type: what the agent or the terminal reported, else the server's own decision. */
export function componentOf(type: string): TimelineComponent {
  if (type === 'agent.acked' || type === 'start.rejected') return 'agent';
  if (type === 'result.received' || type === 'void.result') return 'terminal';
  return 'server';
}

/** Component of an agent trace stage: `terminal.*` is what the terminal did, the rest the agent's own. */
export function traceComponentOf(stage: string): TimelineComponent {
  return stage.startsWith('terminal.') ? 'terminal' : 'agent';
}

/**
 * The timeline of a payment, oldest first (ties: events, then command entries, then agent trace
 * events, in their order). Agent trace events are placed at the agent's clock (`at`); their
 * `receivedAt` is the server's.
 */
export function timelineOf(
  events: readonly PaymentEventRecord[],
  commands: readonly AgentCommandRecord[],
  traces: readonly TraceEventRecord[] = [],
): TimelineEntry[] {
  const entries: { ms: number; order: number; entry: TimelineEntry }[] = [];
  const push = (ms: number, entry: TimelineEntry): void => {
    entries.push({ ms, order: entries.length, entry });
  };
  for (const e of events) {
    push(e.at, { at: iso(e.at), component: componentOf(e.type), event: e.type, fromStatus: e.fromStatus, toStatus: e.toStatus, data: sanitized(e.data) });
  }
  for (const c of commands) {
    const base = { commandId: c.commandId, kind: c.kind, serialNumber: c.serialNumber };
    if (c.lastSentAt !== null) push(c.lastSentAt, { at: iso(c.lastSentAt), component: 'server', event: 'command.sent', ...base, attempts: c.attempts });
    if (c.ackedAt !== null) push(c.ackedAt, { at: iso(c.ackedAt), component: 'agent', event: 'command.acked', ...base });
    if (c.closedAt !== null) push(c.closedAt, { at: iso(c.closedAt), component: 'server', event: 'command.closed', ...base, reason: c.closeReason });
  }
  for (const t of traces) {
    push(t.at, { at: iso(t.at), component: traceComponentOf(t.stage), event: t.stage, agentId: t.agentId, receivedAt: iso(t.receivedAt), detail: sanitized(t.detail) });
  }
  return entries.sort((a, b) => a.ms - b.ms || a.order - b.order).map((e) => e.entry);
}
