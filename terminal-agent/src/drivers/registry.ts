/**
 * The driver registry: maps a configuration name (`terminals[].driver`) to a factory that
 * builds the terminal driver over its byte transport.
 *
 * | name             | dialect     | transport                               |
 * |------------------|-------------|-----------------------------------------|
 * | `pbl1-serial`    | PBL/1       | serial port (serialport)                |
 * | `concert-serial` | Concert E+  | serial port (serialport), 8N1 or 7E1    |
 * | `pbl1-hid`       | PBL/1       | USB HID vendor reports (node-hid)       |
 *
 * Native modules load lazily inside the transports, when a port is first opened: a machine
 * without libusb still runs its serial terminals. The drivers load lazily too, when the first
 * terminal that uses one is built: an agent of PBL/1 terminals never loads the Concert E+ codec
 * (and the reverse), which keeps its start-up time and memory down (docs/performance.md
 * "Agent footprint").
 *
 * @see CONTRIBUTING.md "Drivers and transports"
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import type { AgentConfig, AgentTerminalConfig, DriverName } from '../config.ts';
import { openHidPort } from '../transports/hid.ts';
import { openSerialPort } from '../transports/serial.ts';
import type { Clock } from '@posbridge/kit/clock';
import type { TerminalDriver } from './terminal-driver.ts';

/** What a factory gets. */
export interface DriverContext {
  terminal: AgentTerminalConfig;
  /** Timing knobs. */
  config: Pick<
    AgentConfig,
    'identTimeoutMs' | 'ackTimeoutMs' | 'saleAttempts' | 'resultTimeoutMs' | 'statusTimeoutMs' | 'statusAttempts' | 'statusBackoffMs' | 'concertAnswerTimeoutMs'
  >;
  logger: Logger;
  /** Overrides the transport (tests, in-process simulators). */
  openPort?: (terminal: AgentTerminalConfig) => Promise<Duplex>;
  /** Time and timers of the driver's exchanges. @default the drivers' default, the system clock */
  clock?: Clock;
}

/** Builds one driver (after loading its module on first use). */
export type DriverFactory = (ctx: DriverContext) => Promise<TerminalDriver>;

function serialOpener(ctx: DriverContext): () => Promise<Duplex> {
  const t = ctx.terminal;
  if (ctx.openPort) return () => ctx.openPort!(t);
  return () => openSerialPort({ path: t.path, baudRate: t.baudRate, dataBits: t.dataBits, parity: t.parity });
}

function hidOpener(ctx: DriverContext): () => Promise<Duplex> {
  const t = ctx.terminal;
  if (ctx.openPort) return () => ctx.openPort!(t);
  return () => {
    if (!t.hid) return Promise.reject(new CodedError('CFG_INVALID', `terminal ${t.path}: hid selector missing`));
    return openHidPort(t.hid);
  };
}

const line = (open: (ctx: DriverContext) => () => Promise<Duplex>): DriverFactory => async (ctx) => {
  const { LineDriver } = await import('./line/line-driver.ts');
  return new LineDriver({
    open: open(ctx),
    logger: ctx.logger,
    timings: ctx.config,
    ...(ctx.clock ? { clock: ctx.clock } : {}),
    ...(ctx.terminal.serialNumber !== undefined ? { serialNumber: ctx.terminal.serialNumber } : {}),
  });
};

/**
 * Opens the byte stream of `terminal` as its driver would (serial port or HID device), for the
 * commands that talk to a terminal outside a driver (`posbridge-agent totals`).
 */
export function openTerminalPort(terminal: AgentTerminalConfig, openPort?: (terminal: AgentTerminalConfig) => Promise<Duplex>): Promise<Duplex> {
  const ctx = { terminal, ...(openPort ? { openPort } : {}) } as DriverContext;
  return (terminal.driver === 'pbl1-hid' ? hidOpener(ctx) : serialOpener(ctx))();
}

/** Every driver by name. */
export const DRIVER_REGISTRY: Readonly<Record<DriverName, DriverFactory>> = Object.freeze({
  'pbl1-serial': line(serialOpener),
  'pbl1-hid': line(hidOpener),
  'concert-serial': async (ctx: DriverContext) => {
    const { ConcertDriver } = await import('./concert/concert-driver.ts');
    return new ConcertDriver({
      open: serialOpener(ctx),
      logger: ctx.logger,
      posNumber: ctx.terminal.posNumber,
      timings: { answerTimeoutMs: ctx.config.concertAnswerTimeoutMs },
      ...(ctx.clock ? { clock: ctx.clock } : {}),
      ...(ctx.terminal.serialNumber !== undefined ? { serialNumber: ctx.terminal.serialNumber } : {}),
    });
  },
});

/**
 * Builds the driver named by `ctx.terminal.driver`, loading its module on first use.
 * @throws CodedError `CFG_INVALID` (rejects) for a name the registry does not know.
 */
export async function createDriver(ctx: DriverContext): Promise<TerminalDriver> {
  const factory = (DRIVER_REGISTRY as Record<string, DriverFactory | undefined>)[ctx.terminal.driver];
  if (!factory) throw new CodedError('CFG_INVALID', `unknown driver ${ctx.terminal.driver}; known: ${Object.keys(DRIVER_REGISTRY).join(', ')}`);
  return factory(ctx);
}
