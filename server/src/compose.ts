/**
 * The composition root: {@link buildServer} wires every part of the server from configuration —
 * the store (adapter chosen by `POSBRIDGE_STORE`, ./store-factory.ts), metrics, the callback
 * worker, the payment and operation use cases, the agent hub, the deadline worker and the express
 * app on an HTTP(S) server — and hands them back. It never listens and handles no signals: that is
 * ./main.ts (process: config → compose → listen → signals). The CLI opens its store through the
 * same factory.
 *
 * @see ../README.md (configuration), ../../docs/architecture.md
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Express } from 'express';
import type { Logger } from 'pino';
import { createCallbackUrlGuard, systemResolver, type HostResolver } from './callbacks/callback-url-policy.ts';
import { CallbackWorker } from './callbacks/callback-worker.ts';
import { isClusterStore, type ServerConfig } from './config.ts';
import { createApp } from './http/app.ts';
import type { GiftCardBackend } from './giftcards/backend.ts';
import { HttpProviderBackend, PerMerchantBackend } from './giftcards/http-backend.ts';
import { derivePepper, LedgerBackend } from './giftcards/ledger-backend.ts';
import { loadGiftCardProviders } from './giftcards/providers-file.ts';
import { StoreProbe, type ServerPhase } from './http/health.ts';
import { AgentHub } from './hub/agent-hub.ts';
import { loggingAuditSink, type AuditSink } from './enrolment/audit.ts';
import { AgentEnrolment } from './enrolment/enrolment-service.ts';
import type { AgentSession } from './hub/agent-session.ts';
import { issueAgentToken, type IssuedAgentToken } from './hub/agent-tokens.ts';
import { WakeSignal } from './hub/wake-signal.ts';
import { ServerMetrics } from './observability/metrics.ts';
import { DeadlineWorker } from './payments/deadline-worker.ts';
import { VirtualTerminal } from './testsuite/virtual-terminal.ts';
import { OperationService } from './payments/operation-service.ts';
import { PaymentService, type PaymentServiceOptions } from './payments/payment-service.ts';
import type { AgentCommandsPort } from './ports/agent-commands.ts';
import { resolveSubmitSecret } from './pos/submit-secret.ts';
import { appUrlsFor } from './pos/submit-token.ts';
import { hashAppToken } from './ppp/auth.ts';
import type { PppAnswerSettings } from './domain/ppp-outcome.ts';
import { MemoryChangeFeed } from './adapters/memory/change-feed.ts';
import { NatsBus } from './adapters/nats/nats-bus.ts';
import { NatsChangeFeed } from './adapters/nats/nats-change-feed.ts';
import { NatsWakeBridge } from './adapters/nats/nats-wake.ts';
import { createPresence, type ClusterSettings, type InstancePresence } from './presence-factory.ts';
import type { HolderSession } from './ports/terminal-holders.ts';
import { z } from 'zod';
import { STORE_FACTORIES, storeFactoryOf, type StoreRegistry } from './store-factory.ts';
import { BOOTSTRAP_MERCHANT_ID, type PaymentStore } from './ports/index.ts';
import { NO_BUS, type BusHealth } from './ports/bus-health.ts';

/** `<prefix>.presence.taken`: an instance took over a session the named instance held (a hint). */
const TakenOverSchema = z.strictObject({ instanceId: z.string().min(1).max(64) });
/** `<prefix>.agent.credentials`: an agent's token was rotated or the agent revoked (a hint; the row is the truth). */
const CredentialsChangedSchema = z.strictObject({ agentId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/) });

