/**
 * Server configuration: the only module that looks at environment variables.
 *
 * `loadServerConfig(env, argv)` validates every knob with zod, fills defaults, and returns a
 * deep-frozen {@link ServerConfig}. Every problem is collected and reported at once in a single
 * `CFG_INVALID` error, so an operator fixes a bad deployment in one pass.
 *
 * The knobs and their env names are listed in server/README.md. The cluster settings (PostgreSQL,
 * NATS, instance id) and their rules live in ./config-cluster.ts, re-exported here.
 *
 * @see CONTRIBUTING.md "Configuration"
 * @see docs/protocol/vtex-ppp.md §4.2 (delays), §5.5 (two independent timeouts)
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { issueLines } from '@posbridge/kit/zod-issues';
import { CodedError } from '@posbridge/protocol/errors';
import { parseAllowHosts, parseHostSuffixes, type CallbackHostPolicy } from './callbacks/callback-url-policy.ts';
import {
  CLUSTER_ENV_SHAPE,
  clusterConfigOf,
  clusterEnvProblems,
  clusterSubmitSecretProblem,
  isClusterStore,
  redactClusterConfig,
  storeKindOf,
  type ClusterConfig,
} from './config-cluster.ts';

export { isClusterStore, resolveDbPath, resolveStoreSettings, type ClusterConfig, type StoreSettings } from './config-cluster.ts';

/** Merchant or partner appKey/appToken pair. */
export interface AppCredentials {
  readonly appKey: string;
  readonly appToken: string;
}

/** Tuning of the durable callback worker. @see ./callbacks/callback-worker.ts */
export interface CallbackConfig {
  /** Per-attempt HTTP timeout. @default 10000 */
  readonly timeoutMs: number;
  /** First retry delay; doubles per attempt (with jitter). @default 1000 */
  readonly baseDelayMs: number;
  /** Longest delay between two attempts. @default 60000 */
  readonly maxDelayMs: number;
  /** Attempts before a callback is given up (logged at error). @default 12 */
  readonly maxAttempts: number;
  /** How often the worker looks for due callbacks when nothing wakes it. @default 1000 */
  readonly pollIntervalMs: number;
  /**
   * Callbacks of one merchant in flight at once; its further due callbacks wait for one of these
   * to finish, while other merchants' are claimed. @default 4
   */
  readonly perMerchantConcurrency: number;
  /** Callbacks in flight at once over all merchants. @default 32 */
  readonly maxConcurrency: number;
  /**
   * Which callback URLs are accepted and called (SSRF guard: callbacks carry the partner
   * credentials). @default https:443 hosts under `vtexpayments.com.br`, no allowlist
   */
  readonly hostPolicy: CallbackHostPolicy;
}

/** Limits of the configuration flow. @see ./ppp/authorization-router.ts */
export interface OnboardingConfig {
  /** Requests per source and window (every request counts). @default 30 */
  readonly rateLimit: number;
  /** Window of `rateLimit`. @default 60000 */
  readonly rateWindowMs: number;
  /** Pending flows (issued tokens) one source may hold. @default 5 */
  readonly pendingPerSource: number;
  /** Pending flows in total. @default 1000 */
  readonly pendingMax: number;
}

/** Connection time-outs of the HTTP server (node:http `Server` properties of the same names). */
export interface HttpTimeoutsConfig {
  /** An idle keep-alive connection is closed after this long. @default 5000 */
  readonly keepAliveTimeoutMs: number;
  /** A connection whose request headers are not complete within this long is closed (also a silent connection). @default 10000 */
  readonly headersTimeoutMs: number;
  /** A request (headers and body) not received completely within this long is answered 408. @default 30000 */
  readonly requestTimeoutMs: number;
  /** How often connections are checked against the two time-outs above. @default 1000 */
  readonly checkIntervalMs: number;
}

