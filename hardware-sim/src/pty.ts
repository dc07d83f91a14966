/**
 * Pseudo-terminal link: the only module of the simulator that does serial I/O.
 *
 * For each terminal one `socat` process makes a pair of connected pseudo-terminals:
 *
 *   agent ──opens──▶ <dir>/<serial>  ═══ socat ═══  <dir>/<serial>.sim ◀──SerialPort── simulator
 *
 * The agent therefore exercises its real serial code path. The simulator keeps its end open for
 * the whole run; the agent may close and reopen its end at will (socat keeps the pair alive).
 * `serialport` is CommonJS and native, so it is imported lazily here and nowhere else. The port
 * reads through `eofSafeBinding` (@posbridge/kit/serial-binding): when socat dies under it, the port closes
 * instead of re-reading the hung-up pty in a tight loop. Shutdown closes that port before it
 * stops socat.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, lstat, stat, unlink } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import type { SimTerminal } from './sim-terminal.ts';
import { eofSafeBinding, type SerialBinding } from '@posbridge/kit/serial-binding';
import { SerialQueue } from '@posbridge/kit/serial-queue';

let safeBinding: SerialBinding | undefined;

/** How to install socat, for error messages. */
export const SOCAT_INSTALL_HINT = 'install it with `apt-get install socat`';

/** How long socat may take to create both links, in ms. */
const LINK_TIMEOUT_MS = 5_000;
/** How long socat may take to exit after SIGTERM before SIGKILL, in ms. */
const SOCAT_EXIT_TIMEOUT_MS = 2_000;
/** Most socat stderr kept for error messages, in characters. */
const STDERR_KEEP_CHARS = 4_000;

/**
 * Finds an executable on a PATH-style search list, like `which`, without a shell.
 * @param searchPath colon-separated directories (`process.env.PATH` by default).
 * @returns the absolute path, or `undefined`.
 */
