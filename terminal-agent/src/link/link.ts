/**
 * The agent's one WebSocket to the server's hub (`/agent/v1`), on one of the hub URLs at a time:
 *
 *   connecting ──open──▶ hello sent ──hub.welcome──▶ live ──(no ping for 2×heartbeat)──▶ terminate
 *   (urls[i])                │ (no welcome in helloTimeoutMs: terminate)                │
 *       ▲                    ▼                                                          ▼
 *       └── i = i+1 mod n, after the delay below ◀──────────── close / error ◀──────────┘
 *
 * Failover over several URLs (the instances of a cluster; one URL is a round of one):
 * - the first attempt goes to `serverUrls[0]`; every close or failure moves on to the next URL;
 * - a *round* is the run of failed attempts since the last welcome (or the start). While the
 *   round has URLs left, the next one is tried at once; once all `n` failed in a row, the link
 *   waits the backoff (kit/backoff, full jitter, `reconnectBaseMs`·2^k capped at
 *   `reconnectCapMs`, k = failed rounds so far) and starts the next round;
 * - a welcome resets the round and k; when that live connection drops, the link waits
 *   `backoff(0)` (≤ `reconnectBaseMs`, so a fleet of agents leaving a dead instance spreads out)
 *   and tries the next URL.
 * Nothing of a connection outlives it: the outbox, the journal above it and the hello content
 * belong to the agent, so the instance that takes the agent next gets the same hello and the same
 * unacknowledged reports.
 *
 * - authenticates with `Authorization: Bearer <token>` on the upgrade; a 401/403 answer is
 *   logged as "agent token rejected by server" and retried at the backoff pace;
 * - over `wss://`, verifies the server certificate against Node's roots plus the optional
 *   `ca` (never disabled); a certificate failure is logged at error as "server certificate not
 *   trusted" with the fix, and retried at the backoff pace;
 * - sends `agent.hello` on every (re)connect and waits for `hub.welcome`; {@link AgentLink.reannounce}
 *   sends it again on the live connection (to retry serials the server refused);
 * - keeps an {@link Outbox} of payment.result / payment.rejected / operation.result, sent on welcome and again
 *   every `resendIntervalMs` until the server acks them, or refuses one for good (`error`
 *   `WS_REPORT_REFUSED` naming it: dropped from the outbox, logged; the journal keeps it);
 * - treats 2× the server's heartbeat interval without a ping (or any frame) as a dead link;
 * - names the optional link features it speaks on the upgrade (`x-posbridge-link-features: trace`)
 *   and uses one only when the server's 101 names it too (docs/tracing.md "Link features"):
 *   `payment.events` is sent only then, so an older server never sees a frame it would refuse.
 *
 * Incoming frames are decoded with `decodeServerMessage`; nothing here sees raw JSON. What the
 * server sends is handed to the {@link AgentLinkHandlers} given to {@link AgentLink.start}, so
 * the link can be built before the code that handles its messages (the runner sends through
 * it). Every timer runs on the injected clock.
 */
import WebSocket from 'ws';
import type { Logger } from 'pino';
import { backoff } from '@posbridge/kit/backoff';
import { toError } from '@posbridge/protocol/errors';
import {
  LINK_FEATURE_TRACE,
  LINK_FEATURES_HEADER,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  decodeServerMessage,
  parseLinkFeatures,
  encodeMessage,
  type AgentHello,
  type AgentMessage,
  type HubWelcome,
  type OperationStart,
  type PaymentAbort,
  type PaymentStart,
  type ProgressStage,
  type TraceEvent,
} from '@posbridge/protocol/ws';
import { newMessageId } from '../session/ids.ts';
import { SYSTEM_CLOCK, type Clock, type Timer } from '@posbridge/kit/clock';
import { Outbox, type ReliableMessage } from './outbox.ts';
import { certificateProblemOf } from './tls.ts';

/** Content of `agent.hello` (the envelope is added by the link). */
export type HelloContent = Pick<AgentHello, 'agentVersion' | 'terminals'>;

