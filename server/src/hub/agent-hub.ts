/**
 * The WebSocket hub terminal agents connect to (`/agent/v1` on the HTTP server), and the
 * single-instance {@link AgentDispatcher}.
 *
 * - Upgrade: `Authorization: Bearer <token>` → sha256 → `agents` table; refused with HTTP 401
 *   before upgrading.
 * - Routing: serial → the session of the agent that owns it. Ownership is durable (first
 *   registration, a confirmed move inside the store, or an administrator's `terminal move`); the
 *   rules are in ./terminal-admission.ts. Refused serials get nothing. The same agent reconnecting
 *   replaces its old session; a repeated `agent.hello` on a session announces the set again.
 * - Trust: every agent report is checked against who was sent what (./report-guard.ts); a refused
 *   one is answered `error` `WS_REPORT_REFUSED`, logged and counted, never handed to the service.
 * - Delivery: `payment.start`, `payment.abort` and `operation.start` are repeated every
 *   `dispatchResendMs` until acknowledged, to the owner of the terminal only; on agent (re)connect,
 *   what the store still owes its serials (unacknowledged starts, aborts of `aborting` payments
 *   and of cancelled `unknown` ones, pending voids and refunds) is sent again
 *   (docs/protocol/ws.md "Aborts across restarts").
 *   `payment.result` / `payment.rejected` are acknowledged only after the service committed.
 *
 * @see docs/protocol/ws.md (message set), docs/architecture.md (log messages)
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  type AgentMessage,
  type AgentHello,
  type ServerMessage,
} from '@posbridge/protocol/ws';
import type { AgentRecord, PaymentStore } from '../store/store.ts';
import type {
  AbortOrder,
  AgentDispatcher,
  AgentEventHandler,
  DispatchOutcome,
  OperationOrder,
  StartOrder,
  TerminalLookup,
} from './agent-dispatcher.ts';
import { AgentSession, newMessageId } from './agent-session.ts';
import { hashAgentToken, parseBearer } from './agent-tokens.ts';
import { ReportGuard, type ReportRefusal } from './report-guard.ts';
import { DEFAULT_MAX_TERMINALS_PER_AGENT, TerminalAdmission } from './terminal-admission.ts';

/** The hub's WebSocket path. */
export const AGENT_WS_PATH = '/agent/v1';

/** Options of {@link AgentHub}. */
export interface AgentHubOptions {
  readonly store: PaymentStore;
  readonly logger: Logger;
  /** Ping interval to agents. */
  readonly heartbeatIntervalMs: number;
  /** Repeat interval of an unacknowledged `payment.start`. */
  readonly dispatchResendMs: number;
  /** Time allowed for `agent.hello` after the upgrade. @default 10000 */
  readonly helloTimeoutMs?: number;
  /** Invalid frames tolerated per connection. @default 5 */
  readonly maxBadFrames?: number;
  /** Most terminals one agent may announce; the rest are refused (`WS_TERMINAL_LIMIT`). @default 16 */
  readonly maxTerminalsPerAgent?: number;
  /** Clock, ms since epoch. @default Date.now */
  readonly now?: () => number;
}

/** A server → agent message repeated until acknowledged. */
interface PendingSend {
  /** What it is; a start's ack moves the payment on, the others only stop the repeats. */
  readonly kind: 'start' | 'abort' | 'operation';
  readonly paymentId: string;
  /** The terminal it is for: repeats stop once the session's agent no longer owns it. */
  readonly serialNumber: string;
  readonly session: AgentSession;
  readonly timer: NodeJS.Timeout;
}

/** WebSocket hub + single-instance dispatcher. */
export class AgentHub implements AgentDispatcher {
  readonly #store: PaymentStore;
  readonly #log: Logger;
  readonly #opts: Required<Omit<AgentHubOptions, 'store' | 'logger'>>;
  readonly #wss: WebSocketServer;
  readonly #sessions = new Map<string, AgentSession>();
  readonly #routes = new Map<string, AgentSession>();
  readonly #pending = new Map<string, PendingSend>();
  /** Called when the number of connected agents changes (metrics). */
  onSessionsChanged: (count: number) => void = () => undefined;
  /** Called for every agent report refused by the {@link ReportGuard} (metrics). */
  onReportRefused: (reason: ReportRefusal, type: string) => void = () => undefined;
  readonly #admission: TerminalAdmission;
  readonly #guard: ReportGuard;
  readonly #all = new Set<AgentSession>();
  #handler: AgentEventHandler | undefined;
  #closing = false;

