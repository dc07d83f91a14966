/**
 * Presence across two server instances (./cluster-presence.ts) sharing one PostgreSQL database:
 * two ClusterPresence objects with their own instance ids, pools and registrations, over one
 * directory (the store both instances share in a cluster). A claim on one instance is seen by
 * the other; another agent cannot take a live session's serial on any instance; a dead
 * instance's hold is taken over; the same agent reconnecting elsewhere wins, and the instance it
 * left closes the old session on its own (reconcile) or at the old session's next claim.
 * @requires-program postgres
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AnnouncedTerminal } from '@posbridge/protocol/ws';
import { startPostgres, type ThrowawayPostgres } from '@posbridge/testkit';
import { createMemoryStore } from '../adapters/memory/index.ts';
import { PgInstanceRegistry } from '../adapters/postgres/instances.ts';
import { PgTerminalHolders } from '../adapters/postgres/terminal-holders.ts';
import type { PaymentStore } from '../ports/index.ts';
import type { HolderSession, InstanceHoldings, TerminalHolders } from '../ports/terminal-holders.ts';
import { clusterDbs, type ClusterDbs } from '../testing/cluster-db.ts';
import { sinkLogger } from '../testing/helpers.ts';
import { issueAgentToken } from './agent-tokens.ts';
import { ClusterPresence, REPLACED_CLOSE_CODE, type ClusterHolder } from './cluster-presence.ts';

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

/** A session as the hub holds it: closing it marks it closed (the hub would then detach it). */
class FakeSession implements ClusterHolder {
  isOpen = true;
  serials: readonly string[] = [];
  closedWith: { code: number; reason: string } | undefined;
  constructor(
    readonly agentId: string,
    readonly sessionId: string,
  ) {}
  close(code: number, reason: string): void {
    this.isOpen = false;
    this.closedWith ??= { code, reason };
  }
}

const device = (serialNumber: string): AnnouncedTerminal => ({ serialNumber, dialect: 'PBL/1', serialSource: 'device' });
const configured = (serialNumber: string): AnnouncedTerminal => ({ serialNumber, dialect: 'PBL/1' });

interface Instance {
  readonly id: string;
  readonly presence: ClusterPresence<FakeSession>;
  readonly registry: PgInstanceRegistry;
  readonly taken: HolderSession[];
  /** Connects a session and announces `terminals`, as the hub does on `agent.hello`. */
  hello(session: FakeSession, terminals: readonly AnnouncedTerminal[]): ReturnType<ClusterPresence<FakeSession>['claim']>;
  /** Renews the lease at the current clock. */
  beat(): Promise<boolean>;
}

async function cluster() {
  const db = await dbs.fresh();
  const store: PaymentStore = createMemoryStore();
  const a = (await issueAgentToken(store, 'till-a', 1)).agentId;
  const b = (await issueAgentToken(store, 'till-b', 1)).agentId;
  const clock = { now: T0 };
  const { logger, lines } = sinkLogger();
  const instance = async (id: string, pool: typeof db): Promise<Instance> => {
    const registry = new PgInstanceRegistry(pool);
    await registry.register({ instanceId: id, startedAt: clock.now, now: clock.now, leaseMs: LEASE });
    const taken: HolderSession[] = [];
    const presence = new ClusterPresence<FakeSession>({
      store,
      logger: logger.child({ instance: id }),
      maxTerminalsPerAgent: 8,
      holders: new PgTerminalHolders(pool),
      instanceId: id,
      now: () => clock.now,
      onTakenOver: (t) => taken.push(t),
    });
    return {
      id,
      presence,
      registry,
      taken,
      hello: (session, terminals) => {
        if (presence.sessionOf(session.agentId) !== session) presence.connect(session);
        return presence.claim(session, terminals, clock.now);
      },
      beat: () => registry.heartbeat(id, clock.now, LEASE),
    };
  };
  const i1 = await instance('i1', db);
  const pool2 = dbs.pool(db);
  const i2 = await instance('i2', pool2);
  return { db, pool2, store, a, b, clock, i1, i2, lines };
}

