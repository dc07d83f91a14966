/**
 * The cluster tables over a real PostgreSQL: the instance registry (./instances.ts) and the
 * shared presence rows (./terminal-holders.ts), each test on a fresh database.
 * @requires-program postgres
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type ThrowawayPostgres } from '@posbridge/testkit';
import { clusterDbs, type ClusterDbs } from '../../testing/cluster-db.ts';
import { PgInstanceRegistry } from './instances.ts';
import { PgTerminalHolders } from './terminal-holders.ts';

const LEASE = 10_000;
const T0 = 1_800_000_000_000;

let pg: ThrowawayPostgres;
let dbs: ClusterDbs;

beforeAll(async () => {
  pg = await startPostgres();
  dbs = clusterDbs(pg);
}, 60_000);
afterEach(async () => dbs.closeAll());
afterAll(async () => pg?.stop());

const owners = (map: Record<string, string>) => (serial: string) => Promise.resolve(map[serial]);

describe('PgInstanceRegistry', () => {
  it('lists an instance while its lease runs, renews it by heartbeat and forgets it when deregistered', async () => {
    const db = await dbs.fresh();
    const registry = new PgInstanceRegistry(db);
    await registry.register({ instanceId: 'i1', startedAt: T0 - 5, now: T0, leaseMs: LEASE, meta: { version: '0.1.0', url: 'http://127.0.0.1:1' } });
    expect(await registry.listLive(T0 + LEASE - 1)).toEqual([
      { instanceId: 'i1', startedAt: T0 - 5, heartbeatAt: T0, leaseUntil: T0 + LEASE, version: '0.1.0', url: 'http://127.0.0.1:1' },
    ]);
    expect(await registry.listLive(T0 + LEASE)).toEqual([]);

    // A late heartbeat (the lease had run out) renews it: the row is still this registration's.
    expect(await registry.heartbeat('i1', T0 + LEASE + 5, LEASE)).toBe(true);
    expect((await registry.listLive(T0 + LEASE + 6)).map((i) => [i.instanceId, i.heartbeatAt, i.leaseUntil])).toEqual([
      ['i1', T0 + LEASE + 5, T0 + 2 * LEASE + 5],
    ]);

    await registry.deregister('i1');
    expect(await registry.listLive(T0)).toEqual([]);
    expect(await registry.heartbeat('i1', T0 + 1, LEASE)).toBe(false);
    await registry.deregister('i1');
  });

  it('a second registration of the same id (another process) makes the first one\'s heartbeat fail and drops what it held', async () => {
    const db = await dbs.fresh();
    const first = new PgInstanceRegistry(db);
    const second = new PgInstanceRegistry(dbs.pool(db));
    const holders = new PgTerminalHolders(db);
    await first.register({ instanceId: 'i1', startedAt: T0, now: T0, leaseMs: LEASE });
    await holders.claim({ agentId: 'ag_a', sessionId: 's1', instanceId: 'i1' }, ['SN1'], T0, owners({ SN1: 'ag_a' }));

    await second.register({ instanceId: 'i1', startedAt: T0 + 1, now: T0 + 1, leaseMs: LEASE });
    expect(await first.heartbeat('i1', T0 + 2, LEASE)).toBe(false);
    expect(await second.heartbeat('i1', T0 + 2, LEASE)).toBe(true);
    expect(await holders.locate('SN1', T0 + 2)).toBeUndefined();
    // The first one's deregistration does not remove the second one's row.
    await first.deregister('i1');
    expect((await second.listLive(T0 + 3)).map((i) => i.instanceId)).toEqual(['i1']);
  });

  it('refuses an instance id outside its pattern and a lease that is not positive', async () => {
    const registry = new PgInstanceRegistry(await dbs.fresh());
    await expect(registry.register({ instanceId: 'bad id', startedAt: T0, now: T0, leaseMs: LEASE })).rejects.toMatchObject({ code: 'CFG_INVALID' });
    await expect(registry.register({ instanceId: 'i1', startedAt: T0, now: T0, leaseMs: 0 })).rejects.toMatchObject({ code: 'CFG_INVALID' });
  });
});

describe('PgTerminalHolders', () => {
  async function twoInstances() {
    const db = await dbs.fresh();
    const registry = new PgInstanceRegistry(db);
    await registry.register({ instanceId: 'i1', startedAt: T0, now: T0, leaseMs: LEASE });
    await registry.register({ instanceId: 'i2', startedAt: T0, now: T0, leaseMs: LEASE });
    return { registry, h1: new PgTerminalHolders(db), h2: new PgTerminalHolders(dbs.pool(db)) };
  }

  it('a serial held by a live session of another agent that owns it is refused; once that instance is dead it is taken over', async () => {
    const { registry, h1, h2 } = await twoInstances();
    const a = { agentId: 'ag_a', sessionId: 's_a', instanceId: 'i1' };
    const b = { agentId: 'ag_b', sessionId: 's_b', instanceId: 'i2' };
    expect(await h1.claim(a, ['SN1', 'SN2'], T0, owners({ SN1: 'ag_a', SN2: 'ag_a' }))).toEqual({
      superseded: false,
      held: ['SN1', 'SN2'],
      refused: [],
      takenOver: [],
    });
    expect(await h2.locate('SN1', T0 + 1)).toEqual({ ...a, claimedAt: T0 });
    expect(await h2.isConnectedElsewhere('ag_a', 'i2', T0 + 1)).toBe(true);
    expect(await h2.isConnectedElsewhere('ag_a', 'i1', T0 + 1)).toBe(false);

    // ag_a still owns SN1: refused. SN2 was moved to ag_b (an administrator): the old hold is stale.
    expect(await h2.claim(b, ['SN1', 'SN2'], T0 + 2, owners({ SN1: 'ag_a', SN2: 'ag_b' }))).toEqual({
      superseded: false,
      held: ['SN2'],
      refused: ['SN1'],
      takenOver: [a],
    });
    expect((await h1.heldBy('i1')).sessions).toEqual(new Map([['s_a', ['SN1']]]));

    // i2 keeps beating, i1 does not: past its lease, its rows are dead and taken over.
    await registry.heartbeat('i2', T0 + LEASE - 1, LEASE);
    expect(await h2.locate('SN1', T0 + LEASE)).toBeUndefined();
    expect(await h2.isConnectedElsewhere('ag_a', 'i2', T0 + LEASE)).toBe(false);
    const later = await h2.claim(b, ['SN1', 'SN2'], T0 + LEASE, owners({ SN1: 'ag_a', SN2: 'ag_b' }));
    expect(later).toEqual({ superseded: false, held: ['SN1', 'SN2'], refused: [], takenOver: [a] });
  });

  it('the newest connection of an agent wins, whichever claim comes last; the replaced one holds nothing', async () => {
    const { h1, h2 } = await twoInstances();
    const old = { agentId: 'ag_a', sessionId: 's_old', instanceId: 'i1' };
    const fresh = { agentId: 'ag_a', sessionId: 's_new', instanceId: 'i2' };
    const own = owners({ SN1: 'ag_a', SN2: 'ag_a' });
    await h1.claim(old, ['SN1', 'SN2'], T0, own);
    // The agent reconnected on i2, announcing only SN1: its old connection's rows all go.
    expect(await h2.claim(fresh, ['SN1'], T0 + 1, own)).toEqual({ superseded: false, held: ['SN1'], refused: [], takenOver: [old] });
    expect((await h1.heldBy('i1')).sessions).toEqual(new Map());
    expect((await h2.heldBy('i2')).sessions).toEqual(new Map([['s_new', ['SN1']]]));
    // A repeated announcement the old session had queued takes nothing back.
    expect(await h1.claim(old, ['SN1', 'SN2'], T0 + 2, own)).toEqual({ superseded: true, held: [], refused: [], takenOver: [] });
    expect(await h1.locate('SN1', T0 + 2)).toMatchObject({ sessionId: 's_new' });
    expect(await h1.locate('SN2', T0 + 2)).toBeUndefined();
  });

  it('an announcement holds exactly what it names; release removes the session and its serials', async () => {
    const { h1, h2 } = await twoInstances();
    const a = { agentId: 'ag_a', sessionId: 's_a', instanceId: 'i1' };
    const own = owners({ SN1: 'ag_a', SN2: 'ag_a', SN3: 'ag_a' });
    await h1.claim(a, ['SN1', 'SN2'], T0, own);
    expect((await h1.claim(a, ['SN3', 'SN2', 'SN3'], T0 + 1, own)).held).toEqual(['SN3', 'SN2']);
    expect((await h2.heldBy('i1')).sessions).toEqual(new Map([['s_a', ['SN2', 'SN3']]]));
    expect((await h1.claim(a, [], T0 + 2, own)).held).toEqual([]);
    expect((await h2.heldBy('i1')).sessions).toEqual(new Map([['s_a', []]]));
    expect(await h2.isConnectedElsewhere('ag_a', 'i2', T0 + 2)).toBe(true);
    await h1.release('s_a');
    await h1.release('s_a');
    expect((await h2.heldBy('i1')).sessions).toEqual(new Map());
    expect(await h2.isConnectedElsewhere('ag_a', 'i2', T0 + 2)).toBe(false);
  });

  it('concurrent claims of one serial by two agents on two instances end with the directory\'s owner holding it', async () => {
    const { h1, h2 } = await twoInstances();
    const a = { agentId: 'ag_a', sessionId: 's_a', instanceId: 'i1' };
    const b = { agentId: 'ag_b', sessionId: 's_b', instanceId: 'i2' };
    for (let round = 0; round < 10; round++) {
      const serial = `SNC${round}`;
      // The directory says ag_a; ag_b's admission was overtaken by a move (its claim races ag_a's).
      const own = owners({ [serial]: 'ag_a' });
      const [ra, rb] = await Promise.all([h1.claim(a, [serial], T0, own), h2.claim(b, [serial], T0, own)]);
      expect(ra.held).toEqual([serial]);
      // ag_b either came first (and was taken over, which ag_a's claim reports) or was refused.
      if (rb.held.length === 1) expect(ra.takenOver).toEqual([b]);
      else expect(rb.refused).toEqual([serial]);
      expect(await h2.locate(serial, T0)).toMatchObject({ agentId: 'ag_a', sessionId: a.sessionId });
      expect([...(await h2.heldBy('i2')).sessions.values()].flat()).not.toContain(serial);
    }
  });

  it('rows of a deregistered instance are gone with it; claims of an unregistered instance fail', async () => {
    const { registry, h1, h2 } = await twoInstances();
    await h1.claim({ agentId: 'ag_a', sessionId: 's_a', instanceId: 'i1' }, ['SN1'], T0, owners({ SN1: 'ag_a' }));
    await registry.deregister('i1');
    expect(await h2.locate('SN1', T0)).toBeUndefined();
    expect((await h2.heldBy('i1')).sessions).toEqual(new Map());
    await expect(h1.claim({ agentId: 'ag_a', sessionId: 's_a2', instanceId: 'i1' }, ['SN1'], T0, owners({ SN1: 'ag_a' }))).rejects.toMatchObject({
      code: 'STORE_FAILED',
    });
  });
});
