/**
 * The PostgreSQL migration runner (./migrations.ts) on a real server: several instances
 * migrating one fresh database at once apply the schema exactly once; a failing migration is
 * rolled back; a schema newer than the code, or (with `migrate: false`) behind it, is refused.
 * @requires-program postgres
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type ThrowawayPostgres } from '@posbridge/testkit';
import { openPostgresStore } from './index.ts';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION, migratePostgres } from './migrations.ts';
import { PgDb } from './pg-db.ts';

let server: ThrowawayPostgres;
let admin: PgDb;
let databases = 0;
const pools: PgDb[] = [];

beforeAll(async () => {
  server = await startPostgres();
  admin = PgDb.open({ connectionString: server.url });
}, 60_000);
afterAll(async () => {
  for (const p of pools.splice(0)) await p.close();
  await admin?.close();
  await server?.stop();
});

/** A fresh, empty database; its URL. */
async function freshDatabase(): Promise<string> {
  const name = `m_${++databases}`;
  await admin.run(`CREATE DATABASE ${name}`);
  return server.urlOf(name);
}

function pool(url: string): PgDb {
  const db = PgDb.open({ connectionString: url, maxConnections: 2 });
  pools.push(db);
  return db;
}

describe('migratePostgres', () => {
  it('eight instances migrating one fresh database at once: all succeed, the schema is applied once', async () => {
    const url = await freshDatabase();
    const results = await Promise.all(Array.from({ length: 8 }, () => migratePostgres(pool(url))));
    expect(results.filter((r) => r.from === 0)).toEqual([{ from: 0, to: PG_SCHEMA_VERSION }]);
    expect(results.filter((r) => r.from === PG_SCHEMA_VERSION)).toHaveLength(7);
    const db = pool(url);
    expect(await db.rows('SELECT version, name FROM schema_version ORDER BY version')).toEqual(PG_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    const tables = await db.rows<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`);
    expect(tables.map((r) => r.t)).toEqual([
      'admin_audit', 'admin_credentials', 'admin_users',
      'agent_commands', 'agent_connections', 'agents', 'callback_outbox', 'gift_card_entries', 'gift_cards', 'merchants', 'meta', 'onboarding_tokens', 'operations',
      'pairing_codes', 'payment_events', 'payment_trace_events', 'payments', 'rate_counters', 'schema_version', 'server_instances', 'stores', 'terminal_events',
      'terminal_holders', 'terminals',
    ]);
    // Again: nothing to do.
    expect(await migratePostgres(db)).toEqual({ from: PG_SCHEMA_VERSION, to: PG_SCHEMA_VERSION });
  });

  it('logs each migration it applies', async () => {
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    const db = pool(await freshDatabase());
    await migratePostgres(db, { logger: { info: (fields, message) => lines.push({ fields, message }) } });
    expect(lines).toEqual(PG_MIGRATIONS.map((m) => ({ fields: { version: m.version, name: m.name }, message: 'PostgreSQL schema migrated' })));
  });

  it('rolls a failing migration back, keeping the versions before it', async () => {
    const db = pool(await freshDatabase());
    const broken = [...PG_MIGRATIONS, { version: PG_SCHEMA_VERSION + 1, name: 'broken', sql: 'CREATE TABLE half_done (x int); SELECT 1 / 0' }];
    await expect(migratePostgres(db, { migrations: broken })).rejects.toMatchObject({
      code: 'STORE_FAILED',
      message: `PostgreSQL migration ${PG_SCHEMA_VERSION + 1} (broken) failed`,
    });
    expect(await db.one(`SELECT to_regclass('half_done') AS t`)).toEqual({ t: null });
    expect(await db.one('SELECT MAX(version) AS v FROM schema_version')).toEqual({ v: PG_SCHEMA_VERSION });
  });

  it('refuses a database whose schema is newer than this code knows', async () => {
    const url = await freshDatabase();
    const db = pool(url);
    await migratePostgres(db);
    await db.run(`INSERT INTO schema_version (version, name) VALUES ($1, 'from the future')`, [PG_SCHEMA_VERSION + 1]);
    const newer = { code: 'STORE_FAILED', message: expect.stringMatching(new RegExp(`version ${PG_SCHEMA_VERSION + 1}, newer than this server knows`)) };
    await expect(migratePostgres(db)).rejects.toMatchObject(newer);
    await expect(openPostgresStore({ connectionString: url })).rejects.toMatchObject(newer);
    await expect(openPostgresStore({ connectionString: url, migrate: false })).rejects.toMatchObject(newer);
  });
});

describe('openPostgresStore', () => {
  it('with migrate: false refuses a schema that is behind, naming `posbridge-server migrate`, and opens a current one', async () => {
    const url = await freshDatabase();
    await expect(openPostgresStore({ connectionString: url, migrate: false })).rejects.toMatchObject({
      code: 'STORE_FAILED',
      message: expect.stringContaining('run `posbridge-server migrate` first'),
    });
    const first = await openPostgresStore({ connectionString: url });
    await first.close();
    const store = await openPostgresStore({ connectionString: url, migrate: false });
    try {
      await store.ping();
      expect(await store.getPayment('nope')).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('answers STORE_FAILED promptly when the server cannot be reached', async () => {
    const started = Date.now();
    await expect(openPostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectTimeoutMs: 500 })).rejects.toMatchObject({
      code: 'STORE_FAILED',
    });
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

// Last in the file: it stops the server.
describe('a PostgreSQL outage', () => {
  it('turns into a prompt STORE_FAILED, and the same store works again once the server is back', async () => {
    const url = await freshDatabase();
    const store = await openPostgresStore({ connectionString: url, connectTimeoutMs: 1000, statementTimeoutMs: 1000 });
    try {
      expect(await store.getPayment('P1')).toBeNull();
      // The throwaway server runs with synchronous_commit=off: commits of the last moments are
      // only in WAL buffers, which an immediate stop loses. A checkpoint flushes them.
      await admin.run('CHECKPOINT');
      await server.kill();
      const started = Date.now();
      await expect(store.getPayment('P1')).rejects.toMatchObject({ code: 'STORE_FAILED', details: { operation: 'getPayment' } });
      await expect(store.ping()).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(Date.now() - started).toBeLessThan(4000);
      await server.start();
      // The pool drops the dead connections and opens new ones.
      let answer: unknown;
      for (let i = 0; i < 20 && answer === undefined; i++) {
        answer = await store.getPayment('P1').catch(() => undefined);
        if (answer === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      expect(answer).toBeNull();
      await store.ping();
    } finally {
      await store.close();
    }
  }, 60_000);
});
