/**
 * A child process under a supervisor, as systemd would run it (`Restart=on-failure`): started
 * with `node --conditions=@posbridge/source --import tsx <script>` (../source-node.ts; the child is that node process itself, so its pid is the
 * process that serves), its pino JSON lines parsed (and appended to a log file or handed to a
 * sink), restarted when it exits on its own (unless told not to), and killable on purpose
 * (SIGKILL for the soak's faults).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SOURCE_NODE_ARGS } from '../source-node.ts';

/** Repository root (children run from there unless `cwd` says otherwise). */
export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));


/** Where a child's output lines go instead of a file. */
export interface LogSink {
  write(text: string): unknown;
}

/** A parsed log line of a child. */
export type LogLine = Record<string, unknown> & { msg?: string };

/** Options of {@link Supervised}. */
export interface SupervisedOptions {
  /** Short name for messages (`server`, `agent`). */
  name: string;
  /** Script and arguments after the source flags (`node --conditions=@posbridge/source --import tsx`) (a relative script is taken from {@link ROOT}). */
  args: string[];
  env: Record<string, string>;
  /** File every stdout/stderr line is appended to, or a sink that gets each line (newline included). */
  logFile: string | LogSink;
  /** Working directory of the child (where its relative default files land). @default ROOT */
  cwd?: string;
  /** Restart the child when it exits on its own. @default true */
  restartOnExit?: boolean;
  /** A log line meaning "ready". */
  isReady: (line: LogLine) => boolean;
  /** Ready within this many ms, or the start counts as failed (killed and retried). @default 30000 */
  readyTimeoutMs?: number;
  /** Delay before restarting after the process exited on its own. @default 300 */
  restartDelayMs?: number;
  /** Called with every parsed log line. */
  onLine?: (line: LogLine) => void;
}

/** A supervised child process. */
export class Supervised {
  readonly #o: SupervisedOptions;
  readonly #log: WriteStream | LogSink;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stopping = false;
  #killing = false;
  #ready: Promise<void> = Promise.resolve();
  /** Starts that were asked for (first start, restarts after kills, restarts after exits). */
  starts = 0;
  /** Exits the supervisor did not cause (restarted). */
  unexpectedExits = 0;
  /** Exit codes / signals of the unexpected exits. */
  readonly exitReasons: string[] = [];

  constructor(options: SupervisedOptions) {
    this.#o = options;
    this.#log = typeof options.logFile === 'string' ? createWriteStream(options.logFile, { flags: 'a' }) : options.logFile;
  }

  /** Process id of the running child, if any. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Resolves once the current child announced it is ready (restarts included). */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /** Spawns the child; resolves when it is ready. @throws Error when it does not become ready (after a few tries). */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        this.#spawn();
        await this.#ready;
        return;
      } catch (err) {
        if (attempt >= 5 || this.#stopping) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  #spawn(): void {
    this.starts++;
    this.#log.write(`--- ${this.#o.name} start #${this.starts} at ${new Date().toISOString()}\n`);
    const [script, ...rest] = this.#o.args;
    const child = spawn(process.execPath, [...SOURCE_NODE_ARGS, ...(script === undefined ? [] : [resolve(ROOT, script)]), ...rest], {
      cwd: this.#o.cwd ?? ROOT,
      env: { ...process.env, ...this.#o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    let markReady: () => void = () => undefined;
    let failReady: (err: Error) => void = () => undefined;
    this.#ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    this.#ready.catch(() => undefined);
    const timer = setTimeout(() => {
      failReady(new Error(`${this.#o.name} not ready within ${this.#o.readyTimeoutMs ?? 30_000} ms`));
      child.kill('SIGKILL');
    }, this.#o.readyTimeoutMs ?? 30_000);
    createInterface({ input: child.stdout! }).on('line', (text) => {
      this.#log.write(`${text}\n`);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      if (this.#o.isReady(line)) {
        clearTimeout(timer);
        markReady();
      }
      this.#o.onLine?.(line);
    });
    createInterface({ input: child.stderr! }).on('line', (text) => this.#log.write(`[stderr] ${text}\n`));
    this.#exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        failReady(new Error(`${this.#o.name} exited (${signal ?? code}) before it was ready`));
        this.#log.write(`--- ${this.#o.name} exited: ${signal ?? code}\n`);
        if (this.#child === child) this.#child = undefined;
        resolve();
        if (!this.#stopping && !this.#killing) {
          this.unexpectedExits++;
          this.exitReasons.push(String(signal ?? code));
          if (this.#o.restartOnExit === false) return;
          setTimeout(() => {
            if (!this.#stopping && !this.#killing && this.#child === undefined) this.#spawn();
          }, this.#o.restartDelayMs ?? 300);
        }
      });
    });
  }

  /**
   * SIGKILLs the child (a crash, a power cut of that process) and starts it again at once.
   * Resolves when the new child is ready.
   */
  async crashAndRestart(): Promise<void> {
    await this.crash();
    await this.start();
  }

  /**
   * SIGKILLs the child and leaves it down (no restart) until {@link start} is called again:
   * what happens while a process is dead. Resolves once it exited.
   */
  async crash(): Promise<void> {
    this.#killing = true;
    try {
      const child = this.#child;
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await this.#exited;
      }
    } finally {
      this.#killing = false;
    }
  }

  /** Stops the child for good (SIGTERM, then SIGKILL after `graceMs`). */
  async stop(graceMs = 5000): Promise<void> {
    this.#stopping = true;
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.kill('SIGTERM');
      await this.#exited;
      clearTimeout(timer);
    }
    const log = this.#log;
    if ('end' in log) await new Promise<void>((resolve) => log.end(() => resolve()));
  }
}
