/**
 * Throwaway PostgreSQL and NATS servers for tests, the cluster stack and the soak: real servers
 * from Debian's packages (`postgresql`, `nats-server`), each in its own temporary directory on a
 * free loopback port, removed again by `stop()`.
 *
 * PostgreSQL refuses to run as root: when this process is root, `initdb` and `postgres` run as
 * the `postgres` user the Debian package creates (through `runuser`), and the data directory is
 * handed to that user. The cluster is initialised with `trust` authentication on loopback only
 * and `fsync=off` (a throwaway test cluster: a machine crash loses it anyway).
 *
 * Binaries: `POSBRIDGE_PG_BINDIR` (a directory with `initdb`, `pg_ctl`, `postgres`), else the
 * newest `/usr/lib/postgresql/<major>/bin`; `POSBRIDGE_NATS_SERVER`, else `nats-server` on PATH
 * or `/usr/sbin/nats-server`.
 *
 * @see docs/testing.md
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOnPath } from './system-programs.ts';

/** True when `path` is an executable file. */
function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The directory holding PostgreSQL's server binaries (`initdb`, `pg_ctl`, `postgres`), or undefined. */
export function postgresBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env['POSBRIDGE_PG_BINDIR'];
  const has = (dir: string) => ['initdb', 'pg_ctl', 'postgres'].every((b) => isExecutable(join(dir, b)));
  if (configured !== undefined && configured !== '') return has(configured) ? configured : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const major of majors) {
    const dir = join(root, major, 'bin');
    if (has(dir)) return dir;
  }
  return undefined;
}

/** The `nats-server` binary, or undefined. */
export function natsServerPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env['POSBRIDGE_NATS_SERVER'];
  if (configured !== undefined && configured !== '') return isExecutable(configured) ? configured : undefined;
  return findOnPath('nats-server', env['PATH']) ?? (isExecutable('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : undefined);
}

/** A free TCP port on 127.0.0.1 (closed again; a race with another process is possible but rare). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. @throws Error after `timeoutMs`. */
async function waitForPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`${what} did not accept connections on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs `cmd args` (as the `postgres` user when root). @throws Error with its output when it fails. */
function runPg(cmd: string, args: readonly string[]): void {
  const [file, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, [...args]];
  const result = spawnSync(file, argv, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr || result.stdout}`);
  }
}

/** A running throwaway PostgreSQL server. */
export interface ThrowawayPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  readonly url: string;
  readonly port: number;
  /** The data directory (removed by {@link stop}). */
  readonly dataDir: string;
  /** A connection URL of database `name` on this server (create it first). */
  urlOf(name: string): string;
  /** Stops the server abruptly (`pg_ctl stop -m immediate`, as a crash), keeping the data. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same data (after {@link kill}). */
  start(): Promise<void>;
  /** Stops it and removes the data directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Initialises and starts a PostgreSQL cluster in a new temporary directory on a free port.
 * @throws Error when the binaries are missing ({@link postgresBinDir}) or the server does not start.
 */
export async function startPostgres(options: { readonly env?: NodeJS.ProcessEnv } = {}): Promise<ThrowawayPostgres> {
  const bin = postgresBinDir(options.env);
  if (bin === undefined) throw new Error('PostgreSQL server binaries not found (Debian package "postgresql"; or set POSBRIDGE_PG_BINDIR)');
  const dir = mkdtempSync(join(tmpdir(), 'posbridge-pg-'));
  const dataDir = join(dir, 'data');
  if (isRoot()) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (id.status !== 0) throw new Error('running as root and there is no "postgres" user (install the Debian package "postgresql")');
    chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
  }
  const port = await freePort();
  runPg(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  writeFileSync(join(dir, 'README'), 'throwaway PostgreSQL cluster of a posbridge test (testkit/src/services.ts)\n');
  const pgCtl = join(bin, 'pg_ctl');
  const logFile = join(dir, 'server.log');
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`;
  const start = async (): Promise<void> => {
    runPg(pgCtl, ['-D', dataDir, '-l', logFile, '-o', opts, '-w', '-t', '30', 'start']);
    await waitForPort(port, 10_000, 'PostgreSQL');
  };
  await start();
  let running = true;
  let stopped = false;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    dataDir,
    urlOf: (name) => `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`,
    kill: async () => {
      if (!running) return;
      runPg(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      running = false;
    },
    start: async () => {
      if (running) return;
      await start();
      running = true;
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (running) {
        try {
          runPg(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
        } catch {
          // Already gone: the directory goes anyway.
        }
      }
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A running throwaway NATS server. */
export interface ThrowawayNats {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The server process's pid while running. */
  readonly pid: () => number | undefined;
  /** SIGKILLs the server (a crash). */
  kill(): Promise<void>;
  /** Starts it again on the same port (after {@link kill}). */
  start(): Promise<void>;
  /** Stops it. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `nats-server` on a free loopback port (no JetStream, no auth: a test bus).
 * @throws Error when the binary is missing ({@link natsServerPath}) or it does not start.
 */
export async function startNats(options: { readonly env?: NodeJS.ProcessEnv } = {}): Promise<ThrowawayNats> {
  const bin = natsServerPath(options.env);
  if (bin === undefined) throw new Error('nats-server not found (Debian package "nats-server"; or set POSBRIDGE_NATS_SERVER)');
  const port = await freePort();
  let child: ChildProcess | undefined;
  let stopped = false;
  const start = async (): Promise<void> => {
    if (child !== undefined) return;
    const proc = spawn(bin, ['-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    proc.once('exit', () => {
      if (child === proc) child = undefined;
    });
    child = proc;
    try {
      await waitForPort(port, 10_000, 'nats-server');
    } catch (err) {
      proc.kill('SIGKILL');
      throw new Error(`${(err as Error).message}: ${stderr}`, { cause: err });
    }
  };
  const kill = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    pid: () => child?.pid,
    kill,
    start,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await kill();
    },
  };
}
