/**
 * Revocation across instances with `POSBRIDGE_NATS_URL` (docs/agent-enrolment.md): two real
 * instances on one database file and one throwaway nats-server, their credential watch slowed to
 * a minute; an agent revoked on instance 1 is disconnected by instance 2 as soon as it hears
 * `<prefix>.agent.credentials` on the bus, long before its watch would look.
 * @requires-program nats-server
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats, type ThrowawayNats } from '@posbridge/testkit';
import { loadServerConfig } from '../config.ts';
import { startServer } from '../main.ts';
import { BOOTSTRAP_MERCHANT_ID, BOOTSTRAP_STORE_ID } from '../ports/directory.ts';
import { connectAgent, sinkLogger, tempDir, testEnv } from '../testing/helpers.ts';
import { CLOSE_CREDENTIALS_CHANGED } from './credential-watch.ts';

let nats: ThrowawayNats;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats?.stop();
});

describe('revocation over the NATS bus', () => {
  it('closes the session on the other instance when it hears the change, its watch being a minute away (past the test time-out)', async () => {
    const tmp = tempDir();
    const env = testEnv(join(tmp.dir, 'shared.sqlite'), { POSBRIDGE_NATS_URL: nats.url, POSBRIDGE_AGENT_CREDENTIAL_CHECK_MS: '60000' });
    const one = await startServer({ config: loadServerConfig({ ...env, POSBRIDGE_INSTANCE_ID: 'i1' }), logger: sinkLogger().logger });
    const two = await startServer({ config: loadServerConfig({ ...env, POSBRIDGE_INSTANCE_ID: 'i2' }), logger: sinkLogger().logger });
    try {
      const { code } = await one.enrolment.createPairingCode({ merchantId: BOOTSTRAP_MERCHANT_ID, storeId: BOOTSTRAP_STORE_ID, agentName: 'till', actor: 'admin:test' });
      const paired = await one.enrolment.pair(code, '127.0.0.1');
      const agent = await connectAgent(two.url, paired.token);
      await agent.hello(['SN-BUS1']);
      const closed = new Promise<number>((resolve) => agent.ws.once('close', (c) => resolve(c)));
      // Both buses up and subscribed before the change is published.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await one.enrolment.revoke(paired.agentId, 'admin:test')).toBe(true);
      expect(await closed).toBe(CLOSE_CREDENTIALS_CHANGED);
    } finally {
      await one.close();
      await two.close();
      tmp.cleanup();
    }
  }, 30_000);
});
