/**
 * Revocation across instances (docs/agent-enrolment.md "Rotation and revocation"): two real
 * server instances on one database (a SQLite file both open, as instances share PostgreSQL); an
 * agent connected to instance 2 is revoked on instance 1 and instance 2's credential watch closes
 * its session (4001) from the row alone, with no bus; an agent with a rotated token keeps its new
 * session.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { buildServer, type ComposedServer } from '../compose.ts';
import { loadServerConfig } from '../config.ts';
import { BOOTSTRAP_MERCHANT_ID, BOOTSTRAP_STORE_ID } from '../ports/directory.ts';
import { connectAgent, sinkLogger, tempDir, testEnv, type TestAgent } from '../testing/helpers.ts';
import { CLOSE_CREDENTIALS_CHANGED } from './credential-watch.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function instance(dbPath: string, id: string): Promise<{ composed: ComposedServer; url: string; lines: Record<string, unknown>[] }> {
  const sink = sinkLogger();
  const composed = await buildServer({ config: loadServerConfig(testEnv(dbPath, { POSBRIDGE_INSTANCE_ID: id, POSBRIDGE_AGENT_CREDENTIAL_CHECK_MS: '150' })), logger: sink.logger });
  cleanups.push(() => composed.close());
  const port = await new Promise<number>((resolve) => composed.server.listen(0, '127.0.0.1', () => resolve((composed.server.address() as AddressInfo).port)));
  composed.start(port);
  return { composed, url: `http://127.0.0.1:${port}`, lines: sink.lines };
}

async function agent(url: string, token: string): Promise<TestAgent> {
  const a = await connectAgent(url, token);
  cleanups.push(() => a.close());
  return a;
}

const closeCode = (a: TestAgent) => new Promise<number>((resolve) => a.ws.once('close', (code) => resolve(code)));

describe('credential watch across instances', () => {
  it('closes on instance 2 the session of an agent revoked on instance 1; a rotated agent reconnects with its new token', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.cleanup());
    const dbPath = join(tmp.dir, 'db.sqlite');
    const one = await instance(dbPath, 'i1');
    const two = await instance(dbPath, 'i2');

    const pair = async (name: string) => {
      const { code } = await one.composed.enrolment.createPairingCode({ merchantId: BOOTSTRAP_MERCHANT_ID, storeId: BOOTSTRAP_STORE_ID, agentName: name, actor: 'admin:test' });
      return two.composed.enrolment.pair(code, '127.0.0.1');
    };
    const revoked = await pair('till R');
    const rotated = await pair('till T');
    const a = await agent(two.url, revoked.token);
    await a.hello(['SN-X1']);
    const b = await agent(two.url, rotated.token);
    await b.hello(['SN-X2']);
    const aClosed = closeCode(a);
    const bClosed = closeCode(b);

    expect(await one.composed.enrolment.revoke(revoked.agentId, 'admin:test')).toBe(true);
    expect(await aClosed).toBe(CLOSE_CREDENTIALS_CHANGED);
    expect(two.lines.some((l) => l['msg'] === 'revoked agent disconnected' && l['instanceId'] === 'i2')).toBe(true);

    const { token } = await one.composed.enrolment.rotateToken(rotated.agentId, 'admin:test');
    expect(await bClosed).toBe(CLOSE_CREDENTIALS_CHANGED);
    await expect(connectAgent(two.url, rotated.token)).rejects.toThrow('HTTP 401');
    const again = await agent(two.url, token);
    await again.hello(['SN-X2']);
    // The new session outlives several checks: the watch compares tokens, not times.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(again.ws.readyState).toBe(again.ws.OPEN);
    await waitFor(() => two.composed.hub.onlineSerials().has('SN-X2'), { timeoutMs: 2000 });
    expect(two.composed.hub.onlineSerials().has('SN-X1')).toBe(false);
  }, 30_000);
});
