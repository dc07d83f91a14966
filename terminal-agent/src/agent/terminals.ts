/**
 * The terminals of one agent: one driver per configured port, identified at startup with IDENT
 * (docs/protocol/ws.md "Connecting"). A terminal answering another serial than configured, or a
 * serial a second port already answered, is refused and its port closed; the others keep
 * working. Part of `startAgent` (../agent.ts), which composes it with the link and the runner.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { ERROR_CODES, toError, type ErrorCode } from '@posbridge/protocol/errors';
import type { AgentConfig, AgentTerminalConfig } from '../config.ts';
import { createDriver } from '../drivers/registry.ts';
import type { TerminalDriver, TerminalIdentity } from '../drivers/terminal-driver.ts';
import type { HelloContent } from '../link/link.ts';
import type { Clock } from '@posbridge/kit/clock';

/** Why a configured terminal is not working, as `ready` reports it. */
export interface TerminalProblem {
  code: ErrorCode;
  message: string;
}

/** Options of {@link AgentTerminals}. */
export interface AgentTerminalsOptions {
  config: AgentConfig;
  logger: Logger;
  /** Replaces the drivers' transport (tests, in-process simulators). */
  openPort?: (terminal: AgentTerminalConfig) => Promise<Duplex>;
  /** Time of the drivers' exchanges. */
  clock: Clock;
}

/** The drivers of the configured terminals, and the identified ones by serial number. */
export class AgentTerminals {
  readonly #o: AgentTerminalsOptions;
  readonly #log: Logger;
  readonly #drivers: TerminalDriver[] = [];
  readonly #bySerial = new Map<string, { driver: TerminalDriver; identity: TerminalIdentity }>();

  constructor(opts: AgentTerminalsOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'agent' });
  }

  /** The driver of an identified terminal. */
  driverFor(serialNumber: string): TerminalDriver | undefined {
    return this.#bySerial.get(serialNumber)?.driver;
  }

  /** The identified terminals, as `agent.hello` announces them (model and vendor cut to 64 chars). */
  hello(): HelloContent['terminals'] {
    return [...this.#bySerial.values()].map(({ identity }) => ({
      serialNumber: identity.serialNumber,
      dialect: identity.dialect,
      serialSource: identity.serialSource ?? 'config',
      ...(identity.model !== undefined ? { model: identity.model.slice(0, 64) } : {}),
      ...(identity.vendor !== undefined ? { vendor: identity.vendor.slice(0, 64) } : {}),
    }));
  }

  /**
   * Opens every configured terminal and asks who it is. Resolves with what went wrong (empty
   * when every terminal was identified); never rejects.
   */
  async identifyAll(): Promise<TerminalProblem[]> {
    const { config, logger, openPort, clock } = this.#o;
    const log = this.#log;
    const problems: TerminalProblem[] = [];
    const found = await Promise.all(
      config.terminals.map(async (terminal) => {
        const driver = await createDriver({ terminal, config, logger, clock, ...(openPort ? { openPort } : {}) });
        this.#drivers.push(driver);
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
      if (this.#bySerial.has(identity.serialNumber)) {
        problems.push({ code: 'TERM_MISMATCH', message: `two ports answer serial ${identity.serialNumber}; ${terminal.path} ignored` });
        log.error({ path: terminal.path, serialNumber: identity.serialNumber }, 'terminal refused: duplicate serial number');
        await driver.close();
        continue;
      }
      this.#bySerial.set(identity.serialNumber, { driver, identity });
      log.info(
        { path: terminal.path, serialNumber: identity.serialNumber, model: identity.model, vendor: identity.vendor, firmware: identity.firmware },
        'terminal identified',
      );
    }
    return problems;
  }

  /** Closes every driver opened so far. */
  async close(): Promise<void> {
    await Promise.all(this.#drivers.map((d) => d.close()));
  }
}