/** Options of {@link buildServer}. */
export interface BuildServerOptions {
  readonly config: ServerConfig;
  readonly logger: Logger;
  /** Clock of payments, deadlines and callbacks, ms since epoch (tests inject one). @default Date.now */
  readonly clock?: () => number;
  /** Don't poll deadlines once started (tests call `service.expireDue` with their clock). @default false */
  readonly manualDeadlines?: boolean;
  /**
   * Resolves callback hosts for the host policy, at Create Payment and at delivery (tests
   * inject one). @default the system's DNS
   */
  readonly resolveCallbackHost?: HostResolver;
  /** The store adapters `config.storeKind` is chosen from. @default STORE_FACTORIES (./store-factory.ts) */
  readonly stores?: StoreRegistry;
  /**
   * Wraps the agent-command log the hub delivers from (the use cases write rows through the
   * store's transactions, untouched). Tests use it to stop delivery at the port boundary.
   * @default the store's log as is
   */
  readonly agentCommands?: (commands: AgentCommandsPort) => AgentCommandsPort;
  /**
   * The bus between instances as readiness sees it (`/readyz` `components.bus`): `down` makes
   * this instance `degraded`, never unready. @default NO_BUS (`none`: a single instance)
   */
  readonly bus?: BusHealth;
  /**
   * Joins a cluster: the presence is shared with the other instances over this PostgreSQL pool
   * (./presence-factory.ts). @default one instance (the presence of this hub only)
   */
  readonly cluster?: ClusterSettings;
  /**
   * Where enrolment actions are told besides the log, once committed (their admin audit row is
   * written with the change itself: ./enrolment/audit.ts `adminAuditRow`). @default none
   */
  readonly audit?: AuditSink;
}

/** What {@link buildServer} wired: the pieces to listen on, the parts, and one `close()`. */
export interface ComposedServer {
  /** This instance's id (`config.instanceId`): in `/healthz`, `/readyz`; main.ts binds it to the root logger. */
  readonly instanceId: string;
  /**
   * The HTTP server (HTTPS when `config.tlsCertFile`/`tlsKeyFile` are set), not listening yet:
   * the caller listens on it. WebSocket upgrades go to the agent hub.
   */
  readonly server: Server;
  /** `https` when the server speaks TLS itself, else `http`. */
  readonly scheme: 'http' | 'https';
  /** The express app `server` serves. */
  readonly app: Express;
  /** The store (tests, later admin endpoints). */
  readonly store: PaymentStore;
  /** The agent-command log (tests, support). */
  readonly commands: AgentCommandsPort;
  /** The payment use cases (tests drive deadlines through `expireDue`). */
  readonly service: PaymentService;
  /** Cancel / settle / refund use cases. */
  readonly operations: OperationService;
  /** The agents' WebSocket hub. */
  readonly hub: AgentHub;
  /** Pairing codes, token rotation and revocation (the admin routes of ./admin-ext/ take it). */
  readonly enrolment: AgentEnrolment;
  /** The Prometheus registry and instruments. */
  readonly metrics: ServerMetrics;
  /**
   * The bus between instances, as `/readyz` reads it: `up`/`down` with `POSBRIDGE_NATS_URL`
   * set, else `none`.
   */
  readonly bus: BusHealth;
  /**
   * Call once `server` listens on `port`: fixes the public URL (base of submitUrls), starts the
   * callback worker and (unless `manualDeadlines`) the deadline worker, and turns `/readyz` ready.
   * @returns the public URL: `config.publicUrl`, or `<scheme>://127.0.0.1:<port>`.
   */
  start(port: number): string;
  /** Creates an agent (of the bootstrap merchant's default store unless `storeId`), stores only sha256(token), returns the token once. */
  issueAgentToken(agentName: string, storeId?: string): Promise<IssuedAgentToken>;
  /**
   * Stops the deadline worker, the HTTP server (if listening) and the agent sockets, drains the
   * callback worker, closes the bus (drained, bounded) and the store. Idempotent; safe before `start`.
   */
  close(): Promise<void>;
}

/** The PPP answer settings of a configuration (acquirer and the delays VTEX is told). */
export function pppAnswerSettingsOf(config: ServerConfig): PppAnswerSettings {
  return {
    acquirer: config.acquirer,
    secondsWaiting: config.secondsWaiting,
    delayToCancelSeconds: config.delayToCancelSeconds,
    delayToAutoSettleSeconds: config.delayToAutoSettleSeconds,
  };
}

