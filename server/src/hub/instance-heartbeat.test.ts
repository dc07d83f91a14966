/**
 * The heartbeat loop of an instance (./instance-heartbeat.ts) over the PostgreSQL instance
 * registry, with a manual clock and timers: it registers, renews the lease at each beat and
 * reconciles after it, logs a failing database once (and the lease running out once), reports a
 * lost registration once and stops, and deregisters on stop.
 * @requires-program postgres
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type ThrowawayPostgres } from '@posbridge/testkit';
import { PgInstanceRegistry } from '../adapters/postgres/instances.ts';
import type { InstanceRegistry } from '../ports/instances.ts';
import { clusterDbs, type ClusterDbs } from '../testing/cluster-db.ts';
import { sinkLogger } from '../testing/helpers.ts';
import { InstanceHeartbeat, type HeartbeatTimers } from './instance-heartbeat.ts';

const LEASE = 9_000;
const EVERY = 2_000;
const T0 = 1_800_000_000_000;

let pg: ThrowawayPostgres;
let dbs: ClusterDbs;

beforeAll(async () => {
  pg = await startPostgres();
  dbs = clusterDbs(pg);
}, 60_000);
afterEach(async () => dbs.closeAll());
afterAll(async () => pg?.stop());

/** Timers fired by hand. */
class ManualTimers implements HeartbeatTimers {
  readonly active = new Map<number, { fn: () => void; ms: number }>();
  #next = 1;
  setInterval(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.active.set(id, { fn, ms });
    return id;
  }
  clearInterval(handle: unknown): void {
    this.active.delete(handle as number);
  }
  fire(): void {
    for (const { fn } of this.active.values()) fn();
  }
}

/** The real registry, whose heartbeats fail while `down` (the database unreachable). */
function withOutage(inner: InstanceRegistry): InstanceRegistry & { down: boolean } {
  const registry = {
    down: false,
    register: (r: Parameters<InstanceRegistry['register']>[0]) => inner.register(r),
    heartbeat: (id: string, now: number, leaseMs: number) =>
      registry.down ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) : inner.heartbeat(id, now, leaseMs),
    listLive: (now: number) => inner.listLive(now),
    deregister: (id: string) => inner.deregister(id),
  };
  return registry;
}

async function setup(onBeat?: () => Promise<unknown>) {
  const db = await dbs.fresh();
  const registry = withOutage(new PgInstanceRegistry(db));
  const timers = new ManualTimers();
  const clock = { now: T0 };
  const { logger, lines } = sinkLogger();
  let lostCalls = 0;
  let expiredCalls = 0;
  const heartbeat = new InstanceHeartbeat({
    registry,
    instanceId: 'i1',
    leaseMs: LEASE,
    intervalMs: EVERY,
    startedAt: T0 - 100,
    meta: { version: '0.1.0' },
    logger,
    now: () => clock.now,
    timers,
    ...(onBeat ? { onBeat } : {}),
    onLost: () => lostCalls++,
    onExpired: () => expiredCalls++,
  });
  const beat = async (advanceMs: number) => {
    clock.now += advanceMs;
    timers.fire();
    await heartbeat.beat();
  };
  const said = (msg: string) => lines.filter((l) => l['msg'] === msg).length;
  return { db, registry, timers, clock, heartbeat, beat, said, lines, lost: () => lostCalls, expired: () => expiredCalls };
}

