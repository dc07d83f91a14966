/**
 * The agent's run: identify the terminals, resume the journaled payments, connect, and route
 * what the hub sends to the payment runner; then handle the welcome's refusals. Part of
 * `startAgent` (../agent.ts), which builds the pieces this takes.
 *
 * A serial the server refuses (docs/protocol/ws.md "Terminal ownership") is logged at error with
 * the fix, written to the server-status file for `doctor`, and, when the refusal may clear
 * (another agent still connected, an administrator's move pending), announced again with
 * backoff (full jitter on the reconnect settings, never sooner than `REHELLO_MIN_INTERVAL_MS`) on
 * the live connection; the other terminals keep working meanwhile. {@link AgentRunner.run}
 * rejects for refusals only when no terminal was accepted and none of the refusals can clear.
 */
import type { Logger } from 'pino';
import { CodedError, ERROR_CODES, toError, type ErrorCode } from '@posbridge/protocol/errors';
import { parseTraceparent, REHELLO_MIN_INTERVAL_MS, type HubWelcome } from '@posbridge/protocol/ws';
import type { AgentConfig } from '../config.ts';
import { backoff } from '@posbridge/kit/backoff';
import type { AgentLink, AgentLinkHandlers } from '../link/link.ts';
import type { PaymentRunner } from '../session/payment-runner.ts';
import { isRetryableRefusal, refusalFix, writeServerStatus, type RefusedTerminal } from '../server-status.ts';
import type { Clock, Timer } from '@posbridge/kit/clock';
import type { AgentTerminals, TerminalProblem } from './terminals.ts';

/** Options of {@link AgentRunner}. */
export interface AgentRunnerOptions {
  config: Pick<AgentConfig, 'reconnectBaseMs' | 'reconnectCapMs'>;
  logger: Logger;
  terminals: AgentTerminals;
  link: AgentLink;
  payments: PaymentRunner;
  /** Where each `hub.welcome`'s accepted/refused serials are written for `doctor`; unset: not written. */
  serverStatusFile?: string;
  /** Uniform random source of the refused-serial retry jitter. @default Math.random */
  random?: () => number;
  clock: Clock;
}

/** `{ traceId }` of a command that carries a valid traceparent (log field; docs/tracing.md "Logs"). */
function traceOf(message: { readonly traceparent?: string | undefined }): { traceId?: string } {
  const ctx = parseTraceparent(message.traceparent);
  return ctx ? { traceId: ctx.traceId } : {};
}

/** The agent is not ready: the first problem's code, every problem in the message and details. */
function notReady(problems: TerminalProblem[]): CodedError {
  const code = problems[0]?.code ?? 'TERM_DISCONNECTED';
  return new CodedError(code, `agent not ready: ${problems.map((p) => p.message).join('; ')}`, { details: { problems } });
}

/** The first `hub.welcome`, or why none will come. Settled once; later calls are ignored. */
class FirstWelcome {
  readonly promise: Promise<HubWelcome>;
  readonly #settle: { resolve: (w: HubWelcome) => void; reject: (e: Error) => void };

  constructor() {
    const settle: { resolve?: (w: HubWelcome) => void; reject?: (e: Error) => void } = {};
    this.promise = new Promise<HubWelcome>((resolve, reject) => Object.assign(settle, { resolve, reject }));
    this.promise.catch(() => undefined);
    this.#settle = settle as { resolve: (w: HubWelcome) => void; reject: (e: Error) => void };
  }

  resolve(welcome: HubWelcome): void {
    this.#settle.resolve(welcome);
  }

  reject(err: Error): void {
    this.#settle.reject(err);
  }
}

