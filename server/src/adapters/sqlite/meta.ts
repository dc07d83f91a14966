/**
 * {@link MetaPort} on SQLite: the `meta` key/value table. `deleteMeta` turns `secure_delete` on
 * for its statement so a removed secret does not linger in free pages of the file.
 */
import type { MetaPort } from '../../ports/meta.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { runExclusive } from './rows.ts';

/** Metadata over one connection. */
export class SqliteMeta implements MetaPort {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return runExclusive(this.#db, operation, fn);
  }

  getOrSetMeta(key: string, value: string): Promise<string> {
    return this.#op('getOrSetMeta', async () => {
      await this.#db.run('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)', [key, value]);
      const row = await this.#db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]);
      if (!row) throw new Error(`meta ${key} vanished`);
      return row.value;
    });
  }

  getMeta(key: string): Promise<string | null> {
    return this.#op('getMeta', async () => {
      const row = await this.#db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]);
      return row?.value ?? null;
    });
  }

  deleteMeta(key: string): Promise<void> {
    return this.#op('deleteMeta', async () => {
      // Overwrite the freed bytes too: a deleted secret must not linger in free pages.
      await this.#db.exec('PRAGMA secure_delete = ON');
      try {
        await this.#db.run('DELETE FROM meta WHERE key = ?', [key]);
      } finally {
        await this.#db.exec('PRAGMA secure_delete = OFF');
      }
    });
  }
}
