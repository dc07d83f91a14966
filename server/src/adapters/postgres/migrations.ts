/**
 * The versioned schema of the PostgreSQL store and its runner. Migration N brings the schema
 * from version N-1 to N; the applied versions are rows of `schema_version`. Never edit a shipped
 * migration: append one (other schema modules, e.g. the cluster's, add theirs as later versions).
 *
 * Several server instances may start at once against one database: {@link migratePostgres} runs
 * under the session advisory lock {@link MIGRATION_LOCK_KEY}, so exactly one applies each
 * pending migration (each in its own transaction) and the others find it applied. A database
 * whose version is newer than this code knows is refused: an older server must not write to a
 * schema it does not understand.
 *
 * @see ./schema-core.ts, ../../../README.md (`posbridge-server migrate`)
 */
import { CodedError } from '@posbridge/protocol/errors';
import type { PgDb, PgQueryable } from './pg-db.ts';
import { SCHEMA_CORE } from './schema-core.ts';
import { CLUSTER_SCHEMA_SQL } from './schema-cluster.ts';
import { SHARED_STATE_DDL } from './schema-shared.ts';
import { GIFTCARDS_DDL } from './schema-giftcards.ts';
import { ENROLMENT_PG_DDL } from './schema-enrolment.ts';
import { ADMIN_DDL } from './schema-admin.ts';

/** One migration: `sql` (one or more statements, no parameters) brings the schema to `version`. */
export interface PgMigration {
  readonly version: number;
  /** Short name, kept in `schema_version.name`. */
  readonly name: string;
  readonly sql: string;
}

/** Ordered migrations; index i is version i + 1. */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  { version: 1, name: 'core', sql: SCHEMA_CORE },
  { version: 2, name: 'shared-state', sql: SHARED_STATE_DDL },
  { version: 3, name: 'cluster', sql: CLUSTER_SCHEMA_SQL },
  // VTEX homologation (issue 16): a merchant's Test Suite mode and who last changed it, when.
  {
    version: 4,
    name: 'test-suite-mode',
    sql: `ALTER TABLE merchants ADD COLUMN test_suite boolean NOT NULL DEFAULT false;
ALTER TABLE merchants ADD COLUMN test_suite_changed_by text CHECK (test_suite_changed_by IS NULL OR length(test_suite_changed_by) <= 200);
ALTER TABLE merchants ADD COLUMN test_suite_changed_at timestamptz;`,
  },
  // The gift card ledger (issue 17): cards and their append-only journal.
  { version: 5, name: 'giftcards', sql: GIFTCARDS_DDL },
  // VTEX sandbox mode (issue 16 item 3, docs/homologation.md "Sandbox mode"): the payment's flag,
  // the merchant's rule for sandbox payments on real terminals (deny by default), who and when.
  {
    version: 6,
    name: 'sandbox-mode',
    sql: `ALTER TABLE payments ADD COLUMN sandbox boolean NOT NULL DEFAULT false;
ALTER TABLE merchants ADD COLUMN sandbox_terminals boolean NOT NULL DEFAULT false;
ALTER TABLE merchants ADD COLUMN sandbox_terminals_changed_by text CHECK (sandbox_terminals_changed_by IS NULL OR length(sandbox_terminals_changed_by) <= 200);
ALTER TABLE merchants ADD COLUMN sandbox_terminals_changed_at timestamptz;`,
  },
  // The partner's VTEX IO Payment App of a merchant (issue 15; `vendor.name`, null = VTEX's own
  // apps) and who last changed it, when.
  {
    version: 7,
    name: 'payment-app',
    sql: `ALTER TABLE merchants ADD COLUMN payment_app text CHECK (payment_app IS NULL OR length(payment_app) BETWEEN 3 AND 129);
ALTER TABLE merchants ADD COLUMN payment_app_changed_by text CHECK (payment_app_changed_by IS NULL OR length(payment_app_changed_by) <= 200);
ALTER TABLE merchants ADD COLUMN payment_app_changed_at timestamptz;`,
  },
  // The operations console (issue 14 items 1–2): users, credentials, audit log, agent hellos.
  { version: 8, name: 'admin', sql: ADMIN_DDL },
  // Agent enrolment and end-of-day totals (issue 14 items 4–5; ./schema-enrolment.ts): pairing
  // codes and agent token rotation/revocation.
  { version: 9, name: 'agent-enrolment', sql: ENROLMENT_PG_DDL },
  // One trace across hops (issue 14 item 3; docs/tracing.md): the payment's W3C trace id and the
  // stages its agent reported (bounded per payment by the port, redacted by the hub).
  {
    version: 10,
    name: 'trace',
    sql: `ALTER TABLE payments ADD COLUMN trace_id text CHECK (trace_id IS NULL OR trace_id ~ '^[0-9a-f]{32}$');
CREATE TABLE payment_trace_events (
  seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payment_id  text NOT NULL REFERENCES payments(payment_id),
  agent_id    text NOT NULL CHECK (length(agent_id) <= 64),
  stage       text NOT NULL CHECK (length(stage) <= 32),
  detail      text NOT NULL CHECK (length(detail) <= 1024),
  at          timestamptz NOT NULL,
  received_at timestamptz NOT NULL
);
CREATE INDEX payment_trace_events_payment ON payment_trace_events(payment_id, seq);`,
  },
];

