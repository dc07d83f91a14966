/**
 * `startAgent`: the agent's composition root. It builds, in this order and each from what was
 * built before it, the terminals (./agent/terminals.ts: drivers and IDENT), the server link
 * (./link/link.ts), the payment runner (./session/payment-runner.ts, sending through the link)
 * and the agent runner (./agent/runner.ts: startup, message routing from the link to the payment
 * runner, refusal retries). The real clock is chosen here and handed to all of them.
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
import type { AgentConfig, AgentTerminalConfig } from './config.ts';
import { AgentLink } from './link/link.ts';
import { serverTrust } from './link/tls.ts';
import { MemoryJournal, type Journal } from './session/journal.ts';
import { PaymentRunner } from './session/payment-runner.ts';
import type { RefusedTerminal } from './server-status.ts';
import { SYSTEM_CLOCK, type Clock } from '@posbridge/kit/clock';
import { AgentRunner } from './agent/runner.ts';
import { AgentTerminals } from './agent/terminals.ts';

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
  /** Uniform random source of the reconnect and refused-serial retry jitter. @default Math.random */
  random?: () => number;
  /** Time and timers of the link, the drivers and the runners. @default {@link SYSTEM_CLOCK} */
  clock?: Clock;
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

/** Starts the agent. Resolves at once; await `ready` for the connection and terminal checks. */
export async function startAgent(opts: StartAgentOptions): Promise<RunningAgent> {
  const { config, logger } = opts;
  const clock = opts.clock ?? SYSTEM_CLOCK;
  const terminals = new AgentTerminals({ config, logger, clock, ...(opts.openPort ? { openPort: opts.openPort } : {}) });
  const serverCa = serverTrust(config.caFile);
  const link = new AgentLink({
    serverUrls: config.serverUrls,
    token: config.token,
    ...(serverCa !== undefined ? { ca: serverCa } : {}),
    logger,
    reconnectBaseMs: config.reconnectBaseMs,
    reconnectCapMs: config.reconnectCapMs,
    resendIntervalMs: config.resendIntervalMs,
    helloTimeoutMs: config.helloTimeoutMs,
    ...(opts.random !== undefined ? { random: opts.random } : {}),
    clock,
    hello: () => ({ agentVersion: AGENT_VERSION, terminals: terminals.hello() }),
  });
  const payments = new PaymentRunner({
    journal: opts.journal ?? new MemoryJournal(),
    logger,
    driverFor: (serial) => terminals.driverFor(serial),
    recoveryIntervalMs: config.recoveryIntervalMs,
    clock,
    link,
  });
  const runner = new AgentRunner({
    config,
    logger,
    terminals,
    link,
    payments,
    clock,
    ...(opts.serverStatusFile !== undefined ? { serverStatusFile: opts.serverStatusFile } : {}),
    ...(opts.random !== undefined ? { random: opts.random } : {}),
  });
  const ready = runner.run();
  ready.catch(() => undefined);
  return { ready, refusedSerials: () => runner.refusedSerials(), close: () => runner.close() };
}