/**
 * The request deadline of the PPP and Payment App routes, ms (http/deadline.ts): 500 ms after
 * the answer budget (so a use case that waited its whole budget still answers itself), at most
 * 4800 ms (every answer leaves within VTEX's 5 s).
 */
export function requestDeadlineMsOf(config: ServerConfig): number {
  return Math.min(config.answerBudgetMs + 500, 4800);
}

/**
 * Who keeps each merchant's gift cards (docs/gift-cards.md "An external provider"): the merchants
 * of `config.giftcardProvidersFile` their own system over HTTP, every other one `ledger`.
 * @throws CodedError `CFG_INVALID` for a bad providers file.
 */
export function giftCardBackendOf(config: ServerConfig, ledger: GiftCardBackend, now: () => number): GiftCardBackend {
  if (config.giftcardProvidersFile === undefined) return ledger;
  const external = new Map<string, GiftCardBackend>();
  for (const [merchant, p] of loadGiftCardProviders(config.giftcardProvidersFile)) external.set(merchant, new HttpProviderBackend({ ...p, now }));
  return new PerMerchantBackend(ledger, external);
}

/** The payment deadlines of a configuration (seconds), as the payment service takes them. */
export function paymentDeadlinesOf(config: ServerConfig): PaymentServiceOptions['deadlines'] {
  return {
    secondsWaiting: config.secondsWaiting,
    delayToCancelSeconds: config.delayToCancelSeconds,
    graceSeconds: config.deadlineGraceSeconds,
  };
}

/**
 * Opens the store (migrating it), records the bootstrap merchant and wires every component. Does
 * not listen: listen on `server`, then call `start(port)`.
 *
 * @throws CodedError `CFG_INVALID` for an unknown `config.storeKind`; `STORE_FAILED` when the
 *   database cannot be opened; the read error of a TLS file. Whatever was opened is closed again.
 */