/** The validated, deep-frozen server configuration (its cluster fields: {@link ClusterConfig}). */
export interface ServerConfig extends ClusterConfig {
  /** TCP port; 0 picks any free port. @default 8080 */
  readonly port: number;
  /** Interface to bind. @default "0.0.0.0" */
  readonly host: string;
  /** SQLite database file path (`:memory:` allowed for throwaway runs). @default "./posbridge.sqlite" */
  readonly dbPath: string;
  /**
   * Which store adapter holds the data (`POSBRIDGE_STORE`), a kind of ./store-factory.ts's
   * registry; an unknown kind fails at start with `CFG_INVALID`. @default "postgres" when
   * `POSBRIDGE_DATABASE_URL` is set, else "sqlite"
   */
  readonly storeKind: string;
  /** Public base URL used to build `submitUrl`, without trailing slash; `undefined` = `http://127.0.0.1:<actual port>`. */
  readonly publicUrl: string | undefined;
  /** Credentials VTEX sends on every PPP call (merchant affiliation). */
  readonly merchantCredentials: AppCredentials;
  /** Partner credentials posbridge sends on callbacks. @see docs/protocol/vtex-ppp.md §3 */
  readonly callbackCredentials: AppCredentials;
  /** Seconds the wait-for-confirmation app keeps polling. @default 300 */
  readonly secondsWaiting: number;
  /** Seconds VTEX tolerates `undefined` before cancelling; ≥ 600 and ≥ secondsWaiting + 60. @default 900 */
  readonly delayToCancelSeconds: number;
  /** Seconds until VTEX auto-settles (both auto-settle delays). @default 1200 */
  readonly delayToAutoSettleSeconds: number;
  /** `acquirer` reported to VTEX. @default "posbridge" */
  readonly acquirer: string;
  /**
   * HMAC key for submit tokens; `undefined` = read from `submitSecretFile` (generated there on
   * first start, except in a cluster: {@link isClusterStore}, where the key must be configured).
   */
  readonly submitSecret: string | undefined;
  /** pino level. @default "info" */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Interval of WebSocket pings to agents; a session missing one pong is terminated. @default 15000 */
  readonly heartbeatIntervalMs: number;
  /** Interval at which an unacknowledged `payment.start` is repeated. @default 3000 */
  readonly dispatchResendMs: number;
  /**
   * Interval of the check that closes agent sessions whose token was rotated or revoked by
   * another process or instance (hub/credential-watch.ts; docs/agent-enrolment.md). @default 2000
   */
  readonly agentCredentialCheckMs: number;
  /** Most terminals one agent may announce; the others are refused (`WS_TERMINAL_LIMIT`). @default 16 */
  readonly maxTerminalsPerAgent: number;
  /** Largest accepted HTTP body. @default 262144 */
  readonly bodyLimitBytes: number;
  /** Callback worker tuning. */
  readonly callback: CallbackConfig;
  /** VTEX `merchantName` of the bootstrap merchant (env credentials); undefined = any name. */
  readonly merchantName: string | undefined;
  /** Callback mode of the bootstrap merchant and of onboarded merchants. @default "notification" */
  readonly callbackMode: 'notification' | 'retry';
  /** Seconds added to `secondsWaiting` for each payment's server-side deadline. @default 30 */
  readonly deadlineGraceSeconds: number;
  /** How often due deadlines are checked. @default 1000 */
  readonly deadlinePollMs: number;
  /** Longest a PPP handler waits for a terminal before answering (keeps every answer < 5 s). @default 4000 */
  readonly answerBudgetMs: number;
  /** express `trust proxy`: false, true, a hop count, or addresses/subnets (comma-separated). @default false */
  readonly trustProxy: boolean | number | string;
  /** PEM certificate chain file; with `tlsKeyFile`, the server speaks HTTPS (TLS ≥ 1.2) itself. */
  readonly tlsCertFile: string | undefined;
  /** PEM private key file. */
  readonly tlsKeyFile: string | undefined;
  /** Failed authentications per surface, key and window before 429 (server/src/http/rate-limit.ts). @default 20 */
  readonly authFailureLimit: number;
  /** Window of `authFailureLimit`. @default 60000 */
  readonly authFailureWindowMs: number;
  /** Limits of the unauthenticated configuration flow (`/authorization`). */
  readonly onboarding: OnboardingConfig;
  /** Time-outs of the HTTP server's connections. */
  readonly http: HttpTimeoutsConfig;
  /**
   * File holding the generated submit secret (created 0600) when `submitSecret` is unset;
   * undefined = kept in memory only (a `:memory:` database). In a cluster ({@link isClusterStore})
   * only as configured: a file every instance reads, never generated.
   * @default `<dbPath>.submit-secret` (none in a cluster)
   */
  readonly submitSecretFile: string | undefined;
  /** Bearer token required on `/metrics`; undefined = open (restrict at the proxy). */
  readonly metricsToken: string | undefined;
  /**
   * JSON file naming the merchants whose gift cards live in their own system, served through the
   * HTTP adapter (docs/gift-cards.md "An external provider"); read at start. Undefined: every
   * merchant uses the built-in ledger.
   */
  readonly giftcardProvidersFile: string | undefined;
  /**
   * Folder of the Payment App's web build, served at `/pos/app/`.
   * @default the copy an installed package ships (`<package>/payment-app`, docs/adr/0004), else
   *   `<repository>/payment-app/dist` (built by `npm run app:build`)
   */
  readonly paymentAppDir: string;
  /**
   * Folder of the operations console's web build, served at `/console/`
   * (`POSBRIDGE_CONSOLE_DIR`; without an `index.html` there, a page says how to build it).
   * @default the installed package's `console/`, else `<repository>/console/dist`
   *   (`npm run console:build`) @see docs/console.md
   */
  readonly consoleDir: string;
  /**
   * Lifetime of an operations-console session (`POSBRIDGE_ADMIN_SESSION_TTL_MS`, 1 minute to 7
   * days), ms. @default 28800000 (8 hours) @see docs/admin-api.md "Settings"
   */
  readonly adminSessionTtlMs: number;
}

