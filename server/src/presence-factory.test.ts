/**
 * The presence an instance runs (./presence-factory.ts): this hub's own without a database; with
 * the store's PostgreSQL pool, the cluster presence, registered by `start` (heartbeat on its
 * timer, reconciling after each beat) and deregistered by `stop`, which removes what it held.
 * @requires-program postgres
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type ThrowawayPostgres } from '@posbridge/testkit';
import { createMemoryStore } from './adapters/memory/index.ts';
import { PgInstanceRegistry } from './adapters/postgres/instances.ts';
import { PgTerminalHolders } from './adapters/postgres/terminal-holders.ts';
import { issueAgentToken } from './hub/agent-tokens.ts';
import { ClusterPresence, type ClusterHolder } from './hub/cluster-presence.ts';
import type { HeartbeatTimers } from './hub/instance-heartbeat.ts';
import { LocalPresence } from './hub/local-presence.ts';
import { createPresence, defaultInstanceId } from './presence-factory.ts';
import { clusterDbs, type ClusterDbs } from './testing/cluster-db.ts';
import { sinkLogger } from './testing/helpers.ts';
import { INSTANCE_ID_PATTERN } from './ports/instances.ts';

const T0 = 1_800_000_000_000;

let pg: ThrowawayPostgres;
let dbs: ClusterDbs;

beforeAll(async () => {
  pg = await startPostgres();
  dbs = clusterDbs(pg);
}, 60_000);
afterEach(async () => dbs.closeAll());
afterAll(async () => pg?.stop());

class Session implements ClusterHolder {
  isOpen = true;
  serials: readonly string[] = [];
  closed: number | undefined;
  constructor(
    readonly agentId: string,
    readonly sessionId: string,
  ) {}
  close(code: number): void {
    this.isOpen = false;
    this.closed = code;
  }
}

/** One pending interval, fired by hand. */
function manualTimers(): HeartbeatTimers & { fire(): void; intervals: number[] } {
  const fns = new Map<number, () => void>();
  const intervals: number[] = [];
  let next = 1;
  return {
    intervals,
    setInterval(fn, ms) {
      fns.set(next, fn);
      intervals.push(ms);
      return next++;
    },
    clearInterval(handle) {
      fns.delete(handle as number);
    },
    fire() {
      for (const fn of fns.values()) fn();
    },
  };
}

describe('createPresence', () => {
  it('without a database: the local presence, nothing to start or stop', async () => {
    const made = await createPresence<Session>({ store: createMemoryStore(), logger: sinkLogger().logger, maxTerminalsPerAgent: 4, now: () => T0 });
    expect(made.mode).toBe('local');
    expect(made.presence).toBeInstanceOf(LocalPresence);
    await made.start();
    await made.reconcile();
    await made.stop();
  });

  it('default instance ids are valid and unique per call', () => {
    const a = defaultInstanceId();
    expect(a).toMatch(INSTANCE_ID_PATTERN);
    expect(defaultInstanceId()).not.toBe(a);
  });

  it("with the store's PostgreSQL pool: the cluster presence, registered by start, reconciled at each beat, deregistered by stop", async () => {
    const db = await dbs.fresh();
    const store = createMemoryStore();
    const { agentId } = await issueAgentToken(store, 'till-1', 1);
    const timers = manualTimers();
    const clock = { now: T0 };
    const made = await createPresence<Session>({
      store,
      logger: sinkLogger().logger,
      maxTerminalsPerAgent: 4,
      now: () => clock.now,
      db,
      instanceId: 'i1',
      leaseMs: 6_000,
      heartbeatMs: 1_500,
      meta: { version: '0.1.0' },
      timers,
    });
    expect(made.mode).toBe('cluster');
    expect(made.instanceId).toBe('i1');
    expect(made.presence).toBeInstanceOf(ClusterPresence);
    await made.start();
    expect(timers.intervals).toEqual([1_500]);
    const reader = new PgInstanceRegistry(dbs.pool(db));
    expect((await reader.listLive(T0)).map((i) => [i.instanceId, i.version])).toEqual([['i1', '0.1.0']]);

    const session = new Session(agentId, 's_1');
    made.presence.connect(session);
    expect((await made.presence.claim(session, [{ serialNumber: 'SIM0001', dialect: 'PBL/1' }], T0)).held).toEqual(['SIM0001']);

    // The same agent connects to another instance; this one's next beat closes the old session.
    await reader.register({ instanceId: 'i2', startedAt: T0, now: T0, leaseMs: 6_000 });
    const elsewhere = new PgTerminalHolders(dbs.pool(db));
    await elsewhere.claim({ agentId, sessionId: 's_2', instanceId: 'i2' }, ['SIM0001'], T0 + 1, () => Promise.resolve(agentId));
    clock.now = T0 + 1_500;
    timers.fire();
    await expect.poll(() => session.closed, { timeout: 5_000 }).toBe(4000);

    await made.stop();
    expect((await reader.listLive(T0 + 1_500)).map((i) => i.instanceId)).toEqual(['i2']);
  });
});
