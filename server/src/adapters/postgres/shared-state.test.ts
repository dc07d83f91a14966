/**
 * The shared-state contracts (../../ports/counters.contract.ts,
 * ../../ports/onboarding-tokens.contract.ts) on PostgreSQL: {@link SHARED_STATE_DDL} applied to
 * a fresh database per test on one throwaway server, {@link PgCounters} and
 * {@link PgOnboardingTokens} each on its own pool, as the PostgreSQL store will hold them. Also:
 * two pools on one database (two instances) share one count and one flow.
 *
 * @requires-program postgres
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type ThrowawayPostgres } from '@posbridge/testkit';
import { countersContract } from '../../ports/counters.contract.ts';
import { onboardingTokensContract } from '../../ports/onboarding-tokens.contract.ts';
import { PgCounters } from './counters.ts';
import { PgOnboardingTokens } from './onboarding-tokens.ts';
import { PgDb } from './pg-db.ts';
import { SHARED_STATE_DDL } from './schema-shared.ts';

let server: ThrowawayPostgres;
let admin: PgDb;
let databases = 0;

beforeAll(async () => {
  server = await startPostgres();
  admin = PgDb.open({ connectionString: server.url, maxConnections: 2 });
}, 60_000);

afterAll(async () => {
  await admin?.close();
  await server?.stop();
});

/** A new database with the shared-state schema, and a pool on it. */
async function freshDb(): Promise<PgDb> {
  const name = `shared_${++databases}`;
  await admin.run(`CREATE DATABASE ${name}`);
  const db = PgDb.open({ connectionString: server.urlOf(name), maxConnections: 8 });
  await db.run(SHARED_STATE_DDL);
  return db;
}

countersContract('postgres', async () => {
  const db = await freshDb();
  return { port: new PgCounters(db), close: () => db.close() };
});

onboardingTokensContract('postgres', async () => {
  const db = await freshDb();
  return { port: new PgOnboardingTokens(db), close: () => db.close() };
});

describe('PostgreSQL: two instances on one database', () => {
  it('share counts and flows (each instance its own pool)', async () => {
    const first = await freshDb();
    const name = `shared_${databases}`;
    const second = PgDb.open({ connectionString: server.urlOf(name), maxConnections: 8 });
    try {
      const [a, b] = [new PgCounters(first), new PgCounters(second)];
      const hits = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).hitCounter('ppp:x', 60_000, 1000)));
      expect(Math.max(...hits.map((h) => h.count))).toBe(40);
      expect(await b.getCounter('ppp:x', 2000)).toEqual({ count: 40, resetAt: 61_000 });

      const [ta, tb] = [new PgOnboardingTokens(first), new PgOnboardingTokens(second)];
      const sha = (text: string) => createHash('sha256').update(text).digest('hex');
      const caps = { maxPerSource: 4, maxPending: 100 };
      const created = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          (i % 2 === 0 ? ta : tb).createOnboardingToken({ tokenSha256: sha(`t${i}`), source: 'S', returnUrl: 'https://r/?c=', expiresAt: 100_000 }, caps, 0),
        ),
      );
      expect(created.filter((c) => c.kind === 'created')).toHaveLength(4);
      const issued = created.findIndex((c) => c.kind === 'created');
      expect(await tb.authorizeOnboardingToken(sha(`t${issued}`), { codeSha256: sha('code'), merchantName: 'm' }, 1)).toBe(true);
      const takes = await Promise.all([ta, tb, ta, tb].map((p) => p.takeOnboardingCode(sha('code'), 2)));
      expect(takes.filter((t) => t !== null)).toHaveLength(1);
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('stores times as timestamptz that round-trip to the millisecond', async () => {
    const db = await freshDb();
    try {
      const counters = new PgCounters(db);
      const now = Date.UTC(2026, 11, 2, 7, 30, 0, 123);
      expect(await counters.hitCounter('k', 1, now)).toEqual({ count: 1, resetAt: now + 1 });
      const row = await db.one<{ type: string }>("SELECT pg_typeof(reset_at)::text AS type FROM rate_counters WHERE key = 'k'");
      expect(row?.type).toBe('timestamp with time zone');
    } finally {
      await db.close();
    }
  });
});
