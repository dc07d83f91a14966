/**
 * Binds agent reports to their sender: an `ack`, `payment.progress`, `payment.result`,
 * `payment.rejected` or `operation.result` is taken only from the session of the agent the
 * command was sent to and that owns the terminal it concerns. Everything else is refused with
 * `WS_REPORT_REFUSED` by the hub (logged at warn, counted in `posbridge_agent_reports_refused_total`).
 *
 * | report | sent to | owner of |
 * |---|---|---|
 * | `ack` | the session the acknowledged command was last sent on (its row) | the command's terminal |
 * | `payment.*` | the payment's bound agent (`binding.agentId`) | `binding.serialNumber` |
 * | `payment.events` | the bound agent, or an agent of the payment's merchant (a void or refund) | `binding.serialNumber` |
 * | `operation.result` void | — (the terminal's owner ran it), of the payment's merchant | `binding.serialNumber` |
 * | `operation.result` refund | — (the terminal's owner ran it), of the payment's merchant | the refund's `serialNumber` |
 *
 * "Owns" means both the hub routes the serial to this very session and the store names this
 * agent as the serial's owner (so a terminal moved by an administrator stops being trusted from
 * its old agent at once, before that agent reconnects).
 *
 * @see docs/protocol/ws.md "Who may report what"
 */
import type { AgentMessage, AgentHello } from '@posbridge/protocol/ws';
import { voidIdOf } from '../domain/ids.ts';
import type { AgentCommandRecord } from '../ports/agent-commands.ts';
import type { PaymentStore, TerminalRecord } from '../ports/index.ts';
import type { AgentSession } from './agent-session.ts';

/** Why a report was refused (the `reason` label of the metric). */
export type ReportRefusal =
  /** An `ack` of a message that was sent on another session. */
  | 'wrong_session'
  /** No such payment or operation. */
  | 'unknown_payment'
  /** The payment is bound to no terminal (or the refund has none): no command was sent. */
  | 'not_bound'
  /** The payment is bound to another agent. */
  | 'wrong_agent'
  /** The sender's session does not own the terminal. */
  | 'not_owner'
  /** The operation belongs to another payment or is of another kind. */
  | 'mismatch';

/** What the guard reads from the hub. */
export interface ReportGuardDeps {
  readonly store: PaymentStore;
  /** The session the hub routes `serialNumber` to, if any. */
  routeOf(serialNumber: string): AgentSession | undefined;
}

/**
 * The store's owner of the one serial a session is routed, read ahead (see {@link ReportGuard.prefetch}).
 * `owner` never rejects unhandled: a failed read is read again by whoever needs it.
 */
export interface OwnerPrefetch {
  readonly serialNumber: string;
  readonly owner: Promise<TerminalRecord | null>;
}

/** Checks agent reports against who was sent what; reads only. */
export class ReportGuard {
  readonly #d: ReportGuardDeps;

  constructor(deps: ReportGuardDeps) {
    this.#d = deps;
  }

  /**
   * Starts reading the owner of the serial `session` is routed, when it is routed exactly one (an
   * agent with one terminal, the common case), so that read overlaps the read of the payment or
   * command a report names instead of following it. Nothing is decided on it that would not be
   * decided on the same read made a moment later: {@link check} uses it only for that serial.
   */
  prefetch(session: AgentSession): OwnerPrefetch | undefined {
    const routed = session.serials.filter((s) => this.#d.routeOf(s) === session);
    if (routed.length !== 1) return undefined;
    const serialNumber = routed[0]!;
    const owner = this.#d.store.findTerminal(serialNumber);
    owner.catch(() => undefined);
    return { serialNumber, owner };
  }

  /**
   * @param acked - for an `ack`: the row of the command it acknowledges (`ackOf`) as just read by
   *   the caller, or null when there is none (the caller reads it once for the guard and the use case).
   * @param ahead - {@link prefetch} of this session, started before the caller's own reads (none: read when needed).
   * @returns null when `session` may send `message`, else why not.
   * @throws CodedError `STORE_FAILED`.
   */
  async check(
    session: AgentSession,
    message: Exclude<AgentMessage, AgentHello>,
    acked: AgentCommandRecord | null = null,
    ahead?: OwnerPrefetch,
  ): Promise<ReportRefusal | null> {
    switch (message.type) {
      case 'ack': {
        // Only a command awaiting the acknowledgement of the session it was last sent on is checked.
        if (acked?.status !== 'open' || acked.sentSessionId === null || acked.ackedSessionId === acked.sentSessionId) return null;
        if (acked.sentSessionId !== session.sessionId) return 'wrong_session';
        // The terminal moved away since the command was sent: the old agent takes nothing more.
        return (await this.#owns(session, acked.serialNumber, ahead)) ? null : 'not_owner';
      }
      case 'error':
        return null;
      case 'payment.progress':
      case 'payment.result':
      case 'payment.rejected':
        return this.#checkBound(session, message.paymentId, ahead);
      case 'payment.events': {
        const bound = await this.#checkBound(session, message.paymentId, ahead);
        if (bound !== 'wrong_agent') return bound;
        // A void or refund runs on the terminal's current owner of the payment's merchant: its
        // events are taken from that agent too (as its operation.result is).
        const p = await this.#d.store.getPayment(message.paymentId);
        if (!p?.binding) return 'not_bound';
        if (!(await this.#owns(session, p.binding.serialNumber, ahead))) return 'not_owner';
        return (await this.#d.store.agentOwner(session.agentId))?.merchantId === p.merchantId ? null : 'wrong_agent';
      }
      case 'operation.result': {
        // Voids and refunds run on whichever agent of the payment's merchant drives the terminal
        // now (the hub sends them there), so they are taken from that agent.
        const p = await this.#d.store.getPayment(message.paymentId);
        if (!p) return 'unknown_payment';
        let serialNumber: string | null;
        if (message.kind === 'void') {
          if (message.operationId !== voidIdOf(p)) return 'mismatch';
          serialNumber = p.binding?.serialNumber ?? null;
        } else {
          const op = await this.#d.store.getOperation(message.operationId);
          if (!op) return 'unknown_payment';
          if (op.paymentId !== message.paymentId || op.kind !== 'refund') return 'mismatch';
          serialNumber = op.serialNumber;
        }
        if (serialNumber === null) return 'not_bound';
        if (!(await this.#owns(session, serialNumber, ahead))) return 'not_owner';
        return (await this.#d.store.agentOwner(session.agentId))?.merchantId === p.merchantId ? null : 'wrong_agent';
      }
      default: {
        const never: never = message;
        return never;
      }
    }
  }

  async #checkBound(session: AgentSession, paymentId: string, ahead: OwnerPrefetch | undefined): Promise<ReportRefusal | null> {
    const p = await this.#d.store.getPayment(paymentId);
    if (!p) return 'unknown_payment';
    if (!p.binding) return 'not_bound';
    if (p.binding.agentId !== session.agentId) return 'wrong_agent';
    return (await this.#owns(session, p.binding.serialNumber, ahead)) ? null : 'not_owner';
  }

  async #owns(session: AgentSession, serialNumber: string, ahead: OwnerPrefetch | undefined): Promise<boolean> {
    if (this.#d.routeOf(serialNumber) !== session) return false;
    const owner = ahead?.serialNumber === serialNumber ? await ahead.owner : await this.#d.store.findTerminal(serialNumber);
    return owner?.agentId === session.agentId;
  }
}
