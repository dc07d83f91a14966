/**
 * @posbridge/terminal-agent — the daemon that drives a payment terminal for the posbridge
 * server. Public API: {@link startAgent}, {@link loadAgentConfig}, and the transport and
 * driver contracts for those who plug in other terminals.
 * @see ../README.md
 */
export { startAgent, AGENT_VERSION, type RunningAgent, type StartAgentOptions } from './agent.ts';
export { SYSTEM_CLOCK, type Clock, type Timer, type TimerOptions } from './time/clock.ts';
export {
  loadAgentConfig,
  redactConfig,
  envNameOf,
  AGENT_CONFIG_DEFAULTS,
  DEFAULT_BAUD_RATE,
  TERMINAL_DIALECTS,
  DRIVER_NAMES,
  DEFAULT_JOURNAL_PATH,
  type DriverName,
  type HidSelector,
  type AgentConfig,
  type AgentTerminalConfig,
  type AgentTimingConfig,
} from './config.ts';
export type {
  AbortAttempt,
  DriverEvents,
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
export { ConcertDriver, type ConcertDriverOptions } from './drivers/concert/concert-driver.ts';
export { DRIVER_REGISTRY, createDriver, type DriverContext, type DriverFactory } from './drivers/registry.ts';
export { openHidPort, listHidDevices, hidDuplex, type HidDeviceInfo, type HidHandle, type HidModule } from './transports/hid.ts';
export { segmentHidMessage, HidReassembler } from './transports/hid-framing.ts';
export { runDoctor, formatDoctorTable, defaultDoctorDeps, type DoctorCheck, type DoctorDeps } from './doctor.ts';
export { openSerialPort, resolveSerialPath, type SerialPortOptions } from './transports/serial.ts';
export { createMemoryPair, type MemoryPair } from './transports/memory-pair.ts';
export { MemoryJournal, type Journal } from './session/journal.ts';
export { SqliteJournal } from './session/sqlite-journal.ts';
export { txKey, type Transaction, type TxPhase, type TxKind } from './session/transaction-machine.ts';
