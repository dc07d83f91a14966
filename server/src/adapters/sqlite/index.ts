/**
 * The SQLite adapter: every port (../../ports/) on one SQLite database (the `sqlite3` package),
 * for a single server instance.
 *
 * Connection setup: `journal_mode=WAL`, `busy_timeout`, `foreign_keys=ON`, `synchronous=FULL`
 * (every commit's WAL frames are fsynced before the commit returns, so an answer given after a
 * commit survives a power cut, not only a crash of the process: NORMAL in WAL mode defers the
 * fsync to the checkpoint and may lose the last commits; https://www.sqlite.org/pragma.html#pragma_synchronous),
 * plus a read-only second connection for the hot reads (./sqlite-db.ts). Every write runs
 * through one FIFO lock (see ./sqlite-db.ts) so transactions never interleave on the
 * shared connection; each port's class holds the same {@link SqliteDb} handle, so a change and
 * its effects (events, callbacks, agent commands) commit in one `BEGIN IMMEDIATE` transaction.
 */
import type { PaymentStore } from '../../ports/index.ts';
import { MIGRATIONS } from './migrations.ts';
import { SqliteDb } from './sqlite-db.ts';
import { bindPort } from '../bind-port.ts';
import { SqliteAdmin } from './admin.ts';
import { SqliteAgentCommands } from './agent-commands.ts';
import { SqliteAgentEnrolment } from './agent-enrolment.ts';
import { SqliteTotals } from './totals.ts';
import { SqliteCallbackOutbox } from './callback-outbox.ts';
import { SqliteCounters } from './counters.ts';
import { SqliteDirectory } from './directory.ts';
import { SqlitePaymentEvents } from './events.ts';
import { SqliteGiftCards } from './giftcards.ts';
import { SqliteMeta } from './meta.ts';
import { SqliteOnboardingTokens } from './onboarding-tokens.ts';
import { SqliteOperations } from './operations.ts';
import { SqlitePayments } from './payments.ts';
import { storeError } from '../store-error.ts';

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file path, or `:memory:`. */
  filename: string;
  /** How long a statement waits for a lock held by another connection. @default 5000 */
  busyTimeoutMs?: number;
}

/** Applies pending migrations inside one transaction each. */
async function migrate(db: SqliteDb): Promise<void> {
  await db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = await db.get<{ version: number }>('SELECT MAX(version) AS version FROM schema_version');
  const current = row?.version ?? 0;
  for (let v = current + 1; v <= MIGRATIONS.length; v++) {
    const sql = MIGRATIONS[v - 1];
    if (sql === undefined) break;
    await db.transaction(async () => {
      await db.exec(sql);
      await db.run('INSERT INTO schema_version (version) VALUES (?)', [v]);
    });
  }
}

/** Every port over one connection, composed into the {@link PaymentStore}. */
function composeSqliteStore(db: SqliteDb, counters: SqliteCounters): PaymentStore {
  return {
    ...bindPort(new SqlitePayments(db)),
    ...bindPort(new SqlitePaymentEvents(db)),
    ...bindPort(new SqliteCallbackOutbox(db)),
    ...bindPort(new SqliteOperations(db)),
    ...bindPort(new SqliteDirectory(db)),
    ...bindPort(new SqliteMeta(db)),
    ...bindPort(new SqliteAgentCommands(db)),
    ...bindPort(counters),
    ...bindPort(new SqliteOnboardingTokens(db)),
    ...bindPort(new SqliteGiftCards(db)),
    ...bindPort(new SqliteAgentEnrolment(db)),
    ...bindPort(new SqliteTotals(db)),
    ...bindPort(new SqliteAdmin(db)),
    close: () => db.close(),
  };
}
/**
 * Opens the SQLite database, configures the connection and applies migrations.
 * @throws CodedError `STORE_FAILED` when the file cannot be opened or migrated.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<PaymentStore> {
  let db: SqliteDb | undefined;
  try {
    db = await SqliteDb.open(options.filename);
    db.setBusyTimeout(options.busyTimeoutMs ?? 5000);
    await db.exec('PRAGMA journal_mode = WAL');
    await db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    await db.exec('PRAGMA foreign_keys = ON');
    await db.exec('PRAGMA synchronous = FULL');
    const opened = db;
    await opened.exclusive(() => migrate(opened));
    // A second connection for the hot reads (./sqlite-db.ts `read`): only a file has one to share.
    if (options.filename !== '' && options.filename !== ':memory:' && !options.filename.startsWith('file:')) {
      await opened.attachReader(options.filename, options.busyTimeoutMs ?? 5000);
    }
    const counters = new SqliteCounters(opened);
    await counters.load();
    return composeSqliteStore(opened, counters);
  } catch (err) {
    await db?.close().catch(() => undefined);
    throw storeError(`open ${options.filename}`, err);
  }
}
