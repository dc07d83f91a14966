/**
 * @posbridge/hardware-sim: simulated payment terminals (PBL/1, Concert E+) for testers and
 * end-to-end tests.
 *
 * `startSim()` runs one simulated terminal per requested serial number, each reachable either
 * through a real pseudo-terminal made by socat (`link: 'pty'`, the agent opens `handle.path`) or
 * through an in-process `Duplex` (`link: 'in-process'`, the agent uses `handle.connect()`).
 * Every handle also carries the controls tests use (scenario, frame log, sales per reference,
 * customer actions, cable, reboot); `controlPort` serves the same over HTTP on 127.0.0.1.
 * @see ../README.md
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import { InProcessLink } from './in-process.ts';
import { startControlServer, type ControlServer } from './control.ts';
import { findExecutable, openPtyLink, SOCAT_INSTALL_HINT, type PtyLink } from './pty.ts';
import type { SimScenarioPatch } from './scenarios/scenario.ts';
import { parseScenarioPatch } from './scenarios/scenario.ts';
import { SIM_DIALECTS, SimTerminal, type SimDialect } from './sim-terminal.ts';
import type { SimTerminalControls, SimTerminalHandle } from './handle.ts';

export {
  TEST_AMOUNTS,
  TEST_CARD,
  TEST_CARDS,
  DEFAULT_OUTCOME,
  SALE_BEHAVIOURS,
  cardFor,
  rowForAmount,
  type SaleBehaviour,
  type TestAmountRow,
  type TestCard,
} from './scenarios/outcomes.ts';
export {
  DEFAULT_SCENARIO,
  PRIVATE_FIELD_MODES,
  parseScenarioPatch,
  seededRandom,
  type PrivateFieldMode,
  type SimFaults,
  type SimScenario,
  type SimScenarioPatch,
} from './scenarios/scenario.ts';
export { SIM_DIALECTS, parseDialect, type SalesSummary, type SimDialect, type TerminalSnapshot, type ReferenceCounts } from './sim-terminal.ts';
export type { CustomerAction } from './device-machine.ts';
export type { FrameLogEntry } from './wire.ts';
export { CONCERT_EPLUS } from './dialects/concert.ts';
export { PBL1 } from './dialects/pbl1.ts';
export type { ControlServer } from './control.ts';
export type { InProcessSimTerminalHandle, PtySimTerminalHandle, SimTerminalControls, SimTerminalHandle } from './handle.ts';

/** How a simulated terminal is reached. */
export type SimLinkMode = 'auto' | 'pty' | 'in-process';

/** Options of {@link startSim}. */
export interface StartSimOptions {
  /** One simulated terminal per entry; serial numbers must be unique and match `[A-Za-z0-9._-]{1,64}`. */
  terminals: SimTerminalSpec[];
  /** Scenario of every terminal (a terminal's own `scenario` is applied on top). */
  scenario?: SimScenarioPatch;
  /**
   * Serve the control interface (HTTP, JSON) on 127.0.0.1 at this port; 0 = any free port.
   * Off when undefined.
   */
  controlPort?: number;
  /** Parent logger; components log as `terminal` and `pty`. */
  logger: Logger;
  /** Where the pty symlinks go. @default a new directory under the OS temp dir */
  dir?: string;
  /**
   * `pty`: socat pseudo-terminals (throws when socat is missing); `in-process`: Duplex handles;
   * `auto`: pty when socat is on PATH, else in-process with a warning.
   * @default 'auto'
   */
  link?: SimLinkMode;
  /** Think time between progress stages, in ms. @default 250 */
  stepDelayMs?: number;
  /**
   * PATH-style list of directories searched for `socat` (an addition to the contract, for
   * tests). @default process.env.PATH
   */
  searchPath?: string;
}

/** One terminal to simulate. */
export interface SimTerminalSpec {
  serialNumber: string;
  /** Wire dialect. @default 'PBL/1' */
  dialect?: SimDialect;
  /** This terminal's scenario, over the simulator-wide one. */
  scenario?: SimScenarioPatch;
}

/** A running simulator. */
export interface RunningSim {
  /** Same order as `opts.terminals`. */
  terminals: SimTerminalHandle[];
  /** Base URL of the control interface (`http://127.0.0.1:<port>`), when `controlPort` was given. */
  controlUrl?: string;
  /** Kills socat, closes ports, removes the directory if the simulator created it. Idempotent. */
  close(): Promise<void>;
}

/** Default think time between progress stages, in ms. */
export const DEFAULT_STEP_DELAY_MS = 250;

const SERIAL_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** Version of this package, announced as the terminals' firmware in IDENT. */
export const SIM_FIRMWARE_VERSION: string = (() => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
})();

function validate(opts: StartSimOptions): void {
  const problems: string[] = [];
  if (opts.terminals.length === 0) problems.push('terminals: at least one terminal is required');
  const seen = new Set<string>();
  for (const { serialNumber, dialect, scenario } of opts.terminals) {
    if (dialect !== undefined && !(SIM_DIALECTS as readonly string[]).includes(dialect)) {
      problems.push(`dialect ${JSON.stringify(dialect)} of ${serialNumber} must be one of ${SIM_DIALECTS.join(', ')}`);
    }
    if (scenario !== undefined) collect(problems, () => parseScenarioPatch(scenario));
    if (!SERIAL_RE.test(serialNumber) || serialNumber === '.' || serialNumber === '..') {
      problems.push(`serialNumber ${JSON.stringify(serialNumber)} must match [A-Za-z0-9._-]{1,64}`);
    }
    if (seen.has(serialNumber)) problems.push(`serialNumber ${serialNumber} is listed twice`);
    seen.add(serialNumber);
  }
  if (opts.scenario !== undefined) collect(problems, () => parseScenarioPatch(opts.scenario));
  const port = opts.controlPort;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) problems.push('controlPort must be 0–65535');
  const step = opts.stepDelayMs;
  if (step !== undefined && (!Number.isInteger(step) || step < 0)) problems.push('stepDelayMs must be a non-negative integer');
  if (problems.length > 0) throw new CodedError('CFG_INVALID', `invalid simulator options: ${problems.join('; ')}`, { details: { problems } });
}