describe('ClusterPresence', () => {
  it("agent A's claim on instance 1 is online on instance 2; agent B is refused while instance 1 lives and gets the terminal once its lease expired", async () => {
    const { a, b, clock, i1, i2 } = await cluster();
    const sa = new FakeSession(a, 's_a');
    expect(await i1.hello(sa, [device('SIM0001')])).toEqual({ held: ['SIM0001'], added: ['SIM0001'], refused: [] });
    expect(await i2.presence.locate('SIM0001')).toEqual({ status: 'online', agentId: a });
    expect(await i1.presence.locate('SIM0001')).toEqual({ status: 'online', agentId: a });
    expect(await i2.presence.locate('SIM0404')).toEqual({ status: 'unknown' });

    // B (same store) announces the terminal with a device-read serial on instance 2: A is connected.
    const sb = new FakeSession(b, 's_b');
    const refused = await i2.hello(sb, [device('SIM0001')]);
    expect(refused.held).toEqual([]);
    expect(refused.refused).toEqual([expect.objectContaining({ serialNumber: 'SIM0001', code: 'WS_SERIAL_CLAIMED' })]);
    expect(i2.presence.routeOf('SIM0001')).toBeUndefined();

    // Instance 1 stops beating (crashed or frozen); instance 2 goes on. Past the lease, A is not live.
    clock.now = T0 + LEASE;
    expect(await i2.beat()).toBe(true);
    expect(await i2.presence.locate('SIM0001')).toEqual({ status: 'offline', agentId: a });
    clock.now += 1_000; // past the re-announcement spacing
    expect(await i2.hello(sb, [device('SIM0001')])).toEqual({ held: ['SIM0001'], added: ['SIM0001'], refused: [] });
    expect(await i2.presence.locate('SIM0001')).toEqual({ status: 'online', agentId: b });
    expect(i2.taken).toEqual([{ agentId: a, sessionId: 's_a', instanceId: 'i1' }]);

    // Instance 1 comes back: its heartbeat renews the lease, its reconcile drops the lost route.
    expect(await i1.beat()).toBe(true);
    expect(await i1.presence.locate('SIM0001')).toEqual({ status: 'online', agentId: b });
    const report = await i1.presence.reconcile();
    expect(report).toEqual({ closed: [], dropped: new Map([['s_a', ['SIM0001']]]), released: [] });
    expect(i1.presence.routeOf('SIM0001')).toBeUndefined();
    expect(sa.isOpen).toBe(true); // A keeps its connection (its other terminals)
  });

  it('the same agent reconnecting on instance 2 takes over; instance 1 closes the old session at its next reconcile', async () => {
    const { a, clock, i1, i2 } = await cluster();
    const old = new FakeSession(a, 's_old');
    await i1.hello(old, [device('SIM0001'), device('SIM0002')]);

    clock.now += 500;
    const fresh = new FakeSession(a, 's_new');
    expect(await i2.hello(fresh, [device('SIM0001')])).toEqual({ held: ['SIM0001'], added: ['SIM0001'], refused: [] });
    expect(i2.taken).toEqual([{ agentId: a, sessionId: 's_old', instanceId: 'i1' }]);
    // Its old connection's serials are not held any more, whatever it announced.
    expect(await i2.presence.locate('SIM0002')).toEqual({ status: 'offline', agentId: a });

    const report = await i1.presence.reconcile();
    expect(report.closed).toEqual(['s_old']);
    expect(old.closedWith).toEqual({ code: REPLACED_CLOSE_CODE, reason: 'replaced by a newer connection of the agent' });
    expect(i1.presence.routeOf('SIM0001')).toBeUndefined();
    // The hub's close handler detaches it: its agent's rows (now the new session's) stay.
    expect(i1.presence.detach(old)).toBe(true);
    await i1.presence.settled();
    expect(await i1.presence.locate('SIM0001')).toEqual({ status: 'online', agentId: a });
    expect(i1.presence.sessionCount).toBe(0);

    // The new session's close releases the rows: offline everywhere.
    i2.presence.detach(fresh);
    await i2.presence.settled();
    expect(await i1.presence.locate('SIM0001')).toEqual({ status: 'offline', agentId: a });
    expect(await i2.presence.locate('SIM0001')).toEqual({ status: 'offline', agentId: a });
  });

  it('a repeated announcement the replaced session had queued takes nothing back and closes it', async () => {
    const { a, clock, i1, i2 } = await cluster();
    const old = new FakeSession(a, 's_old');
    await i1.hello(old, [device('SIM0001')]);
    clock.now += 500;
    const fresh = new FakeSession(a, 's_new');
    await i2.hello(fresh, [device('SIM0001')]);

    clock.now += 1_000;
    expect(await i1.hello(old, [device('SIM0001')])).toEqual({ held: [], added: [], refused: [] });
    expect(old.closedWith?.code).toBe(REPLACED_CLOSE_CODE);
    expect(i1.presence.routeOf('SIM0001')).toBeUndefined();
    expect(await i1.presence.locate('SIM0001')).toEqual({ status: 'online', agentId: a });
    expect(i2.presence.routeOf('SIM0001')).toBe(fresh);
  });

  it('a terminal an administrator moved is taken from the old agent\'s live session by the new owner\'s claim', async () => {
    const { store, a, b, clock, i1, i2 } = await cluster();
    const sa = new FakeSession(a, 's_a');
    await i1.hello(sa, [device('SIM0001'), device('SIM0002')]);
    expect(await store.moveTerminal({ serialNumber: 'SIM0001', fromAgentId: a, toAgentId: b, actor: 'cli:test', reason: 'till swap', at: clock.now })).toBe(true);

    const sb = new FakeSession(b, 's_b');
    expect(await i2.hello(sb, [configured('SIM0001')])).toEqual({ held: ['SIM0001'], added: ['SIM0001'], refused: [] });
    expect(i2.taken).toEqual([{ agentId: a, sessionId: 's_a', instanceId: 'i1' }]);
    expect(await i1.presence.locate('SIM0001')).toEqual({ status: 'online', agentId: b });

    const report = await i1.presence.reconcile();
    expect(report.dropped).toEqual(new Map([['s_a', ['SIM0001']]]));
    expect(sa.serials).toEqual(['SIM0002']);
    expect(sa.isOpen).toBe(true);
    expect(await i2.presence.locate('SIM0002')).toEqual({ status: 'online', agentId: a });
  });

  it('a graceful stop (deregistration) takes everything the instance held offline', async () => {
    const { a, i1, i2 } = await cluster();
    await i1.hello(new FakeSession(a, 's_a'), [device('SIM0001')]);
    expect(await i2.presence.locate('SIM0001')).toEqual({ status: 'online', agentId: a });
    await i1.registry.deregister('i1');
    expect(await i2.presence.locate('SIM0001')).toEqual({ status: 'offline', agentId: a });
  });

  it('release removes the rows at once; reconcile deletes rows of sessions no longer held here', async () => {
    const { db, a, b, i1, i2 } = await cluster();
    const sa = new FakeSession(a, 's_a');
    await i1.hello(sa, [device('SIM0001')]);
    await i1.presence.release(sa);
    expect(await i2.presence.locate('SIM0001')).toEqual({ status: 'offline', agentId: a });

    // Rows written by a session this instance no longer knows (its delete was lost): reconciled away.
    const holders = new PgTerminalHolders(dbs.pool(db));
    await holders.claim({ agentId: b, sessionId: 's_gone', instanceId: 'i1' }, ['SIM0009'], T0, () => Promise.resolve(b));
    expect((await i1.presence.reconcile()).released).toEqual(['s_gone']);
    expect(await holders.locate('SIM0009', T0)).toBeUndefined();
  });

  it('an instance that lost its registration closes its sessions and refuses every claim', async () => {
    const { a, b, i1 } = await cluster();
    const sa = new FakeSession(a, 's_a');
    await i1.hello(sa, [device('SIM0001')]);
    i1.presence.markLost();
    expect(sa.closedWith?.code).toBe(1012);
    expect(i1.presence.routeOf('SIM0001')).toBeUndefined();
    const late = await i1.hello(new FakeSession(b, 's_b'), [device('SIM0002'), device('SIM0002')]);
    expect(late.held).toEqual([]);
    expect(late.refused).toEqual([expect.objectContaining({ serialNumber: 'SIM0002', code: 'WS_SERIAL_CLAIMED' })]);
  });

  it('a claim the shared rows cannot take (database unreachable) fails and leaves nothing routed here', async () => {
    const { pool2, a, i2 } = await cluster();
    await pool2.close();
    const sa = new FakeSession(a, 's_a');
    await expect(i2.hello(sa, [device('SIM0001')])).rejects.toMatchObject({ code: 'STORE_FAILED' });
    expect(i2.presence.routeOf('SIM0001')).toBeUndefined();
    expect(sa.serials).toEqual([]);
    expect(i2.presence.holders()).toEqual([]);
  });

  it('a claim that overlaps a reconcile is left to the next one; reconciles asked for meanwhile join the waiting one', async () => {
    const { db, store, a, clock } = await cluster();
    const registry = new PgInstanceRegistry(db);
    await registry.register({ instanceId: 'i3', startedAt: clock.now, now: clock.now, leaseMs: LEASE });
    const real = new PgTerminalHolders(db);
    // heldBy answers what it read only once the gate opens: a claim commits in between.
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const gated: TerminalHolders = {
      claim: (...args) => real.claim(...args),
      locate: (...args) => real.locate(...args),
      isConnectedElsewhere: (...args) => real.isConnectedElsewhere(...args),
      release: (...args) => real.release(...args),
      heldBy: async (instanceId): Promise<InstanceHoldings> => {
        const rows = await real.heldBy(instanceId);
        await gate;
        return rows;
      },
    };
    const presence = new ClusterPresence<FakeSession>({
      store,
      logger: sinkLogger().logger,
      maxTerminalsPerAgent: 8,
      holders: gated,
      instanceId: 'i3',
      now: () => clock.now,
    });
    const sa = new FakeSession(a, 's_a');
    presence.connect(sa);
    await presence.claim(sa, [device('SIM0001')], clock.now);

    const first = presence.reconcile();
    const second = presence.reconcile();
    expect(presence.reconcile()).toBe(second);
    await new Promise((r) => setTimeout(r, 50)); // the first one has read the rows by now
    clock.now += 1_000;
    expect((await presence.claim(sa, [device('SIM0001'), device('SIM0002')], clock.now)).added).toEqual(['SIM0002']);
    open();
    expect(await first).toEqual({ closed: [], dropped: new Map(), released: [] });
    expect(presence.routeOf('SIM0002')).toBe(sa);
    expect(await second).toEqual({ closed: [], dropped: new Map(), released: [] });
    expect(sa.serials).toEqual(['SIM0001', 'SIM0002']);
  });

  it('closeAll (lease expired while cut off from the database) closes every session here; later connections are served', async () => {
    const { a, b, i1, i2 } = await cluster();
    const sa = new FakeSession(a, 's_a');
    await i1.hello(sa, [device('SIM0001')]);
    i1.presence.closeAll('server instance cannot reach the cluster database');
    expect(sa.closedWith).toEqual({ code: 1012, reason: 'server instance cannot reach the cluster database' });
    expect(i1.presence.routeOf('SIM0001')).toBeUndefined();
    i1.presence.detach(sa);
    await i1.presence.settled();
    expect((await i1.hello(new FakeSession(b, 's_b'), [device('SIM0002')])).held).toEqual(['SIM0002']);
    expect(await i2.presence.locate('SIM0002')).toEqual({ status: 'online', agentId: b });
  });
});
