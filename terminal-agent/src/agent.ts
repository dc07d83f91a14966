/**
 * `startAgent`: wires terminals, drivers, the payment runner and the server link together.
 *
 * Startup order (docs/protocol/ws.md): open every terminal and read its serial
 * number with IDENT (a terminal answering another serial than configured is refused), then
 * connect to the hub, say hello with the identified terminals and wait for `hub.welcome`.
 * `ready` resolves once welcomed with every configured terminal identified, and rejects with a
 * CodedError explaining what is wrong otherwise (the agent keeps running with the terminals
 * that work until closed).
 *
 * A serial the server refuses (docs/protocol/ws.md "Terminal ownership") is logged at error with
 * the fix, written to the server-status file for `doctor`, and, when the refusal may clear
 * (another agent still connected, an administrator's move pending), announced again with
 * backoff (full jitter on the reconnect settings, never sooner than `REHELLO_MIN_INTERVAL_MS`) on
 * the live connection; the other terminals keep working meanwhile. `ready` rejects for refusals
 * only when no terminal was accepted and none of the refusals can clear.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { CodedError, ERROR_CODES, toError, type ErrorCode } from '@posbridge/protocol/errors';
import { REHELLO_MIN_INTERVAL_MS, type HubWelcome } from '@posbridge/protocol/ws';
import type { AgentConfig, AgentTerminalConfig } from './config.ts';
import { createDriver } from './drivers/registry.ts';
import type { TerminalDriver, TerminalIdentity } from './drivers/terminal-driver.ts';
import { backoff } from '@posbridge/kit/backoff';
import { AgentLink } from './link/link.ts';
import { serverTrust } from './link/tls.ts';
import { MemoryJournal, type Journal } from './session/journal.ts';
import { PaymentRunner } from './session/payment-runner.ts';
import { isRetryableRefusal, refusalFix, writeServerStatus, type RefusedTerminal } from './server-status.ts';

/** Version announced in `agent.hello`. Keep in step with terminal-agent/package.json. */
export const AGENT_VERSION = '0.1.0';

/** Options of {@link startAgent}. */
export interface StartAgentOptions {
  config: AgentConfig;
  /** Root logger; the agent logs through children (`component`: link, driver, session, agent). */
  logger: Logger;
  /** Opens the byte stream of one terminal, replacing the driver's transport (serial/HID); for tests and in-process simulators. */
  openPort?: (terminal: AgentTerminalConfig) => Promise<Duplex>;
  /** Where payments are journaled. @default a new {@link MemoryJournal} */
  journal?: Journal;
  /** Where each `hub.welcome`'s accepted/refused serials are written for `doctor` (./server-status.ts); unset: not written. */
  serverStatusFile?: string;
  /** Uniform random source of the refused-serial retry jitter. @default Math.random */
  random?: () => number;
}

/** A started agent. */
export interface RunningAgent {
  /** Resolves once connected, welcomed, and every terminal identified (refused serials are retried meanwhile). */
  ready: Promise<void>;
  /** Serials the server refused in its last `hub.welcome`, with its code and message. */
  refusedSerials(): ReadonlyMap<string, RefusedTerminal>;
  /** Closes the link, stops recovery and closes the terminal ports. Idempotent. */
  close(): Promise<void>;
}

interface Problem {
  code: ErrorCode;
  message: string;
}

function notReady(problems: Problem[]): CodedError {
  const code = problems[0]?.code ?? 'TERM_DISCONNECTED';
  return new CodedError(code, `agent not ready: ${problems.map((p) => p.message).join('; ')}`, { details: { problems } });
}