/** Runs one agent: startup, message routing, refusal retries, close. */
export class AgentRunner {
  readonly #o: AgentRunnerOptions;
  readonly #log: Logger;
  readonly #linkLog: Logger;
  readonly #refused = new Map<string, RefusedTerminal>();
  readonly #firstWelcome = new FirstWelcome();
  #retryTimer: Timer | undefined;
  #retryAttempt = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(opts: AgentRunnerOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'agent' });
    this.#linkLog = opts.logger.child({ component: 'link' });
  }

  /** Serials the server refused in its last `hub.welcome`, with its code and message. */
  refusedSerials(): ReadonlyMap<string, RefusedTerminal> {
    return new Map(this.#refused);
  }

  /**
   * Identifies the terminals, resumes the journal, starts the link and waits for the first
   * welcome. Resolves once welcomed with every configured terminal identified.
   * @throws CodedError naming every problem (the agent keeps running with what works), or
   * `TERM_DISCONNECTED` when closed first.
   */
  async run(): Promise<void> {
    const { terminals, payments, link } = this.#o;
    const problems = await terminals.identifyAll();
    if (this.#closed) throw new CodedError('TERM_DISCONNECTED', 'agent closed before it was ready');
    await payments.resume();
    link.start(this.#handlers());
    // A terminal that failed identification is reported at once; the others keep working.
    if (problems.length > 0) throw notReady(problems);
    const welcome = await this.#firstWelcome.promise;
    // Refused serials are retried in the background while the refusal may clear; the agent gives
    // up only when nothing was accepted and nothing can change without a new configuration.
    if (welcome.accepted.length === 0 && welcome.refused.length > 0 && !welcome.refused.some((r) => isRetryableRefusal(r.code))) {
      for (const r of welcome.refused) {
        problems.push({
          code: r.code in ERROR_CODES ? (r.code as ErrorCode) : 'WS_SERIAL_CLAIMED',
          message: `server refused terminal ${r.serialNumber}: ${r.code} ${r.message}`,
        });
      }
      throw notReady(problems);
    }
    this.#log.info(
      { terminals: welcome.accepted, ...(welcome.refused.length > 0 ? { refused: welcome.refused.map((r) => r.serialNumber) } : {}) },
      'agent ready',
    );
  }

  /** Closes the link, stops the retries and closes the terminals and the payment runner. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      this.#retryTimer?.cancel();
      this.#firstWelcome.reject(new CodedError('TERM_DISCONNECTED', 'agent closed before it was ready'));
      await this.#o.link.close();
      await this.#o.terminals.close();
      await this.#o.payments.close();
    })();
    return this.#closing;
  }

  /** Where the link hands what the hub sends. */
  #handlers(): AgentLinkHandlers {
    const { payments } = this.#o;
    const linkLog = this.#linkLog;
    return {
      onWelcome: (welcome) => this.#onWelcome(welcome),
      onReportRefused: (message, reason) => {
        if (message.type === 'payment.rejected') {
          // Nothing was charged: at worst a repeat of a rejection the server already took.
          this.#log.warn({ paymentId: message.paymentId, type: message.type, reason }, 'server refused a rejection report; nothing was charged');
        } else {
          this.#log.error({ paymentId: message.paymentId, type: message.type, reason }, 'server refused a terminal report; resolve this payment by hand');
        }
      },
      onPaymentStart: (message) => {
        linkLog.info({ paymentId: message.paymentId, ...traceOf(message), serialNumber: message.serialNumber }, 'payment received');
        void payments.handleStart(message);
      },
      onPaymentAbort: (message) => {
        linkLog.info({ paymentId: message.paymentId, ...traceOf(message), reason: message.reason }, 'payment abort received');
        void payments.handleAbort(message);
      },
      onOperationStart: (message) => {
        linkLog.info({ paymentId: message.paymentId, ...traceOf(message), operationId: message.operationId, kind: message.kind }, 'operation received');
        void payments.handleOperation(message);
      },
      onReportAcked: (message) => void payments.handleReportAcked(message),
      onRefused: (httpStatus, everyUrlRefused) => {
        // With several hub URLs, one instance answering 503 (stopping) or 401 (another
        // installation) is not fatal: another URL may take the agent; the link keeps trying.
        if (!everyUrlRefused) return;
        const code: ErrorCode = httpStatus === 401 || httpStatus === 403 ? 'WS_UNAUTHORIZED' : 'WS_BAD_MESSAGE';
        const message =
          code === 'WS_UNAUTHORIZED'
            ? `agent token rejected by server (HTTP ${httpStatus})`
            : `server refused the WebSocket upgrade (HTTP ${httpStatus})`;
        this.#firstWelcome.reject(new CodedError(code, message, { details: { httpStatus } }));
      },
    };
  }

  #onWelcome(welcome: HubWelcome): void {
    const log = this.#log;
    const refused = this.#refused;
    for (const serial of welcome.accepted) {
      if (refused.delete(serial)) log.info({ serialNumber: serial }, 'terminal accepted by server after a refusal');
    }
    refused.clear();
    for (const r of welcome.refused) {
      refused.set(r.serialNumber, r);
      log.error(
        { serialNumber: r.serialNumber, code: r.code, detail: r.message, fix: refusalFix(r, welcome.agentId) },
        'terminal refused by server',
      );
    }
    this.#scheduleRetry();
    if (this.#o.serverStatusFile !== undefined) {
      const file = this.#o.serverStatusFile;
      const at = new Date(this.#o.clock.now()).toISOString();
      writeServerStatus(file, { at, agentId: welcome.agentId, accepted: welcome.accepted, refused: welcome.refused }).catch(
        (err: unknown) => log.warn({ err: toError(err), file }, 'could not write the server status file'),
      );
    }
    this.#firstWelcome.resolve(welcome);
  }

  /** Announces the terminals again after a backoff while a refusal may still clear. */
  #scheduleRetry(): void {
    const { config, link, clock } = this.#o;
    this.#retryTimer?.cancel();
    this.#retryTimer = undefined;
    const retryable = [...this.#refused.values()].filter((r) => isRetryableRefusal(r.code));
    if (retryable.length === 0 || this.#closed) {
      this.#retryAttempt = 0;
      return;
    }
    const delayMs =
      REHELLO_MIN_INTERVAL_MS +
      backoff({ baseMs: config.reconnectBaseMs, capMs: config.reconnectCapMs, random: this.#o.random }).delayFor(this.#retryAttempt);
    this.#retryAttempt += 1;
    this.#log.info({ serials: retryable.map((r) => r.serialNumber), retryInMs: delayMs }, 'refused terminals will be announced again');
    this.#retryTimer = clock.setTimeout(
      () => {
        this.#retryTimer = undefined;
        if (!this.#closed) link.reannounce();
      },
      delayMs,
      { unref: true },
    );
  }
}
