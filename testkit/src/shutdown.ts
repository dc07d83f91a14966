/**
 * Bounded shutdown for the local tools (`npm run demo`, `npm run stack`, the local stack):
 *
 * - {@link runShutdownSteps} runs named close steps in order, each bounded in time: a step that
 *   hangs is reported by name and left behind, and the steps after it still run;
 * - {@link armExitWatchdog} makes sure the process really exits: if it is still alive a bounded
 *   time after shutdown began (a close that hangs, a child process or handle nobody closed), it
 *   prints what is still open — libuv resources and live child processes — and exits.
 *
 * The demo once ran at 100 % CPU forever after APPROVED (a reader spinning on a pty whose socat
 * had exited); whatever the next such leak is, these two make it visible and bounded.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** One step of a shutdown. */
export interface ShutdownStep {
  /** What it closes, as printed when it hangs or fails (`agent`, `simulator`, …). */
  name: string;
  run: () => Promise<void>;
}

/** Options of {@link runShutdownSteps}. */
export interface ShutdownOptions {
  /** Longest wait for one step, ms. */
  stepTimeoutMs: number;
  /** A step did not finish within `stepTimeoutMs` (it keeps running, unawaited). */
  onHung: (name: string) => void;
  /** A step threw. */
  onFailed: (name: string, err: unknown) => void;
}

/**
 * Runs `steps` one after another, each bounded by `stepTimeoutMs`.
 * @returns the names of the steps that did not finish in time.
 */
export async function runShutdownSteps(steps: readonly ShutdownStep[], options: ShutdownOptions): Promise<string[]> {
  const hung: string[] = [];
  for (const step of steps) {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), options.stepTimeoutMs);
    });
    try {
      const result = await Promise.race([step.run().then(() => 'done' as const), timedOut]);
      if (result === 'timeout') {
        hung.push(step.name);
        options.onHung(step.name);
      }
    } catch (err) {
      options.onFailed(step.name, err);
    } finally {
      clearTimeout(timer);
    }
  }
  return hung;
}

/**
 * What keeps this process alive: libuv resources by type with their counts (`ProcessWrap ×1`,
 * `Timeout ×2`, from `process.getActiveResourcesInfo()`) and, on Linux, the child processes
 * still running (`child 1234: socat -d -d pty,…`).
 */
export function describeOpenResources(): string[] {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  const lines = [...counts].map(([r, n]) => `${r} ×${n}`);
  return [...lines, ...childProcesses()];
}

/** Live children of this process, from /proc (Linux); empty elsewhere. */
function childProcesses(): string[] {
  const out: string[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so split after ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      out.push(`child ${pid}: ${cmdline.slice(0, 200)}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Options of {@link armExitWatchdog}. */
export interface ExitWatchdogOptions {
  /** How long the process may take to exit once armed, ms. */
  afterMs: number;
  /** Who is exiting, for the message (`the demo`). */
  what: string;
  /** Exit status when the watchdog fires. */
  code: number;
  /** Where the message goes. @default process.stderr */
  out?: NodeJS.WritableStream;
  /** @default process.exit */
  exit?: (code: number) => void;
  /** @default describeOpenResources */
  describe?: () => string[];
}

/**
 * Arms a watchdog: unless the process has exited `afterMs` later, prints what is still open
 * and exits with `code`. Its timer is unref'd: it never keeps the process alive by itself.
 * @returns disarm.
 */
export function armExitWatchdog(options: ExitWatchdogOptions): () => void {
  const timer = setTimeout(() => {
    const open = (options.describe ?? describeOpenResources)();
    const out = options.out ?? process.stderr;
    out.write(
      `${options.what} did not exit within ${options.afterMs} ms of shutting down; still open:\n${
        open.length > 0 ? open.map((l) => `  ${l}`).join('\n') : '  (nothing reported)'
      }\nexiting with status ${options.code}\n`,
    );
    (options.exit ?? process.exit)(options.code);
  }, options.afterMs);
  timer.unref();
  return () => clearTimeout(timer);
}
