/**
 * The cluster on one machine (`npm run stack -- --instances N`, issue 12 item 7): a PostgreSQL
 * server (throwaway, or the one at `POSBRIDGE_DATABASE_URL`), a NATS server (throwaway, or
 * `POSBRIDGE_NATS_URL`), N posbridge server processes on loopback ports sharing both, the
 * simulator with its terminal on a pseudo-terminal (in this process), and ONE terminal agent
 * process that knows every instance's hub URL and connects to one of them.
 *
 * Every server and the agent is a child `node` process running the package's own entry
 * (`server/src/cli-main.ts run`, `terminal-agent/src/cli.ts run`), so each pid is the process that
 * serves: SIGKILL of it kills that instance. Children run in the stack's temporary folder, which
 * also holds the agent's journal; `close()` stops everything and removes it.
 *
 * ```
 *  PostgreSQL ◀──┬── server 0 (PPP + hub) ◀──┐
 *  NATS       ◀──┼── server 1 (PPP + hub) ◀──┼──ws── agent ══serial (pty)══ simulator SIM0001
 *                └── server N-1           ◀──┘   (POSBRIDGE_SERVER_URL = every hub URL)
 * ```
 * @see docs/testing.md (the cluster stack), docs/deployment.md (the topology it reproduces)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { startSim, type RunningSim } from '@posbridge/hardware-sim';
import { CONSOLE_PATH, issueApiToken, issueProviderCredentials, openStore } from '@posbridge/server';
import { LOOPBACK_CALLBACK_HOSTS, STACK_GIFTCARD_MERCHANT, type StackGiftCardProvider } from './local-stack.ts';
import { psql } from './psql.ts';
import { startNats, startPostgres, type ThrowawayNats, type ThrowawayPostgres } from './services.ts';
import { runShutdownSteps, type ShutdownStep } from './shutdown.ts';
import { ROOT, Supervised, type LogLine, type LogSink } from './soak/supervised.ts';
import { SOURCE_NODE_ARGS } from './source-node.ts';

/** Options of {@link startClusterStack}. */
export interface ClusterStackOptions {
  logger: Logger;
  /** Server instances, ≥ 2. */
  instances: number;
  /** Serial number of the simulated terminal. @default "SIM0001" */
  serialNumber?: string;
  /** Simulator think time between terminal stages, ms. @default 250 */
  stepDelayMs?: number;
  /** An existing PostgreSQL database to use (its schema is migrated). Default: a throwaway server. */
  databaseUrl?: string;
  /** An existing NATS server. Default: a throwaway one. */
  natsUrl?: string;
  /** Base of the submitUrls every instance mints. @default instance 0's URL */
  publicUrl?: string;
  /** Callback hosts allowed besides loopback (`POSBRIDGE_CALLBACK_ALLOW_HOSTS` syntax). */
  callbackAllowHosts?: string;
  /** Ports of the instances (0 = any free port). @default all 0 */
  ports?: readonly number[];
  /** More environment for every server instance (timings of the soak and the bench). `LOG_LEVEL` must stay `info` or lower: readiness is read from the logs. */
  serverEnv?: Record<string, string>;
  /** More environment for the agent (its timing knobs, `POSBRIDGE_<KNOB>`). */
  agentEnv?: Record<string, string>;
  /** Where the children's log lines go. @default this process's stderr */
  logSink?: LogSink;
  /** How long each child has to become ready, ms. @default 30000 */
  readyTimeoutMs?: number;
  /** Longest wait for each shutdown step, ms. @default 5000 */
  closeStepTimeoutMs?: number;
  /** Aborting it during start-up stops what was started and rejects (a SIGTERM of `npm run stack` before it is ready). */
  signal?: AbortSignal;
}

/** What one instance's `GET /healthz` said. */
export interface InstanceHealth {
  instanceId: string;
  agentsConnected: number;
}

/** One server instance of the cluster. */
export interface ClusterInstance {
  readonly index: number;
  /** `http://127.0.0.1:<port>`. */
  readonly pppBaseUrl: string;
  /** `ws://127.0.0.1:<port>/agent/v1`. */
  readonly hubUrl: string;
  readonly port: number;
  /** Pid of the running server process (undefined while it is down). */
  pid(): number | undefined;
  /** SIGKILLs it and leaves it down. */
  crash(): Promise<void>;
  /** Starts it again on the same port (after {@link crash}); resolves when it listens. */
  start(): Promise<void>;
  /** Its `GET /healthz`, or undefined when it does not answer (down) within 2 s. @throws Error when it answers without `instanceId`/`agentsConnected`. */
  health(): Promise<InstanceHealth | undefined>;
}

