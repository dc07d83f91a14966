/**
 * {@link InstanceRegistry} over PostgreSQL (table `server_instances`, ./schema-cluster.ts).
 * Each registration gets a random incarnation token, kept by this object: a heartbeat renews
 * the row only while it still carries that token, so a second process registering the same id
 * makes the first one's heartbeat fail instead of both believing they hold the id.
 *
 * A heartbeat renews a lease that already ran out when the row is still this registration's
 * (the process was paused or the database unreachable for longer than the lease): what others
 * took over meanwhile is found by the presence's reconcile (hub/cluster-presence.ts), which
 * closes the sessions that lost their rows.
 */
import { randomUUID } from 'node:crypto';
import { CodedError } from '@posbridge/protocol/errors';
import { INSTANCE_ID_PATTERN, type InstanceRecord, type InstanceRegistration, type InstanceRegistry } from '../../ports/instances.ts';
import { storeError } from '../store-error.ts';
import { fromTs, toTs, type PgDb } from './pg-db.ts';

interface InstanceRow {
  instance_id: string;
  started_at: Date;
  heartbeat_at: Date;
  lease_until: Date;
  version: string | null;
  url: string | null;
}

/** Longest `version` / `url` kept, characters. */
const MAX_META = 512;

function checkLease(leaseMs: number): void {
  if (!Number.isSafeInteger(leaseMs) || leaseMs <= 0) throw new CodedError('CFG_INVALID', `instance lease must be a positive integer of ms, got ${leaseMs}`);
}

/** The registry of instances in one PostgreSQL database. */
export class PgInstanceRegistry implements InstanceRegistry {
  readonly #db: PgDb;
  /** instanceId → incarnation of the registrations made by this object. */
  readonly #mine = new Map<string, string>();

  constructor(db: PgDb) {
    this.#db = db;
  }

  /** @inheritdoc */
  async register(r: InstanceRegistration): Promise<void> {
    if (!INSTANCE_ID_PATTERN.test(r.instanceId)) {
      throw new CodedError('CFG_INVALID', `instance id must match ${INSTANCE_ID_PATTERN.source}`);
    }
    checkLease(r.leaseMs);
    const incarnation = randomUUID();
    try {
      // A registration replacing an older one of the same id (a restart) also drops what the
      // old one held: delete, then insert, so the rows' ON DELETE CASCADE applies.
      await this.#db.transaction(async (tx) => {
        await tx.run('DELETE FROM server_instances WHERE instance_id = $1', [r.instanceId]);
        await tx.run(
          `INSERT INTO server_instances (instance_id, incarnation, started_at, heartbeat_at, lease_until, version, url)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            r.instanceId,
            incarnation,
            toTs(r.startedAt),
            toTs(r.now),
            toTs(r.now + r.leaseMs),
            r.meta?.version?.slice(0, MAX_META) ?? null,
            r.meta?.url?.slice(0, MAX_META) ?? null,
          ],
        );
      });
    } catch (err) {
      throw storeError('register instance', err);
    }
    this.#mine.set(r.instanceId, incarnation);
  }

  /** @inheritdoc */
  async heartbeat(instanceId: string, now: number, leaseMs: number): Promise<boolean> {
    checkLease(leaseMs);
    const incarnation = this.#mine.get(instanceId);
    if (incarnation === undefined) return false;
    try {
      const changed = await this.#db.run(
        `UPDATE server_instances SET heartbeat_at = $3, lease_until = GREATEST(lease_until, $4)
          WHERE instance_id = $1 AND incarnation = $2`,
        [instanceId, incarnation, toTs(now), toTs(now + leaseMs)],
      );
      return changed === 1;
    } catch (err) {
      throw storeError('instance heartbeat', err);
    }
  }

  /** @inheritdoc */
  async listLive(now: number): Promise<InstanceRecord[]> {
    try {
      const rows = await this.#db.rows<InstanceRow>(
        `SELECT instance_id, started_at, heartbeat_at, lease_until, version, url FROM server_instances
          WHERE lease_until > $1 ORDER BY started_at, instance_id`,
        [toTs(now)],
      );
      return rows.map((row) => ({
        instanceId: row.instance_id,
        startedAt: fromTs(row.started_at),
        heartbeatAt: fromTs(row.heartbeat_at),
        leaseUntil: fromTs(row.lease_until),
        version: row.version,
        url: row.url,
      }));
    } catch (err) {
      throw storeError('list instances', err);
    }
  }

  /** @inheritdoc */
  async deregister(instanceId: string): Promise<void> {
    const incarnation = this.#mine.get(instanceId);
    if (incarnation === undefined) return;
    try {
      await this.#db.run('DELETE FROM server_instances WHERE instance_id = $1 AND incarnation = $2', [instanceId, incarnation]);
    } catch (err) {
      throw storeError('deregister instance', err);
    }
    this.#mine.delete(instanceId);
  }
}
