/**
 * Prometheus metrics (prom-client), on a registry per server instance (several servers may run
 * in one process in tests). Exposed on `GET /metrics` in the text exposition format.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `posbridge_payments` | gauge (read from the store on scrape) | `status` |
 * | `posbridge_payments_unknown` | gauge (read from the store on scrape): payments whose terminal outcome is unknown (`unknown`), or whose reversal's is (`reversal_unknown`), waiting for the terminal or an operator; alert on > 0 | — |
 * | `posbridge_operations_unknown` | gauge (read from the store on scrape): refunds whose terminal outcome is unknown, waiting for the terminal or an operator (`posbridge-server operation resolve`); alert on > 0 | — |
 * | `posbridge_payment_transitions_total` | counter | `from`, `to` |
 * | `posbridge_callback_attempts_total` | counter | `outcome` = delivered \| retry \| failed |
 * | `posbridge_callback_failures_total` | counter | `reason` = http \| network \| expired |
 * | `posbridge_agents_connected` | gauge | — |
 * | `posbridge_http_request_duration_seconds` | histogram | `method`, `route`, `status_code` |
 * | `posbridge_auth_failures_total` | counter | `surface` = ppp \| pos \| metrics \| agent \| admin |
 * | `posbridge_agent_reports_refused_total` | counter | `reason` (hub/report-guard.ts), `type` (agent message type) |
 * | `posbridge_trace_events_dropped_total` | counter | `reason` = agent_rate \| payment_limit (hub/trace-events.ts) |
 * | default Node.js process metrics | | prefixed `posbridge_` |
 * | `posbridge_agent_commands_open` | gauge (read from the store on scrape): agent commands (start, abort, void, refund) not yet done with; a value that keeps growing means commands are not getting through | — |
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PAYMENT_STATUSES, type PaymentStatus } from '../domain/payment-machine.ts';

/** The metrics of one server. */
export class ServerMetrics {
  /** The registry served on `/metrics`. */
  readonly registry = new Registry();
  readonly transitions: Counter<'from' | 'to'>;
  readonly callbackAttempts: Counter<'outcome'>;
  readonly callbackFailures: Counter<'reason'>;
  readonly agentsConnected: Gauge;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly authFailures: Counter<'surface'>;
  readonly agentReportsRefused: Counter<'reason' | 'type'>;
  /** Agent trace events dropped by a bound (docs/tracing.md "Bounds and redaction"). */
  readonly traceEventsDropped: Counter<'reason'>;
  /** Answers of the Test Suite virtual terminal (docs/homologation.md), by command kind and outcome. */
  readonly virtualTerminalAnswers: Counter<'kind' | 'outcome'>;
  /**
   * Gift card provider transactions (docs/gift-cards.md "Metrics"), by operation (debit, credit,
   * cancellation, settlement) and result (`ok`, one of the ledger's `GIFTCARD_*` refusal codes,
   * or `error`): both label sets are closed lists.
   */
  readonly giftcardTransactions: Counter<'operation' | 'result'>;

  /**
   * @param countPayments - reads the number of payments per status (called on each scrape).
   * @param countUnknownOperations - reads the number of operations whose outcome is unknown (called on each scrape).
   * @param countOpenCommands - reads the number of open agent commands (called on each scrape).
   */
  constructor(
    countPayments: () => Promise<Partial<Record<PaymentStatus, number>>>,
    countUnknownOperations: () => Promise<number> = () => Promise.resolve(0),
    countOpenCommands: () => Promise<number> = () => Promise.resolve(0),
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'posbridge_' });
    new Gauge({
      name: 'posbridge_payments',
      help: 'Payments by status (from the store).',
      labelNames: ['status'],
      registers,
      async collect() {
        const counts = await countPayments();
        for (const status of PAYMENT_STATUSES) this.set({ status }, counts[status] ?? 0);
      },
    });
    // The alert of docs/ppp.md "Unknown outcomes": derived from the store, so it is right after a restart.
    new Gauge({
      name: 'posbridge_payments_unknown',
      help: 'Payments whose terminal outcome is unknown (need the terminal or an operator: posbridge-server payment resolve).',
      registers,
      async collect() {
        const counts = await countPayments();
        this.set((counts.unknown ?? 0) + (counts.reversal_unknown ?? 0));
      },
    });
    new Gauge({
      name: 'posbridge_operations_unknown',
      help: 'Refunds whose terminal outcome is unknown (need the terminal or an operator: posbridge-server operation resolve).',
      registers,
      async collect() {
        this.set(await countUnknownOperations());
      },
    });
    new Gauge({
      name: 'posbridge_agent_commands_open',
      help: 'Agent commands (start, abort, void, refund) still open in the agent-command log.',
      registers,
      async collect() {
        this.set(await countOpenCommands());
      },
    });
    this.transitions = new Counter({
      name: 'posbridge_payment_transitions_total',
      help: 'Payment status changes (from "none" for a created payment).',
      labelNames: ['from', 'to'],
      registers,
    });
    this.callbackAttempts = new Counter({
      name: 'posbridge_callback_attempts_total',
      help: 'Callback deliveries attempted, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    this.callbackFailures = new Counter({
      name: 'posbridge_callback_failures_total',
      help: 'Failed callback attempts, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.agentsConnected = new Gauge({ name: 'posbridge_agents_connected', help: 'Terminal agents connected now.', registers });
    this.httpDuration = new Histogram({
      name: 'posbridge_http_request_duration_seconds',
      help: 'HTTP request latency by route.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 5, 10],
      registers,
    });
    this.authFailures = new Counter({
      name: 'posbridge_auth_failures_total',
      help: 'Failed authentications, by surface.',
      labelNames: ['surface'],
      registers,
    });
    this.agentReportsRefused = new Counter({
      name: 'posbridge_agent_reports_refused_total',
      help: 'Agent reports (acks, progress, results, operation results) refused: not from the session the command was sent to and that owns the terminal.',
      labelNames: ['reason', 'type'],
      registers,
    });
    this.traceEventsDropped = new Counter({
      name: 'posbridge_trace_events_dropped_total',
      help: 'Agent trace events (payment.events) dropped by a bound: the agent\'s rate or the most kept per payment.',
      labelNames: ['reason'],
      registers,
    });
    this.virtualTerminalAnswers = new Counter({
      name: 'posbridge_virtual_terminal_answers_total',
      help: 'Commands answered by the Test Suite virtual terminal (docs/homologation.md), by kind (start, abort, void, refund) and outcome.',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.giftcardTransactions = new Counter({
      name: 'posbridge_giftcard_transactions_total',
      help: 'Gift card provider transactions (docs/gift-cards.md), by operation (debit, credit, cancellation, settlement) and result (ok, a GIFTCARD_* refusal code, error).',
      labelNames: ['operation', 'result'],
      registers,
    });
  }
}
