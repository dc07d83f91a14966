/**
 * Two real server instances (HTTP on port 0) sharing one directory (a SQLite file both open) and
 * the cluster presence on one PostgreSQL database, with agents over real WebSockets: an agent
 * connected to instance 1 is online on instance 2; another agent of the store cannot take its
 * terminal on instance 2; the agent reconnecting to instance 2 wins, and instance 1 closes the
 * old socket on its own at its next heartbeat (no bus); a graceful stop takes its agents offline.
 * @requires-program postgres
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type ServerMessage } from '@posbridge/protocol/ws';
import { startPostgres, waitFor, type ThrowawayPostgres } from '@posbridge/testkit';
import type { PgDb } from '../adapters/postgres/pg-db.ts';
import { buildServer, type ComposedServer } from '../compose.ts';
import { loadServerConfig } from '../config.ts';
import { clusterDbs, type ClusterDbs } from '../testing/cluster-db.ts';
import { connectAgent, isServerMessage, nextId, sinkLogger, tempDir, testEnv, type TestAgent } from '../testing/helpers.ts';

const isWelcome = isServerMessage('hub.welcome');
type Welcome = Extract<ServerMessage, { type: 'hub.welcome' }>;

let pg: ThrowawayPostgres;
let dbs: ClusterDbs;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  dbs = clusterDbs(pg);
}, 60_000);
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  await dbs.closeAll();
});
afterAll(async () => pg?.stop());

interface Instance {
  readonly composed: ComposedServer;
  readonly url: string;
}

async function instance(dbPath: string, db: PgDb, instanceId: string): Promise<Instance> {
  const composed = await buildServer({
    config: loadServerConfig(testEnv(dbPath, { POSBRIDGE_INSTANCE_ID: instanceId })),
    logger: sinkLogger().logger,
    cluster: { db, leaseMs: 2_000, heartbeatMs: 150 },
  });
  cleanups.push(() => composed.close());
  const port = await new Promise<number>((resolve) => composed.server.listen(0, '127.0.0.1', () => resolve((composed.server.address() as AddressInfo).port)));
  composed.start(port);
  return { composed, url: `http://127.0.0.1:${port}` };
}

async function agent(url: string, token: string): Promise<TestAgent> {
  const a = await connectAgent(url, token);
  cleanups.push(() => a.close());
  return a;
}

function hello(a: TestAgent, serialSource?: 'device'): Promise<Welcome> {
  a.send({
    v: PROTOCOL_VERSION,
    id: nextId(),
    type: 'agent.hello',
    agentVersion: 'test/1',
    terminals: [{ serialNumber: 'SIM0001', dialect: 'PBL/1', ...(serialSource ? { serialSource } : {}) }],
  });
  return a.waitForMessage(isWelcome);
}

describe('two instances, one cluster presence', () => {
  it('online on both, refused to another agent, taken over by the same agent reconnecting elsewhere, offline after a graceful stop', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.cleanup());
    const dbPath = join(tmp.dir, 'db.sqlite');
    const db = await dbs.fresh();
    const one = await instance(dbPath, db, 'i1');
    const two = await instance(dbPath, dbs.pool(db), 'i2');
    expect([one.composed.instanceId, two.composed.instanceId]).toEqual(['i1', 'i2']);
    const till1 = await one.composed.issueAgentToken('till-1');
    const till2 = await one.composed.issueAgentToken('till-2');

    const first = await agent(one.url, till1.token);
    expect((await hello(first, 'device')).accepted).toEqual(['SIM0001']);
    expect(await two.composed.hub.presence.locate('SIM0001')).toEqual({ status: 'online', agentId: till1.agentId });

    // Another agent of the store, on the other instance, with a device-read serial: till-1 is connected.
    const other = await agent(two.url, till2.token);
    const refused = await hello(other, 'device');
    expect(refused.accepted).toEqual([]);
    expect(refused.refused).toEqual([expect.objectContaining({ serialNumber: 'SIM0001', code: 'WS_SERIAL_CLAIMED' })]);

    // till-1 reconnects to instance 2 (its old socket to instance 1 is still open): the newest wins.
    const closed = new Promise<number>((resolve) => first.ws.once('close', (code) => resolve(code)));
    const second = await agent(two.url, till1.token);
    expect((await hello(second, 'device')).accepted).toEqual(['SIM0001']);
    expect(await closed).toBe(4000); // instance 1 noticed at its heartbeat
    await waitFor(() => one.composed.hub.sessionCount === 0, { timeoutMs: 3_000, message: 'instance 1 dropped the old session' });
    expect(two.composed.hub.sessionCount).toBe(2);
    expect(await one.composed.hub.presence.locate('SIM0001')).toEqual({ status: 'online', agentId: till1.agentId });

    // Instance 2 stops gracefully: what it held goes offline at once for instance 1.
    await two.composed.close();
    expect(await one.composed.hub.presence.locate('SIM0001')).toEqual({ status: 'offline', agentId: till1.agentId });
  });
});
