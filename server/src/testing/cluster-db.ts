/**
 * Fresh PostgreSQL databases with the cluster tables (adapters/postgres/schema-cluster.ts) on a
 * throwaway server of the testkit, one per test, for the presence suites.
 */
import { randomBytes } from 'node:crypto';
import type { ThrowawayPostgres } from '@posbridge/testkit';
import { PgDb } from '../adapters/postgres/pg-db.ts';
import { CLUSTER_SCHEMA_SQL } from '../adapters/postgres/schema-cluster.ts';

/** Databases of one throwaway server, each closed by {@link ClusterDbs.closeAll}. */
export interface ClusterDbs {
  /** A new database with the cluster tables, and a pool on it. */
  fresh(): Promise<PgDb>;
  /** Another pool on the same database (a second instance's own connections). */
  pool(db: PgDb): PgDb;
  /** Closes every pool opened here. */
  closeAll(): Promise<void>;
}

/** Databases on `pg` (see {@link ClusterDbs}). */
export function clusterDbs(pg: ThrowawayPostgres): ClusterDbs {
  const open: PgDb[] = [];
  const names = new Map<PgDb, string>();
  const track = (db: PgDb, name: string) => {
    open.push(db);
    names.set(db, name);
    return db;
  };
  return {
    async fresh() {
      const name = `cluster_${randomBytes(6).toString('hex')}`;
      const admin = PgDb.open({ connectionString: pg.url, maxConnections: 1 });
      try {
        await admin.run(`CREATE DATABASE ${name}`);
      } finally {
        await admin.close();
      }
      const db = track(PgDb.open({ connectionString: pg.urlOf(name), maxConnections: 5 }), name);
      await db.run(CLUSTER_SCHEMA_SQL);
      return db;
    },
    pool(db) {
      const name = names.get(db);
      if (name === undefined) throw new Error('not a database of these ClusterDbs');
      return track(PgDb.open({ connectionString: pg.urlOf(name), maxConnections: 5 }), name);
    },
    async closeAll() {
      await Promise.all(open.splice(0).map((db) => db.close()));
    },
  };
}
