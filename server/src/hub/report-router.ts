/**
 * What the hub does with each agent message after `agent.hello`: check it against who was sent
 * what (./report-guard.ts), hand it to the use case it reports to, and acknowledge it once the
 * change is stored. An `ack` of a command is recorded on its row (no more repeats on that
 * session); a start's ack is the `agent.acked` use case, which closes the start's row in the
 * payment's transaction. Nothing here calls the hub back or sends a command.
 *
 * @see docs/protocol/ws.md (message set), docs/architecture.md (log messages)
 */
import type { Logger } from 'pino';
import { PROTOCOL_VERSION, type AgentHello, type AgentMessage } from '@posbridge/protocol/ws';
import type { AgentCommandsPort } from '../ports/agent-commands.ts';
import type { AgentEventHandler } from '../ports/agent-events.ts';
import type { PaymentStore } from '../ports/index.ts';
import { newMessageId, type AgentSession } from './agent-session.ts';
import type { HubPresence } from './local-presence.ts';
import { ReportGuard, type ReportRefusal } from './report-guard.ts';
import type { TraceIntake } from './trace-events.ts';

/** Options of {@link ReportRouter}. */
export interface ReportRouterOptions {
  readonly store: PaymentStore;
  readonly commands: AgentCommandsPort;
  readonly presence: HubPresence<AgentSession>;
  readonly handler: AgentEventHandler;
  readonly logger: Logger;
  readonly now: () => number;
  /** Called for every report the guard refused (metrics). */
  readonly onRefused: (reason: ReportRefusal, type: string) => void;
  /** Keeps authorised `payment.events` (bounded, redacted; ./trace-events.ts). */
  readonly traces: TraceIntake;
}

/** Routes agent reports to their use cases. */
export class ReportRouter {
  readonly #o: ReportRouterOptions;
  readonly #log: Logger;
  readonly #guard: ReportGuard;

  constructor(options: ReportRouterOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#guard = new ReportGuard({
      store: options.store,
      routeOf: (serialNumber) => options.presence.routeOf(serialNumber),
    });
  }

  /** Handles one message of `session` (called one at a time per session, in arrival order). */
  async handle(session: AgentSession, message: Exclude<AgentMessage, AgentHello>): Promise<void> {
    const handler = this.#o.handler;
    // The terminal's owner is read alongside the row the report names (./report-guard.ts prefetch);
    // an ack's command row is read once, for the guard and for the use case.
    const ahead = message.type === 'error' ? undefined : this.#guard.prefetch(session);
    const acked = message.type === 'ack' ? await this.#o.commands.getCommand(message.ackOf) : null;
    const refusal = await this.#guard.check(session, message, acked, ahead);
    if (refusal !== null) {
      this.#refuse(session, message, refusal);
      return;
    }
    const ack = () => session.send({ v: PROTOCOL_VERSION, id: newMessageId(), type: 'ack', ackOf: message.id });
    switch (message.type) {
      case 'ack': {
        const c = acked;
        if (c?.status !== 'open' || c.sentSessionId !== session.sessionId || c.ackedSessionId === session.sessionId) {
          this.#log.debug({ agentId: session.agentId, ackOf: message.ackOf }, 'ack of no pending message');
          return;
        }
        const { paymentId } = c;
        if (c.kind !== 'start') {
          await this.#o.commands.ackCommand(c.commandId, session.sessionId, this.#o.now());
          const kind = c.kind === 'abort' ? 'abort' : 'operation';
          this.#log.info({ paymentId, agentId: session.agentId, kind }, `${kind} accepted by agent`);
          return;
        }
        const outcome = await handler.onStartAcked(session.agentId, paymentId, c.commandId);
        await this.#o.commands.ackCommand(c.commandId, session.sessionId, this.#o.now());
        if (outcome === 'applied') this.#log.info({ paymentId, agentId: session.agentId }, 'payment accepted by agent');
        return;
      }
      case 'operation.result': {
        this.#log.info(
          { paymentId: message.paymentId, operationId: message.operationId, kind: message.kind, outcome: message.outcome, agentId: session.agentId },
          'operation result received',
        );
        try {
          await handler.onOperationResult(session.agentId, message);
        } catch (err) {
          this.#log.error({ err, paymentId: message.paymentId }, 'could not record operation result; not acknowledged');
          session.sendError('STORE_FAILED', 'operation result not recorded; repeat it', true, message.id);
          return;
        }
        // Answered: no more repeats on this session (a refund left unknown is sent to the next one).
        await this.#o.commands.ackCommand(message.operationId, session.sessionId, this.#o.now());
        ack();
        return;
      }
      case 'payment.result': {
        this.#log.info({ paymentId: message.paymentId, outcome: message.outcome, agentId: session.agentId }, 'payment result received');
        try {
          await handler.onResult(session.agentId, message);
        } catch (err) {
          this.#log.error({ err, paymentId: message.paymentId }, 'could not record payment result; not acknowledged');
          session.sendError('STORE_FAILED', 'result not recorded; repeat it', true, message.id);
          return;
        }
        ack();
        return;
      }
      case 'payment.rejected': {
        this.#log.info({ paymentId: message.paymentId, code: message.code, agentId: session.agentId }, 'payment rejected by agent');
        try {
          await handler.onRejected(session.agentId, message);
        } catch (err) {
          this.#log.error({ err, paymentId: message.paymentId }, 'could not record payment rejection; not acknowledged');
          session.sendError('STORE_FAILED', 'rejection not recorded; repeat it', true, message.id);
          return;
        }
        ack();
        return;
      }
      case 'payment.events': {
        // Best effort, not acknowledged: a store failure loses these events, never a payment.
        try {
          const { stored, dropped } = await this.#o.traces.take(session.agentId, message);
          this.#log.debug({ paymentId: message.paymentId, agentId: session.agentId, stored, dropped }, 'agent trace events');
        } catch (err) {
          this.#log.warn({ err, paymentId: message.paymentId, agentId: session.agentId }, 'could not store agent trace events; dropped');
        }
        return;
      }
      case 'payment.progress':
        this.#log.debug({ paymentId: message.paymentId, stage: message.stage }, 'payment progress');
        await handler.onProgress(session.agentId, message);
        return;
      case 'error':
        this.#log.warn({ agentId: session.agentId, code: message.code, reason: message.message, ref: message.ref }, 'agent reported an error');
        return;
      default: {
        const never: never = message;
        this.#log.warn({ message: never }, 'unhandled agent message');
      }
    }
  }

  /** Logs, counts and answers a report the guard refused; nothing reaches the use cases. */
  #refuse(session: AgentSession, message: Exclude<AgentMessage, AgentHello>, reason: ReportRefusal): void {
    this.#log.warn(
      {
        agentId: session.agentId,
        agentName: session.agentName,
        agentSessionId: session.sessionId,
        type: message.type,
        reason,
        ...('paymentId' in message ? { paymentId: message.paymentId } : {}),
        ...('operationId' in message ? { operationId: message.operationId } : {}),
        ...(message.type === 'ack' ? { ackOf: message.ackOf } : {}),
      },
      'agent report refused',
    );
    this.#o.onRefused(reason, message.type);
    session.sendError('WS_REPORT_REFUSED', `${message.type} refused (${reason})`, false, message.id);
  }
}
