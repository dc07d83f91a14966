/**
 * Starting and measuring a benchmark child process: reads its first stdout JSON line, samples
 * its resident memory and CPU time from /proc (Linux), and stops it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A started child and what it announced on its first stdout line. */
export interface Child<T> {
  process: ChildProcess;
  ready: T;
  /** Milliseconds from spawn to the ready line. */
  startupMs: number;
  stop(): Promise<void>;
}

/**
 * Spawns `node --import tsx <script> ...args` from the repository root (plain `node <script>`
 * when `script` is compiled JavaScript, `.js`) and waits for its first stdout line that parses
 * as JSON and satisfies `isReady`. `nodeArgs` go on node's command line before the script (V8
 * flags such as those of a bin's shebang).
 * @throws Error when it exits first or `timeoutMs` passes (with its stderr).
 */
export function startChild<T>(
  script: string,
  args: string[],
  options: {
    env?: Record<string, string>;
    timeoutMs?: number;
    isReady?: (line: Record<string, unknown>) => boolean;
    nodeArgs?: string[];
  } = {},
): Promise<Child<T>> {
  const started = performance.now();
  const loader = script.endsWith('.ts') ? ['--conditions=@posbridge/source', '--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...loader, ...profileArgs(), script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => {
    stderr.push(l);
    if (stderr.length > 50) stderr.shift();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} not ready in time:\n${stderr.join('\n')}`));
    }, options.timeoutMs ?? 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}:\n${stderr.join('\n')}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (options.isReady && !options.isReady(parsed)) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        process: child,
        ready: parsed as T,
        startupMs: performance.now() - started,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
          }),
      });
    });
  });
}

/**
 * `--cpu-prof` arguments when `BENCH_CPU_PROF_DIR` names a directory: every benchmark child
 * then writes a V8 CPU profile there when it exits (open it in Chrome DevTools or speedscope).
 */
function profileArgs(): string[] {
  const dir = process.env['BENCH_CPU_PROF_DIR'];
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : [];
}

/** Resident set size of a process, bytes (from /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : Number.NaN;
}

/** User + system CPU time a process has used, milliseconds (from /proc/<pid>/stat). */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}