export async function findExecutable(name: string, searchPath: string | undefined = process.env['PATH']): Promise<string | undefined> {
  for (const dir of (searchPath ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, fsConstants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** Options of {@link openPtyLink}. */
export interface PtyLinkOptions {
  terminal: SimTerminal;
  /** Absolute path of the socat executable. */
  socatPath: string;
  /** Directory holding the links. */
  dir: string;
  logger: Logger;
}

/** A running pty link. */
export interface PtyLink {
  /** The end the agent opens. */
  agentPath: string;
  /** The end the simulator holds. */
  simPath: string;
  /** Closes the simulator's port, stops socat (waits for its exit) and removes the links. */
  close(): Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Removes a stale symlink left by an earlier run; refuses to touch anything else. */
async function clearStaleLink(path: string): Promise<void> {
  let info;
  try {
    info = await lstat(path);
  } catch {
    return;
  }
  if (!info.isSymbolicLink()) {
    throw new CodedError('TERM_PORT_OPEN_FAILED', `${path} exists and is not a symlink; choose another --dir`);
  }
  await unlink(path);
}

/** socat processes still running, killed if the simulator's process exits without closing them. */
const liveSocats = new Set<ChildProcess>();
let exitHookInstalled = false;

function trackSocat(child: ChildProcess): void {
  liveSocats.add(child);
  child.once('exit', () => liveSocats.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of liveSocats) c.kill('SIGTERM');
    });
  }
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  // No pid: the spawn itself failed and there is nothing to wait for.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** One plugged-in socat pair with the simulator's end open. */
interface Plug {
  /** Closes the simulator's end and stops socat (links removed). */
  pull(): Promise<void>;
}

/**
 * Starts socat for one terminal, waits for both links, opens the simulator's end with
 * `serialport` and wires it to the terminal.
 * @throws CodedError TERM_PORT_OPEN_FAILED when socat fails or the links do not appear in time
 *   (the message carries socat's stderr).
 */
async function plugIn(opts: PtyLinkOptions, agentPath: string, simPath: string, log: Logger): Promise<Plug> {
  const { terminal } = opts;
  await clearStaleLink(agentPath);
  await clearStaleLink(simPath);

  const socat = spawn(
    opts.socatPath,
    ['-d', '-d', `pty,raw,echo=0,link=${simPath}`, `pty,raw,echo=0,link=${agentPath}`],
    // Own process group: a Ctrl+C in the technician's terminal reaches only the simulator, which
    // then closes its port before stopping socat (no spurious "socat exited" errors). The exit
    // hook below makes sure socat never outlives the simulator.
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  trackSocat(socat);
  let stderr = '';
  socat.stderr?.setEncoding('utf8');
  socat.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP_CHARS);
  });
  let spawnError: Error | undefined;
  socat.once('error', (err) => {
    spawnError = err;
  });
  let stopping = false;
  socat.once('exit', (code, signal) => {
    if (!stopping) log.error({ code, signal, stderr: stderr.trim() }, 'socat exited unexpectedly');
  });

  const stopSocat = async (): Promise<void> => {
    stopping = true;
    if (socat.exitCode === null && socat.signalCode === null) socat.kill('SIGTERM');
    await waitForExit(socat, SOCAT_EXIT_TIMEOUT_MS);
  };
  const stderrClosed = new Promise<void>((resolve) => {
    if (socat.stderr === null) resolve();
    else socat.stderr.once('close', () => resolve());
  });
  const fail = async (why: string, cause?: unknown): Promise<never> => {
    await stopSocat();
    // Collect socat's last words (bounded wait: a grandchild could hold the pipe open).
    await Promise.race([stderrClosed, new Promise((r) => setTimeout(r, 500))]);
    throw new CodedError('TERM_PORT_OPEN_FAILED', `socat could not create the pty pair for ${terminal.serialNumber}: ${why}\nsocat stderr:\n${stderr.trim() || '(empty)'}`, {
      cause,
      details: { agentPath, simPath },
    });
  };

  // socat creates the links once both ptys exist; poll for them.
  const deadline = Date.now() + LINK_TIMEOUT_MS;
  for (;;) {
    if (spawnError !== undefined) return fail(`could not run ${opts.socatPath}: ${spawnError.message}`, spawnError);
    if (socat.exitCode !== null || socat.signalCode !== null) return fail(`socat exited (code ${socat.exitCode}, signal ${socat.signalCode})`);
    if ((await exists(simPath)) && (await exists(agentPath))) break;
    if (Date.now() > deadline) return fail(`the links did not appear within ${LINK_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }

  const { SerialPort } = await import('serialport');
  safeBinding ??= eofSafeBinding(SerialPort.binding);
  // SerialPort's constructor takes `binding` from its options over the detected one.
  const portOptions = { path: simPath, baudRate: 9600, autoOpen: false, binding: safeBinding } as const;
  const port = new SerialPort(portOptions);
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  } catch (err) {
    return fail(`could not open ${simPath}: ${(err as Error).message}`, err);
  }
  let portOpen = true;
  port.on('error', (err) => log.warn({ err }, 'simulator port error'));
  port.on('close', () => {
    portOpen = false;
    if (!stopping) log.error('simulator port closed unexpectedly');
  });
  port.on('data', (chunk: Buffer) => terminal.receiveBytes(chunk));
  terminal.attach((bytes) => {
    if (portOpen) port.write(Buffer.from(bytes));
  });
  log.debug({ agentPath, simPath, pid: socat.pid }, 'pty link ready');

  return {
    async pull() {
      stopping = true;
      terminal.detach();
      if (portOpen && port.isOpen) {
        await new Promise<void>((resolve) => port.close(() => resolve()));
      }
      await stopSocat();
      // socat removes its links on a clean exit; make sure after a SIGKILL too.
      await clearStaleLink(agentPath).catch(() => undefined);
      await clearStaleLink(simPath).catch(() => undefined);
    },
  };
}

/**
 * Opens the pty link of one terminal and installs its cable hooks: pulling the cable stops socat
 * (the agent's port disappears and its reads fail, as when a USB terminal is unplugged); plugging
 * it back starts socat again on the same paths.
 * @throws CodedError TERM_PORT_OPEN_FAILED when socat fails or the links do not appear in time.
 */
export async function openPtyLink(opts: PtyLinkOptions): Promise<PtyLink> {
  const { terminal, dir } = opts;
  const log = opts.logger.child({ component: 'pty', serialNumber: terminal.serialNumber });
  const agentPath = join(dir, terminal.serialNumber);
  const simPath = join(dir, `${terminal.serialNumber}.sim`);
  let plug: Plug | undefined = await plugIn(opts, agentPath, simPath, log);
  let closed = false;
  // Cable operations run one at a time.
  const cable = new SerialQueue();
  terminal.setLinkHooks({
    unplug: () =>
      cable.run(async () => {
        const p = plug;
        plug = undefined;
        await p?.pull();
      }),
    replug: () =>
      cable.run(async () => {
        if (closed || plug !== undefined) return;
        plug = await plugIn(opts, agentPath, simPath, log);
      }),
  });

  let closing: Promise<void> | undefined;
  return {
    agentPath,
    simPath,
    close() {
      closing ??= cable.run(async () => {
        closed = true;
        const p = plug;
        plug = undefined;
        terminal.detach();
        await p?.pull();
        await clearStaleLink(agentPath).catch(() => undefined);
        await clearStaleLink(simPath).catch(() => undefined);
      });
      return closing;
    },
  };
}
