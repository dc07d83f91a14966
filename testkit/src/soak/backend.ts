/**
 * The server side of a soak run, behind one interface so the same gateway, agent, faults and
 * invariants (./run.ts) drive either one server on SQLite (this module) or a cluster of
 * instances on PostgreSQL and NATS (./cluster-backend.ts).
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve as resolvePath } from 'node:path';
import sqlite3 from 'sqlite3';
import type { FaultKind } from './plan.ts';
import { ROOT, Supervised } from './supervised.ts';
import { SOURCE_NODE_ARGS } from '../source-node.ts';

/** The server's records of a run, read back after it stopped. */
export interface ServerRecords {
  /** Every payment and its state. */
  payments: { payment_id: string; state: string }[];
  /** Payments that passed through `unknown`. */
  unknown: { payment_id: string }[];
  /** The callback outbox. */
  outbox: { payment_id: string; status: string; attempts: number }[];
}

/** The server side of a soak run. */
export interface SoakBackend {
  /** PPP base URLs; the gateway spreads its calls over them (and binds through them in turn). */
  readonly pppBaseUrls: readonly string[];
  /** The hub port of each instance; the agent reaches each through a TCP proxy of the soak. */
  readonly hubPorts: readonly number[];
  readonly appKey: string;
  readonly appToken: string;
  /** The agent's token (issued by the server's CLI on the run's database). */
  readonly agentToken: string;
  /** Acts a process fault of the server side; resolves once it is over. @returns false when `kind` is not one of this backend's. */
  inject(kind: FaultKind): Promise<boolean>;
  /** Restarts so far, for the progress line (`server 2` or `instances 1/0/2, postgres 1, nats 1`). */
  restarts(): string;
  /** Exits of server processes the soak did not cause. */
  unexpectedExits(): string[];
  /** Stops the server processes (SIGTERM). */
  stop(): Promise<void>;
  /** Reads the records back (after {@link stop}). */
  readBack(): Promise<ServerRecords>;
  /** Removes what {@link stop} left (throwaway database servers). Idempotent. */
  close(): Promise<void>;
}

/** Server timings of every soak: short, so recovery paths take seconds. */
export const SOAK_SERVER_TIMINGS: Readonly<Record<string, string>> = {
  LOG_LEVEL: 'info',
  POSBRIDGE_DISPATCH_RESEND_MS: '300',
  POSBRIDGE_HEARTBEAT_INTERVAL_MS: '1000',
  POSBRIDGE_CALLBACK_TIMEOUT_MS: '1000',
  POSBRIDGE_CALLBACK_BASE_DELAY_MS: '100',
  POSBRIDGE_CALLBACK_MAX_DELAY_MS: '1000',
  POSBRIDGE_CALLBACK_POLL_MS: '100',
  POSBRIDGE_DEADLINE_POLL_MS: '500',
};

/** Merchant and partner credentials of a soak run (fresh tokens). */
export function soakCredentials(): Record<string, string> {
  return {
    POSBRIDGE_APP_KEY: 'vtexappkey-soak',
    POSBRIDGE_APP_TOKEN: randomBytes(18).toString('base64url'),
    POSBRIDGE_CALLBACK_APP_KEY: 'vtexappkey-partner-soak',
    POSBRIDGE_CALLBACK_APP_TOKEN: randomBytes(18).toString('base64url'),
    POSBRIDGE_CALLBACK_ALLOW_HOSTS: '127.0.0.1', // the fake gateway's callback receiver
  };
}

/** A free loopback port (closed again). */
export async function freeLoopbackPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * Runs a repository script (`node --conditions=@posbridge/source --import tsx`, script relative to the repository) to
 * completion in `cwd`; resolves with its stdout. @throws Error on a non-zero exit (with its stderr and `exitCode`).
 */
export function runToEnd(args: string[], env: Record<string, string>, cwd = ROOT): Promise<string> {
  const [script, ...rest] = args;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SOURCE_NODE_ARGS, resolvePath(ROOT, script ?? ''), ...rest], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(Object.assign(new Error(`${args.join(' ')} exited ${code}: ${err}`), { exitCode: code }))));
  });
}

/** Issues the soak agent's token with the server's own CLI. @throws Error when it prints none. */
export async function issueSoakAgentToken(env: Record<string, string>, extraArgs: string[] = [], cwd = ROOT): Promise<string> {
  const added = await runToEnd(['server/src/cli-main.ts', 'agent', 'add', '--name', 'soak-agent', ...extraArgs], env, cwd);
  const token = /token:\s+(\S+)/.exec(added)?.[1];
  if (!token) throw new Error(`agent add printed no token: ${added}`);
  return token;
}

/** Every row of a query on an SQLite file (opened read-only). */
export function queryAll<T>(file: string, sql: string): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (openErr) => {
      if (openErr) return reject(openErr);
      db.all(sql, [], (err, rows) => {
        db.close();
        if (err) reject(err);
        else resolve(rows as T[]);
      });
    });
  });
}

/** The SQL of {@link ServerRecords}, the same on SQLite and PostgreSQL. */
export const RECORDS_SQL = {
  payments: 'SELECT payment_id, state FROM payments',
  unknown: "SELECT DISTINCT payment_id FROM payment_events WHERE to_state = 'unknown'",
  outbox: 'SELECT payment_id, status, attempts FROM callback_outbox',
} as const;

/**
 * One server process on an SQLite file in `dir`, supervised (restarted when it exits on its
 * own); `server-kill` SIGKILLs and restarts it.
 */
export async function startSingleBackend(dir: string): Promise<SoakBackend> {
  const dbPath = join(dir, 'server.sqlite');
  const credentials = soakCredentials();
  const serverEnv = { POSBRIDGE_DB: dbPath, ...credentials };
  const agentToken = await issueSoakAgentToken(serverEnv, ['--db', dbPath]);
  const port = await freeLoopbackPort();
  const server = new Supervised({
    name: 'server',
    args: ['server/src/cli-main.ts', 'run'],
    env: { ...serverEnv, ...SOAK_SERVER_TIMINGS, PORT: String(port), HOST: '127.0.0.1', POSBRIDGE_PUBLIC_URL: `http://127.0.0.1:${port}` },
    logFile: join(dir, 'server.log'),
    isReady: (l) => l.msg === 'server listening',
  });
  try {
    await server.start();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    pppBaseUrls: [`http://127.0.0.1:${port}`],
    hubPorts: [port],
    appKey: credentials['POSBRIDGE_APP_KEY']!,
    appToken: credentials['POSBRIDGE_APP_TOKEN']!,
    agentToken,
    inject: async (kind) => {
      if (kind !== 'server-kill') return false;
      await server.crashAndRestart();
      return true;
    },
    restarts: () => `server ${server.starts - 1}`,
    unexpectedExits: () => [...server.exitReasons],
    stop: () => server.stop(),
    readBack: async () => ({
      payments: await queryAll(dbPath, RECORDS_SQL.payments),
      unknown: await queryAll(dbPath, RECORDS_SQL.unknown),
      outbox: await queryAll(dbPath, RECORDS_SQL.outbox),
    }),
    close: () => server.stop(),
  };
}