describe('InstanceHeartbeat', () => {
  it('refuses an interval that is not below a third of the lease', async () => {
    const { registry } = await setup();
    const base = { registry, instanceId: 'i1', startedAt: 0, logger: sinkLogger().logger, now: () => 0 };
    expect(() => new InstanceHeartbeat({ ...base, leaseMs: 9_000, intervalMs: 3_000 })).toThrow(expect.objectContaining({ code: 'CFG_INVALID' }));
    expect(() => new InstanceHeartbeat({ ...base, leaseMs: 9_000, intervalMs: 0 })).toThrow(expect.objectContaining({ code: 'CFG_INVALID' }));
    expect(() => new InstanceHeartbeat({ ...base, leaseMs: 9_000, intervalMs: 2_999 })).not.toThrow();
  });

  it('registers on start, renews the lease at every beat and reconciles after it, deregisters on stop', async () => {
    let reconciles = 0;
    const { db, timers, heartbeat, beat } = await setup(async () => {
      reconciles++;
    });
    const reader = new PgInstanceRegistry(db);
    await heartbeat.start();
    expect([...timers.active.values()].map((t) => t.ms)).toEqual([EVERY]);
    expect(await reader.listLive(T0)).toEqual([
      { instanceId: 'i1', startedAt: T0 - 100, heartbeatAt: T0, leaseUntil: T0 + LEASE, version: '0.1.0', url: null },
    ]);
    await beat(EVERY);
    await beat(EVERY);
    expect((await reader.listLive(T0 + 2 * EVERY)).map((i) => [i.heartbeatAt, i.leaseUntil])).toEqual([[T0 + 2 * EVERY, T0 + 2 * EVERY + LEASE]]);
    expect(reconciles).toBe(2);

    await heartbeat.stop();
    expect(timers.active.size).toBe(0);
    expect(await reader.listLive(T0)).toEqual([]);
    await heartbeat.stop();
  });

  it('logs a failing database once, the lease running out once, and the recovery; reconciles again once renewed', async () => {
    let reconciles = 0;
    const { registry, heartbeat, beat, said, expired } = await setup(async () => {
      reconciles++;
    });
    await heartbeat.start();
    registry.down = true;
    await beat(EVERY);
    await beat(EVERY);
    expect(said('instance heartbeat failed; retrying at every beat')).toBe(1);
    expect(said('instance lease expired: other instances may take over its agents and terminals')).toBe(0);
    expect(expired()).toBe(0);
    await beat(EVERY);
    await beat(EVERY);
    await beat(EVERY); // T0 + 10 s: past the 9 s lease
    await beat(EVERY);
    expect(said('instance heartbeat failed; retrying at every beat')).toBe(1);
    expect(said('instance lease expired: other instances may take over its agents and terminals')).toBe(1);
    expect(expired()).toBe(1);
    expect(reconciles).toBe(0);

    registry.down = false;
    await beat(EVERY);
    expect(said('instance heartbeat restored; the lease had expired meanwhile')).toBe(1);
    expect(reconciles).toBe(1);
    expect(heartbeat.lost).toBe(false);
    await heartbeat.stop();
  });

  it('a registration taken by another process is reported once: no more beats, no deregistration of the other one', async () => {
    const { db, heartbeat, beat, said, lost } = await setup();
    await heartbeat.start();
    const other = new PgInstanceRegistry(dbs.pool(db));
    await other.register({ instanceId: 'i1', startedAt: T0 + 1, now: T0 + 1, leaseMs: LEASE });
    await beat(EVERY);
    await beat(EVERY);
    expect(heartbeat.lost).toBe(true);
    expect(lost()).toBe(1);
    expect(said('instance registration lost (removed, or the id registered by another process): this instance stops claiming terminals')).toBe(1);
    await heartbeat.stop();
    expect((await other.listLive(T0 + 2)).map((i) => i.startedAt)).toEqual([T0 + 1]);
  });

  it('a failing reconcile is logged and the beats go on', async () => {
    let calls = 0;
    const { heartbeat, beat, said } = await setup(async () => {
      calls++;
      if (calls === 1) throw new Error('reconcile failed');
    });
    await heartbeat.start();
    await beat(EVERY);
    await beat(EVERY);
    expect(calls).toBe(2);
    expect(said('presence reconcile after the heartbeat failed; retried at the next beat')).toBe(1);
    await heartbeat.stop();
  });
});
