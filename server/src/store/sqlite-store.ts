/**
 * The SQLite store, re-exported from its home, ../adapters/sqlite/ (one file per port). Kept so
 * existing importers compile unchanged.
 */
export { openSqliteStore, type SqliteStoreOptions } from '../adapters/sqlite/index.ts';
