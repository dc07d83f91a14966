/**
 * The WebSocket hub terminal agents connect to (`/agent/v1` on the HTTP server). It holds the
 * agent sessions of this instance and nothing else; the parts are:
 *
 * - Upgrade: `Authorization: Bearer <token>` → sha256 → `agents` table; refused with HTTP 401
 *   before upgrading (./agent-upgrade.ts).
 * - Routing: serial → the session of the agent that owns it (./local-presence.ts, the
 *   {@link Presence} of this instance). Ownership is durable (first registration, a confirmed
 *   move inside the store, or an administrator's `terminal move`); the rules are in
 *   ./terminal-admission.ts. Refused serials get nothing. The same agent reconnecting replaces
 *   its old session; a repeated `agent.hello` on a session announces the set again.
 * - Trust and reports: every agent report is checked against who was sent what
 *   (./report-guard.ts) and handed to the use case it reports to (./report-router.ts);
 *   `payment.result` / `payment.rejected` are acknowledged only after the change committed.
 * - Delivery: `payment.start`, `payment.abort` and `operation.start` are rows of the
 *   agent-command log, written with the state change that caused them; ./command-delivery.ts
 *   sends those due for the serials held here, at once when they are committed
 *   ({@link AgentHub.wake}) or announced, and repeats them every `dispatchResendMs` until
 *   acknowledged (docs/protocol/ws.md "Delivery").
 *
 * @see docs/protocol/ws.md (message set), docs/architecture.md (log messages, "Effects are rows")
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { LINK_FEATURES_HEADER, MAX_FRAME_BYTES, PROTOCOL_VERSION, type AgentHello } from '@posbridge/protocol/ws';
import type { AgentCommandsPort } from '../ports/agent-commands.ts';
import type { AgentEventHandler } from '../ports/agent-events.ts';
import type { Presence } from '../ports/presence.ts';
import type { AgentRecord, PaymentStore } from '../ports/index.ts';
import { ReportRouter } from './report-router.ts';
import { AgentSession, newMessageId } from './agent-session.ts';
import { agreedFeatures, authenticateUpgrade, HUB_LINK_FEATURES } from './agent-upgrade.ts';
import { CommandDelivery } from './command-delivery.ts';
import { CredentialWatch } from './credential-watch.ts';
import type { HubPresence } from './local-presence.ts';
import type { ReportRefusal } from './report-guard.ts';
import { TraceIntake, type TraceDropReason } from './trace-events.ts';
import type { WakeSignal } from './wake-signal.ts';

export { AGENT_WS_PATH } from './agent-upgrade.ts';

/** Options of {@link AgentHub}. */
export interface AgentHubOptions {
  readonly store: PaymentStore;
  /** The agent-command log the hub delivers from. */
  readonly commands: AgentCommandsPort;
  /** The use cases agents report to. */
  readonly handler: AgentEventHandler;
  /** Where serials are held on this instance (shared with the use cases, which locate terminals). */
  readonly presence: HubPresence<AgentSession>;
  /** Wake-ups of delivery after the use cases committed command rows. */
  readonly wakes?: WakeSignal;
  readonly logger: Logger;
  /** Ping interval to agents. */
  readonly heartbeatIntervalMs: number;
  /** Repeat interval of an unacknowledged command (and of the delivery ticker). */
  readonly dispatchResendMs: number;
  /** Time allowed for `agent.hello` after the upgrade. @default 10000 */
  readonly helloTimeoutMs?: number;
  /** Invalid frames tolerated per connection. @default 5 */
  readonly maxBadFrames?: number;
  /** Clock, ms since epoch. @default Date.now */
  readonly now?: () => number;
  /**
   * Interval of the check that closes sessions whose token was rotated or revoked
   * (./credential-watch.ts), ms. @default 2000
   */
  readonly credentialCheckMs?: number;
}

/** The WebSocket hub of one server instance. */
export class AgentHub {
  readonly #store: PaymentStore;
  readonly #log: Logger;
  readonly #heartbeatIntervalMs: number;
  readonly #helloTimeoutMs: number;
  readonly #maxBadFrames: number;
  readonly #now: () => number;
  readonly #wss: WebSocketServer;
  readonly #presence: HubPresence<AgentSession>;
  readonly #delivery: CommandDelivery;
  readonly #reports: ReportRouter;
  /** Every session of this instance, with the token hash it was opened with. */
  readonly #all = new Map<AgentSession, string>();
  readonly #credentials: CredentialWatch<AgentSession>;
  #closing = false;
  readonly #unsubscribe: () => void;
  /** Called when the number of connected agents changes (metrics). */
  onSessionsChanged: (count: number) => void = () => undefined;
  /** Called for every agent report refused by the report guard (metrics). */
  onReportRefused: (reason: ReportRefusal, type: string) => void = () => undefined;
  /** Called when agent trace events were dropped by a bound (metrics; ./trace-events.ts). */
  onTraceEventsDropped: (reason: TraceDropReason, count: number) => void = () => undefined;

