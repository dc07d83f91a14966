/**
 * Composition root: {@link startServer} wires store, payment service, hub, callback worker and
 * the express app onto one HTTP server and listens; {@link runServerProcess} adds the process
 * concerns (root logger, signals, exit codes). This is the only module that listens or handles
 * signals.
 *
 * @see ../README.md (configuration), ../../docs/architecture.md
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { isCodedError } from '@posbridge/protocol/errors';
import { createApp } from './app.ts';
import { createCallbackUrlGuard, systemResolver, type HostResolver } from './callbacks/callback-url-policy.ts';
import { CallbackWorker } from './callbacks/callback-worker.ts';
import { loadServerConfig, redactConfig, unknownServerSettings, type ServerConfig } from './config.ts';
import { AgentHub } from './hub/agent-hub.ts';
import type { AgentSession } from './hub/agent-session.ts';
import { issueAgentToken, type IssuedAgentToken } from './hub/agent-tokens.ts';
import { LocalPresence } from './hub/local-presence.ts';
import { WakeSignal } from './hub/wake-signal.ts';
import { createRootLogger } from './logger.ts';
import { ServerMetrics } from './observability/metrics.ts';
import { DeadlineWorker } from './payments/deadline-worker.ts';
import { OperationService } from './payments/operation-service.ts';
import { PaymentService } from './payments/payment-service.ts';
import type { AgentCommandsPort } from './ports/agent-commands.ts';
import { resolveSubmitSecret } from './pos/submit-secret.ts';
import { appUrlsFor } from './pos/submit-token.ts';
import { hashAppToken } from './ppp/auth.ts';
import type { PppAnswerSettings } from './ppp/mappers.ts';
import { openSqliteStore } from './store/sqlite-store.ts';
import { BOOTSTRAP_MERCHANT_ID, type PaymentStore } from './store/store.ts';

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
  /** Stops HTTP, closes agent sockets, drains the callback worker, closes SQLite. Idempotent. */
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
 * Opens the database (migrating it), wires every component and listens on `config.host:config.port`.
 *
 * @throws CodedError `STORE_FAILED` when the database cannot be opened; the listen error
 *   (e.g. `EADDRINUSE`) when the port is taken.
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { config, logger } = options;
  const now = options.now ?? Date.now;
  const log = logger.child({ component: 'server' });
  const tls =
    config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined
      ? { cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile) }
      : undefined;
  const store = await openSqliteStore({ filename: config.dbPath });
  try {
    await store.upsertBootstrapMerchant({
      merchantId: BOOTSTRAP_MERCHANT_ID,
      name: config.merchantName ?? null,
      appKey: config.merchantCredentials.appKey,
      appTokenSha256: hashAppToken(config.merchantCredentials.appToken),
      callbackMode: config.callbackMode,
      createdAt: now(),
    });
    const submitSecret = await resolveSubmitSecret({ configured: config.submitSecret, file: config.submitSecretFile, store, logger });
    const commands = options.agentCommands ? options.agentCommands(store.commands) : store.commands;
    const metrics = new ServerMetrics(
      () => store.countPaymentsByStatus(),
      () => store.countUnknownOperations(),
      () => store.commands.countOpenCommands(),
    );
    const settings: PppAnswerSettings = {
      acquirer: config.acquirer,
      secondsWaiting: config.secondsWaiting,
      delayToCancelSeconds: config.delayToCancelSeconds,
      delayToAutoSettleSeconds: config.delayToAutoSettleSeconds,
    };
    const worker = new CallbackWorker({
      store,
      logger,
      credentials: config.callbackCredentials,
      config: config.callback,
      now,
      ...(options.resolveCallbackHost ? { resolveHost: options.resolveCallbackHost } : {}),
      onAttempt: (outcome, reason) => {
        metrics.callbackAttempts.inc({ outcome });
        if (reason !== null) metrics.callbackFailures.inc({ reason });
      },
    });
    // Delivery state of this instance: which sessions it holds (presence), and the wake-ups of
    // its delivery after a commit. The use cases get both; the hub is built last, on the use cases.
    const presence = new LocalPresence<AgentSession>({
      store,
      logger: logger.child({ component: 'hub' }),
      maxTerminalsPerAgent: config.maxTerminalsPerAgent,
    });
    const wakes = new WakeSignal();
    const wake = (serials: readonly string[]) => wakes.wake(serials);
    const service = new PaymentService({
      store,
      logger,
      settings,
      now,
      presence,
      wake,
      deadlines: {
        secondsWaiting: config.secondsWaiting,
        delayToCancelSeconds: config.delayToCancelSeconds,
        graceSeconds: config.deadlineGraceSeconds,
      },
      onCallbackEnqueued: () => worker.notify(),
      onStatusChanged: (from, to) => metrics.transitions.inc({ from: from ?? 'none', to }),
    });
    const operations = new OperationService({ store, payments: service, logger, answerBudgetMs: config.answerBudgetMs, presence, wake });
    const hub = new AgentHub({
      store,
      commands,
      handler: service,
      presence,
      wakes,
      logger,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      dispatchResendMs: config.dispatchResendMs,
      now,
    });
    hub.onSessionsChanged = (count) => metrics.agentsConnected.set(count);
    hub.onReportRefused = (reason, type) => metrics.agentReportsRefused.inc({ reason, type });
    const deadlines = new DeadlineWorker({ service, logger, pollMs: config.deadlinePollMs });

    let publicUrl = config.publicUrl ?? '';
    let ready = false;
    const stopLimits = new AbortController();
    const app = createApp({
      service,
      agents: hub,
      operations,
      store,
      logger,
      metrics,
      settings,
      submitSecret,
      // Create Payment answers within VTEX's budget: one short DNS try (delivery checks again).
      callbackUrls: createCallbackUrlGuard(
        config.callback.hostPolicy,
        options.resolveCallbackHost ?? systemResolver({ timeoutMs: 1000, tries: 1 }),
      ),
      appUrlsFor: (paymentId) => appUrlsFor(publicUrl, submitSecret, paymentId),
      bodyLimitBytes: config.bodyLimitBytes,
      trustProxy: config.trustProxy,
      authFailureLimit: config.authFailureLimit,
      authFailureWindowMs: config.authFailureWindowMs,
      onboarding: config.onboarding,
      onboardingCallbackMode: config.callbackMode,
      metricsToken: config.metricsToken,
      paymentAppDir: config.paymentAppDir,
      isReady: () => ready,
      closing: stopLimits.signal,
    });
    // HTTPS when given a certificate: TLS 1.2 or newer only (VTEX calls HTTPS on 443).
    // Connection time-outs (POSBRIDGE_HTTP_*): a silent or stalled connection is closed after the
    // headers/request time-out (checked every checkIntervalMs; over HTTPS a TLS handshake that
    // does not finish within the headers time-out too), an idle keep-alive one after
    // keepAliveTimeoutMs. Upgraded agent sockets leave the HTTP server and keep their heartbeat.
    const serverOptions = { connectionsCheckingInterval: config.http.checkIntervalMs };
    const server: Server = tls
      ? createHttpsServer({ ...tls, ...serverOptions, minVersion: 'TLSv1.2', handshakeTimeout: config.http.headersTimeoutMs }, app)
      : createServer(serverOptions, app);
    server.keepAliveTimeout = config.http.keepAliveTimeoutMs;
    server.headersTimeout = config.http.headersTimeoutMs;
    server.requestTimeout = config.http.requestTimeoutMs;
    server.on('upgrade', (req, socket, head) => hub.handleUpgrade(req, socket, head));

    let address: AddressInfo;
    try {
      address = await listen(server, config.port, config.host);
    } catch (err) {
      stopLimits.abort();
      await hub.close(0);
      throw err;
    }
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    const scheme = tls ? 'https' : 'http';
    const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    publicUrl = config.publicUrl ?? `${scheme}://127.0.0.1:${address.port}`;
    worker.start();
    if (options.manualDeadlines !== true) deadlines.start();
    ready = true;
    log.info({ url, publicUrl, db: config.dbPath }, 'server listening');

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        log.info('server closing');
        ready = false;
        await deadlines.stop();
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await hub.close();
        server.closeAllConnections();
        await httpClosed;
        await worker.stop();
        stopLimits.abort();
        await store.close();
        log.info('server closed');
      })();
      return closing;
    };
    return {
      url,
      port: address.port,
      publicUrl,
      store,
      commands: store.commands,
      hub,
      service,
      issueAgentToken: (agentName, storeId) => issueAgentToken(store, agentName, Date.now(), storeId),
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
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
  const logger = createRootLogger({ level: config.logLevel });
  logger.info({ config: redactConfig(config) }, 'configuration loaded');
  const unknown = unknownServerSettings(env);
  if (unknown.length > 0) logger.warn({ settings: unknown }, 'unknown POSBRIDGE_ settings ignored');
  let running: RunningServer;
  try {
    running = await startServer({ config, logger });
  } catch (err) {
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
