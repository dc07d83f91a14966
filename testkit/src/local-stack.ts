/**
 * The embedded posbridge stack on one machine: server (SQLite in a temporary folder), simulated
 * terminal(s) on real pseudo-terminals, and a terminal agent connected to the server with a
 * freshly issued token. Used by `npm run demo`, `npm run stack` and the end-to-end tests, so all
 * three run the same composition.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CONCERT_EPLUS, PBL1, startSim, type RunningSim, type SimDialect, type SimScenarioPatch } from '@posbridge/hardware-sim';
import { CONSOLE_PATH, issueApiToken, issueProviderCredentials, loadServerConfig, startServer, type RunningServer } from '@posbridge/server';
import { envNameOf, loadAgentConfig, startAgent, type AgentTimingConfig, type RunningAgent } from '@posbridge/terminal-agent';
import { runShutdownSteps, type ShutdownStep } from './shutdown.ts';

/** Callback hosts the local stack's server always allows (the server's default allows none). */
export const LOOPBACK_CALLBACK_HOSTS = '127.0.0.1,localhost,[::1]';

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  logger: Logger;
  /** HTTP port of the server; 0 = any free port. @default 0 */
  port?: number;
  /** Serial number of the simulated terminal. @default "SIM0001" */
  serialNumber?: string;
  /**
   * Wire dialect of the simulated terminal. `CONCERT-E+` also makes the agent drive it with its
   * `concert-serial` driver, with `serialNumber` configured (E+ has no identification).
   * @default "PBL/1"
   */
  dialect?: SimDialect;
  /** Simulator think time between terminal stages, ms. @default 250 */
  stepDelayMs?: number;
  /** How the simulator is linked to the agent. @default "auto" (a pty through socat when installed) */
  link?: 'auto' | 'pty' | 'in-process';
  /** Simulator scenario (timings, forced outcome, wire faults); see hardware-sim/README.md. */
  scenario?: SimScenarioPatch;
  /** Serve the simulator's control interface on 127.0.0.1 at this port (0 = any). Off by default. */
  simControlPort?: number;
  /** Agent timers and retry counts (e.g. short ones so simulator fault tests stay fast). Agent defaults otherwise. */
  agentTimings?: Partial<AgentTimingConfig>;
  /**
   * Callback hosts allowed besides loopback (`POSBRIDGE_CALLBACK_ALLOW_HOSTS` syntax,
   * comma-separated `host[:port]`). Loopback is always allowed: the fake gateway listens there.
   */
  callbackAllowHosts?: string;
  /** How the merchant is told a payment became final (`POSBRIDGE_CALLBACK_MODE`, docs/ppp.md "Callbacks"). @default "notification" */
  callbackMode?: 'notification' | 'retry';
  /**
   * Turn the bootstrap merchant's VTEX Test Suite mode on (docs/homologation.md): requests with
   * `X-VTEX-API-Is-TestSuite: true` then run on its virtual terminal, with no clerk. Recorded as
   * changed by `local-stack`. @default false
   */
  testSuiteMode?: boolean;
  /** Partner credentials the server sends on VTEX callbacks. Default: random demo values. */
  callbackAppKey?: string;
  callbackAppToken?: string;
  /** Longest wait for each shutdown step (agent, simulator, server, folder), ms; a step that hangs is logged and left behind. @default 5000 */
  closeStepTimeoutMs?: number;
}

/** Merchant name of a stack's Gift Card Provider (its serviceUrl ends with it). */
export const STACK_GIFTCARD_MERCHANT = 'posbridge-local';

/** What the Gift Card Hub is registered with (docs/gift-cards.md "Registering posbridge in the Gift Card Hub"). */
export interface StackGiftCardProvider {
  /** `<pppBaseUrl>/giftcard-provider/<merchant>`. */
  serviceUrl: string;
  /** `X-PROVIDER-API-AppKey` / `X-PROVIDER-API-AppToken` (not the PPP credentials). */
  appKey: string;
  appToken: string;
}

/**
 * A running local stack. `close()` stops everything and removes the temporary folder: the agent
 * first (it closes its end of the serial line), then the simulator (its port, then socat), then
 * the server; each step bounded by `closeStepTimeoutMs`.
 */
export interface LocalStack {
  /** Base URL of the PPP connector, e.g. `http://127.0.0.1:43117`. */
  pppBaseUrl: string;
  /** Merchant credentials VTEX must send (`X-VTEX-API-AppKey` / `X-VTEX-API-AppToken`). */
  appKey: string;
  appToken: string;
  /** An admin API token with role `operator` (docs/admin-api.md), for tools that inspect payments. */
  adminToken: string;
  /** Where the operations console is served: `<pppBaseUrl>/console/`. */
  consoleUrl: string;
  /** Partner credentials the server puts on callbacks. */
  callbackAppKey: string;
  callbackAppToken: string;
  /** The Gift Card Provider of the stack's merchant (docs/gift-cards.md), with an empty ledger. */
  giftcard: StackGiftCardProvider;
  terminals: { serialNumber: string; dialect: SimDialect; path?: string }[];
  /** Base URL of the simulator's control interface, when `simControlPort` was given. */
  simControlUrl?: string;
  /** Temporary folder holding the SQLite file and the pty links. */
  dir: string;
  server: RunningServer;
  sim: RunningSim;
  agent: RunningAgent;
  close(): Promise<void>;
}

