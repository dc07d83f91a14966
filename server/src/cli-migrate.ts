/**
 * `posbridge-server migrate` and the failure line every command of ./cli.ts prints (split from
 * it to keep each file short).
 */
import { CodedError, isCodedError } from '@posbridge/protocol/errors';
import { redactUrlPasswords } from '@posbridge/protocol/redaction';
import type { resolveStoreSettings } from './config.ts';
import { requireDatabaseUrl } from './store-factory.ts';

/** The line a failed command prints (coded errors with their code, and the cause's message; URL passwords redacted). */
export function failure(what: string, err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error && err.cause.message !== '' ? ` (${err.cause.message})` : '';
  return redactUrlPasswords(`${what} failed: ${isCodedError(err) ? `${err.code}: ${err.message}` : String(err)}${cause}\n`);
}

/**
 * `posbridge-server migrate`: applies pending PostgreSQL migrations (../adapters/postgres/migrations.ts)
 * under their advisory lock and prints `schema at version N (was M)`. SQLite has nothing to do
 * ahead: it migrates when opened.
 * @returns 0, or 1 (printed on stderr) when the database cannot be reached, a migration fails,
 *   its schema is newer than this release, or the store kind has no schema.
 */
export async function migrate(settings: ReturnType<typeof resolveStoreSettings>): Promise<number> {
  if (settings.storeKind === 'sqlite') {
    process.stdout.write(`SQLite migrates on open: ${settings.dbPath} gets this release's schema when the server (or any command) opens it; nothing to do\n`);
    return 0;
  }
  try {
    if (settings.storeKind !== 'postgres') {
      throw new CodedError('CFG_INVALID', `POSBRIDGE_STORE=${settings.storeKind} has no schema to migrate (postgres, sqlite do)`);
    }
    const url = requireDatabaseUrl(settings);
    const { PgDb } = await import('./adapters/postgres/pg-db.ts');
    const { migratePostgres } = await import('./adapters/postgres/migrations.ts');
    const db = PgDb.open({ connectionString: url, maxConnections: 1, connectTimeoutMs: 10_000 });
    try {
      const { from, to } = await migratePostgres(db);
      process.stdout.write(`schema at version ${to} (was ${from})\n`);
    } finally {
      await db.close();
    }
    return 0;
  } catch (err) {
    process.stderr.write(failure('migrate', err));
    return 1;
  }
}
