/**
 * The cluster part of the server configuration (./config.ts, which re-exports everything here):
 * the settings several instances of one deployment share or tell apart — the PostgreSQL store
 * (`POSBRIDGE_DATABASE_URL`, `POSBRIDGE_DB_POOL_MAX`), the NATS bus (`POSBRIDGE_NATS_URL`,
 * `POSBRIDGE_NATS_SUBJECT_PREFIX`) and the instance's own name (`POSBRIDGE_INSTANCE_ID`) — with
 * their checks, their redaction for the startup log line, and the rule that a cluster's submit
 * secret comes from configuration; and the store settings alone ({@link resolveStoreSettings}),
 * which the CLI reads without the rest of the configuration.
 *
 * Reads no process environment itself: ./config.ts's schema holds {@link CLUSTER_ENV_SHAPE} and
 * hands the parsed values to the functions here; the CLI passes its env record in.
 *
 * @see docs/deployment.md (running several instances)
 * @see server/README.md "Configuration"
 */
import { z } from 'zod';
import { redactUrlPasswords } from '@posbridge/protocol/redaction';
import { INSTANCE_ID_PATTERN, defaultInstanceId } from './instance-id.ts';
import { parseNatsUrl, redactNatsUrl } from './adapters/nats/nats-url.ts';

/** The cluster fields of ServerConfig (./config.ts extends this). */
export interface ClusterConfig {
  /**
   * PostgreSQL connection URL (`POSBRIDGE_DATABASE_URL`, `postgres://user:password@host:5432/db`),
   * required by the `postgres` store kind. Holds a password: logged only through
   * {@link redactClusterConfig} (./config.ts `redactConfig`).
   */
  readonly databaseUrl: string | undefined;
  /** Most pooled PostgreSQL connections of this instance (`POSBRIDGE_DB_POOL_MAX`, 1–1000). @default 10 */
  readonly dbPoolMax: number;
  /**
   * This server instance's name (`POSBRIDGE_INSTANCE_ID`): on every log line, in `/healthz`, and
   * the key of the instance registry of a cluster. 1–64 of `A-Z a-z 0-9 . _ -`, starting with a
   * letter or digit; unique per running instance.
   * @default `<hostname>-<pid>-<4 random hex>`, generated at start (./instance-id.ts)
   */
  readonly instanceId: string;
  /**
   * NATS server(s) of the bus between instances (`POSBRIDGE_NATS_URL`, comma-separated,
   * ./adapters/nats/nats-url.ts); undefined = no bus (one instance). May carry credentials: log
   * it only through {@link redactClusterConfig}.
   */
  readonly natsUrl: string | undefined;
  /**
   * First token(s) of every bus subject (`POSBRIDGE_NATS_SUBJECT_PREFIX`, 1–4 dot-separated tokens
   * of `A-Z a-z 0-9 _ -`, each ≤ 32), so clusters can share a NATS server. @default "posbridge"
   */
  readonly natsSubjectPrefix: string;
}

/** The env variables of {@link ClusterConfig} and their zod checks (a part of ./config.ts's schema). */
export const CLUSTER_ENV_SHAPE = {
  POSBRIDGE_DATABASE_URL: z.string().max(4096).regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// URL').optional(),
  POSBRIDGE_DB_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(10),
  POSBRIDGE_INSTANCE_ID: z
    .string()
    .regex(INSTANCE_ID_PATTERN, 'must be 1–64 of A-Z a-z 0-9 . _ -, starting with a letter or digit')
    .optional(),
  POSBRIDGE_NATS_URL: z.string().max(8192).optional(),
  POSBRIDGE_NATS_SUBJECT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}(\.[A-Za-z0-9_-]{1,32}){0,3}$/, 'must be 1–4 dot-separated tokens of A-Z a-z 0-9 _ -')
    .default('posbridge'),
};

/** The parsed cluster variables (defaults filled). */
export type ClusterEnv = z.infer<z.ZodObject<typeof CLUSTER_ENV_SHAPE>>;

/** One problem of the cluster settings: the variable it is about and what is wrong. */
export interface ClusterEnvProblem {
  readonly path: string;
  readonly message: string;
}

/** The store kind: `POSBRIDGE_STORE` when set, else `postgres` when a database URL is, else `sqlite`. */
export function storeKindOf(kind: string | undefined, databaseUrl: string | undefined): string {
  if (kind !== undefined && kind !== '') return kind;
  return databaseUrl !== undefined && databaseUrl !== '' ? 'postgres' : 'sqlite';
}

/**
 * True when `storeKind` is a store several server instances share (a cluster: PostgreSQL). Then
 * nothing an instance generates for itself may be part of what another instance must check:
 * the submit secret comes from configuration only.
 */
export function isClusterStore(storeKind: string): boolean {
  return storeKind === 'postgres';
}

/**
 * The checks across cluster variables that zod's per-field rules cannot make: the `postgres`
 * kind needs its URL, and every server of `POSBRIDGE_NATS_URL` must parse
 * (./adapters/nats/nats-url.ts; the problems never quote a credential).
 * @param storeKind - the resolved kind ({@link storeKindOf}).
 */