/** A running cluster stack. */
export interface ClusterStack {
  /** Instance 0's URL (the PPP base URL a gateway is configured with). */
  pppBaseUrl: string;
  appKey: string;
  appToken: string;
  /** An admin API token with role `operator` (docs/admin-api.md). */
  adminToken: string;
  /** Instance 0's operations console: `<pppBaseUrl>/console/`. */
  consoleUrl: string;
  callbackAppKey: string;
  callbackAppToken: string;
  /** The Gift Card Provider of the stack's merchant on instance 0 (every instance serves it), with an empty ledger. */
  giftcard: StackGiftCardProvider;
  terminals: { serialNumber: string; path: string }[];
  instances: ClusterInstance[];
  agent: Supervised;
  sim: RunningSim;
  /** The simulator's control interface (`GET /terminals/SIM0001/sales`: sales and charges per reference). */
  simControlUrl: string;
  /** The database every instance uses. */
  databaseUrl: string;
  natsUrl: string;
  /** The throwaway servers, when the stack started them (the soak restarts them). */
  postgres?: ThrowawayPostgres;
  nats?: ThrowawayNats;
  /** Temporary folder (agent journal, pty links, children's working directory). */
  dir: string;
  /** Sum of `agentsConnected` over the instances that answer. */
  agentsConnected(): Promise<number>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a script of the repository (`node --conditions=@posbridge/source --import tsx`) to completion in `cwd`. @returns its exit code and output. */
function runScript(args: string[], env: Record<string, string>, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [script, ...rest] = args;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...SOURCE_NODE_ARGS, resolve(ROOT, script ?? ''), ...rest], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', fail);
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

/**
 * Reads `/healthz` of `baseUrl`. @returns undefined when nothing answers within 2 s.
 * @throws Error when it answers without the cluster fields (`instanceId`, integer `agentsConnected`).
 */
export async function instanceHealth(baseUrl: string): Promise<InstanceHealth | undefined> {
  let body: unknown;
  try {
    const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
    body = await res.json();
  } catch {
    return undefined;
  }
  const b = body as Record<string, unknown>;
  if (typeof b['instanceId'] !== 'string' || !Number.isInteger(b['agentsConnected'])) {
    throw new Error(`GET ${baseUrl}/healthz answered ${JSON.stringify(body)}: no instanceId/agentsConnected (the server has no cluster presence)`);
  }
  return { instanceId: b['instanceId'], agentsConnected: b['agentsConnected'] as number };
}

/**
 * Starts the cluster and resolves once the agent is connected (the sum of `agentsConnected` over
 * the instances' `/healthz` is ≥ 1) and its terminal accepted.
 * @throws Error when `instances` < 2, a program is missing (PostgreSQL, nats-server, socat), a
 *   child does not become ready, or an instance does not run on PostgreSQL; whatever was started
 *   is stopped and the folder removed first.
 */
export async function startClusterStack(options: ClusterStackOptions): Promise<ClusterStack> {
  const { logger } = options;
  const n = options.instances;
  if (!Number.isInteger(n) || n < 2 || n > 16) throw new Error(`instances must be an integer 2–16, got ${n}`);
  const serialNumber = options.serialNumber ?? 'SIM0001';
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const dir = await mkdtemp(join(tmpdir(), 'posbridge-cluster-'));
  const appKey = 'vtexappkey-posbridge-cluster';
  const appToken = randomBytes(24).toString('base64url');
  const callbackAppKey = 'vtexappkey-partner-cluster';
  const callbackAppToken = randomBytes(24).toString('base64url');
  const stderrSink: LogSink = { write: (t: string) => process.stderr.write(t) };
  const sink = options.logSink ?? stderrSink;
  // Children's JSON lines pass through as they are; the supervisor's own notes become JSON too.
  const sinkOf = (child: string): LogSink => ({
    write: (text: string) => {
      const line = text.trimEnd();
      sink.write(line.startsWith('{') ? `${line}\n` : `${JSON.stringify({ level: 30, time: Date.now(), child, msg: line })}\n`);
    },
  });

  const cleanups: ShutdownStep[] = [{ name: 'temporary folder', run: () => rm(dir, { recursive: true, force: true }) }];
  const stepTimeoutMs = options.closeStepTimeoutMs ?? 5_000;
  const close = async () => {
    await runShutdownSteps(cleanups.splice(0).reverse(), {
      stepTimeoutMs,
      onHung: (step) => logger.warn({ step, stepTimeoutMs }, 'cluster stack: shutdown step did not finish in time; going on'),
      onFailed: (step, err) => logger.warn({ step, err }, 'cluster stack: cleanup step failed'),
    });
  };

  const step = () => options.signal?.throwIfAborted();
  try {
    step();
    let postgres: ThrowawayPostgres | undefined;
    let databaseUrl = options.databaseUrl;
    if (databaseUrl === undefined) {
      const pg = await startPostgres();
      postgres = pg;
      cleanups.push({ name: 'PostgreSQL', run: () => pg.stop() });
      await psql(pg.url, 'CREATE DATABASE posbridge');
      databaseUrl = pg.urlOf('posbridge');
    }
    step();
    let nats: ThrowawayNats | undefined;
    let natsUrl = options.natsUrl;
    if (natsUrl === undefined) {
      const bus = await startNats();
      nats = bus;
      cleanups.push({ name: 'NATS', run: () => bus.stop() });
      natsUrl = bus.url;
    }
    step();
    logger.info({ postgres: postgres ? 'throwaway' : 'POSBRIDGE_DATABASE_URL', nats: nats ? 'throwaway' : 'POSBRIDGE_NATS_URL', instances: n }, 'cluster stack: database and bus up');

    const serverEnv: Record<string, string> = {
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info',
      POSBRIDGE_DATABASE_URL: databaseUrl,
      POSBRIDGE_NATS_URL: natsUrl,
      // The submit-token key: the same on every instance, so a submitUrl minted by one works on all.
      POSBRIDGE_SUBMIT_SECRET: randomBytes(32).toString('base64url'),
      POSBRIDGE_APP_KEY: appKey,
      POSBRIDGE_APP_TOKEN: appToken,
      POSBRIDGE_CALLBACK_APP_KEY: callbackAppKey,
      POSBRIDGE_CALLBACK_APP_TOKEN: callbackAppToken,
      POSBRIDGE_CALLBACK_ALLOW_HOSTS: [LOOPBACK_CALLBACK_HOSTS, options.callbackAllowHosts ?? ''].filter((h) => h !== '').join(','),
      ...options.serverEnv,
    };

    // The schema first (instances also migrate under an advisory lock; this makes failures plain).
    // A build without the command (usage error, 2) leaves it to the store's open.
    const migrated = await runScript(['server/src/cli-main.ts', 'migrate'], serverEnv, dir);
    if (migrated.code === 2) logger.warn({ output: (migrated.stderr || migrated.stdout).slice(0, 300) }, 'cluster stack: no `posbridge-server migrate`; the store migrates when opened');
    else if (migrated.code !== 0) throw new Error(`posbridge-server migrate exited ${migrated.code}: ${(migrated.stderr || migrated.stdout).trim()}`);
    // The agent's token, issued once by the server's own CLI on the shared database.
    const added = await runScript(['server/src/cli-main.ts', 'agent', 'add', '--name', 'cluster-stack-agent'], serverEnv, dir);
    const token = /token:\s+(\S+)/.exec(added.stdout)?.[1];
    if (added.code !== 0 || token === undefined) throw new Error(`posbridge-server agent add failed (${added.code}): ${(added.stderr || added.stdout).trim()}`);
    step();

    const instances: ClusterInstance[] = [];
    const startInstance = async (index: number, publicUrl: string | undefined): Promise<ClusterInstance> => {
      // Mutated once the port is known, so a restart comes back on the same port.
      const env: Record<string, string> = { ...serverEnv, PORT: String(options.ports?.[index] ?? 0), ...(publicUrl !== undefined ? { POSBRIDGE_PUBLIC_URL: publicUrl } : {}) };
      let listening: LogLine | undefined;
      const child = new Supervised({
        name: `server-${index}`,
        args: ['server/src/cli-main.ts', 'run'],
        env,
        cwd: dir,
        restartOnExit: false,
        logFile: sinkOf(`server-${index}`),
        readyTimeoutMs,
        isReady: (l) => l.msg === 'server listening',
        onLine: (l) => {
          if (l.msg === 'server listening') listening = l;
        },
      });
      cleanups.push({ name: `server ${index}`, run: () => child.stop() });
      await child.start();
      const url = String(listening?.['url'] ?? '');
      const port = Number(/:(\d+)$/.exec(url)?.[1]);
      if (!Number.isInteger(port) || port <= 0) throw new Error(`server ${index} announced no port: ${JSON.stringify(listening)}`);
      const store = String(listening?.['store'] ?? '');
      if (!/postgres|^pg$/i.test(store)) {
        throw new Error(`server ${index} runs on store "${store}", not PostgreSQL: this server build does not take POSBRIDGE_DATABASE_URL`);
      }
      env['PORT'] = String(port);
      const pppBaseUrl = `http://127.0.0.1:${port}`;
      return {
        index,
        pppBaseUrl,
        hubUrl: `ws://127.0.0.1:${port}/agent/v1`,
        port,
        pid: () => child.pid,
        crash: () => child.crash(),
        start: () => child.start(),
        health: () => instanceHealth(pppBaseUrl),
      };
    };
    // Instance 0 first: its URL is everyone's public URL unless one is given.
    const first = await startInstance(0, options.publicUrl);
    instances.push(first);
    step();
    // Test Suite mode on for the stack's merchant (bootstrapped by instance 0), as in the
    // single-instance stack (docs/homologation.md): suite requests run on its virtual terminal.
    let giftcard: StackGiftCardProvider | undefined;
    let adminToken = '';
    const shared = await openStore({ storeKind: 'postgres', dbPath: '', databaseUrl, dbPoolMax: 1 });
    try {
      const merchant = await shared.findMerchantByAppKey(appKey);
      if (!merchant) throw new Error('cluster stack: instance 0 did not record the bootstrap merchant');
      await shared.setMerchantTestSuite({ merchantId: merchant.merchantId, on: true, actor: 'cluster-stack', at: Date.now() });
      const provider = await issueProviderCredentials(shared, STACK_GIFTCARD_MERCHANT, Date.now());
      giftcard = { serviceUrl: `${first.pppBaseUrl}/giftcard-provider/${STACK_GIFTCARD_MERCHANT}`, appKey: provider.appKey, appToken: provider.appToken };
      // An operator's token of the admin API (docs/admin-api.md), on the shared database.
      adminToken = (await issueApiToken(shared, { label: 'cluster-stack', role: 'operator', merchantId: null, userId: null, now: Date.now(), expiresAt: null })).token;
    } finally {
      await shared.close();
    }
    if (giftcard === undefined) throw new Error('cluster stack: no gift card provider credentials were issued');
    const publicUrl = options.publicUrl ?? first.pppBaseUrl;
    instances.push(...(await Promise.all(Array.from({ length: n - 1 }, (_, i) => startInstance(i + 1, publicUrl)))));
    logger.info({ instances: instances.map((i) => ({ pppBaseUrl: i.pppBaseUrl, pid: i.pid() })) }, 'cluster stack: instances listening');
    step();

    // The control interface lets a client read the terminal's sales (double charges) from outside.
    const sim = await startSim({ terminals: [{ serialNumber }], logger, dir, link: 'pty', stepDelayMs: options.stepDelayMs ?? 250, controlPort: 0 });
    cleanups.push({ name: 'simulator', run: () => sim.close() });
    const terminal = sim.terminals[0];
    if (terminal?.link !== 'pty') throw new Error('the cluster stack needs the simulator on a pty (install socat)');

    const agent = new Supervised({
      name: 'agent',
      args: ['terminal-agent/src/cli.ts', 'run'],
      env: {
        LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info',
        POSBRIDGE_SERVER_URL: instances.map((i) => i.hubUrl).join(','),
        POSBRIDGE_AGENT_TOKEN: token,
        POSBRIDGE_TERMINAL_PORT: terminal.path,
        POSBRIDGE_JOURNAL: join(dir, 'agent-journal.sqlite'),
        // A lost instance is noticed at once (its socket closes); the next hub is tried soon.
        POSBRIDGE_RECONNECT_BASE_MS: '200',
        POSBRIDGE_RECONNECT_CAP_MS: '2000',
        ...options.agentEnv,
      },
      cwd: dir,
      restartOnExit: false,
      logFile: sinkOf('agent'),
      readyTimeoutMs,
      isReady: (l) => l.msg === 'agent ready',
    });
    cleanups.push({ name: 'agent', run: () => agent.stop() });
    await agent.start();
    step();

    const agentsConnected = async () => {
      const answers = await Promise.all(instances.map((i) => i.health()));
      return answers.reduce((sum, h) => sum + (h?.agentsConnected ?? 0), 0);
    };
    const until = Date.now() + readyTimeoutMs;
    while ((await agentsConnected()) < 1) {
      step();
      if (Date.now() > until) throw new Error(`the agent is ready but no instance counts it in /healthz agentsConnected within ${readyTimeoutMs} ms`);
      await sleep(100);
    }

    return {
      pppBaseUrl: first.pppBaseUrl,
      appKey,
      appToken,
      adminToken,
      consoleUrl: `${first.pppBaseUrl}${CONSOLE_PATH}/`,
      callbackAppKey,
      callbackAppToken,
      giftcard,
      terminals: [{ serialNumber, path: terminal.path }],
      instances,
      agent,
      sim,
      simControlUrl: sim.controlUrl ?? '',
      databaseUrl,
      natsUrl,
      ...(postgres ? { postgres } : {}),
      ...(nats ? { nats } : {}),
      dir,
      agentsConnected,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
