/**
 * What the hub reports to the payment use cases (it gets them as a constructor dependency; the
 * use cases never call the hub back: they write command rows and wake delivery).
 */
import type { OperationResult, PaymentProgress, PaymentRejected, PaymentResult } from '@posbridge/protocol/ws';

/** Outcome of handing an agent report to the payment use cases. */
export type AgentReportOutcome = 'applied' | 'ignored' | 'unknown_payment';

/**
 * The agent-report use cases. Each method resolves only after the change is durably stored
 * (with the command rows it opens or closes), so the hub may then acknowledge the agent's message.
 */
export interface AgentEventHandler {
  /** The agent acknowledged `payment.start` `startId` (the payment is accepted; the start's row closes with it). */
  onStartAcked(agentId: string, paymentId: string, startId: string): Promise<AgentReportOutcome>;
  /** The agent reported a terminal outcome. */
  onResult(agentId: string, result: PaymentResult): Promise<AgentReportOutcome>;
  /** The terminal refused the payment before charging. */
  onRejected(agentId: string, rejected: PaymentRejected): Promise<AgentReportOutcome>;
  /** Progress stage (stored for the status endpoint; not acknowledged). */
  onProgress(agentId: string, progress: PaymentProgress): Promise<void>;
  /** The agent reported the outcome of an `operation.start` (void or refund). */
  onOperationResult(agentId: string, result: OperationResult): Promise<AgentReportOutcome>;
  /**
   * A start or abort of `paymentId` could not be delivered: its terminal now belongs to agent
   * `ownerAgentId`, not to the agent the payment is bound to, so no agent can finish or learn
   * the sale. The use case flags the payment `unknown` (docs/protocol/ws.md "Terminal ownership").
   */
  onBoundAgentReplaced(paymentId: string, ownerAgentId: string): Promise<void>;
}
