/**
 * One connected agent: frame decoding, the `agent.hello` gate, abuse counting and the
 * ping/pong heartbeat. Routing and payments are the hub's business (./agent-hub.ts).
 *
 * ```
 *  open ──agent.hello──► ready ──close/terminate──► closed
 *   │                     ▲ every other valid message is handed to the hub, one at a time;
 *   │                     │ a repeated agent.hello (≥ REHELLO_MIN_INTERVAL_MS apart) re-announces
 *   └─ hello timeout / too many bad frames / missed pong ──► closed
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { SerialQueue } from '@posbridge/kit/serial-queue';
import type { ErrorCode } from '@posbridge/protocol/errors';
import {
  PROTOCOL_VERSION,
  REHELLO_MIN_INTERVAL_MS,
  decodeAgentMessage,
  encodeMessage,
  type AgentHello,
  type AgentMessage,
  type ServerMessage,
} from '@posbridge/protocol/ws';
import type { AgentRecord } from '../ports/index.ts';

/** Hooks of a session into its hub. */
export interface AgentSessionHooks {
  /** A valid `agent.hello`: the first of the connection (`repeat` false) or a later re-announcement. */
  onHello(session: AgentSession, hello: AgentHello, repeat: boolean): Promise<void>;
  /** Any later valid message (never `agent.hello`). Called one at a time, in arrival order. */
  onMessage(session: AgentSession, message: Exclude<AgentMessage, AgentHello>): Promise<void>;
  /** The socket closed (called once). */
  onClose(session: AgentSession): void;
}

/** Options of {@link AgentSession}. */
export interface AgentSessionOptions {
  readonly ws: WebSocket;
  readonly agent: AgentRecord;
  readonly logger: Logger;
  readonly hooks: AgentSessionHooks;
  /** Ping interval; a session that has not answered the previous ping is terminated. */
  readonly heartbeatIntervalMs: number;
  /** Time allowed for `agent.hello` after the upgrade. */
  readonly helloTimeoutMs: number;
  /** Invalid frames tolerated before the socket is closed with 1008. */
  readonly maxBadFrames: number;
  /** Clock, ms since epoch (spacing of repeated hellos). @default Date.now */
  readonly now?: () => number;
  /**
   * Optional link features both sides speak (the agent's upgrade header
   * `x-posbridge-link-features` that this hub also speaks; docs/tracing.md "Link features"). @default none
   */
  readonly features?: ReadonlySet<string>;
}

/** New message id for a server → agent message. */
export function newMessageId(): string {
  return `m_${randomUUID().replaceAll('-', '')}`;
}

