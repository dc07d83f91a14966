/**
 * The server and its CLI on PostgreSQL (`POSBRIDGE_DATABASE_URL`): a server built on a
 * throwaway PostgreSQL creates a payment through PPP and reads it back, with the database
 * password never in a log line; `posbridge-server migrate` brings the schema to this release's
 * version (once), says so, and refuses what it cannot do; an administration command works on it.
 * @requires-program postgres
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type ThrowawayPostgres, SOURCE_NODE_ARGS } from '@posbridge/testkit';
import { isPostgresStore, openPostgresStore } from './adapters/postgres/index.ts';
import { PG_SCHEMA_VERSION } from './adapters/postgres/migrations.ts';
import { PgDb } from './adapters/postgres/pg-db.ts';
import { hashAgentToken } from './hub/agent-tokens.ts';
import { AUTH_HEADERS, createPaymentBody, startTestServer } from './testing/helpers.ts';

const exec = promisify(execFile);
/** Runs a bin with its TypeScript sources (`--conditions=@posbridge/source` + tsx, docs/adr/0004). */
const run = (bin: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ stdout: string; stderr: string }> =>
  exec(process.execPath, [...SOURCE_NODE_ARGS, bin, ...args], { ...options, encoding: 'utf8' });
const BIN = fileURLToPath(new URL('../bin/posbridge-server.js', import.meta.url));
const PASSWORD = 'pw-that-must-not-be-logged';

let pg: ThrowawayPostgres;
let admin: PgDb;
let databases = 0;

beforeAll(async () => {
  pg = await startPostgres();
  admin = PgDb.open({ connectionString: pg.url });
}, 60_000);
afterAll(async () => {
  await admin?.close();
  await pg?.stop();
});

/** A fresh database; its URL with a password (trust authentication ignores it). */
async function freshDatabase(): Promise<string> {
  const name = `s_${++databases}`;
  await admin.run(`CREATE DATABASE ${name}`);
  return pg.urlOf(name).replace('postgres@', `postgres:${PASSWORD}@`);
}

/** Runs the CLI with `env` (PATH kept), resolving with its exit code and output. */
async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(BIN, args, { env: { PATH: process.env['PATH'] ?? '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the server on PostgreSQL', () => {
  it('POSBRIDGE_DATABASE_URL alone selects the postgres store: a PPP payment is created, stored and answered again', async () => {
    const url = await freshDatabase();
    const t = await startTestServer({ POSBRIDGE_DATABASE_URL: url, POSBRIDGE_SUBMIT_SECRET: 'pg-smoke-submit-secret-0123456789' });
    try {
      const first = await t.createPayment(createPaymentBody({ paymentId: 'PGP1' }));
      expect(first.status).toBe(200);
      expect(first.json).toMatchObject({ paymentId: 'PGP1', status: 'undefined' });
      const again = await t.createPayment(createPaymentBody({ paymentId: 'PGP1' }));
      expect(again.json).toEqual(first.json);
      // In the database, with the money in minor units.
      const store = await openPostgresStore({ connectionString: url, migrate: false });
      try {
        expect(await store.getPayment('PGP1')).toMatchObject({ paymentId: 'PGP1', amount: { amountMinor: 3190, currency: 'BRL' }, status: 'awaiting_terminal' });
      } finally {
        await store.close();
      }
      // The composed store is the PostgreSQL one, with its pool for cluster tables.
      expect(isPostgresStore(t.server.store)).toBe(true);
      const listening = t.lines.find((l) => l['msg'] === 'server listening');
      expect(listening).toMatchObject({ store: 'postgres' });
      expect(JSON.stringify(t.lines)).not.toContain(PASSWORD);
      expect(String(listening?.['db'])).toContain(':[redacted]@');
      // The bootstrap merchant authenticates PPP calls from the shared database.
      const denied = await fetch(`${t.server.url}/payments`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS, 'X-VTEX-API-AppToken': 'wrong' },
        body: JSON.stringify(createPaymentBody({ paymentId: 'PGP2' })),
      });
      expect(denied.status).toBe(401);
    } finally {
      await t.close();
    }
  }, 30_000);
});