  constructor(options: AgentHubOptions) {
    this.#store = options.store;
    this.#log = options.logger.child({ component: 'hub' });
    this.#opts = {
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      dispatchResendMs: options.dispatchResendMs,
      helloTimeoutMs: options.helloTimeoutMs ?? 10_000,
      maxBadFrames: options.maxBadFrames ?? 5,
      maxTerminalsPerAgent: options.maxTerminalsPerAgent ?? DEFAULT_MAX_TERMINALS_PER_AGENT,
      now: options.now ?? Date.now,
    };
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
    this.#admission = new TerminalAdmission({
      store: this.#store,
      logger: this.#log,
      maxTerminalsPerAgent: this.#opts.maxTerminalsPerAgent,
      isAgentLive: (agentId) => this.#sessions.get(agentId)?.isOpen === true,
    });
    this.#guard = new ReportGuard({
      store: this.#store,
      routeOf: (serialNumber) => this.#routes.get(serialNumber),
      sentOn: (messageId) => this.#pending.get(messageId),
    });
  }

  /** Connects the payment service that receives agent reports. */
  setHandler(handler: AgentEventHandler): void {
    this.#handler = handler;
  }

  #requireHandler(): AgentEventHandler {
    if (!this.#handler) throw new Error('AgentHub used before setHandler()');
    return this.#handler;
  }

  /**
   * The HTTP server's `upgrade` listener. Answers 404 for other paths, 401 without a valid
   * agent token, 503 while closing; otherwise completes the WebSocket handshake.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.#log.debug({ err }, 'upgrade socket error'));
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== AGENT_WS_PATH) return rejectUpgrade(socket, 404, 'WS_BAD_MESSAGE', 'no such WebSocket endpoint');
    if (this.#closing) return rejectUpgrade(socket, 503, 'WS_UNAUTHORIZED', 'server is shutting down');
    const token = parseBearer(req.headers.authorization);
    if (!token) {
      this.#log.warn({ remoteAddress: req.socket.remoteAddress }, 'agent upgrade without bearer token');
      return rejectUpgrade(socket, 401, 'WS_UNAUTHORIZED', 'agent token missing or not recognised');
    }
    this.#store
      .findAgentByTokenHash(hashAgentToken(token))
      .then((agent) => {
        if (!agent) {
          this.#log.warn({ remoteAddress: req.socket.remoteAddress }, 'agent upgrade with unknown token');
          rejectUpgrade(socket, 401, 'WS_UNAUTHORIZED', 'agent token missing or not recognised');
          return;
        }
        if (this.#closing || socket.destroyed) {
          rejectUpgrade(socket, 503, 'WS_UNAUTHORIZED', 'server is shutting down');
          return;
        }
        this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, agent));
      })
      .catch((err: unknown) => {
        this.#log.error({ err }, 'agent authentication failed');
        rejectUpgrade(socket, 500, 'WS_UNAUTHORIZED', 'internal error');
      });
  }

  #onConnection(ws: WebSocket, agent: AgentRecord): void {
    const session = new AgentSession({
      ws,
      agent,
      logger: this.#log,
      heartbeatIntervalMs: this.#opts.heartbeatIntervalMs,
      helloTimeoutMs: this.#opts.helloTimeoutMs,
      maxBadFrames: this.#opts.maxBadFrames,
      now: this.#opts.now,
      hooks: {
        onHello: (s, hello, repeat) => this.#onHello(s, hello, repeat),
        onMessage: (s, message) => this.#onMessage(s, message),
        onClose: (s) => this.#onClose(s),
      },
    });
    this.#all.add(session);
  }

  async #onHello(session: AgentSession, hello: AgentHello, repeat: boolean): Promise<void> {
    if (!repeat) {
      const previous = this.#sessions.get(session.agentId);
      if (previous && previous !== session) {
        this.#log.info({ agentId: session.agentId }, 'agent reconnected; replacing its previous session');
        this.#detach(previous);
        previous.close(4000, 'replaced by a newer connection');
      }
      this.#sessions.set(session.agentId, session);
    }

    const { accepted: owned, refused } = await this.#admission.admit(session.agentId, hello.terminals, this.#opts.now());
    // Serials routed here before and not announced (or not owned) any more stop being routed here.
    for (const serial of session.serials) {
      if (!owned.includes(serial) && this.#routes.get(serial) === session) this.#routes.delete(serial);
    }
    // Newly routed serials: what is still owed for them is sent below.
    const accepted = owned.filter((serial) => this.#routes.get(serial) !== session);
    for (const serial of owned) this.#routes.set(serial, session);
    session.serials = owned;
    session.send({
      v: PROTOCOL_VERSION,
      id: newMessageId(),
      type: 'hub.welcome',
      agentId: session.agentId,
      heartbeatIntervalMs: this.#opts.heartbeatIntervalMs,
      accepted: owned,
      refused,
    });
    this.#log.info(
      {
        agentId: session.agentId,
        agentName: session.agentName,
        agentVersion: hello.agentVersion,
        terminals: owned,
        ...(refused.length > 0 ? { refused: refused.map((r) => r.serialNumber) } : {}),
      },
      repeat ? 'agent announced its terminals again' : 'agent connected',
    );
    if (refused.length > 0) {
      this.#log.warn(
        { agentId: session.agentId, refused: refused.map((r) => r.serialNumber), codes: refused.map((r) => r.code) },
        'terminal serials refused',
      );
    }

    if (!repeat) this.onSessionsChanged(this.#sessions.size);
    const pending = await this.#requireHandler().pendingOrders(accepted);
    for (const order of pending.starts) await this.dispatch(order);
    for (const order of pending.aborts) await this.abort(order);
    for (const order of pending.operations) await this.startOperation(order);
  }

  async #onMessage(session: AgentSession, message: Exclude<AgentMessage, AgentHello>): Promise<void> {
    const handler = this.#requireHandler();
    const refusal = await this.#guard.check(session, message);
    if (refusal !== null) {
      this.#refuseReport(session, message, refusal);
      return;
    }
    const ack = () =>
      session.send({ v: PROTOCOL_VERSION, id: newMessageId(), type: 'ack', ackOf: message.id });
    switch (message.type) {
      case 'ack': {
        const pending = this.#pending.get(message.ackOf);
        if (!pending) {
          this.#log.debug({ agentId: session.agentId, ackOf: message.ackOf }, 'ack of no pending message');
          return;
        }
        const { paymentId } = pending;
        if (pending.kind !== 'start') {
          this.cancelResend(message.ackOf);
          this.#log.info({ paymentId, agentId: session.agentId, kind: pending.kind }, `${pending.kind} accepted by agent`);
          return;
        }
        const outcome = await handler.onStartAcked(session.agentId, paymentId, message.ackOf);
        this.cancelResend(message.ackOf);
        if (outcome === 'applied') this.#log.info({ paymentId, agentId: session.agentId }, 'payment accepted by agent');
        return;
      }
      case 'operation.result': {
        this.#log.info(
          {
            paymentId: message.paymentId,
            operationId: message.operationId,
            kind: message.kind,
            outcome: message.outcome,
            agentId: session.agentId,
          },
          'operation result received',
        );
        try {
          await handler.onOperationResult(session.agentId, message);
        } catch (err) {
          this.#log.error({ err, paymentId: message.paymentId }, 'could not record operation result; not acknowledged');
          session.sendError('STORE_FAILED', 'operation result not recorded; repeat it', true, message.id);
          return;
        }
        this.cancelResend(message.operationId);
        ack();
        return;
      }
      case 'payment.result': {
        this.#log.info(
          { paymentId: message.paymentId, outcome: message.outcome, agentId: session.agentId },
          'payment result received',
        );
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
        this.#log.info(
          { paymentId: message.paymentId, code: message.code, agentId: session.agentId },
          'payment rejected by agent',
        );
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
      case 'payment.progress':
        this.#log.debug({ paymentId: message.paymentId, stage: message.stage }, 'payment progress');
        await handler.onProgress(session.agentId, message);
        return;
      case 'error':
        this.#log.warn(
          { agentId: session.agentId, code: message.code, reason: message.message, ref: message.ref },
          'agent reported an error',
        );
        return;
      default: {
        const never: never = message;
        this.#log.warn({ message: never }, 'unhandled agent message');
      }
    }
  }

  /** Logs, counts and answers a report the {@link ReportGuard} refused; nothing reaches the service. */
  #refuseReport(session: AgentSession, message: Exclude<AgentMessage, AgentHello>, reason: ReportRefusal): void {
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
    this.onReportRefused(reason, message.type);
    session.sendError('WS_REPORT_REFUSED', `${message.type} refused (${reason})`, false, message.id);
  }

  /** Removes a session's routes and pending starts (the store keeps them for the next connect). */
  #detach(session: AgentSession): void {
    for (const serial of session.serials) {
      if (this.#routes.get(serial) === session) this.#routes.delete(serial);
    }
    if (this.#sessions.get(session.agentId) === session) this.#sessions.delete(session.agentId);
    for (const [startId, pending] of this.#pending) {
      if (pending.session === session) {
        clearInterval(pending.timer);
        this.#pending.delete(startId);
      }
    }
  }

  #onClose(session: AgentSession): void {
    this.#all.delete(session);
    const wasCurrent = this.#sessions.get(session.agentId) === session;
    this.#detach(session);
    if (wasCurrent) {
      this.#log.info({ agentId: session.agentId }, 'agent disconnected');
      this.onSessionsChanged(this.#sessions.size);
    }
  }

  /**
   * Sends `message` now and every `dispatchResendMs` until {@link cancelResend}(`id`), or until
   * the session's agent no longer owns `serialNumber` (an administrator moved the terminal: the
   * old agent gets nothing more; the new owner gets what is owed when it announces the terminal).
   */
  #sendRepeated(
    session: AgentSession,
    message: ServerMessage,
    kind: PendingSend['kind'],
    paymentId: string,
    serialNumber: string,
  ): void {
    this.cancelResend(message.id);
    session.send(message);
    const timer = setInterval(() => {
      if (!session.isOpen) return;
      void this.#store
        .findTerminal(serialNumber)
        .then((owner) => {
          if (this.#pending.get(message.id)?.timer !== timer) return;
          if (owner?.agentId !== session.agentId) {
            this.cancelResend(message.id);
            this.#log.warn(
              { paymentId, messageId: message.id, type: message.type, agentId: session.agentId, serialNumber, ownerAgentId: owner?.agentId ?? null },
              'repeats stopped: the terminal moved to another agent',
            );
            return;
          }
          this.#log.debug({ paymentId, messageId: message.id, type: message.type }, 'message re-sent to agent');
          session.send(message);
        })
        .catch((err: unknown) => this.#log.warn({ err, paymentId }, 'could not check the terminal owner before a repeat'));
    }, this.#opts.dispatchResendMs);
    timer.unref();
    this.#pending.set(message.id, { kind, paymentId, serialNumber, session, timer });
  }

  async #routeOrOffline(serialNumber: string): Promise<AgentSession | DispatchOutcome> {
    const session = await this.#ownedRoute(serialNumber);
    if (session) return session;
    const known = await this.#store.findTerminal(serialNumber);
    return known ? 'offline' : 'unknown_terminal';
  }

  /**
   * The open session routed for `serialNumber`, if its agent still owns the serial in the store
   * (an administrator may have moved it since that agent announced it).
   */
  async #ownedRoute(serialNumber: string): Promise<AgentSession | undefined> {
    const session = this.#routes.get(serialNumber);
    if (!session?.isOpen) return undefined;
    const owner = await this.#store.findTerminal(serialNumber);
    return owner?.agentId === session.agentId ? session : undefined;
  }

  /**
   * False (with a warning) when the payment is bound to another agent than the session's (the
   * terminal's owner): the new owner never ran the sale and its reports would be refused
   * (./report-guard.ts), so the start or abort is not sent, and the payment service is told, which
   * flags the payment `unknown` (nobody can learn the sale's outcome any more).
   */
  async #boundHere(session: AgentSession, paymentId: string, type: string): Promise<boolean> {
    const p = await this.#store.getPayment(paymentId);
    if (!p?.binding || p.binding.agentId === session.agentId) return true;
    this.#log.warn(
      { paymentId, type, agentId: session.agentId, boundAgentId: p.binding.agentId, serialNumber: p.binding.serialNumber },
      'command for a payment bound to another agent not sent',
    );
    await this.#requireHandler().onBoundAgentReplaced(paymentId, session.agentId);
    return false;
  }

  /**
   * False (with a warning) when the session's agent belongs to another merchant than the
   * payment: a void or refund runs on whichever agent of the payment's merchant drives the
   * terminal now (it needs only the original terminal reference), never on another merchant's
   * (a terminal an administrator moved across merchants).
   */
  async #sameMerchant(session: AgentSession, paymentId: string, type: string): Promise<boolean> {
    const [p, owner] = await Promise.all([this.#store.getPayment(paymentId), this.#store.agentOwner(session.agentId)]);
    if (p && owner && owner.merchantId === p.merchantId) return true;
    this.#log.warn(
      { paymentId, type, agentId: session.agentId, agentMerchantId: owner?.merchantId ?? null, merchantId: p?.merchantId ?? null },
      "command for another merchant's payment not sent",
    );
    return false;
  }

  /** @inheritdoc */
  async abort(order: AbortOrder): Promise<DispatchOutcome> {
    const session = await this.#routeOrOffline(order.serialNumber);
    if (typeof session === 'string') return session;
    if (!(await this.#boundHere(session, order.paymentId, 'payment.abort'))) return 'offline';
    this.#sendRepeated(
      session,
      { v: PROTOCOL_VERSION, id: order.abortId, type: 'payment.abort', paymentId: order.paymentId, reason: order.reason },
      'abort',
      order.paymentId,
      order.serialNumber,
    );
    this.#log.info({ paymentId: order.paymentId, serialNumber: order.serialNumber, reason: order.reason }, 'payment abort sent');
    return 'sent';
  }

  /** @inheritdoc */
  async startOperation(order: OperationOrder): Promise<DispatchOutcome> {
    const session = await this.#routeOrOffline(order.serialNumber);
    if (typeof session === 'string') return session;
    if (!(await this.#sameMerchant(session, order.paymentId, 'operation.start'))) return 'offline';
    this.#sendRepeated(
      session,
      {
        v: PROTOCOL_VERSION,
        id: order.operationId,
        type: 'operation.start',
        operationId: order.operationId,
        paymentId: order.paymentId,
        kind: order.kind,
        serialNumber: order.serialNumber,
        amount: { amountMinor: order.amount.amountMinor, currency: order.amount.currency },
        originalTerminalRef: order.originalTerminalRef,
      },
      'operation',
      order.paymentId,
      order.serialNumber,
    );
    this.#log.info(
      { paymentId: order.paymentId, operationId: order.operationId, kind: order.kind, serialNumber: order.serialNumber },
      'operation dispatched',
    );
    return 'sent';
  }

  /** @inheritdoc */
  onlineSerials(): ReadonlySet<string> {
    const online = new Set<string>();
    for (const [serial, session] of this.#routes) if (session.isOpen) online.add(serial);
    return online;
  }

  /** @inheritdoc */
  async lookupTerminal(serialNumber: string): Promise<TerminalLookup> {
    const session = await this.#ownedRoute(serialNumber);
    if (session) return { status: 'online', agentId: session.agentId };
    const known = await this.#store.findTerminal(serialNumber);
    return known ? { status: 'offline', agentId: known.agentId } : { status: 'unknown' };
  }

  /** @inheritdoc */
  async dispatch(order: StartOrder): Promise<DispatchOutcome> {
    const session = await this.#ownedRoute(order.serialNumber);
    if (!session) {
      const known = await this.#store.findTerminal(order.serialNumber);
      return known ? 'offline' : 'unknown_terminal';
    }
    if (!(await this.#boundHere(session, order.paymentId, 'payment.start'))) return 'offline';
    const message = {
      v: PROTOCOL_VERSION,
      id: order.startId,
      type: 'payment.start',
      paymentId: order.paymentId,
      serialNumber: order.serialNumber,
      amount: { amountMinor: order.amount.amountMinor, currency: order.amount.currency },
      method: order.method,
      installments: order.installments,
    } as const;
    this.#sendRepeated(session, message, 'start', order.paymentId, order.serialNumber);
    this.#log.info(
      { paymentId: order.paymentId, serialNumber: order.serialNumber, agentId: session.agentId },
      'payment dispatched',
    );
    return 'sent';
  }

  /** @inheritdoc */
  cancelResend(messageId: string): void {
    const pending = this.#pending.get(messageId);
    if (!pending) return;
    clearInterval(pending.timer);
    this.#pending.delete(messageId);
  }

  /** Number of open agent sessions (tests, status). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /**
   * Closes every agent connection (1001, then terminate after `graceMs`) and stops resending.
   */
  async close(graceMs = 2000): Promise<void> {
    this.#closing = true;
    for (const pending of this.#pending.values()) clearInterval(pending.timer);
    this.#pending.clear();
    const sessions = [...this.#all];
    for (const s of sessions) s.close(1001, 'server shutting down');
    const timer = setTimeout(() => {
      for (const s of sessions) s.terminate();
    }, graceMs);
    timer.unref();
    await Promise.all(sessions.map((s) => s.closed()));
    clearTimeout(timer);
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}

const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  404: 'Not Found',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
function rejectUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ code, message, retryable: status >= 500 });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
  );
}
