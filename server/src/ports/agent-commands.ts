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
 * `aborting` (an `unknown` payment VTEX cancelled keeps its abort until it is resolved); a void
 * when the payment leaves `reversing`; a refund when its outcome is recorded (it stays open
 * while `unknown`) or it is released. A session the command cannot go to (the terminal's owner
 * is not its target) *passes* it: it is not offered to that session again, but to the next one.
 * A session whose agent no longer owns the serial is not offered it while that lasts (the
 * terminal may be moved back).
 *
 * Delivery writes ahead: {@link AgentCommandsPort.markCommandSent} is a compare-and-set that
 * records the send (and when the next repeat is due) before the frame leaves, so a command is
 * never sent twice on one session between repeats, whichever process delivers it, and a crash
 * after the mark only means the next session gets it (never that it is lost).
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
  /** Last session that passed it (not its target): not offered to that session again. */
  readonly passedSessionId: string | null;
  readonly closedAt: number | null;
  /** Why it was closed (`accepted`, `answered`, `rejected`, `moved`, …). */
  readonly closeReason: string | null;
}

/** Command writes that commit atomically with a payment or operation change. */
export interface CommandWrites {
  /**
   * Commands to open. An id that exists already is re-opened with the new message (a payment
   * aborted or reversed a second time reuses its stable `ab_`/`vd_` id): its session marks are
   * cleared, so every session gets it again.
   */
  readonly open?: readonly NewAgentCommand[];
  /** Commands whose purpose is met (nothing happens for an unknown or closed id). */
  readonly close?: readonly { readonly commandId: string; readonly reason: string }[];
}

/** True when `c` is deliverable on session `sessionId` at `now` (the rule of the module comment). */
export function isDeliverable(c: AgentCommandRecord, sessionId: string, now: number): boolean {
  if (c.status !== 'open') return false;
  if (c.ackedSessionId === sessionId || c.passedSessionId === sessionId) return false;
  return c.sentSessionId !== sessionId || (c.nextAttemptAt !== null && c.nextAttemptAt <= now);
}

/**
 * The durable agent-command log. Every method may reject with `CodedError('STORE_FAILED')`.
 * Opening and closing with a state change goes through that change's transaction
 * (`PaymentChange.commands`, `NewOperation.command`), never through this port.
 */
export interface AgentCommandsPort {
  /**
   * Open commands for any of `serialNumbers` deliverable on `sessionId` at `now`
   * ({@link isDeliverable}), oldest first, at most `limit` (1–1000).
   */
  listDeliverableCommands(serialNumbers: readonly string[], sessionId: string, now: number, limit: number): Promise<AgentCommandRecord[]>;
  /**
   * Open commands of every serial starting with `serialPrefix` (1–64 characters, compared
   * byte for byte) deliverable on `sessionId` at `now`, oldest first, at most `limit` (1–1000):
   * one indexed read of the open rows, e.g. the virtual terminals' `VT-` serials
   * (server/src/testsuite/virtual-terminal.ts) without listing who owns them.
   * @throws RangeError (synchronously) for a prefix {@link prefixRange} refuses.
   */
  listDeliverableCommandsByPrefix(serialPrefix: string, sessionId: string, now: number, limit: number): Promise<AgentCommandRecord[]>;
  /**
   * Write-ahead of one send: if the command is still deliverable on `sessionId` at `at`, records
   * the attempt (`attempts + 1`, `lastSentAt`, `sentSessionId`) and the next repeat
   * (`nextAttemptAt`), atomically. @returns false (nothing written, send nothing) otherwise.
   */
  markCommandSent(commandId: string, sessionId: string, at: number, nextAttemptAt: number): Promise<boolean>;
  /** `sessionId` is not the command's target: not offered to that session again. @returns false when not open. */
  passCommand(commandId: string, sessionId: string, at: number): Promise<boolean>;
  /**
   * The agent acknowledged the command on `sessionId`: no more repeats on that session (it stays
   * open until its purpose is met). @returns the updated command, or null when unknown.
   */
  ackCommand(commandId: string, sessionId: string, at: number): Promise<AgentCommandRecord | null>;
  /** Closes an open command. @returns false when it is unknown or closed already. */
  closeCommand(commandId: string, reason: string, at: number): Promise<boolean>;
  /** The command, or null. */
  getCommand(commandId: string): Promise<AgentCommandRecord | null>;
  /** The commands of a payment, oldest first (support, tests). */
  listCommands(paymentId: string): Promise<AgentCommandRecord[]>;
  /** Number of open commands (metric `posbridge_agent_commands_open`). */
  countOpenCommands(): Promise<number>;
}

/**
 * The serials starting with `prefix` as a half-open range `[prefix, next)`: `next` is `prefix`
 * with its last character incremented (byte order of the ASCII serials, docs/protocol/ws.md).
 * @throws RangeError for an empty prefix, one over 64 characters or one not printable ASCII.
 */
export function prefixRange(prefix: string): [string, string] {
  if (!/^[\x20-\x7e]{1,64}$/.test(prefix)) throw new RangeError(`serial prefix must be 1-64 printable ASCII characters (got ${JSON.stringify(prefix)})`);
  return [prefix, `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`];
}