/** Starts the agent. Resolves at once; await `ready` for the connection and terminal checks. */
export async function startAgent(opts: StartAgentOptions): Promise<RunningAgent> {
  const { config, logger } = opts;
  const log = logger.child({ component: 'agent' });
  const journal = opts.journal ?? new MemoryJournal();
  const drivers: TerminalDriver[] = [];
  const bySerial = new Map<string, { driver: TerminalDriver; identity: TerminalIdentity }>();
  let closed = false;
  const refused = new Map<string, RefusedTerminal>();
  let retryTimer: NodeJS.Timeout | undefined;
  let retryAttempt = 0;

  let settleWelcome: { resolve: (w: HubWelcome) => void; reject: (e: Error) => void } | undefined;
  const firstWelcome = new Promise<HubWelcome>((resolve, reject) => {
    settleWelcome = { resolve, reject };
  });
  firstWelcome.catch(() => undefined);

  const runner = new PaymentRunner({
    journal,
    logger,
    driverFor: (serial) => bySerial.get(serial)?.driver,
    recoveryIntervalMs: config.recoveryIntervalMs,
    link: {
      sendAck: (ackOf) => link.sendAck(ackOf),
      sendProgress: (paymentId, stage) => link.sendProgress(paymentId, stage),
      enqueue: (report) => link.enqueue(report),
    },
  });

  const serverCa = serverTrust(config.caFile);
  const link: AgentLink = new AgentLink({
    serverUrl: config.serverUrl,
    token: config.token,
    ...(serverCa !== undefined ? { ca: serverCa } : {}),
    logger,
    reconnectBaseMs: config.reconnectBaseMs,
    reconnectCapMs: config.reconnectCapMs,
    resendIntervalMs: config.resendIntervalMs,
    helloTimeoutMs: config.helloTimeoutMs,
    hello: () => ({
      agentVersion: AGENT_VERSION,
      terminals: [...bySerial.values()].map(({ identity }) => ({
        serialNumber: identity.serialNumber,
        dialect: identity.dialect,
        serialSource: identity.serialSource ?? 'config',
        ...(identity.model !== undefined ? { model: identity.model.slice(0, 64) } : {}),
        ...(identity.vendor !== undefined ? { vendor: identity.vendor.slice(0, 64) } : {}),
      })),
    }),
    onWelcome: (welcome) => {
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
      scheduleRetry();
      if (opts.serverStatusFile !== undefined) {
        const file = opts.serverStatusFile;
        writeServerStatus(file, { at: new Date().toISOString(), agentId: welcome.agentId, accepted: welcome.accepted, refused: welcome.refused }).catch(
          (err: unknown) => log.warn({ err: toError(err), file }, 'could not write the server status file'),
        );
      }
      settleWelcome?.resolve(welcome);
    },
    onReportRefused: (message, reason) => {
      if (message.type === 'payment.rejected') {
        // Nothing was charged: at worst a repeat of a rejection the server already took.
        log.warn({ paymentId: message.paymentId, type: message.type, reason }, 'server refused a rejection report; nothing was charged');
      } else {
        log.error({ paymentId: message.paymentId, type: message.type, reason }, 'server refused a terminal report; resolve this payment by hand');
      }
    },
    onPaymentStart: (message) => {
      logger.child({ component: 'link' }).info({ paymentId: message.paymentId, serialNumber: message.serialNumber }, 'payment received');
      void runner.handleStart(message);
    },
    onPaymentAbort: (message) => {
      logger.child({ component: 'link' }).info({ paymentId: message.paymentId, reason: message.reason }, 'payment abort received');
      void runner.handleAbort(message);
    },
    onOperationStart: (message) => {
      logger
        .child({ component: 'link' })
        .info({ paymentId: message.paymentId, operationId: message.operationId, kind: message.kind }, 'operation received');
      void runner.handleOperation(message);
    },
    onReportAcked: (message) => void runner.handleReportAcked(message),
    onRefused: (httpStatus) => {
      const code: ErrorCode = httpStatus === 401 || httpStatus === 403 ? 'WS_UNAUTHORIZED' : 'WS_BAD_MESSAGE';
      const message =
        code === 'WS_UNAUTHORIZED'
          ? `agent token rejected by server (HTTP ${httpStatus})`
          : `server refused the WebSocket upgrade (HTTP ${httpStatus})`;
      settleWelcome?.reject(new CodedError(code, message, { details: { httpStatus } }));
    },
  });

  /** Announces the terminals again after a backoff while a refusal may still clear. */
  const scheduleRetry = () => {
    clearTimeout(retryTimer);
    retryTimer = undefined;
    const retryable = [...refused.values()].filter((r) => isRetryableRefusal(r.code));
    if (retryable.length === 0 || closed) {
      retryAttempt = 0;
      return;
    }
    const delayMs =
      REHELLO_MIN_INTERVAL_MS +
      backoff({ baseMs: config.reconnectBaseMs, capMs: config.reconnectCapMs, random: opts.random }).delayFor(retryAttempt);
    retryAttempt += 1;
    log.info({ serials: retryable.map((r) => r.serialNumber), retryInMs: delayMs }, 'refused terminals will be announced again');
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (!closed) link.reannounce();
    }, delayMs);
    retryTimer.unref();
  };

  const identifyAll = async (): Promise<Problem[]> => {
    const problems: Problem[] = [];
    const found = await Promise.all(
      config.terminals.map(async (terminal) => {
        const driver = createDriver({ terminal, config, logger, ...(opts.openPort ? { openPort: opts.openPort } : {}) });
        drivers.push(driver);
        try {
          return { terminal, driver, identity: await driver.identify() };
        } catch (err) {
          const e = toError(err);
          const code = (err as { code?: unknown }).code;
          problems.push({
            code: typeof code === 'string' && code in ERROR_CODES ? (code as ErrorCode) : 'TERM_PORT_OPEN_FAILED',
            message: `terminal on ${terminal.path}: ${e.message}`,
          });
          log.error({ path: terminal.path, err: e }, 'terminal identification failed');
          return undefined;
        }
      }),
    );
    for (const entry of found) {
      if (!entry) continue;
      const { terminal, driver, identity } = entry;
      if (terminal.serialNumber !== undefined && identity.serialNumber !== terminal.serialNumber) {
        const message = `terminal on ${terminal.path} answered serial ${identity.serialNumber}, but the config expects ${terminal.serialNumber}: refused`;
        problems.push({ code: 'TERM_MISMATCH', message });
        log.error({ path: terminal.path, expected: terminal.serialNumber, serialNumber: identity.serialNumber }, 'terminal refused: serial number mismatch');
        await driver.close();
        continue;
      }
      if (bySerial.has(identity.serialNumber)) {
        problems.push({ code: 'TERM_MISMATCH', message: `two ports answer serial ${identity.serialNumber}; ${terminal.path} ignored` });
        log.error({ path: terminal.path, serialNumber: identity.serialNumber }, 'terminal refused: duplicate serial number');
        await driver.close();
        continue;
      }
      bySerial.set(identity.serialNumber, { driver, identity });
      log.info(
        { path: terminal.path, serialNumber: identity.serialNumber, model: identity.model, vendor: identity.vendor, firmware: identity.firmware },
        'terminal identified',
      );
    }
    return problems;
  };

  const ready = (async () => {
    const problems = await identifyAll();
    if (closed) throw new CodedError('TERM_DISCONNECTED', 'agent closed before it was ready');
    await runner.resume();
    link.start();
    // A terminal that failed identification is reported at once; the others keep working.
    if (problems.length > 0) throw notReady(problems);
    const welcome = await firstWelcome;
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
    log.info(
      { terminals: welcome.accepted, ...(welcome.refused.length > 0 ? { refused: welcome.refused.map((r) => r.serialNumber) } : {}) },
      'agent ready',
    );
  })();
  ready.catch(() => undefined);

  let closing: Promise<void> | undefined;
  return {
    ready,
    refusedSerials: () => new Map(refused),
    close: () => {
      closing ??= (async () => {
        closed = true;
        clearTimeout(retryTimer);
        settleWelcome?.reject(new CodedError('TERM_DISCONNECTED', 'agent closed before it was ready'));
        await link.close();
        await Promise.all(drivers.map((d) => d.close()));
        await runner.close();
      })();
      return closing;
    },
  };
}