/** The Payment App an installed package ships next to its dist/ (scripts/pack.ts puts it there). */
const SHIPPED_PAYMENT_APP_DIR = fileURLToPath(new URL('../payment-app', import.meta.url));
/** The shipped copy, else where `npm run app:build` writes it in a checkout of this repository. */
const DEFAULT_PAYMENT_APP_DIR = existsSync(SHIPPED_PAYMENT_APP_DIR) ? SHIPPED_PAYMENT_APP_DIR : fileURLToPath(new URL('../../payment-app/dist', import.meta.url));

/** The console an installed package ships, else where `npm run console:build` writes it. */
const SHIPPED_CONSOLE_DIR = fileURLToPath(new URL('../console', import.meta.url));
const DEFAULT_CONSOLE_DIR = existsSync(SHIPPED_CONSOLE_DIR) ? SHIPPED_CONSOLE_DIR : fileURLToPath(new URL('../../console/dist', import.meta.url));

/** Parses `POSBRIDGE_TRUST_PROXY` into an express `trust proxy` value. */
function trustProxyOf(raw: string | undefined): boolean | number | string {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw;
}

const intFromEnv = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const EnvSchema = z
  .object({
    PORT: intFromEnv(0, 65535).default(8080),
    HOST: z.string().min(1).default('0.0.0.0'),
    POSBRIDGE_DB: z.string().min(1).default('./posbridge.sqlite'),
    POSBRIDGE_STORE: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be a store kind, e.g. sqlite').optional(),
    ...CLUSTER_ENV_SHAPE,
    POSBRIDGE_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    POSBRIDGE_APP_KEY: z.string({ error: 'is required' }).min(1, 'is required'),
    POSBRIDGE_APP_TOKEN: z.string({ error: 'is required' }).min(1, 'is required'),
    POSBRIDGE_CALLBACK_APP_KEY: z.string({ error: 'is required' }).min(1, 'is required'),
    POSBRIDGE_CALLBACK_APP_TOKEN: z.string({ error: 'is required' }).min(1, 'is required'),
    POSBRIDGE_SECONDS_WAITING: intFromEnv(1, 86_400).default(300),
    POSBRIDGE_DELAY_TO_CANCEL: intFromEnv(600, 2_592_000).default(900),
    POSBRIDGE_DELAY_TO_AUTO_SETTLE: intFromEnv(0, 604_800).default(1200),
    POSBRIDGE_ACQUIRER: z.string().min(1).max(64).default('posbridge'),
    POSBRIDGE_SUBMIT_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    POSBRIDGE_HEARTBEAT_INTERVAL_MS: intFromEnv(50, 600_000).default(15_000),
    POSBRIDGE_DISPATCH_RESEND_MS: intFromEnv(20, 600_000).default(3000),
    POSBRIDGE_AGENT_CREDENTIAL_CHECK_MS: intFromEnv(100, 600_000).default(2000),
    POSBRIDGE_MAX_TERMINALS_PER_AGENT: intFromEnv(1, 64).default(16),
    POSBRIDGE_BODY_LIMIT_BYTES: intFromEnv(1024, 10_485_760).default(262_144),
    POSBRIDGE_CALLBACK_TIMEOUT_MS: intFromEnv(100, 120_000).default(10_000),
    POSBRIDGE_CALLBACK_BASE_DELAY_MS: intFromEnv(1, 3_600_000).default(1000),
    POSBRIDGE_CALLBACK_MAX_DELAY_MS: intFromEnv(1, 86_400_000).default(60_000),
    POSBRIDGE_CALLBACK_MAX_ATTEMPTS: intFromEnv(1, 100_000).default(10_000),
    POSBRIDGE_CALLBACK_POLL_MS: intFromEnv(10, 600_000).default(1000),
    POSBRIDGE_CALLBACK_MERCHANT_CONCURRENCY: intFromEnv(1, 1000).default(4),
    POSBRIDGE_CALLBACK_CONCURRENCY: intFromEnv(1, 10_000).default(32),
    POSBRIDGE_CALLBACK_HOST_SUFFIXES: z.string().max(4096).default('vtexpayments.com.br'),
    POSBRIDGE_CALLBACK_ALLOW_HOSTS: z.string().max(4096).default(''),
    POSBRIDGE_MERCHANT_NAME: z.string().min(1).max(128).optional(),
    POSBRIDGE_CALLBACK_MODE: z.enum(['notification', 'retry']).default('notification'),
    POSBRIDGE_DEADLINE_GRACE_SECONDS: intFromEnv(0, 3600).default(30),
    POSBRIDGE_DEADLINE_POLL_MS: intFromEnv(10, 600_000).default(1000),
    POSBRIDGE_ANSWER_BUDGET_MS: intFromEnv(0, 4500).default(4000),
    POSBRIDGE_TRUST_PROXY: z
      .string()
      .regex(/^(true|false|\d+|[0-9a-fA-F.:/,\s]+|loopback|linklocal|uniquelocal)$/, 'must be true, false, a hop count or addresses/subnets')
      .optional(),
    POSBRIDGE_TLS_CERT_FILE: z.string().min(1).optional(),
    POSBRIDGE_TLS_KEY_FILE: z.string().min(1).optional(),
    POSBRIDGE_AUTH_FAILURE_LIMIT: intFromEnv(1, 100_000).default(20),
    POSBRIDGE_AUTH_FAILURE_WINDOW_MS: intFromEnv(1000, 86_400_000).default(60_000),
    POSBRIDGE_ONBOARDING_RATE_LIMIT: intFromEnv(1, 100_000).default(300),
    POSBRIDGE_ONBOARDING_RATE_WINDOW_MS: intFromEnv(1000, 86_400_000).default(60_000),
    POSBRIDGE_ONBOARDING_PENDING_PER_SOURCE: intFromEnv(1, 10_000).default(100),
    POSBRIDGE_ONBOARDING_PENDING_MAX: intFromEnv(1, 100_000).default(1000),
    POSBRIDGE_HTTP_KEEP_ALIVE_TIMEOUT_MS: intFromEnv(100, 600_000).default(5000),
    POSBRIDGE_HTTP_HEADERS_TIMEOUT_MS: intFromEnv(100, 600_000).default(10_000),
    POSBRIDGE_HTTP_REQUEST_TIMEOUT_MS: intFromEnv(100, 600_000).default(30_000),
    POSBRIDGE_HTTP_CHECK_INTERVAL_MS: intFromEnv(10, 60_000).default(1000),
    POSBRIDGE_SUBMIT_SECRET_FILE: z.string().min(1).optional(),
    POSBRIDGE_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    POSBRIDGE_PAYMENT_APP_DIR: z.string().min(1).optional(),
    POSBRIDGE_GIFTCARD_PROVIDERS_FILE: z.string().min(1).optional(),
    POSBRIDGE_CONSOLE_DIR: z.string().min(1).optional(),
    POSBRIDGE_ADMIN_SESSION_TTL_MS: intFromEnv(60_000, 7 * 86_400_000).default(8 * 3_600_000),
  })
  .superRefine((c, ctx) => {
    for (const { path, message } of clusterEnvProblems(c, storeKindOf(c.POSBRIDGE_STORE, c.POSBRIDGE_DATABASE_URL))) {
      ctx.addIssue({ code: 'custom', path: [path], message });
    }
    // The server's deadline (secondsWaiting + grace) must pass a minute before VTEX cancels.
    const minimum = c.POSBRIDGE_SECONDS_WAITING + c.POSBRIDGE_DEADLINE_GRACE_SECONDS + 60;
    if (c.POSBRIDGE_DELAY_TO_CANCEL < minimum) {
      ctx.addIssue({
        code: 'custom',
        path: ['POSBRIDGE_DELAY_TO_CANCEL'],
        message: `must be ≥ POSBRIDGE_SECONDS_WAITING + POSBRIDGE_DEADLINE_GRACE_SECONDS + 60 (${minimum})`,
      });
    }
    if ((c.POSBRIDGE_TLS_CERT_FILE === undefined) !== (c.POSBRIDGE_TLS_KEY_FILE === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['POSBRIDGE_TLS_CERT_FILE'],
        message: 'POSBRIDGE_TLS_CERT_FILE and POSBRIDGE_TLS_KEY_FILE go together',
      });
    }
    for (const problem of parseHostSuffixes(c.POSBRIDGE_CALLBACK_HOST_SUFFIXES).problems) {
      ctx.addIssue({ code: 'custom', path: ['POSBRIDGE_CALLBACK_HOST_SUFFIXES'], message: problem });
    }
    for (const problem of parseAllowHosts(c.POSBRIDGE_CALLBACK_ALLOW_HOSTS).problems) {
      ctx.addIssue({ code: 'custom', path: ['POSBRIDGE_CALLBACK_ALLOW_HOSTS'], message: problem });
    }
    if (c.POSBRIDGE_CALLBACK_CONCURRENCY < c.POSBRIDGE_CALLBACK_MERCHANT_CONCURRENCY) {
      ctx.addIssue({
        code: 'custom',
        path: ['POSBRIDGE_CALLBACK_CONCURRENCY'],
        message: 'must be ≥ POSBRIDGE_CALLBACK_MERCHANT_CONCURRENCY',
      });
    }
    if (c.POSBRIDGE_HTTP_REQUEST_TIMEOUT_MS < c.POSBRIDGE_HTTP_HEADERS_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['POSBRIDGE_HTTP_REQUEST_TIMEOUT_MS'],
        message: 'must be ≥ POSBRIDGE_HTTP_HEADERS_TIMEOUT_MS',
      });
    }
    if (c.POSBRIDGE_CALLBACK_MAX_DELAY_MS < c.POSBRIDGE_CALLBACK_BASE_DELAY_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['POSBRIDGE_CALLBACK_MAX_DELAY_MS'],
        message: 'must be ≥ POSBRIDGE_CALLBACK_BASE_DELAY_MS',
      });
    }
  });

