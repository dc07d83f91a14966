/**
 * The store adapters the server can run on, chosen by configuration (`POSBRIDGE_STORE`), not by
 * code edits: a registry from kind to an `open` factory, used by the composition root
 * (./compose.ts) and the CLI (./cli.ts) alike. A new adapter is one entry here.
 *
 * | kind     | adapter                                   | `dbPath`                          |
 * |----------|-------------------------------------------|-----------------------------------|
 * | `sqlite` | ./adapters/sqlite/index.ts (sqlite3, WAL) | the file (`:memory:` = throwaway) |
 * | `memory` | ./adapters/memory/index.ts (this process) | ignored; everything is lost on exit |
 * | `postgres` | ./adapters/postgres/index.ts (pg pool) | ignored; `databaseUrl` names the database |
 *
 * An adapter's module (and its driver) loads when its kind is opened, so a process on another
 * kind never loads sqlite3 (or pg).
 *
 * @see ../README.md (configuration: `POSBRIDGE_STORE`, `POSBRIDGE_DB`, `POSBRIDGE_DATABASE_URL`), ../../docs/architecture.md
 */
import { CodedError } from '@posbridge/protocol/errors';
import type { StoreSettings } from './config.ts';
import type { PaymentStore } from './ports/index.ts';

/**
 * Opens (and migrates, where the adapter has a schema) a store from the settings.
 * @throws CodedError `STORE_FAILED` when the adapter cannot open it.
 */
export type StoreFactory = (settings: StoreSettings) => Promise<PaymentStore>;

/** Store kind → factory. The kinds `POSBRIDGE_STORE` accepts. */
export type StoreRegistry = ReadonlyMap<string, StoreFactory>;

/**
 * The built-in adapters:
 * - `sqlite` (the default): one SQLite file at `dbPath` (`:memory:` for a throwaway run), WAL mode.
 * - `memory`: every port in this process's memory, passing the same contract suites as SQLite
 *   (server/src/ports/*.contract.ts). For demos and tests: nothing survives a restart, and no
 *   other process (the CLI) can see it.
 * - `postgres`: the PostgreSQL database at `databaseUrl` (`POSBRIDGE_DATABASE_URL`), shared by
 *   every server instance; pending migrations are applied on open under an advisory lock, so
 *   instances starting together migrate once (`posbridge-server migrate` does it ahead).
 */
export const STORE_FACTORIES: StoreRegistry = new Map<string, StoreFactory>([
  ['sqlite', async (settings) => (await import('./adapters/sqlite/index.ts')).openSqliteStore({ filename: settings.dbPath })],
  ['memory', async () => (await import('./adapters/memory/index.ts')).createMemoryStore()],
  [
    'postgres',
    async (settings) =>
      (await import('./adapters/postgres/index.ts')).openPostgresStore({
        connectionString: requireDatabaseUrl(settings),
        ...(settings.dbPoolMax === undefined ? {} : { maxConnections: settings.dbPoolMax }),
      }),
  ],
]);

/**
 * The PostgreSQL URL of `settings`.
 * @throws CodedError `CFG_INVALID` naming `POSBRIDGE_DATABASE_URL` when it is not set.
 */
export function requireDatabaseUrl(settings: StoreSettings): string {
  if (settings.databaseUrl !== undefined && settings.databaseUrl !== '') return settings.databaseUrl;
  const problem = `POSBRIDGE_DATABASE_URL: is required when POSBRIDGE_STORE=${settings.storeKind}`;
  throw new CodedError('CFG_INVALID', `configuration is invalid:\n  - ${problem}`, { details: { problems: [problem] } });
}

/** Kinds whose data lives inside the server process: another process (the CLI) cannot reach it. */
export const PROCESS_LOCAL_STORE_KINDS: ReadonlySet<string> = new Set(['memory']);

/**
 * The factory of `settings.storeKind`, checked before anything is opened.
 *
 * @param registry - the adapters to choose from. @default {@link STORE_FACTORIES}
 * @throws CodedError `CFG_INVALID` naming the unknown kind and the known ones (same message shape
 *   as `loadServerConfig`'s).
 */
export function storeFactoryOf(settings: StoreSettings, registry: StoreRegistry = STORE_FACTORIES): StoreFactory {
  const factory = registry.get(settings.storeKind);
  if (factory === undefined) {
    const known = [...registry.keys()];
    const problem = `POSBRIDGE_STORE: unknown store kind ${JSON.stringify(settings.storeKind)} (known: ${known.join(', ')})`;
    throw new CodedError('CFG_INVALID', `configuration is invalid:\n  - ${problem}`, { details: { problems: [problem] } });
  }
  return factory;
}

/**
 * Opens the store `settings` name.
 *
 * @param registry - the adapters to choose from. @default {@link STORE_FACTORIES}
 * @throws CodedError `CFG_INVALID` for an unknown kind; `STORE_FAILED` when the adapter cannot open it.
 */
export async function openStore(settings: StoreSettings, registry: StoreRegistry = STORE_FACTORIES): Promise<PaymentStore> {
  return storeFactoryOf(settings, registry)(settings);
}
