/**
 * @posbridge/hardware-sim: simulated PBL/1 payment terminals for testers and end-to-end tests.
 *
 * `startSim()` runs one simulated terminal per requested serial number, each reachable either
 * through a real pseudo-terminal made by socat (`link: 'pty'`, the agent opens `handle.path`) or
 * through an in-process `Duplex` (`link: 'in-process'`, the agent uses `handle.connect()`).
 * @see ../README.md
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import { InProcessLink } from './in-process.ts';
import { findExecutable, openPtyLink, SOCAT_INSTALL_HINT, type PtyLink } from './pty.ts';
import { SimTerminal } from './sim-terminal.ts';

export { TEST_AMOUNTS, TEST_CARD } from './scenarios/outcomes.ts';

/** How a simulated terminal is reached. */
export type SimLinkMode = 'auto' | 'pty' | 'in-process';

/** Options of {@link startSim}. */
export interface StartSimOptions {
  /** One simulated terminal per entry; serial numbers must be unique and match `[A-Za-z0-9._-]{1,64}`. */
  terminals: { serialNumber: string }[];
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

/** A simulated terminal reached through a pseudo-terminal. */
export interface PtySimTerminalHandle {
  serialNumber: string;
  link: 'pty';
  /** The end the agent opens (a symlink to a /dev/pts device). */
  path: string;
  /** Sales that reached a final RESULT: for `rid`, or in total. */
  salesCount(rid?: string): number;
}

/** A simulated terminal reached in-process. */
export interface InProcessSimTerminalHandle {
  serialNumber: string;
  link: 'in-process';
  /** Opens the agent's end of the link; a new call hangs up the previous connection. */
  connect(): Duplex;
  /** Sales that reached a final RESULT: for `rid`, or in total. */
  salesCount(rid?: string): number;
}

/** One running simulated terminal. */
export type SimTerminalHandle = PtySimTerminalHandle | InProcessSimTerminalHandle;

/** A running simulator. */
export interface RunningSim {
  /** Same order as `opts.terminals`. */
  terminals: SimTerminalHandle[];
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
  for (const { serialNumber } of opts.terminals) {
    if (!SERIAL_RE.test(serialNumber) || serialNumber === '.' || serialNumber === '..') {
      problems.push(`serialNumber ${JSON.stringify(serialNumber)} must match [A-Za-z0-9._-]{1,64}`);
    }
    if (seen.has(serialNumber)) problems.push(`serialNumber ${serialNumber} is listed twice`);
    seen.add(serialNumber);
  }
  const step = opts.stepDelayMs;
  if (step !== undefined && (!Number.isInteger(step) || step < 0)) problems.push('stepDelayMs must be a non-negative integer');
  if (problems.length > 0) throw new CodedError('CFG_INVALID', `invalid simulator options: ${problems.join('; ')}`, { details: { problems } });
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
    ({ serialNumber }) => new SimTerminal({ serialNumber, logger: opts.logger, stepDelayMs, firmware: SIM_FIRMWARE_VERSION }),
  );

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
    return {
      terminals: terminals.map((t, i) => ({
        serialNumber: t.serialNumber,
        link: 'in-process',
        connect: () => {
          if (closed) throw new CodedError('TERM_DISCONNECTED', 'the simulator is closed');
          return (links[i] as InProcessLink).connect();
        },
        salesCount: (rid?: string) => t.salesCount(rid),
      })),
      close: async () => {
        closed = true;
        for (const link of links) link.close();
        for (const t of terminals) t.close();
      },
    };
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

  let closing: Promise<void> | undefined;
  return {
    terminals: terminals.map((t, i) => ({
      serialNumber: t.serialNumber,
      link: 'pty',
      path: (ptyLinks[i] as PtyLink).agentPath,
      salesCount: (rid?: string) => t.salesCount(rid),
    })),
    close: () => (closing ??= cleanup()),
  };
}
