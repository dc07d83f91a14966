/**
 * The seam between payments and terminal agents, in both directions, so that a multi-instance
 * implementation (agents connected to another server instance, reached over a bus) is a new
 * class rather than a rewrite:
 * - {@link AgentDispatcher}: what the payment service asks of "wherever the agents are";
 * - {@link AgentEventHandler}: what the hub reports back to the payment service.
 */
import type { Money } from '@posbridge/protocol/money';
import type {
  OperationKind,
  OperationResult,
  PaymentMethodKind,
  PaymentProgress,
  PaymentRejected,
  PaymentResult,
} from '@posbridge/protocol/ws';

/** A `payment.start` to deliver (the hub adds the envelope; `startId` becomes the message `id`). */
export interface StartOrder {
  readonly paymentId: string;
  /** Message id of the start; stable across repeats so any copy's `ack` counts. */
  readonly startId: string;
  readonly serialNumber: string;
  readonly amount: Money;
  readonly method: PaymentMethodKind;
  readonly installments: number;
}

/** A `payment.abort` to deliver (repeated until acknowledged). */
export interface AbortOrder {
  readonly paymentId: string;
  /** Message id; stable per payment so any copy's `ack` counts. */
  readonly abortId: string;
  readonly serialNumber: string;
  readonly reason: 'cancelled' | 'expired';
}

/** An `operation.start` (void or refund) to deliver; its message id is `operationId`. */
export interface OperationOrder {
  readonly operationId: string;
  readonly paymentId: string;
  readonly kind: OperationKind;
  readonly serialNumber: string;
  readonly amount: Money;
  readonly originalTerminalRef: string;
}

/** Everything still owed to the agent driving some serials (re-sent when it (re)connects). */
export interface PendingOrders {
  readonly starts: readonly StartOrder[];
  readonly aborts: readonly AbortOrder[];
  readonly operations: readonly OperationOrder[];
}

/** Where a terminal serial stands. */
export type TerminalLookup =
  /** An agent that announced the serial is connected now. */
  | { readonly status: 'online'; readonly agentId: string }
  /** Announced before, but its agent is not connected. */
  | { readonly status: 'offline'; readonly agentId: string }
  /** Never announced by any agent. */
  | { readonly status: 'unknown' };

/** Outcome of {@link AgentDispatcher.dispatch}. */
export type DispatchOutcome = 'sent' | 'offline' | 'unknown_terminal';

/** Delivers `payment.start` orders to whichever agent drives the terminal. */
export interface AgentDispatcher {
  /** Where `serialNumber` stands right now. */
  lookupTerminal(serialNumber: string): Promise<TerminalLookup>;
  /**
   * Sends the start and keeps repeating it until the agent acknowledges it (or the session ends;
   * it is re-sent when the agent reconnects). Never throws for an absent agent: answers
   * `offline` / `unknown_terminal` instead.
   */
  dispatch(order: StartOrder): Promise<DispatchOutcome>;
  /** Stops repeating the message with this id (acknowledged, answered, or rejected). */
  cancelResend(messageId: string): void;
  /** Sends `payment.abort`, repeated until acknowledged. Same outcomes as {@link dispatch}. */
  abort(order: AbortOrder): Promise<DispatchOutcome>;
  /** Sends `operation.start`, repeated until acknowledged. Same outcomes as {@link dispatch}. */
  startOperation(order: OperationOrder): Promise<DispatchOutcome>;
  /** Serials whose agent is connected right now. */
  onlineSerials(): ReadonlySet<string>;
  /** Number of connected agents (metrics, readiness). */
  readonly sessionCount: number;
}

/** Outcome of handing an agent report to the payment service. */
export type AgentReportOutcome = 'applied' | 'ignored' | 'unknown_payment';

/**
 * What the hub reports to the payment service. Each method resolves only after the change is
 * durably stored, so the hub may then acknowledge the agent's message.
 */
export interface AgentEventHandler {
  /** The agent acknowledged `payment.start` `startId`. */
  onStartAcked(agentId: string, paymentId: string, startId: string): Promise<AgentReportOutcome>;
  /** The agent reported a terminal outcome. */
  onResult(agentId: string, result: PaymentResult): Promise<AgentReportOutcome>;
  /** The terminal refused the payment before charging. */
  onRejected(agentId: string, rejected: PaymentRejected): Promise<AgentReportOutcome>;
  /** Progress stage (stored for the status endpoint; not acknowledged). */
  onProgress(agentId: string, progress: PaymentProgress): Promise<void>;
  /** The agent reported the outcome of an `operation.start` (void or refund). */
  onOperationResult(agentId: string, result: OperationResult): Promise<AgentReportOutcome>;
  /** Starts, aborts and operations still owed for these serials (re-sent on agent (re)connect). */
  pendingOrders(serialNumbers: readonly string[]): Promise<PendingOrders>;
  /**
   * A start or abort of `paymentId` could not be delivered: its terminal now belongs to agent
   * `ownerAgentId`, not to the agent the payment is bound to, so no agent can finish or learn
   * the sale. The service flags the payment `unknown` (docs/protocol/ws.md "Terminal ownership").
   */
  onBoundAgentReplaced(paymentId: string, ownerAgentId: string): Promise<void>;
}
