/**
 * The agent-command log: every server → agent command (`payment.start`, `payment.abort`, and
 * `operation.start` for voids and refunds) is a durable row, written in the same transaction as
 * the state change that causes it, and closed in the same transaction as the state change that
 * makes it moot. The hub only *delivers* rows (docs/architecture.md "Effects are rows").
 *
 * Delivery rule (what {@link AgentCommandsPort.listDeliverableCommands} answers): an open command
 * is sent to each new session of its agent once, then repeated on that session every resend
 * interval until that session acknowledges it. An acknowledged command stays open (and is sent
 * again to the next session, e.g. after an agent restart) until its purpose is met: a start
 * closes when the payment is accepted, answered or rejected; an abort when the payment leaves
 * `aborting`; a void or refund when its outcome is recorded (a refund stays open while `unknown`).
 *
 * Times are ms since epoch.
 */

/** What a command asks of the agent. */
export type AgentCommandKind = 'start' | 'abort' | 'void' | 'refund';

/** A command to write with a state change. */
export interface NewAgentCommand {
  /** Message id sent to the agent (`startId`, `abortId`, `operationId`); unique. */
  readonly commandId: string;
  readonly kind: AgentCommandKind;
  readonly paymentId: string;
  /** Merchant of the payment; a void or refund is only ever sent to an agent of this merchant. */
  readonly merchantId: string;
  /** Terminal the command is for. */
  readonly serialNumber: string;
  /**
   * Agent it must reach: the payment's bound agent (start, abort), or null for whichever agent of
   * `merchantId` owns the serial when it is delivered (void, refund).
   */
  readonly agentId: string | null;
  /** The server → agent message to send, JSON text (a `ServerMessage` of docs/protocol/ws.md). */
  readonly message: string;
}

/** `open` until its purpose is met (see the module comment), then `closed`. */
export type AgentCommandStatus = 'open' | 'closed';

/** A stored command. */
export interface AgentCommandRecord extends NewAgentCommand {
  readonly status: AgentCommandStatus;
  readonly createdAt: number;
  /** Sends so far, over every session. */
  readonly attempts: number;
  readonly lastSentAt: number | null;
  /** Agent session the last send went to. */
  readonly sentSessionId: string | null;
  /** When the next repeat on `sentSessionId` is due (unacknowledged). */
  readonly nextAttemptAt: number | null;
  readonly ackedAt: number | null;
  /** Session that acknowledged it (a new session gets it again while it is open). */
  readonly ackedSessionId: string | null;
  readonly closedAt: number | null;
  /** Why it was closed (`accepted`, `answered`, `rejected`, `moved`, …). */
  readonly closeReason: string | null;
}

/** Command writes that commit atomically with a payment or operation change. */
export interface CommandWrites {
  readonly open?: readonly NewAgentCommand[];
  /** Commands whose purpose is met (nothing happens for an unknown or closed id). */
  readonly close?: readonly { readonly commandId: string; readonly reason: string }[];
}