/** Options of {@link AgentLink}. */
export interface AgentLinkOptions {
  /** Hub URLs, `ws://host:port/agent/v1`, tried in this order (at least one; see the module header). */
  serverUrls: readonly string[];
  /** Agent token (secret; never logged). */
  token: string;
  /** Trusted CA certificates (PEM) for `wss://`; undefined = Node's roots (see ./tls.ts `serverTrust`). */
  ca?: string[];
  logger: Logger;
  /** Ceiling of the first reconnect delay, ms. */
  reconnectBaseMs: number;
  /** Largest reconnect delay, ms. */
  reconnectCapMs: number;
  /** Resend interval of unacknowledged reports, ms. */
  resendIntervalMs: number;
  /** Wait for hub.welcome after hello, ms. */
  helloTimeoutMs: number;
  /** Builds the hello content at each connect. */
  hello: () => HelloContent;
  /** Uniform random source for jitter. @default Math.random */
  random?: () => number;
  /** Time and timers (reconnect, hello, dead link, resend). @default {@link SYSTEM_CLOCK} */
  clock?: Clock;
}

/** Where the link hands what the server sends; given to {@link AgentLink.start}. */
export interface AgentLinkHandlers {
  /** Called on every hub.welcome. */
  onWelcome: (welcome: HubWelcome) => void;
  /** Called for every payment.start (including repeats). */
  onPaymentStart: (message: PaymentStart) => void;
  /** Called for every payment.abort (including repeats); the handler acks it once journaled. */
  onPaymentAbort: (message: PaymentAbort) => void;
  /** Called for every operation.start (including repeats); the handler acks it once journaled. */
  onOperationStart: (message: OperationStart) => void;
  /** Called when the server acknowledged a report of the outbox. */
  onReportAcked: (message: ReliableMessage) => void;
  /**
   * Called when a server refuses the upgrade with an HTTP answer (401/403: token rejected).
   * `everyUrlRefused`: the latest attempt on every hub URL ended in such an answer (always true
   * with one URL), i.e. no URL is merely unreachable and might take the agent.
   */
  onRefused: (httpStatus: number, everyUrlRefused: boolean) => void;
  /** Called when the server refused a report for good (`WS_REPORT_REFUSED`); it is no longer repeated. */
  onReportRefused?: (message: ReliableMessage, reason: string) => void;
}

/** The WebSocket client of the agent. */
export class AgentLink {
  readonly #o: AgentLinkOptions;
  readonly #clock: Clock;
  #h: AgentLinkHandlers | undefined;
  readonly #log: Logger;
  readonly #outbox = new Outbox();
  #ws: WebSocket | undefined;
  #welcomed = false;
  /** Index in `serverUrls` of the current (or next) attempt. */
  #index = 0;
  /** Failed attempts in the current round (see the module header). */
  #failedInRound = 0;
  /** Failed rounds since the last welcome: the backoff exponent. */
  #attempt = 0;
  /** The URLs whose latest attempt ended in a refused upgrade (an HTTP answer other than 101). */
  readonly #refusedBy = new Set<string>();
  #closing = false;
  #helloId: string | undefined;
  #reconnectTimer: Timer | undefined;
  #helloTimer: Timer | undefined;
  #deadTimer: Timer | undefined;
  #heartbeatMs = 0;
  #resendTimer: Timer | undefined;
  /** Link features the current connection's server named on its 101 (cleared on close). */
  #features: ReadonlySet<string> = new Set();

  /** @throws RangeError when `serverUrls` is empty. */
  constructor(opts: AgentLinkOptions) {
    if (opts.serverUrls.length === 0) throw new RangeError('AgentLink: serverUrls must hold at least one URL');
    this.#o = opts;
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
    this.#log = opts.logger.child({ component: 'link' });
    this.#armResend();
  }