/** The schema version this code runs on. */
export const PG_SCHEMA_VERSION: number = PG_MIGRATIONS.length;

/**
 * Key of the session advisory lock (`pg_advisory_lock(bigint)`) migrations run under: the ASCII
 * bytes of "posbmigr" would not fit a JS number exactly, so it is "pbmg" = 0x70626d67. Advisory
 * locks are per database; nothing else in posbridge uses this key.
 */
export const MIGRATION_LOCK_KEY = 0x70626d67;

/** Where log lines of the runner go (a pino logger fits). */
export interface MigrationLogger {
  info(fields: Record<string, unknown>, message: string): void;
}

/** Options of {@link migratePostgres}. */
export interface MigrateOptions {
  readonly logger?: MigrationLogger;
  /** Migrations to apply. @default {@link PG_MIGRATIONS} */
  readonly migrations?: readonly PgMigration[];
  /** Longest wait for the lock plus any one statement of a migration, ms. @default 120000 */
  readonly timeoutMs?: number;
}

const CREATE_VERSION_TABLE = `CREATE TABLE IF NOT EXISTS schema_version (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** The applied version of the schema (0: none, or no `schema_version` table). */
async function appliedVersion(q: PgQueryable): Promise<number> {
  const table = await q.one<{ t: string | null }>(`SELECT to_regclass('schema_version')::text AS t`);
  if (table?.t === null || table?.t === undefined) return 0;
  const row = await q.one<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_version');
  return row?.v ?? 0;
}

function tooNew(version: number, known: number): CodedError {
  return new CodedError(
    'STORE_FAILED',
    `the PostgreSQL schema is at version ${version}, newer than this server knows (${known}): run a server release that knows it`,
    { details: { operation: 'migrate', schemaVersion: version, knownVersion: known } },
  );
}

/**
 * Applies every pending migration, once, even when several processes call it at the same time.
 * @returns the version before (`from`) and after (`to`).
 * @throws CodedError `STORE_FAILED` when the database's version is newer than `migrations` know,
 *   or a migration fails (it is rolled back; earlier ones stay applied).
 */
export async function migratePostgres(db: PgDb, opts: MigrateOptions = {}): Promise<{ from: number; to: number }> {
  const migrations = opts.migrations ?? PG_MIGRATIONS;
  const latest = migrations.length;
  try {
    return await db.withAdvisoryLock(MIGRATION_LOCK_KEY, async (q) => {
      await q.run(CREATE_VERSION_TABLE);
      const from = await appliedVersion(q);
      if (from > latest) throw tooNew(from, latest);
      for (const m of migrations.slice(from)) {
        await q.run('BEGIN');
        try {
          await q.run(m.sql);
          await q.run('INSERT INTO schema_version (version, name) VALUES ($1, $2)', [m.version, m.name]);
          await q.run('COMMIT');
        } catch (err) {
          await q.run('ROLLBACK').catch(() => undefined);
          throw new CodedError('STORE_FAILED', `PostgreSQL migration ${m.version} (${m.name}) failed`, {
            cause: err,
            details: { operation: 'migrate', version: m.version },
          });
        }
        opts.logger?.info({ version: m.version, name: m.name }, 'PostgreSQL schema migrated');
      }
      return { from, to: Math.max(from, latest) };
    }, { statementTimeoutMs: opts.timeoutMs ?? 120_000 });
  } catch (err) {
    if (err instanceof CodedError) throw err;
    throw new CodedError('STORE_FAILED', 'PostgreSQL migration failed', { cause: err, details: { operation: 'migrate' } });
  }
}

/**
 * Checks, without changing anything, that the database is at exactly the version of `migrations`
 * (a server opened with `migrate: false`).
 * @throws CodedError `STORE_FAILED` when it is behind (run `posbridge-server migrate`) or newer.
 */
export async function checkPostgresSchema(db: PgDb, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<number> {
  const version = await appliedVersion(db);
  const latest = migrations.length;
  if (version > latest) throw tooNew(version, latest);
  if (version < latest) {
    throw new CodedError(
      'STORE_FAILED',
      `the PostgreSQL schema is at version ${version}, this server needs ${latest}: run \`posbridge-server migrate\` first`,
      { details: { operation: 'checkSchema', schemaVersion: version, knownVersion: latest } },
    );
  }
  return version;
}