describe('several instances on one PostgreSQL', () => {
  it('three servers starting at once on a fresh database all come up (one migrates), and each sees what another created', async () => {
    const url = await freshDatabase();
    const servers = await Promise.all([0, 1, 2].map(() => startTestServer({ POSBRIDGE_DATABASE_URL: url, POSBRIDGE_SUBMIT_SECRET: 'shared-secret-0123456789', POSBRIDGE_PUBLIC_URL: 'https://pb.example' })));
    try {
      const created = await servers[0]?.createPayment(createPaymentBody({ paymentId: 'PGM1' }));
      expect(created?.status).toBe(200);
      for (const t of servers) expect(await t.server.store.getPayment('PGM1')).toMatchObject({ paymentId: 'PGM1' });
      // The same answer from another instance (same public URL and submit secret: same submitUrl).
      const repeated = await servers[2]?.createPayment(createPaymentBody({ paymentId: 'PGM1' }));
      expect(repeated?.json).toEqual(created?.json);
      const store = await openPostgresStore({ connectionString: url, migrate: false });
      try {
        // Each version applied once, whichever instance applied it.
        expect(await store.db.rows('SELECT version FROM schema_version ORDER BY version')).toEqual(
          Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })),
        );
      } finally {
        await store.close();
      }
    } finally {
      await Promise.all(servers.map((t) => t.close()));
    }
  }, 30_000);
});

describe('posbridge-server migrate', () => {
  it('brings a fresh database to this version once, and says so', async () => {
    const url = await freshDatabase();
    const first = await cli(['migrate'], { POSBRIDGE_DATABASE_URL: url });
    expect(first).toMatchObject({ code: 0, stdout: `schema at version ${PG_SCHEMA_VERSION} (was 0)\n` });
    const again = await cli(['migrate', '--database-url', url], {});
    expect(again).toMatchObject({ code: 0, stdout: `schema at version ${PG_SCHEMA_VERSION} (was ${PG_SCHEMA_VERSION})\n` });
    // A server that does not migrate itself runs on it.
    const store = await openPostgresStore({ connectionString: url, migrate: false });
    await store.close();
  }, 30_000);

  it('an administration command works on the postgres store', async () => {
    const url = await freshDatabase();
    const { code, stdout } = await cli(['agent', 'add', '--name', 'till-1'], { POSBRIDGE_DATABASE_URL: url });
    expect(code).toBe(0);
    const token = /token:\s+(\S+)/.exec(stdout)?.[1] ?? '';
    const store = await openPostgresStore({ connectionString: url });
    try {
      expect(await store.findAgentByTokenHash(hashAgentToken(token))).toMatchObject({ name: 'till-1' });
    } finally {
      await store.close();
    }
  }, 30_000);

  it('on SQLite says there is nothing to do', async () => {
    const out = await cli(['migrate', '--db', '/nonexistent/x.sqlite'], {});
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('SQLite migrates on open');
  }, 20_000);

  it('refuses POSBRIDGE_STORE=postgres without a URL, naming the setting', async () => {
    const out = await cli(['migrate'], { POSBRIDGE_STORE: 'postgres' });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('CFG_INVALID');
    expect(out.stderr).toContain('POSBRIDGE_DATABASE_URL');
  }, 20_000);

  it('fails with STORE_FAILED when the database cannot be reached, without printing the password', async () => {
    const out = await cli(['migrate'], { POSBRIDGE_DATABASE_URL: `postgres://pb:${PASSWORD}@127.0.0.1:1/pb` });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('migrate failed: STORE_FAILED');
    expect(out.stdout + out.stderr).not.toContain(PASSWORD);
  }, 20_000);

  it('--help lists the command', async () => {
    const { stdout } = await cli(['--help'], {});
    expect(stdout).toContain('posbridge-server migrate [--database-url URL]');
  }, 20_000);
});
