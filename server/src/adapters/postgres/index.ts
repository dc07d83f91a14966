/**
 * The PostgreSQL adapter: every port (../../ports/) on one PostgreSQL database (the `pg`
 * package) shared by any number of server instances.
 *
 * Each port's class holds the same {@link PgDb} pool, so a change and its effects (events,
 * callbacks, agent commands) commit in one transaction on one pooled connection. Unlike SQLite
 * (one connection, one FIFO lock), operations run concurrently: every read-modify-write is one
 * conditional statement or one transaction holding the row locks it needs (see each port).
 *
 * @see ./pg-db.ts (pool rules), ./migrations.ts (schema versions), ../sqlite/index.ts
 */
import type { PaymentStore } from '../../ports/index.ts';
import { bindPort } from '../bind-port.ts';
import { storeError } from '../store-error.ts';
import { PgAdmin } from './admin.ts';
import { PgAgentCommands } from './agent-commands.ts';
import { PgAgentEnrolment } from './agent-enrolment.ts';
import { PgTotals } from './totals.ts';
import { PgCallbackOutbox } from './callback-outbox.ts';
import { PgCounters } from './counters.ts';
import { PgDirectory } from './directory.ts';
import { PgPaymentEvents } from './events.ts';
import { PgGiftCards } from './giftcards.ts';
import { PgMeta } from './meta.ts';
import { checkPostgresSchema, migratePostgres, type MigrationLogger } from './migrations.ts';
import { PgOnboardingTokens } from './onboarding-tokens.ts';
import { PgOperations } from './operations.ts';
import { PgPayments } from './payments.ts';
import { PgDb } from './pg-db.ts';

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user:pass@host:port/db` (libpq URL form). Holds a password: never log it unredacted. */
  readonly connectionString: string;
  /** Most pooled connections. @default 10 */
  readonly maxConnections?: number;
  /** Longest wait for a connection, ms. @default 2000 */
  readonly connectTimeoutMs?: number;
  /** Server-side `statement_timeout`, ms. @default 3000 */
  readonly statementTimeoutMs?: number;
  /**
   * Apply pending migrations on open (under the migration advisory lock). With false the schema
   * must already be at this code's version (`posbridge-server migrate`). @default true
   */
  readonly migrate?: boolean;
  /** Log lines of migrations and pool errors of idle connections. */
  readonly logger?: MigrationLogger & { warn(fields: Record<string, unknown>, message: string): void };
}

/** The PostgreSQL store: every port, plus the pool (for tables of other modules on the same database). */
export interface PostgresStore extends PaymentStore {
  /** The shared pool (cluster presence and other tables live on it too). Closed by `close()`. */
  readonly db: PgDb;
  /** `SELECT 1`. @throws CodedError `STORE_FAILED` when the server cannot be reached. */
  ping(): Promise<void>;
}

/**
 * True when `store` is a {@link PostgresStore} (what `openStore` returns for the `postgres` kind),
 * for modules that build their own tables on its pool (cluster presence, shared counters).
 */
export function isPostgresStore(store: PaymentStore): store is PostgresStore {
  const db = (store as Partial<PostgresStore>).db;
  return db instanceof PgDb && typeof (store as Partial<PostgresStore>).ping === 'function';
}

/** Every port over one pool, composed into the {@link PostgresStore}. */
function composePostgresStore(db: PgDb): PostgresStore {
  return {
    ...bindPort(new PgPayments(db)),
    ...bindPort(new PgPaymentEvents(db)),
    ...bindPort(new PgCallbackOutbox(db)),
    ...bindPort(new PgOperations(db)),
    ...bindPort(new PgDirectory(db)),
    ...bindPort(new PgMeta(db)),
    ...bindPort(new PgAgentCommands(db)),
    ...bindPort(new PgCounters(db)),
    ...bindPort(new PgOnboardingTokens(db)),
    ...bindPort(new PgGiftCards(db)),
    ...bindPort(new PgAgentEnrolment(db)),
    ...bindPort(new PgTotals(db)),
    ...bindPort(new PgAdmin(db)),
    db,
    ping: () =>
      db.ping().catch((err: unknown) => {
        throw storeError('ping', err);
      }),
    close: () => db.close(),
  };
}

/**
 * Opens the pool, checks the server answers, and migrates the schema (or, with `migrate: false`,
 * checks it is current).
 * @throws CodedError `STORE_FAILED` when the server cannot be reached, a migration fails, or the
 *   schema is behind (with `migrate: false`) or newer than this code knows.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const db = PgDb.open({
    connectionString: options.connectionString,
    ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
    ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    ...(options.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: options.statementTimeoutMs }),
    onError: (err) => options.logger?.warn({ err: err.message }, 'PostgreSQL connection lost (the pool replaces it)'),
  });
  try {
    await db.ping();
    if (options.migrate === false) await checkPostgresSchema(db);
    else await migratePostgres(db, options.logger ? { logger: options.logger } : {});
    return composePostgresStore(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw storeError('open PostgreSQL', err);
  }
}