/**
 * Starts server, simulator and agent, and resolves once the agent is connected and its terminal
 * accepted by the server.
 * @throws whatever a component throws on start-up (e.g. CFG_INVALID); anything already started is stopped first.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { logger } = options;
  const dir = await mkdtemp(join(tmpdir(), 'posbridge-'));
  const serialNumber = options.serialNumber ?? 'SIM0001';
  const dialect = options.dialect ?? PBL1;
  const appKey = 'vtexappkey-posbridge-local';
  const appToken = randomBytes(24).toString('base64url');
  const callbackAppKey = options.callbackAppKey ?? 'vtexappkey-partner-local';
  const callbackAppToken = options.callbackAppToken ?? randomBytes(24).toString('base64url');

  // Closed in reverse: agent (its serial reader), simulator (its port, then socat), server, folder.
  const cleanups: ShutdownStep[] = [{ name: 'temporary folder', run: () => rm(dir, { recursive: true, force: true }) }];
  const stepTimeoutMs = options.closeStepTimeoutMs ?? 5_000;
  const close = async () => {
    await runShutdownSteps(cleanups.splice(0).reverse(), {
      stepTimeoutMs,
      onHung: (step) => logger.warn({ step, stepTimeoutMs }, 'local stack: shutdown step did not finish in time; going on'),
      onFailed: (step, err) => logger.warn({ step, err }, 'local stack: cleanup step failed'),
    });
  };

  try {
    const config = loadServerConfig({
      PORT: String(options.port ?? 0),
      HOST: '127.0.0.1',
      POSBRIDGE_DB: join(dir, 'posbridge.sqlite'),
      POSBRIDGE_APP_KEY: appKey,
      POSBRIDGE_APP_TOKEN: appToken,
      POSBRIDGE_CALLBACK_APP_KEY: callbackAppKey,
      POSBRIDGE_CALLBACK_APP_TOKEN: callbackAppToken,
      ...(options.callbackMode !== undefined ? { POSBRIDGE_CALLBACK_MODE: options.callbackMode } : {}),
      // The fake gateway (testkit/src/vtex-gateway.ts) and the Payment App's dev host listen on loopback.
      POSBRIDGE_CALLBACK_ALLOW_HOSTS: [LOOPBACK_CALLBACK_HOSTS, options.callbackAllowHosts ?? ''].filter((h) => h !== '').join(','),
    });
    const server = await startServer({ config, logger });
    cleanups.push({ name: 'server', run: () => server.close() });
    const admin = await issueApiToken(server.store, { label: 'local-stack', role: 'operator', merchantId: null, userId: null, now: Date.now(), expiresAt: null });
    if (options.testSuiteMode === true) {
      const merchant = await server.store.findMerchantByAppKey(appKey);
      if (!merchant) throw new Error('local stack: the bootstrap merchant was not created');
      await server.store.setMerchantTestSuite({ merchantId: merchant.merchantId, on: true, actor: 'local-stack', at: Date.now() });
      logger.info({ merchantId: merchant.merchantId }, 'local stack: Test Suite mode on (suite requests run on the virtual terminal)');
    }

    const provider = await issueProviderCredentials(server.store, STACK_GIFTCARD_MERCHANT, Date.now());
    const giftcard: StackGiftCardProvider = {
      serviceUrl: `${server.url}/giftcard-provider/${STACK_GIFTCARD_MERCHANT}`,
      appKey: provider.appKey,
      appToken: provider.appToken,
    };

    const sim = await startSim({
      terminals: [{ serialNumber, dialect }],
      logger,
      dir,
      link: options.link ?? 'auto',
      stepDelayMs: options.stepDelayMs ?? 250,
      ...(options.scenario !== undefined ? { scenario: options.scenario } : {}),
      ...(options.simControlPort !== undefined ? { controlPort: options.simControlPort } : {}),
    });
    cleanups.push({ name: 'simulator', run: () => sim.close() });
    const terminal = sim.terminals[0];
    if (!terminal) throw new Error('simulator started no terminal');

    const { token } = await server.issueAgentToken('local-stack');
    const agentConfig = loadAgentConfig({
      POSBRIDGE_SERVER_URL: `${server.url.replace(/^http/, 'ws')}/agent/v1`,
      POSBRIDGE_AGENT_TOKEN: token,
      POSBRIDGE_TERMINAL_PORT: terminal.link === 'pty' ? terminal.path : `in-process:${serialNumber}`,
      // Concert E+ cannot tell its serial number: the technician configures it with the driver.
      ...(dialect === CONCERT_EPLUS ? { POSBRIDGE_TERMINAL_DRIVER: 'concert-serial', POSBRIDGE_TERMINAL_SERIAL: serialNumber } : {}),
      ...Object.fromEntries(
        Object.entries(options.agentTimings ?? {}).map(([k, v]) => [envNameOf(k as keyof AgentTimingConfig), String(v)]),
      ),
    });
    const agent = await startAgent({
      config: agentConfig,
      logger,
      ...(terminal.link === 'in-process' ? { openPort: async () => terminal.connect() } : {}),
    });
    cleanups.push({ name: 'agent', run: () => agent.close() });
    await agent.ready;

    return {
      pppBaseUrl: server.url,
      appKey,
      appToken,
      adminToken: admin.token,
      consoleUrl: `${server.url}${CONSOLE_PATH}/`,
      callbackAppKey,
      callbackAppToken,
      giftcard,
      terminals: [{ serialNumber, dialect, ...(terminal.link === 'pty' ? { path: terminal.path } : {}) }],
      dir,
      ...(sim.controlUrl !== undefined ? { simControlUrl: sim.controlUrl } : {}),
      server,
      sim,
      agent,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