  constructor(options: AgentHubOptions) {
    this.#store = options.store;
    this.#log = options.logger.child({ component: 'hub' });
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs;
    this.#helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
    this.#maxBadFrames = options.maxBadFrames ?? 5;
    this.#now = options.now ?? Date.now;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
    // The 101 names the optional link features this hub speaks (docs/tracing.md "Link features").
    this.#wss.on('headers', (headers) => headers.push(`${LINK_FEATURES_HEADER}: ${HUB_LINK_FEATURES.join(',')}`));
    this.#presence = options.presence;
    this.#delivery = new CommandDelivery({
      commands: options.commands,
      store: this.#store,
      presence: this.#presence,
      handler: options.handler,
      logger: this.#log,
      resendMs: options.dispatchResendMs,
      now: this.#now,
    });
    this.#reports = new ReportRouter({
      store: this.#store,
      commands: options.commands,
      presence: this.#presence,
      handler: options.handler,
      logger: this.#log,
      now: this.#now,
      onRefused: (reason, type) => this.onReportRefused(reason, type),
      traces: new TraceIntake({ store: this.#store, now: this.#now, onDropped: (reason, n) => this.onTraceEventsDropped(reason, n) }),
    });
    this.#delivery.start();
    this.#credentials = new CredentialWatch({
      store: this.#store,
      sessions: () => this.#all.entries(),
      logger: this.#log,
      intervalMs: options.credentialCheckMs ?? 2000,
      now: this.#now,
    });
    this.#credentials.start();
    this.#unsubscribe = options.wakes?.subscribe((serials) => this.#delivery.wake(serials)) ?? (() => undefined);
  }

  /** Where serials are driven from, as seen by this instance. */
  get presence(): Presence {
    return this.#presence;
  }

  /** Commands for these serials were committed: deliver them now if their session is held here. */
  wake(serialNumbers: readonly string[]): void {
    this.#delivery.wake(serialNumbers);
  }

  /**
   * The HTTP server's `upgrade` listener. Answers 404 for other paths, 401 without a valid
   * agent token, 503 while closing; otherwise completes the WebSocket handshake.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    authenticateUpgrade(
      {
        store: this.#store,
        logger: this.#log,
        closing: () => this.#closing,
        accept: (r, s, h, agent, tokenSha256) =>
          this.#wss.handleUpgrade(r, s, h, (ws) => this.#onConnection(ws, agent, tokenSha256, agreedFeatures(r.headers[LINK_FEATURES_HEADER]))),
      },
      req,
      socket,
      head,
    );
  }

  /**
   * An agent's token was rotated or the agent revoked (by this process): closes its sessions
   * opened with the old token now rather than at the next credential check.
   */
  credentialsChanged(agentId: string): Promise<void> {
    this.#log.debug({ agentId }, 'agent credentials changed; checking sessions');
    return this.#credentials.checkNow();
  }

  #onConnection(ws: WebSocket, agent: AgentRecord, tokenSha256: string, features: ReadonlySet<string>): void {
    const session = new AgentSession({
      ws,
      agent,
      features,
      logger: this.#log,
      heartbeatIntervalMs: this.#heartbeatIntervalMs,
      helloTimeoutMs: this.#helloTimeoutMs,
      maxBadFrames: this.#maxBadFrames,
      now: this.#now,
      hooks: {
        onHello: (s, hello, repeat) => this.#onHello(s, hello, repeat),
        onMessage: (s, message) => this.#reports.handle(s, message),
        onClose: (s) => this.#onClose(s),
      },
    });
    this.#all.set(session, tokenSha256);
  }

  async #onHello(session: AgentSession, hello: AgentHello, repeat: boolean): Promise<void> {
    if (!repeat) {
      const previous = this.#presence.sessionOf(session.agentId);
      if (previous && previous !== session) {
        this.#log.info({ agentId: session.agentId }, 'agent reconnected; replacing its previous session');
        this.#presence.detach(previous);
        previous.close(4000, 'replaced by a newer connection');
      }
      this.#presence.connect(session);
    }

    const { held: owned, added, refused } = await this.#presence.claim(session, hello.terminals, this.#now());
    // What the agent said of itself, for the admin API's agent listing (docs/admin-api.md); a
    // failed write only leaves that listing behind, never the session.
    this.#store.recordAgentHello(session.agentId, hello.agentVersion, this.#now()).catch((err: unknown) => {
      this.#log.warn({ err, agentId: session.agentId }, 'agent hello not recorded for the admin listing');
    });
    session.send({
      v: PROTOCOL_VERSION,
      id: newMessageId(),
      type: 'hub.welcome',
      agentId: session.agentId,
      heartbeatIntervalMs: this.#heartbeatIntervalMs,
      accepted: [...owned],
      refused: [...refused],
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

    if (!repeat) this.onSessionsChanged(this.#presence.sessionCount);
    // What the rows still owe the newly held serials goes out now (then on the ticker).
    await this.#delivery.deliver(session, added);
  }

  #onClose(session: AgentSession): void {
    this.#all.delete(session);
    if (this.#presence.detach(session)) {
      this.#log.info({ agentId: session.agentId }, 'agent disconnected');
      this.onSessionsChanged(this.#presence.sessionCount);
    }
  }

  /** Serials whose agent is connected here right now (status pages). */
  onlineSerials(): ReadonlySet<string> {
    return this.#presence.onlineSerials();
  }

  /** Number of agents connected here (metrics, readiness). */
  get sessionCount(): number {
    return this.#presence.sessionCount;
  }

  /** Closes every agent connection (1001, then terminate after `graceMs`) and stops delivery. */
  async close(graceMs = 2000): Promise<void> {
    this.#closing = true;
    this.#unsubscribe();
    this.#delivery.stop();
    this.#credentials.stop();
    const sessions = [...this.#all.keys()];
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