/** Command-line flags accepted by {@link loadServerConfig}; each overrides its env variable. */
const ARGV_FLAGS = {
  port: 'PORT',
  host: 'HOST',
  db: 'POSBRIDGE_DB',
  'database-url': 'POSBRIDGE_DATABASE_URL',
  'public-url': 'POSBRIDGE_PUBLIC_URL',
  'log-level': 'LOG_LEVEL',
} as const;

/** Recursively freezes plain objects and arrays. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Builds the server configuration from environment variables (and optional `--flag value`
 * overrides: `--port`, `--host`, `--db`, `--database-url`, `--public-url`, `--log-level`).
 *
 * Empty strings count as unset. The environment is shared with the other posbridge programs,
 * so unknown variables are not errors here; {@link unknownServerSettings} lists likely typos.
 *
 * @param env - usually `process.env` (read by the caller: main.ts / cli.ts).
 * @param argv - extra CLI arguments, without the node/script prefix.
 * @returns a deep-frozen {@link ServerConfig}.
 * @throws CodedError `CFG_INVALID` listing every problem (in `message` and `details.problems`).
 */
export function loadServerConfig(env: Record<string, string | undefined>, argv: readonly string[] = []): ServerConfig {
  const problems: string[] = [];
  const raw: Record<string, string> = {};
  const known = new Set<string>(Object.keys(EnvSchema.shape));
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (known.has(key)) raw[key] = value;
  }

  try {
    const { values } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.keys(ARGV_FLAGS).map((flag) => [flag, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    });
    for (const [flag, envName] of Object.entries(ARGV_FLAGS)) {
      const v = values[flag];
      if (typeof v === 'string' && v !== '') raw[envName] = v;
    }
  } catch (err) {
    problems.push(`argv: ${(err as Error).message}`);
  }

  const parsed = EnvSchema.safeParse(raw);
  if (!parsed.success) {
    problems.push(...issueLines(parsed.error.issues, { root: '(env)' }));
  }
  if (problems.length > 0 || !parsed.success) {
    throw new CodedError('CFG_INVALID', `configuration is invalid:\n  - ${problems.join('\n  - ')}`, {
      details: { problems },
    });
  }
  const c = parsed.data;
  const config: ServerConfig = {
    port: c.PORT,
    host: c.HOST,
    dbPath: c.POSBRIDGE_DB,
    storeKind: storeKindOf(c.POSBRIDGE_STORE, c.POSBRIDGE_DATABASE_URL),
    publicUrl: c.POSBRIDGE_PUBLIC_URL?.replace(/\/+$/, ''),
    merchantCredentials: { appKey: c.POSBRIDGE_APP_KEY, appToken: c.POSBRIDGE_APP_TOKEN },
    callbackCredentials: { appKey: c.POSBRIDGE_CALLBACK_APP_KEY, appToken: c.POSBRIDGE_CALLBACK_APP_TOKEN },
    secondsWaiting: c.POSBRIDGE_SECONDS_WAITING,
    delayToCancelSeconds: c.POSBRIDGE_DELAY_TO_CANCEL,
    delayToAutoSettleSeconds: c.POSBRIDGE_DELAY_TO_AUTO_SETTLE,
    acquirer: c.POSBRIDGE_ACQUIRER,
    submitSecret: c.POSBRIDGE_SUBMIT_SECRET,
    logLevel: c.LOG_LEVEL,
    heartbeatIntervalMs: c.POSBRIDGE_HEARTBEAT_INTERVAL_MS,
    dispatchResendMs: c.POSBRIDGE_DISPATCH_RESEND_MS,
    agentCredentialCheckMs: c.POSBRIDGE_AGENT_CREDENTIAL_CHECK_MS,
    maxTerminalsPerAgent: c.POSBRIDGE_MAX_TERMINALS_PER_AGENT,
    bodyLimitBytes: c.POSBRIDGE_BODY_LIMIT_BYTES,
    callback: {
      timeoutMs: c.POSBRIDGE_CALLBACK_TIMEOUT_MS,
      baseDelayMs: c.POSBRIDGE_CALLBACK_BASE_DELAY_MS,
      maxDelayMs: c.POSBRIDGE_CALLBACK_MAX_DELAY_MS,
      maxAttempts: c.POSBRIDGE_CALLBACK_MAX_ATTEMPTS,
      pollIntervalMs: c.POSBRIDGE_CALLBACK_POLL_MS,
      perMerchantConcurrency: c.POSBRIDGE_CALLBACK_MERCHANT_CONCURRENCY,
      maxConcurrency: c.POSBRIDGE_CALLBACK_CONCURRENCY,
      hostPolicy: {
        hostSuffixes: parseHostSuffixes(c.POSBRIDGE_CALLBACK_HOST_SUFFIXES).suffixes,
        allowHosts: parseAllowHosts(c.POSBRIDGE_CALLBACK_ALLOW_HOSTS).hosts,
      },
    },
    merchantName: c.POSBRIDGE_MERCHANT_NAME,
    callbackMode: c.POSBRIDGE_CALLBACK_MODE,
    deadlineGraceSeconds: c.POSBRIDGE_DEADLINE_GRACE_SECONDS,
    deadlinePollMs: c.POSBRIDGE_DEADLINE_POLL_MS,
    answerBudgetMs: c.POSBRIDGE_ANSWER_BUDGET_MS,
    trustProxy: trustProxyOf(c.POSBRIDGE_TRUST_PROXY),
    tlsCertFile: c.POSBRIDGE_TLS_CERT_FILE,
    tlsKeyFile: c.POSBRIDGE_TLS_KEY_FILE,
    authFailureLimit: c.POSBRIDGE_AUTH_FAILURE_LIMIT,
    authFailureWindowMs: c.POSBRIDGE_AUTH_FAILURE_WINDOW_MS,
    onboarding: {
      rateLimit: c.POSBRIDGE_ONBOARDING_RATE_LIMIT,
      rateWindowMs: c.POSBRIDGE_ONBOARDING_RATE_WINDOW_MS,
      pendingPerSource: c.POSBRIDGE_ONBOARDING_PENDING_PER_SOURCE,
      pendingMax: c.POSBRIDGE_ONBOARDING_PENDING_MAX,
    },
    http: {
      keepAliveTimeoutMs: c.POSBRIDGE_HTTP_KEEP_ALIVE_TIMEOUT_MS,
      headersTimeoutMs: c.POSBRIDGE_HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: c.POSBRIDGE_HTTP_REQUEST_TIMEOUT_MS,
      checkIntervalMs: c.POSBRIDGE_HTTP_CHECK_INTERVAL_MS,
    },
    submitSecretFile:
      c.POSBRIDGE_SUBMIT_SECRET_FILE ??
      (c.POSBRIDGE_DB === ':memory:' || isClusterStore(storeKindOf(c.POSBRIDGE_STORE, c.POSBRIDGE_DATABASE_URL)) ? undefined : `${c.POSBRIDGE_DB}.submit-secret`),
    metricsToken: c.POSBRIDGE_METRICS_TOKEN,
    giftcardProvidersFile: c.POSBRIDGE_GIFTCARD_PROVIDERS_FILE,
    paymentAppDir: c.POSBRIDGE_PAYMENT_APP_DIR ?? DEFAULT_PAYMENT_APP_DIR,
    consoleDir: c.POSBRIDGE_CONSOLE_DIR ?? DEFAULT_CONSOLE_DIR,
    adminSessionTtlMs: c.POSBRIDGE_ADMIN_SESSION_TTL_MS,
    ...clusterConfigOf(c),
  };
  const problem = clusterSubmitSecretProblem(config.storeKind, config.submitSecret, config.submitSecretFile);
  if (problem !== undefined) {
    throw new CodedError('CFG_INVALID', `configuration is invalid:\n  - ${problem}`, { details: { problems: [problem] } });
  }
  return deepFreeze(config);
}