function collect(problems: string[], fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    const details = (err as { details?: { problems?: unknown } }).details;
    if (Array.isArray(details?.problems)) problems.push(...(details.problems as string[]));
    else problems.push((err as Error).message);
  }
}

function controlsOf(t: SimTerminal): SimTerminalControls {
  return {
    serialNumber: t.serialNumber,
    dialect: t.dialect,
    salesCount: (rid?: string) => t.salesCount(rid),
    sales: () => t.sales(),
    frames: (since?: number) => t.frames(since),
    clearFrames: () => t.clearFrames(),
    scenario: () => t.scenario,
    setScenario: (patch: unknown, reset?: boolean) => t.setScenario(patch, reset),
    customer: (action) => t.customer(action),
    unplug: (forMs?: number) => t.unplug(forMs),
    replug: () => t.replug(),
    reboot: () => t.reboot(),
    snapshot: () => t.snapshot(),
    onChange: (listener) => t.onChange(listener),
  };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Starts the simulated terminals.
 * @throws CodedError CFG_INVALID on bad options; TERM_PORT_OPEN_FAILED when `link: 'pty'` and
 *   socat is missing or fails (the message says how to install it / carries socat's stderr).
 */
export async function startSim(opts: StartSimOptions): Promise<RunningSim> {
  validate(opts);
  const log = opts.logger.child({ component: 'sim' });
  const mode = opts.link ?? 'auto';
  const stepDelayMs = opts.stepDelayMs ?? DEFAULT_STEP_DELAY_MS;
  const terminals = opts.terminals.map(
    (spec) =>
      new SimTerminal({
        serialNumber: spec.serialNumber,
        logger: opts.logger,
        stepDelayMs,
        firmware: SIM_FIRMWARE_VERSION,
        ...(spec.dialect !== undefined ? { dialect: spec.dialect } : {}),
        scenario: { ...(opts.scenario ?? {}), ...(spec.scenario ?? {}), faults: { ...(opts.scenario?.faults ?? {}), ...(spec.scenario?.faults ?? {}) } },
      }),
  );
  const withControl = async (
    handles: SimTerminalHandle[],
    close: () => Promise<void>,
  ): Promise<RunningSim> => {
    let control: ControlServer | undefined;
    if (opts.controlPort !== undefined) {
      try {
        control = await startControlServer({ terminals: handles, port: opts.controlPort, logger: opts.logger });
      } catch (err) {
        await close();
        throw err;
      }
    }
    let closing: Promise<void> | undefined;
    return {
      terminals: handles,
      ...(control !== undefined ? { controlUrl: control.url } : {}),
      close: () =>
        (closing ??= (async () => {
          await control?.close();
          await close();
        })()),
    };
  };

  let socatPath: string | undefined;
  if (mode !== 'in-process') {
    socatPath = await findExecutable('socat', opts.searchPath);
    if (socatPath === undefined && mode === 'pty') {
      throw new CodedError('TERM_PORT_OPEN_FAILED', `socat not found on PATH — ${SOCAT_INSTALL_HINT} (needed for link 'pty')`);
    }
    if (socatPath === undefined) log.warn(`socat not found — ${SOCAT_INSTALL_HINT}; falling back to an in-process link`);
  }

  if (socatPath === undefined) {
    const links = terminals.map((t) => new InProcessLink(t));
    let closed = false;
    return withControl(
      terminals.map((t, i) => ({
        ...controlsOf(t),
        link: 'in-process' as const,
        connect: () => {
          if (closed) throw new CodedError('TERM_DISCONNECTED', 'the simulator is closed');
          return (links[i] as InProcessLink).connect();
        },
      })),
      async () => {
        closed = true;
        for (const link of links) link.close();
        for (const t of terminals) t.close();
      },
    );
  }

  let dir: string;
  let createdDir = false;
  if (opts.dir === undefined) {
    dir = await mkdtemp(join(tmpdir(), 'posbridge-sim-'));
    createdDir = true;
  } else {
    dir = resolve(opts.dir);
    if (!(await isDirectory(dir))) {
      await mkdir(dir, { recursive: true });
      createdDir = true;
    }
  }

  const ptyLinks: PtyLink[] = [];
  const cleanup = async (): Promise<void> => {
    for (const t of terminals) t.close();
    await Promise.all(ptyLinks.map((l) => l.close()));
    if (createdDir) await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const terminal of terminals) {
      ptyLinks.push(await openPtyLink({ terminal, socatPath, dir, logger: opts.logger }));
    }
  } catch (err) {
    await cleanup();
    throw err;
  }

  return withControl(
    terminals.map((t, i) => ({
      ...controlsOf(t),
      link: 'pty' as const,
      path: (ptyLinks[i] as PtyLink).agentPath,
    })),
    cleanup,
  );
}
