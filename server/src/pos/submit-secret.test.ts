/**
 * Issue 12 item 4: in a cluster (a store several instances share, `POSBRIDGE_STORE=postgres`)
 * the submit-token key comes from configuration only: a key generated per instance would make a
 * submitUrl minted by one instance fail on the others. Without `POSBRIDGE_SUBMIT_SECRET` or an
 * existing `POSBRIDGE_SUBMIT_SECRET_FILE` the server refuses to start (`CFG_INVALID`); with one,
 * every instance accepts the others' submitUrls. The instances here share one memory state
 * registered under the cluster's store kind (the PostgreSQL store itself is tested apart).
 */
import { existsSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryState, createMemoryStore } from '../adapters/memory/index.ts';
import { buildServer } from '../compose.ts';
import { loadServerConfig } from '../config.ts';
import type { StoreRegistry } from '../store-factory.ts';
import { AUTH_HEADERS, createPaymentBody, sinkLogger, tempDir, testEnv } from '../testing/helpers.ts';
import { resolveSubmitSecret } from './submit-secret.ts';

const SECRET = 'cluster-submit-secret-0123456789';

describe('the submit secret in a cluster', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const dir = () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    return tmp.dir;
  };

  const env = (overrides: Record<string, string>) => testEnv(join(dir(), 'unused.sqlite'), { POSBRIDGE_STORE: 'postgres', POSBRIDGE_DATABASE_URL: 'postgres://pb@127.0.0.1:1/pb', ...overrides });

  it('refuses a cluster configuration without a configured key, naming both settings', () => {
    let thrown: unknown;
    try {
      loadServerConfig(env({}));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'CFG_INVALID', message: expect.stringMatching(/POSBRIDGE_SUBMIT_SECRET: required with POSBRIDGE_STORE=postgres/) });
    expect((thrown as Error).message).toContain('POSBRIDGE_SUBMIT_SECRET_FILE');
    // Either setting will do; no secret file is defaulted next to a database in a cluster.
    expect(loadServerConfig(env({ POSBRIDGE_SUBMIT_SECRET: SECRET })).submitSecretFile).toBeUndefined();
    expect(loadServerConfig(env({ POSBRIDGE_SUBMIT_SECRET_FILE: '/run/secrets/posbridge' })).submitSecretFile).toBe('/run/secrets/posbridge');
    // A single instance still generates its own.
    expect(loadServerConfig(testEnv('/var/lib/posbridge/db.sqlite')).submitSecretFile).toBe('/var/lib/posbridge/db.sqlite.submit-secret');
  });

  it('never generates a key in a cluster: a configured file must exist, and is read as it is', async () => {
    const store = createMemoryStore();
    cleanups.push(() => store.close());
    const { logger } = sinkLogger();
    const file = join(dir(), 'submit-secret');
    await expect(resolveSubmitSecret({ configured: undefined, file, shared: true, store, logger })).rejects.toMatchObject({
      code: 'CFG_INVALID',
      message: expect.stringContaining(`POSBRIDGE_SUBMIT_SECRET_FILE: ${file} does not exist`),
    });
    expect(existsSync(file)).toBe(false);
    await expect(resolveSubmitSecret({ configured: undefined, file: undefined, shared: true, store, logger })).rejects.toMatchObject({ code: 'CFG_INVALID' });
    writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
    expect(await resolveSubmitSecret({ configured: undefined, file, shared: true, store, logger })).toBe(SECRET);
    expect(await resolveSubmitSecret({ configured: 'configured-wins-0123456789', file, shared: true, store, logger })).toBe('configured-wins-0123456789');
  });

  /** Two instances on one shared state, under the cluster's store kind. */
  const instances = async (overrides: Record<string, string>): Promise<string[]> => {
    const state = createMemoryState();
    const stores: StoreRegistry = new Map([['postgres', () => Promise.resolve(createMemoryStore({ state }))]]);
    const config = loadServerConfig(env(overrides));
    const started: string[] = [];
    for (let i = 0; i < 2; i++) {
      const composed = await buildServer({ config, logger: sinkLogger().logger, stores });
      cleanups.push(() => composed.close());
      await new Promise<void>((resolve) => composed.server.listen(0, '127.0.0.1', resolve));
      const { port } = composed.server.address() as AddressInfo;
      started.push(composed.start(port));
    }
    return started;
  };

  it('refuses to start when the configured file is missing', async () => {
    const config = loadServerConfig(env({ POSBRIDGE_SUBMIT_SECRET_FILE: join(dir(), 'nowhere') }));
    const stores: StoreRegistry = new Map([['postgres', () => Promise.resolve(createMemoryStore())]]);
    await expect(buildServer({ config, logger: sinkLogger().logger, stores })).rejects.toMatchObject({ code: 'CFG_INVALID' });
  });

  it('a statusUrl minted by one instance works on the other (one key from the shared file)', async () => {
    const file = join(dir(), 'shared-secret');
    writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
    const [urlA = '', urlB = ''] = await instances({ POSBRIDGE_SUBMIT_SECRET_FILE: file });
    const res = await fetch(`${urlA}/payments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS },
      body: JSON.stringify(createPaymentBody({ paymentId: 'CLUSTER-1' })),
    });
    expect(res.status).toBe(200);
    const { paymentAppData } = (await res.json()) as { paymentAppData: { payload: string } };
    const { statusUrl } = JSON.parse(paymentAppData.payload) as { statusUrl: string };
    expect(statusUrl.startsWith(urlA)).toBe(true);
    // Same path and query on the other instance.
    const other = new URL(statusUrl);
    const answered = await fetch(`${urlB}${other.pathname}${other.search}`);
    expect(answered.status).toBe(200);
    expect(await answered.json()).toMatchObject({ paymentId: 'CLUSTER-1' });
  });
});