/** Every environment variable the server reads (the table of server/README.md lists exactly these). */
export const SERVER_SETTINGS: readonly string[] = Object.freeze(Object.keys(EnvSchema.shape));

/** Other posbridge programs' env prefixes, which the server ignores silently. */
const FOREIGN_PREFIXES = ['POSBRIDGE_AGENT_', 'POSBRIDGE_SIM_', 'POSBRIDGE_DEMO_', 'POSBRIDGE_E2E_'];

/**
 * `POSBRIDGE_*` variables the server does not know (likely typos), for a startup warning.
 */
export function unknownServerSettings(env: Record<string, string | undefined>): string[] {
  const known = new Set<string>(Object.keys(EnvSchema.shape));
  return Object.keys(env).filter(
    (k) => k.startsWith('POSBRIDGE_') && !known.has(k) && !FOREIGN_PREFIXES.some((p) => k.startsWith(p)),
  );
}

/**
 * The config with secrets replaced by `"[redacted]"`, for the one startup log line.
 */
export function redactConfig(config: ServerConfig): Record<string, unknown> {
  return {
    ...config,
    merchantCredentials: { appKey: config.merchantCredentials.appKey, appToken: '[redacted]' },
    callbackCredentials: { appKey: config.callbackCredentials.appKey, appToken: '[redacted]' },
    submitSecret: config.submitSecret === undefined ? undefined : '[redacted]',
    metricsToken: config.metricsToken === undefined ? undefined : '[redacted]',
    ...redactClusterConfig(config),
  };
}

/**
 * The process environment. The one sanctioned read of `process.env` (CONTRIBUTING.md "Configuration"): entry points
 * call this and pass the result down.
 */
export function readProcessEnv(): Record<string, string | undefined> {
  return process.env;
}