/** A connected agent. */
export class AgentSession {
  /** Unique per connection (log binding). */
  readonly sessionId = `s_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  readonly agentId: string;
  readonly agentName: string;
  /** Serials routed to this session (set by the hub after hello). */
  serials: readonly string[] = [];
  /** Optional link features agreed with this agent at the upgrade (`trace`: traceparent and payment.events). */
  readonly features: ReadonlySet<string>;
  readonly #ws: WebSocket;
  readonly #log: Logger;
  readonly #hooks: AgentSessionHooks;
  readonly #maxBadFrames: number;
  #badFrames = 0;
  #helloed = false;
  #lastHelloAt = 0;
  readonly #now: () => number;
  #alive = true;
  #closed = false;
  /** Frames are handled one at a time, in arrival order. */
  readonly #frames = new SerialQueue();
  readonly #heartbeat: NodeJS.Timeout;
  #helloTimer: NodeJS.Timeout | undefined;

  constructor(options: AgentSessionOptions) {
    this.#ws = options.ws;
    this.agentId = options.agent.agentId;
    this.agentName = options.agent.name;
    this.features = options.features ?? new Set();
    this.#hooks = options.hooks;
    this.#maxBadFrames = options.maxBadFrames;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger.child({ agentId: this.agentId, agentSessionId: this.sessionId });

    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatIntervalMs);
    this.#heartbeat.unref();
    this.#helloTimer = setTimeout(() => {
      this.#log.warn('agent sent no hello in time');
      this.close(1008, 'agent.hello expected');
    }, options.helloTimeoutMs);
    this.#helloTimer.unref();

    this.#ws.on('pong', () => {
      this.#alive = true;
    });
    this.#ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(toBuffers(data)).toString('utf8');
      this.#frames.run(() => this.#onFrame(text)).catch((err: unknown) => {
        this.#log.error({ err }, 'agent message handling failed');
      });
    });
    this.#ws.on('error', (err) => this.#log.warn({ err }, 'agent socket error'));
    this.#ws.on('close', (code, reason) => this.#onClose(code, reason.toString('utf8')));
  }

  /** True while the socket is open. */
  get isOpen(): boolean {
    return !this.#closed && this.#ws.readyState === WebSocket.OPEN;
  }

  /**
   * Sends a message (validated by `encodeMessage`).
   * @returns false when the socket is not open.
   */
  send(message: ServerMessage): boolean {
    if (!this.isOpen) return false;
    this.#ws.send(encodeMessage(message), (err) => {
      if (err) {
        const paymentId = 'paymentId' in message ? message.paymentId : undefined;
        this.#log.warn({ err, type: message.type, ...(paymentId === undefined ? {} : { paymentId }) }, 'send to agent failed');
      }
    });
    return true;
  }

  /** Sends an `error` message. */
  sendError(code: ErrorCode, message: string, retryable: boolean, ref?: string): void {
    this.send({
      v: PROTOCOL_VERSION,
      id: newMessageId(),
      type: 'error',
      code,
      message: message.slice(0, 500),
      retryable,
      ...(ref === undefined ? {} : { ref }),
    });
  }

  /** Starts the closing handshake. */
  close(code: number, reason: string): void {
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.close(code, reason);
    }
  }

  /** Drops the connection without a handshake. */
  terminate(): void {
    this.#ws.terminate();
  }

  /** Resolves once the socket is closed (or immediately if it already is). */
  closed(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => this.#ws.once('close', () => resolve()));
  }

  #beat(): void {
    if (!this.#alive) {
      this.#log.warn('agent missed a heartbeat; terminating');
      this.#ws.terminate();
      return;
    }
    this.#alive = false;
    try {
      this.#ws.ping();
    } catch (err) {
      this.#log.debug({ err }, 'ping failed');
    }
  }

  #badFrame(code: ErrorCode, message: string, ref?: string): void {
    this.#badFrames++;
    this.#log.warn({ code, reason: message, badFrames: this.#badFrames }, 'bad frame from agent');
    this.sendError(code, message, false, ref);
    if (this.#badFrames >= this.#maxBadFrames) this.close(1008, 'too many invalid messages');
  }

  async #onFrame(text: string | null): Promise<void> {
    if (this.#closed) return;
    if (text === null) {
      this.#badFrame('WS_BAD_MESSAGE', 'binary frames are not part of the protocol');
      return;
    }
    const decoded = decodeAgentMessage(text);
    if (!decoded.ok) {
      this.#badFrame(decoded.error.code, decoded.error.message, decoded.ref);
      return;
    }
    const message = decoded.value;
    if (message.type === 'agent.hello') {
      const now = this.#now();
      if (this.#helloed) {
        if (now - this.#lastHelloAt < REHELLO_MIN_INTERVAL_MS) {
          this.#badFrame('WS_BAD_MESSAGE', `agent.hello repeated within ${REHELLO_MIN_INTERVAL_MS} ms`, message.id);
          return;
        }
        this.#lastHelloAt = now;
        await this.#hooks.onHello(this, message, true);
        return;
      }
      this.#helloed = true;
      this.#lastHelloAt = now;
      clearTimeout(this.#helloTimer);
      this.#helloTimer = undefined;
      await this.#hooks.onHello(this, message, false);
      return;
    }
    if (!this.#helloed) {
      this.#badFrame('WS_BAD_MESSAGE', 'the first message must be agent.hello', message.id);
      return;
    }
    await this.#hooks.onMessage(this, message);
  }

  #onClose(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#helloTimer);
    this.#log.debug({ code, reason }, 'agent socket closed');
    this.#hooks.onClose(this);
  }
}

function toBuffers(data: Buffer | ArrayBuffer | Buffer[]): Buffer[] {
  if (Array.isArray(data)) return data;
  if (data instanceof ArrayBuffer) return [Buffer.from(data)];
  return [data];
}