  /** The resend tick: every half `resendIntervalMs`, never holding the process open. */
  #armResend(): void {
    if (this.#closing) return;
    this.#resendTimer = this.#clock.setTimeout(
      () => {
        this.#flush(false);
        this.#armResend();
      },
      Math.max(10, Math.floor(this.#o.resendIntervalMs / 2)),
      { unref: true },
    );
  }

  /** True while connected and welcomed. */
  get isLive(): boolean {
    return this.#welcomed && this.#ws?.readyState === WebSocket.OPEN;
  }

  /** The hub URL of the current connection or attempt (the next one while waiting to reconnect). */
  get serverUrl(): string {
    return this.#urlAt(this.#index);
  }

  #urlAt(index: number): string {
    const urls = this.#o.serverUrls;
    return urls[index % urls.length] as string;
  }

  /**
   * Starts connecting (and reconnecting until {@link close}); what the server sends goes to
   * `handlers` from then on.
   */
  start(handlers: AgentLinkHandlers): void {
    this.#h = handlers;
    if (!this.#ws && !this.#reconnectTimer && !this.#closing) this.#connect();
  }

  /** The handlers of {@link start}; nothing arrives before it (no socket yet). */
  get #handlers(): AgentLinkHandlers {
    if (!this.#h) throw new TypeError('AgentLink: a message arrived before start()');
    return this.#h;
  }

  /**
   * Sends `agent.hello` again on the live connection (content from `hello()`); the server answers
   * with a new `hub.welcome`. @returns false when not live (the next connect says hello anyway).
   */
  reannounce(): boolean {
    if (!this.isLive) return false;
    this.#helloId = newMessageId();
    return this.#send({ v: PROTOCOL_VERSION, id: this.#helloId, type: 'agent.hello', ...this.#o.hello() });
  }

  /** Acknowledges server message `ackOf` (best effort: the server repeats what it does not see acked). */
  sendAck(ackOf: string): void {
    this.#send({ v: PROTOCOL_VERSION, id: newMessageId(), type: 'ack', ackOf });
  }

  /** Sends payment.progress if the link is up (not repeated). */
  sendProgress(paymentId: string, stage: ProgressStage): void {
    this.#send({ v: PROTOCOL_VERSION, id: newMessageId(), type: 'payment.progress', paymentId, stage });
  }

  /** True while live with a server that speaks the `trace` link feature (takes `payment.events`). */
  get tracing(): boolean {
    return this.isLive && this.#features.has(LINK_FEATURE_TRACE);
  }

  /**
   * Sends `payment.events` for `paymentId` when {@link tracing} (best effort, not repeated).
   * @returns false when not sent (not live, the server does not speak it, or an invalid message).
   */
  sendEvents(paymentId: string, events: readonly TraceEvent[]): boolean {
    if (!this.tracing || events.length === 0) return false;
    return this.#send({ v: PROTOCOL_VERSION, id: newMessageId(), type: 'payment.events', paymentId, events: [...events] });
  }

  /** Queues a report; it is sent now if live, and repeated until acknowledged. */
  enqueue(report: ReliableMessage): void {
    const replaced = this.#outbox.put(report);
    if (replaced) this.#log.debug({ paymentId: report.paymentId, replaced: replaced.id }, 'report superseded');
    if (this.isLive && this.#send(report)) this.#outbox.markSent(report.id, this.#clock.now());
  }

  /** Closes the socket and stops reconnecting. Unacknowledged reports are dropped (the journal keeps them). */
  async close(): Promise<void> {
    this.#closing = true;
    this.#resendTimer?.cancel();
    this.#reconnectTimer?.cancel();
    this.#clearConnTimers();
    const ws = this.#ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000);
      ws.once('close', () => {
        timer.cancel();
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'agent stopping');
    });
  }

  // ─── connection ────────────────────────────────────────────────────────────────────────

  #connect(): void {
    this.#reconnectTimer = undefined;
    if (this.#closing) return;
    const url = this.serverUrl;
    this.#log.debug({ serverUrl: url, failedRounds: this.#attempt, failedInRound: this.#failedInRound }, 'connecting to server');
    const ws = new WebSocket(url, {
      headers: { Authorization: `Bearer ${this.#o.token}`, [LINK_FEATURES_HEADER]: LINK_FEATURE_TRACE },
      handshakeTimeout: this.#o.helloTimeoutMs,
      maxPayload: MAX_FRAME_BYTES,
      ...(this.#o.ca !== undefined ? { ca: this.#o.ca } : {}),
    });
    this.#ws = ws;
    this.#welcomed = false;
    this.#features = new Set();
    let refused = false;

    ws.on('upgrade', (res) => {
      this.#features = parseLinkFeatures(res.headers[LINK_FEATURES_HEADER]);
    });
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      refused = true;
      this.#refusedBy.add(url);
      if (status === 401 || status === 403) {
        this.#log.error({ serverUrl: url, httpStatus: status }, 'agent token rejected by server');
      } else {
        this.#log.warn({ serverUrl: url, httpStatus: status }, 'server refused the connection');
      }
      this.#handlers.onRefused(status, this.#o.serverUrls.every((u) => this.#refusedBy.has(u)));
      ws.terminate();
    });
    ws.on('open', () => {
      this.#refusedBy.delete(url);
      this.#helloId = newMessageId();
      const hello: AgentHello = { v: PROTOCOL_VERSION, id: this.#helloId, type: 'agent.hello', ...this.#o.hello() };
      this.#send(hello);
      this.#helloTimer = this.#clock.setTimeout(() => {
        this.#log.warn({ serverUrl: url, helloTimeoutMs: this.#o.helloTimeoutMs }, 'no welcome from server, reconnecting');
        ws.terminate();
      }, this.#o.helloTimeoutMs);
    });
    ws.on('ping', () => this.#alive());
    ws.on('message', (data, isBinary) => {
      this.#alive();
      if (isBinary) {
        this.#log.warn('binary frame from server ignored');
        return;
      }
      this.#onFrame(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'));
    });
    ws.on('error', (err) => {
      if (this.#closing) return;
      const cert = certificateProblemOf(err);
      if (cert) {
        this.#log.error({ serverUrl: url, code: cert.code, detail: err.message, fix: cert.fix }, 'server certificate not trusted');
      } else {
        this.#log.warn({ serverUrl: url, err: toError(err) }, 'link error');
      }
    });
    ws.on('close', (code, reason) => {
      if (this.#ws !== ws) return;
      this.#clearConnTimers();
      const wasLive = this.#welcomed;
      this.#welcomed = false;
      this.#features = new Set();
      this.#ws = undefined;
      if (!refused) this.#refusedBy.delete(url);
      if (this.#closing) return;
      const delayMs = this.#nextAttempt(wasLive);
      this.#log[wasLive ? 'warn' : 'debug'](
        { serverUrl: url, code, reason: reason.toString('utf8'), nextServerUrl: this.serverUrl, reconnectInMs: delayMs },
        'disconnected from server',
      );
      this.#reconnectTimer = this.#clock.setTimeout(() => this.#connect(), delayMs);
    });
  }

  /**
   * Moves to the next URL after a close and answers how long to wait before trying it (the
   * rounds of the module header). `wasLive`: the connection had been welcomed.
   */
  #nextAttempt(wasLive: boolean): number {
    const policy = backoff({ baseMs: this.#o.reconnectBaseMs, capMs: this.#o.reconnectCapMs, random: this.#o.random });
    this.#index = (this.#index + 1) % this.#o.serverUrls.length;
    if (wasLive) {
      this.#failedInRound = 0;
      return policy.delayFor(0);
    }
    this.#failedInRound += 1;
    if (this.#failedInRound < this.#o.serverUrls.length) return 0;
    this.#failedInRound = 0;
    const delayMs = policy.delayFor(this.#attempt);
    this.#attempt += 1;
    return delayMs;
  }

  #clearConnTimers(): void {
    this.#helloTimer?.cancel();
    this.#deadTimer?.cancel();
    this.#helloTimer = undefined;
    this.#deadTimer = undefined;
  }

  /** A ping or frame arrived: re-arm the dead-link timer. */
  #alive(): void {
    if (!this.#welcomed || this.#heartbeatMs <= 0) return;
    this.#deadTimer?.cancel();
    const ws = this.#ws;
    this.#deadTimer = this.#clock.setTimeout(() => {
      this.#log.warn({ serverUrl: this.serverUrl, heartbeatIntervalMs: this.#heartbeatMs }, 'no ping from server, reconnecting');
      ws?.terminate();
    }, 2 * this.#heartbeatMs);
  }

  #onFrame(text: string): void {
    const decoded = decodeServerMessage(text);
    if (!decoded.ok) {
      this.#log.warn({ code: decoded.error.code, detail: decoded.error.message, ref: decoded.ref }, 'bad message from server');
      this.#send({
        v: PROTOCOL_VERSION,
        id: newMessageId(),
        type: 'error',
        ...decoded.error,
        ...(decoded.ref !== undefined ? { ref: decoded.ref.slice(0, 64) } : {}),
      });
      return;
    }
    const msg = decoded.value;
    switch (msg.type) {
      case 'hub.welcome':
        this.#helloTimer?.cancel();
        this.#welcomed = true;
        this.#attempt = 0;
        this.#failedInRound = 0;
        this.#heartbeatMs = msg.heartbeatIntervalMs;
        this.#alive();
        this.#log.info({ serverUrl: this.serverUrl, agentId: msg.agentId, accepted: msg.accepted }, 'connected to server');
        this.#handlers.onWelcome(msg);
        this.#flush(true);
        return;
      case 'payment.start':
        this.#handlers.onPaymentStart(msg);
        return;
      case 'payment.abort':
        this.#handlers.onPaymentAbort(msg);
        return;
      case 'operation.start':
        this.#handlers.onOperationStart(msg);
        return;
      case 'ack': {
        const acked = this.#outbox.ack(msg.ackOf);
        if (acked) {
          this.#log.info({ paymentId: acked.paymentId, type: acked.type }, 'result acknowledged by server');
          this.#handlers.onReportAcked(acked);
        } else {
          this.#log.debug({ ackOf: msg.ackOf }, 'ack for nothing pending');
        }
        return;
      }
      case 'error': {
        const refused = msg.code === 'WS_REPORT_REFUSED' && msg.ref !== undefined ? this.#outbox.ack(msg.ref) : undefined;
        if (refused) {
          this.#log.error(
            { paymentId: refused.paymentId, type: refused.type, code: msg.code, detail: msg.message },
            'report refused by server; no longer repeated (kept in the journal)',
          );
          this.#handlers.onReportRefused?.(refused, msg.message);
          return;
        }
        const level = msg.ref !== undefined && msg.ref === this.#helloId ? 'error' : 'warn';
        this.#log[level]({ code: msg.code, detail: msg.message, retryable: msg.retryable, ref: msg.ref }, 'server reported an error');
        return;
      }
      default: {
        const never: never = msg;
        this.#log.warn({ type: (never as { type: string }).type }, 'unhandled message type');
      }
    }
  }

  /** Sends due reports; `all` after a (re)connect. */
  #flush(all: boolean): void {
    if (!this.isLive) return;
    const now = this.#clock.now();
    // Resend when at least ~resendIntervalMs passed (the tick runs at half the interval).
    for (const report of this.#outbox.due(now, all ? 0 : this.#o.resendIntervalMs - 5)) {
      if (!this.#send(report)) return;
      this.#outbox.markSent(report.id, now);
    }
  }

  #send(message: AgentMessage): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    let text: string;
    try {
      text = encodeMessage(message);
    } catch (err) {
      this.#log.error({ type: message.type, err: toError(err) }, 'refusing to send an invalid message');
      return false;
    }
    ws.send(text);
    return true;
  }
}
