/**
 * @posbridge/terminal-agent — the daemon that drives a payment terminal for the posbridge
 * server. Public API: {@link startAgent}, {@link loadAgentConfig}, and the transport and
 * driver contracts for those who plug in other terminals.
 * @see ../README.md
 */
export { startAgent, AGENT_VERSION, type RunningAgent, type StartAgentOptions } from './agent.ts';
export {
  loadAgentConfig,
  redactConfig,
  envNameOf,
  AGENT_CONFIG_DEFAULTS,
  DEFAULT_BAUD_RATE,
  TERMINAL_DIALECTS,
  type AgentConfig,
  type AgentTerminalConfig,
  type AgentTimingConfig,
} from './config.ts';
export type {
  TerminalDriver,
  TerminalIdentity,
  SaleRequest,
  SaleOutcome,
  SaleHooks,
  SaleRejectionCode,
  StatusCheck,
  TerminalSaleResult,
} from './drivers/terminal-driver.ts';
export { LineDriver, type LineDriverOptions, type LineDriverTimings } from './drivers/line/line-driver.ts';
export type { OpenPort } from './transports/byte-transport.ts';
export { openSerialPort, type SerialPortOptions } from './transports/serial.ts';
export { createMemoryPair, type MemoryPair } from './transports/memory-pair.ts';
export { MemoryJournal, type Journal } from './session/journal.ts';
export type { Transaction, TxPhase } from './session/transaction-machine.ts';