export async function buildServer(options: BuildServerOptions): Promise<ComposedServer> {
  const { config } = options;
  // Every line names its instance: main.ts binds instanceId on the root; a logger without it gets it here.
  const logger = options.logger.bindings()['instanceId'] === config.instanceId ? options.logger : options.logger.child({ instanceId: config.instanceId });
  const now = options.clock ?? Date.now;
  const log = logger.child({ component: 'server' });
  const openStore = storeFactoryOf(config, options.stores ?? STORE_FACTORIES);
  const tls =
    config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined
      ? { cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile) }
      : undefined;
  const store = await openStore(config);
  let bus: NatsBus | undefined;
  let instance: InstancePresence<AgentSession> | undefined;
  try {
    await store.upsertBootstrapMerchant({
      merchantId: BOOTSTRAP_MERCHANT_ID,
      name: config.merchantName ?? null,
      appKey: config.merchantCredentials.appKey,
      appTokenSha256: hashAppToken(config.merchantCredentials.appToken),
      callbackMode: config.callbackMode,
      createdAt: now(),
    });
    const submitSecret = await resolveSubmitSecret({
      configured: config.submitSecret,
      file: config.submitSecretFile,
      shared: isClusterStore(config.storeKind),
      store,
      logger,
    });
    const commands = options.agentCommands ? options.agentCommands(store) : store;
    const metrics = new ServerMetrics(
      () => store.countPaymentsByStatus(),
      () => store.countUnknownOperations(),
      () => store.countOpenCommands(),
    );
    const settings = pppAnswerSettingsOf(config);
    // Lease owner of this instance's workers (ports/leases.ts, docs/architecture.md): the instance id.
    const leaseOwner = config.instanceId;
    const worker = new CallbackWorker({
      store,
      logger,
      owner: leaseOwner,
      credentials: config.callbackCredentials,
      config: config.callback,
      now,
      ...(options.resolveCallbackHost ? { resolveHost: options.resolveCallbackHost } : {}),
      onAttempt: (outcome, reason) => {
        metrics.callbackAttempts.inc({ outcome });
        if (reason !== null) metrics.callbackFailures.inc({ reason });
      },
    });

    // ---- payments ⇄ agents: the use cases and the hub, and how they reach each other ----------
    // With POSBRIDGE_NATS_URL, waits and delivery wake-ups also cross instances over the NATS bus
    // (a hint: the rows stay the truth, docs/adr/0003-change-feed-and-wake-ups-over-nats.md);
    // without it they are this process's alone. The bus connects in the background.
    if (config.natsUrl !== undefined) {
      bus = new NatsBus({ url: config.natsUrl, subjectPrefix: config.natsSubjectPrefix, instanceId: randomUUID(), logger, now });
    }
    const changes = bus ? new NatsChangeFeed({ bus }) : new MemoryChangeFeed();
    // Delivery state of this instance: which sessions it holds (presence: this hub's only, or
    // shared by the cluster on PostgreSQL, ./presence-factory.ts), and the wake-ups of its
    // delivery after a commit. The use cases get both; the hub is built last, on the use cases.
    // On PostgreSQL the instance joins the cluster over the store's pool (loaded only then). An
    // instance that takes an agent over tells the one that held it over the bus, which then
    // compares its sessions with the shared rows at once instead of at its next heartbeat.
    const pgStore = config.storeKind === 'postgres' ? await import('./adapters/postgres/index.ts') : undefined;
    const natsBus = bus;
    const here = await createPresence<AgentSession>({
      store,
      logger,
      maxTerminalsPerAgent: config.maxTerminalsPerAgent,
      now,
      instanceId: config.instanceId,
      ...(pgStore?.isPostgresStore(store) === true ? { db: (store as import('./adapters/postgres/index.ts').PostgresStore).db } : {}),
      ...(natsBus ? { onTakenOver: (taken: HolderSession) => natsBus.publish('presence.taken', { instanceId: taken.instanceId }) } : {}),
      ...options.cluster,
    });
    instance = here;
    const unsubscribeTaken = natsBus?.subscribe('presence.taken', TakenOverSchema, ({ instanceId }) => {
      if (instanceId === here.instanceId) void here.reconcile();
    });
    await here.start();
    const { presence } = here;
    const wakes = new WakeSignal();
    const wakeBridge = bus ? new NatsWakeBridge(bus, wakes) : undefined;
    bus?.start();
    const wake = (serials: readonly string[]) => wakes.wake(serials);
    const service = new PaymentService({
      presence,
      wake,
      store,
      logger,
      settings,
      changes,
      now,
      deadlines: paymentDeadlinesOf(config),
      onCallbackEnqueued: () => worker.notify(),
      onStatusChanged: (from, to) => metrics.transitions.inc({ from: from ?? 'none', to }),
    });
    const operations = new OperationService({
      store,
      payments: service,
      changes,
      now,
      logger,
      answerBudgetMs: config.answerBudgetMs,
      presence,
      wake,
    });
    const hub = new AgentHub({
      store,
      commands,
      handler: service,
      presence,
      wakes,
      logger,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      dispatchResendMs: config.dispatchResendMs,
      credentialCheckMs: config.agentCredentialCheckMs,
      now,
    });
    // Pairing codes, token rotation and revocation (docs/agent-enrolment.md); a change made in
    // this process closes the agent's sessions here at once and, with NATS, on the other instances
    // as soon as they hear it; without the bus their credential watch finds the row.
    const enrolment = new AgentEnrolment({
      store,
      audit: loggingAuditSink(logger, options.audit),
      now,
      credentialsChanged: (agentId) => {
        void hub.credentialsChanged(agentId);
        natsBus?.publish('agent.credentials', { agentId });
      },
    });
    const unsubscribeCredentials = natsBus?.subscribe('agent.credentials', CredentialsChangedSchema, ({ agentId }) => void hub.credentialsChanged(agentId));
    hub.onSessionsChanged = (count) => metrics.agentsConnected.set(count);
    hub.onReportRefused = (reason, type) => metrics.agentReportsRefused.inc({ reason, type });
    hub.onTraceEventsDropped = (reason, count) => metrics.traceEventsDropped.inc({ reason }, count);
    // ---- end of payments ⇄ agents ---------------------------------------------------------------

    const deadlines = new DeadlineWorker({ service, logger, pollMs: config.deadlinePollMs, owner: leaseOwner });
    // Test Suite mode (docs/homologation.md): the in-process agent of every merchant's virtual
    // terminal answers the command rows of `VT-<merchantId>`, woken like delivery, polled as a safety net.
    const virtualTerminal = new VirtualTerminal({
      service,
      commands,
      store,
      logger,
      now,
      onAnswered: (kind, outcome) => metrics.virtualTerminalAnswers.inc({ kind, outcome }),
    });
    const unsubscribeVirtual = wakes.subscribe((serials) => virtualTerminal.wake(serials));

    let publicUrl = config.publicUrl ?? '';
    // ---- health: lifecycle phase, store probe and bus for /healthz and /readyz (http/health.ts) ----
    let phase: ServerPhase = 'starting';
    const storeProbe = new StoreProbe({ store, kind: config.storeKind, logger: log });
    const health = { instanceId: config.instanceId, probe: storeProbe, bus: bus ?? options.bus ?? NO_BUS, phase: () => phase };
    // ---- end of health ----------------------------------------------------------------------------
    const app = createApp({
      service,
      enrolment,
      agents: hub,
      operations,
      store,
      logger,
      now,
      metrics,
      settings,
      submitSecret,
      // Create Payment answers within VTEX's budget: one short DNS try (delivery checks again).
      callbackUrls: createCallbackUrlGuard(
        config.callback.hostPolicy,
        options.resolveCallbackHost ?? systemResolver({ timeoutMs: 1000, tries: 1 }),
      ),
      appUrlsFor: (paymentId) => appUrlsFor(publicUrl, submitSecret, paymentId),
      virtualTerminal,
      bodyLimitBytes: config.bodyLimitBytes,
      trustProxy: config.trustProxy,
      authFailureLimit: config.authFailureLimit,
      authFailureWindowMs: config.authFailureWindowMs,
      onboarding: config.onboarding,
      onboardingCallbackMode: config.callbackMode,
      metricsToken: config.metricsToken,
      paymentAppDir: config.paymentAppDir,
      consoleDir: config.consoleDir,
      health,
      requestDeadlineMs: requestDeadlineMsOf(config),
      giftcards: giftCardBackendOf(config, new LedgerBackend({ store, pepper: derivePepper(submitSecret), now }), now),
      presence,
      // Secure cookies whenever the browser reaches us over HTTPS: our own TLS, or a configured proxy.
      admin: { sessionTtlMs: config.adminSessionTtlMs, secureCookies: tls !== undefined || config.trustProxy !== false },
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
    const scheme = tls ? 'https' : 'http';

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        log.info('server closing');
        phase = 'closing';
        await deadlines.stop();
        unsubscribeVirtual();
        await virtualTerminal.stop();
        // The callback fires (with ERR_SERVER_NOT_RUNNING) when the server never listened.
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await hub.close();
        await here.stop();
        server.closeAllConnections();
        await httpClosed;
        await worker.stop();
        wakeBridge?.close();
        unsubscribeTaken?.();
        unsubscribeCredentials?.();
        if (changes instanceof NatsChangeFeed) changes.close();
        await bus?.close();
        await store.close();
        log.info('server closed');
      })();
      return closing;
    };
    return {
      instanceId: config.instanceId,
      server,
      scheme,
      app,
      store,
      commands: store,
      service,
      operations,
      hub,
      enrolment,
      metrics,
      bus: bus ?? options.bus ?? NO_BUS,
      start(port) {
        publicUrl = config.publicUrl ?? `${scheme}://127.0.0.1:${port}`;
        worker.start();
        virtualTerminal.start();
        if (options.manualDeadlines !== true) deadlines.start();
        if (phase === 'starting') phase = 'serving';
        return publicUrl;
      },
      issueAgentToken: (agentName, storeId) => issueAgentToken(store, agentName, now(), storeId),
      close,
    };
  } catch (err) {
    await instance?.stop();
    await bus?.close();
    await store.close().catch(() => undefined);
    throw err;
  }
}
