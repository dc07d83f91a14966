/**
 * Which presence an instance runs (ports/presence.ts), chosen by its store, as the composition
 * root (./compose.ts) builds it:
 *
 * | store      | presence                               | instance registry |
 * |------------|----------------------------------------|-------------------|
 * | PostgreSQL | hub/cluster-presence.ts over the rows of adapters/postgres/terminal-holders.ts | adapters/postgres/instances.ts, kept alive by hub/instance-heartbeat.ts |
 * | otherwise  | hub/local-presence.ts (this hub only)  | none              |
 *
 * The PostgreSQL modules load only when a database is given. The cluster tables
 * (adapters/postgres/schema-cluster.ts) must exist (the PostgreSQL migrations create them).
 *
 * @see docs/architecture.md, issue 12 item 2
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { PgDb } from './adapters/postgres/pg-db.ts';
import { ClusterPresence, type ClusterHolder } from './hub/cluster-presence.ts';
import { InstanceHeartbeat, type HeartbeatTimers } from './hub/instance-heartbeat.ts';
import { LocalPresence, type HubPresence } from './hub/local-presence.ts';
import type { InstanceMeta } from './ports/instances.ts';
import type { PaymentStore } from './ports/index.ts';
import type { HolderSession } from './ports/terminal-holders.ts';

/** Default lease of an instance, ms: a crashed instance's agents are taken over after at most this. */
export const DEFAULT_INSTANCE_LEASE_MS = 15_000;
/** Default heartbeat interval, ms (below a third of the lease). */
export const DEFAULT_INSTANCE_HEARTBEAT_MS = 4_000;

/** Options of {@link createPresence}. */
export interface CreatePresenceOptions {
  readonly store: PaymentStore;
  readonly logger: Logger;
  readonly maxTerminalsPerAgent: number;
  /** Clock, ms since epoch. */
  readonly now: () => number;
  /** The PostgreSQL pool of the store: given, the instance joins the cluster over it. */
  readonly db?: PgDb;
  /** This instance's id. @default `<hostname>-<pid>-<6 random hex>` (unique per process) */
  readonly instanceId?: string;
  /** @default {@link DEFAULT_INSTANCE_LEASE_MS} */
  readonly leaseMs?: number;
  /** @default {@link DEFAULT_INSTANCE_HEARTBEAT_MS} */
  readonly heartbeatMs?: number;
  readonly meta?: InstanceMeta;
  /** See ClusterPresenceOptions.onTakenOver (cluster only). */
  readonly onTakenOver?: (taken: HolderSession) => void;
  /** Heartbeat timers (tests). */
  readonly timers?: HeartbeatTimers;
}

/** How an instance joins a cluster (the composition root passes it through). */
export type ClusterSettings = Required<Pick<CreatePresenceOptions, 'db'>> &
  Pick<CreatePresenceOptions, 'leaseMs' | 'heartbeatMs' | 'meta' | 'onTakenOver'>;

/** The presence of an instance and its lifecycle. */
export interface InstancePresence<H extends ClusterHolder> {
  /** `local` (one instance) or `cluster`. */
  readonly mode: 'local' | 'cluster';
  readonly instanceId: string;
  readonly presence: HubPresence<H>;
  /**
   * Registers the instance and starts its heartbeat (cluster), before the hub accepts agents.
   * @throws CodedError `STORE_FAILED` when the database cannot be reached.
   */
  start(): Promise<void>;
  /**
   * Asks the presence to compare its sessions with the shared rows now (another instance said it
   * took something over). Cluster only; resolves at once otherwise. Never rejects.
   */
  reconcile(): Promise<void>;
  /**
   * Stops the heartbeat and deregisters, removing what the instance held (cluster). Call after
   * the hub closed its sessions, before the database closes. Never rejects (failures are logged:
   * the rows then expire with the lease).
   */
  stop(): Promise<void>;
}

/** A fresh instance id unique per process. */
export function defaultInstanceId(): string {
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'host';
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Builds the presence of this instance (see the module doc). */
export async function createPresence<H extends ClusterHolder>(options: CreatePresenceOptions): Promise<InstancePresence<H>> {
  const log = options.logger.child({ component: 'hub' });
  const instanceId = options.instanceId ?? defaultInstanceId();
  const { db } = options;
  if (db === undefined) {
    const presence = new LocalPresence<H>({ store: options.store, logger: log, maxTerminalsPerAgent: options.maxTerminalsPerAgent });
    return { mode: 'local', instanceId, presence, start: () => Promise.resolve(), reconcile: () => Promise.resolve(), stop: () => Promise.resolve() };
  }
  const [{ PgInstanceRegistry }, { PgTerminalHolders }] = await Promise.all([
    import('./adapters/postgres/instances.ts'),
    import('./adapters/postgres/terminal-holders.ts'),
  ]);
  const presence = new ClusterPresence<H>({
    store: options.store,
    logger: log,
    maxTerminalsPerAgent: options.maxTerminalsPerAgent,
    holders: new PgTerminalHolders(db),
    instanceId,
    now: options.now,
    ...(options.onTakenOver ? { onTakenOver: options.onTakenOver } : {}),
  });
  const heartbeat = new InstanceHeartbeat({
    registry: new PgInstanceRegistry(db),
    instanceId,
    leaseMs: options.leaseMs ?? DEFAULT_INSTANCE_LEASE_MS,
    intervalMs: options.heartbeatMs ?? DEFAULT_INSTANCE_HEARTBEAT_MS,
    startedAt: options.now(),
    logger: options.logger,
    now: options.now,
    ...(options.meta ? { meta: options.meta } : {}),
    ...(options.timers ? { timers: options.timers } : {}),
    onBeat: () => presence.reconcile(),
    onLost: () => presence.markLost(),
    // Cut off from the database past the lease: the agents are better served by another instance.
    onExpired: () => presence.closeAll('server instance cannot reach the cluster database'),
  });
  return {
    mode: 'cluster',
    instanceId,
    presence,
    start: () => heartbeat.start(),
    reconcile: async () => {
      try {
        await presence.reconcile();
      } catch (err) {
        log.warn({ err }, 'presence reconcile failed; retried at the next heartbeat');
      }
    },
    stop: async () => {
      try {
        await presence.settled();
        await heartbeat.stop();
      } catch (err) {
        log.warn({ err, instanceId }, 'instance not deregistered; its rows expire with its lease');
      }
    },
  };
}
