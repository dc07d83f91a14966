/**
 * {@link MetaPort} on PostgreSQL: the `meta` key/value table. `getOrSetMeta` is
 * `INSERT … ON CONFLICT DO NOTHING` then a read, so concurrent first calls on several instances
 * all get the one value that won. A deleted row's bytes stay in the table file until `VACUUM`
 * reclaims the page (PostgreSQL has no `secure_delete`; autovacuum runs on its own schedule).
 */
import type { MetaPort } from '../../ports/meta.ts';
import type { PgDb } from './pg-db.ts';
import { pgOp } from './rows.ts';

/** Metadata on the shared pool. */
export class PgMeta implements MetaPort {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  getOrSetMeta(key: string, value: string): Promise<string> {
    return pgOp('getOrSetMeta', async () => {
      await this.#db.run('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
      const row = await this.#db.one<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]);
      if (!row) throw new Error(`meta ${key} vanished`);
      return row.value;
    });
  }

  getMeta(key: string): Promise<string | null> {
    return pgOp('getMeta', async () => {
      const row = await this.#db.one<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]);
      return row?.value ?? null;
    });
  }

  deleteMeta(key: string): Promise<void> {
    return pgOp('deleteMeta', async () => {
      await this.#db.run('DELETE FROM meta WHERE key = $1', [key]);
    });
  }
}