export function clusterEnvProblems(c: ClusterEnv, storeKind: string): ClusterEnvProblem[] {
  const problems: ClusterEnvProblem[] = [];
  if (storeKind === 'postgres' && c.POSBRIDGE_DATABASE_URL === undefined) {
    problems.push({ path: 'POSBRIDGE_DATABASE_URL', message: 'is required when POSBRIDGE_STORE=postgres' });
  }
  const nats = c.POSBRIDGE_NATS_URL === undefined ? undefined : parseNatsUrl(c.POSBRIDGE_NATS_URL);
  for (const message of nats?.ok === false ? nats.problems : []) problems.push({ path: 'POSBRIDGE_NATS_URL', message });
  return problems;
}

/** The {@link ClusterConfig} of parsed variables (the instance id generated when unset). */
export function clusterConfigOf(c: ClusterEnv): ClusterConfig {
  return {
    databaseUrl: c.POSBRIDGE_DATABASE_URL,
    dbPoolMax: c.POSBRIDGE_DB_POOL_MAX,
    instanceId: c.POSBRIDGE_INSTANCE_ID ?? defaultInstanceId(),
    natsUrl: c.POSBRIDGE_NATS_URL,
    natsSubjectPrefix: c.POSBRIDGE_NATS_SUBJECT_PREFIX,
  };
}

/**
 * The cluster rule of the submit secret (./pos/submit-secret.ts): on a cluster store the key is
 * `POSBRIDGE_SUBMIT_SECRET` or a `POSBRIDGE_SUBMIT_SECRET_FILE` every instance reads, because a
 * key generated per instance would make a submitUrl minted by one instance fail on the others.
 * @returns the `CFG_INVALID` problem line, or undefined when the rule holds.
 */
export function clusterSubmitSecretProblem(
  storeKind: string,
  submitSecret: string | undefined,
  submitSecretFile: string | undefined,
): string | undefined {
  if (!isClusterStore(storeKind) || submitSecret !== undefined || submitSecretFile !== undefined) return undefined;
  return (
    `POSBRIDGE_SUBMIT_SECRET: required with POSBRIDGE_STORE=${storeKind} (several instances share the store): ` +
    'set it, or POSBRIDGE_SUBMIT_SECRET_FILE to a file every instance reads, so every instance signs and checks submitUrls with the same key'
  );
}

/** The cluster fields that may hold credentials, with passwords replaced (`[redacted]`, `***`). */
export function redactClusterConfig(config: ClusterConfig): Pick<ClusterConfig, 'databaseUrl' | 'natsUrl'> {
  return {
    databaseUrl: config.databaseUrl === undefined ? undefined : redactUrlPasswords(config.databaseUrl),
    natsUrl: config.natsUrl === undefined ? undefined : redactNatsUrl(config.natsUrl),
  };
}

/** Where the data lives: the store kind and its database (what ./store-factory.ts opens). */
export interface StoreSettings {
  /** `POSBRIDGE_STORE`. @default "postgres" when `databaseUrl` is set, else "sqlite" */
  readonly storeKind: string;
  /** `POSBRIDGE_DB` (or `--db`): the SQLite file. @default "./posbridge.sqlite" */
  readonly dbPath: string;
  /** `POSBRIDGE_DATABASE_URL` (or `--database-url`): the PostgreSQL URL of the `postgres` kind. */
  readonly databaseUrl?: string | undefined;
  /** `POSBRIDGE_DB_POOL_MAX`: most pooled PostgreSQL connections. @default 10 */
  readonly dbPoolMax?: number;
}

/**
 * The store settings alone (for CLI commands that need no credentials, e.g. `agent add`); the
 * kind (and the `postgres` kind's URL) is checked when the store is opened.
 * @param dbOverride - `--db` value, wins over `POSBRIDGE_DB`.
 * @param databaseUrlOverride - `--database-url` value, wins over `POSBRIDGE_DATABASE_URL`.
 */
export function resolveStoreSettings(
  env: Record<string, string | undefined>,
  dbOverride?: string,
  databaseUrlOverride?: string,
): StoreSettings {
  const url = databaseUrlOverride !== undefined && databaseUrlOverride !== '' ? databaseUrlOverride : env['POSBRIDGE_DATABASE_URL'];
  const databaseUrl = url !== undefined && url !== '' ? url : undefined;
  const pool = Number(env['POSBRIDGE_DB_POOL_MAX']);
  return {
    storeKind: storeKindOf(env['POSBRIDGE_STORE'], databaseUrl),
    dbPath: resolveDbPath(env, dbOverride),
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
    ...(Number.isInteger(pool) && pool >= 1 && pool <= 1000 ? { dbPoolMax: pool } : {}),
  };
}

/**
 * The SQLite path alone (for CLI commands that need no credentials, e.g. `agent add`).
 * @param override - `--db` value, wins over `POSBRIDGE_DB`.
 */
export function resolveDbPath(env: Record<string, string | undefined>, override?: string): string {
  if (override !== undefined && override !== '') return override;
  const fromEnv = env['POSBRIDGE_DB'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : './posbridge.sqlite';
}
