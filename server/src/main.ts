/**
 * The server process: load config → compose (./compose.ts wires everything) → listen → signals.
 * {@link startServer} listens on what {@link buildServer} built; {@link runServerProcess} adds the
 * process concerns (root logger, signals, exit codes). This is the only module that listens or
 * handles signals.
 *
 * @see ../README.md (configuration), ../../docs/architecture.md
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { isCodedError } from '@posbridge/protocol/errors';
import type { HostResolver } from './callbacks/callback-url-policy.ts';
import { buildServer } from './compose.ts';
import { redactUrlPasswords } from '@posbridge/protocol/redaction';
import { loadServerConfig, redactConfig, unknownServerSettings, type ServerConfig } from './config.ts';
import type { IssuedAgentToken } from './hub/agent-tokens.ts';
import { createRootLogger } from './logger.ts';
import type { AgentHub } from './hub/agent-hub.ts';
import type { AgentEnrolment } from './enrolment/enrolment-service.ts';
import type { PaymentService } from './payments/payment-service.ts';
import type { AgentCommandsPort } from './ports/agent-commands.ts';
import type { PaymentStore } from './ports/index.ts';

/** A started server. */
export interface RunningServer {
  /** `http://127.0.0.1:<port>` (or `http://<host>:<port>` for a specific host), actual port when config.port = 0. */
  readonly url: string;
  /** The port actually bound. */
  readonly port: number;
  /** Base of submitUrls (config.publicUrl, or `url`). */
  readonly publicUrl: string;
  /** Creates an agent (of the bootstrap merchant's default store unless `storeId`), stores only sha256(token), returns the token once. */
  issueAgentToken(agentName: string, storeId?: string): Promise<IssuedAgentToken>;
  /** The payment use cases (tests drive deadlines through `expireDue`). */
  readonly service: PaymentService;
  /** The store (tests, later admin endpoints). */
  readonly store: PaymentStore;
  /** The agent-command log (tests, support). */
  readonly commands: AgentCommandsPort;
  /** The agent hub (presence of this instance: tests, status). */
  readonly hub: AgentHub;
  /** Pairing codes, token rotation and revocation (docs/agent-enrolment.md). */
  readonly enrolment: AgentEnrolment;
  /** Stops HTTP, closes agent sockets, drains the callback worker, closes the store. Idempotent. */
  close(): Promise<void>;
  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link startServer}. */
export interface StartServerOptions {
  readonly config: ServerConfig;
  readonly logger: Logger;
  /** Clock of payments, deadlines and callbacks, ms since epoch (tests inject one). @default Date.now */
  readonly now?: () => number;
  /** Don't poll deadlines (tests call `service.expireDue` with their clock). @default false */
  readonly manualDeadlines?: boolean;
  /**
   * Resolves callback hosts for the host policy, at Create Payment and at delivery (tests
   * inject one). @default the system's DNS
   */
  readonly resolveCallbackHost?: HostResolver;
  /**
   * Wraps the agent-command log the hub delivers from (the use cases write rows through the
   * store's transactions, untouched). Tests use it to stop delivery at the port boundary.
   * @default the store's log as is
   */
  readonly agentCommands?: (commands: AgentCommandsPort) => AgentCommandsPort;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Builds the server from `config` (./compose.ts: opens and migrates the store, wires every
 * component) and listens on `config.host:config.port`.
 *
 * @throws CodedError `CFG_INVALID` for an unknown `POSBRIDGE_STORE`; `STORE_FAILED` when the
 *   database cannot be opened; the listen error (e.g. `EADDRINUSE`) when the port is taken
 *   (everything built is closed again).
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { config, logger } = options;
  const log = logger.child({ component: 'server' });
  const composed = await buildServer({
    config,
    logger,
    ...(options.now ? { clock: options.now } : {}),
    ...(options.manualDeadlines === undefined ? {} : { manualDeadlines: options.manualDeadlines }),
    ...(options.resolveCallbackHost ? { resolveCallbackHost: options.resolveCallbackHost } : {}),
    ...(options.agentCommands ? { agentCommands: options.agentCommands } : {}),
  });
  let address: AddressInfo;
  try {
    address = await listen(composed.server, config.port, config.host);
  } catch (err) {
    await composed.close().catch(() => undefined);
    throw err;
  }
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `${composed.scheme}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  const publicUrl = composed.start(address.port);
  const db = config.storeKind === 'postgres' && config.databaseUrl !== undefined ? redactUrlPasswords(config.databaseUrl) : config.dbPath;
  log.info({ url, publicUrl, db, store: config.storeKind }, 'server listening');
  return {
    url,
    port: address.port,
    publicUrl,
    store: composed.store,
    commands: composed.commands,
    hub: composed.hub,
    enrolment: composed.enrolment,
    service: composed.service,
    issueAgentToken: composed.issueAgentToken,
    close: composed.close,
    [Symbol.asyncDispose]: composed.close,
  };
}

/** Streams the process entry writes to (injectable for tests). */
export interface ProcessIo {
  readonly stderr: { write(text: string): unknown };
}

/**
 * Runs the server as a process: loads config, creates the root logger, starts, and closes on
 * SIGTERM/SIGINT (a second signal exits at once).
 *
 * @returns the running server (the process stays alive on its sockets).
 * @throws nothing: configuration and startup failures are reported and `process.exitCode` set to 1.
 */
export async function runServerProcess(
  env: Record<string, string | undefined>,
  argv: readonly string[],
  io: ProcessIo = { stderr: process.stderr },
): Promise<RunningServer | undefined> {
  let config: ServerConfig;
  try {
    config = loadServerConfig(env, argv);
  } catch (err) {
    io.stderr.write(`${isCodedError(err) ? err.message : String(err)}\n`);
    process.exitCode = 1;
    return undefined;
  }
  const logger = createRootLogger({ level: config.logLevel, instanceId: config.instanceId });
  logger.info({ config: redactConfig(config) }, 'configuration loaded');
  const unknown = unknownServerSettings(env);
  if (unknown.length > 0) logger.warn({ settings: unknown }, 'unknown POSBRIDGE_ settings ignored');
  let running: RunningServer;
  try {
    running = await startServer({ config, logger });
  } catch (err) {
    // An unknown store kind is a configuration problem like those of loadServerConfig.
    if (isCodedError(err) && err.code === 'CFG_INVALID') io.stderr.write(`${err.message}\n`);
    logger.fatal({ err }, 'server failed to start');
    logger.flush();
    process.exitCode = 1;
    return undefined;
  }
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal; exiting now');
      logger.flush();
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal }, 'shutting down');
    running.close().then(
      () => {
        logger.flush();
        process.exit(0);
      },
      (err: unknown) => {
        logger.fatal({ err }, 'shutdown failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return running;
}
