/**
 * The composition root (issue 11 item 3): buildServer wires everything from configuration, picks
 * the store adapter by `POSBRIDGE_STORE` from a registry, never listens, and closes what it opened.
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildServer } from './compose.ts';
import { loadServerConfig, type StoreSettings } from './config.ts';
import { STORE_FACTORIES, openStore, type StoreFactory } from './store-factory.ts';
import { openSqliteStore } from './adapters/sqlite/index.ts';
import { sinkLogger, tempDir, testEnv } from './testing/helpers.ts';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

describe('buildServer', () => {
  it('wires the server without listening; the caller listens, then start() opens for traffic', async () => {
    const composed = await buildServer({ config: loadServerConfig(testEnv(join(tmp.dir, 'a.sqlite'))), logger: sinkLogger().logger });
    try {
      expect(composed.server.listening).toBe(false);
      expect(composed.scheme).toBe('http');
      expect(await composed.store.countPaymentsByStatus()).toEqual({});
      await new Promise<void>((resolve) => composed.server.listen(0, '127.0.0.1', resolve));
      const { port } = composed.server.address() as AddressInfo;
      const ready = () => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status);
      expect(await ready()).toBe(503);
      expect(composed.start(port)).toBe(`http://127.0.0.1:${port}`);
      expect(await ready()).toBe(200);
    } finally {
      await composed.close();
    }
    expect(composed.server.listening).toBe(false);
  });

  it('chooses the store adapter from configuration through the registry', async () => {
    const opened: StoreSettings[] = [];
    const counting: StoreFactory = (settings) => {
      opened.push(settings);
      return openSqliteStore({ filename: settings.dbPath });
    };
    const dbPath = join(tmp.dir, 'b.sqlite');
    const config = loadServerConfig(testEnv(dbPath, { POSBRIDGE_STORE: 'counting' }));
    const composed = await buildServer({ config, logger: sinkLogger().logger, stores: new Map([['counting', counting]]) });
    await composed.close();
    expect(opened).toEqual([expect.objectContaining({ storeKind: 'counting', dbPath })]);
    // The bootstrap merchant went into the store the registry opened.
    const store = await openSqliteStore({ filename: dbPath });
    try {
      expect(await store.findMerchantByAppKey('merchant-key')).toMatchObject({ appKey: 'merchant-key' });
    } finally {
      await store.close();
    }
  });

  it('runs on the memory adapter when POSBRIDGE_STORE=memory: no file is created, the data lives in the process', async () => {
    const dbPath = join(tmp.dir, 'never.sqlite');
    const composed = await buildServer({ config: loadServerConfig(testEnv(dbPath, { POSBRIDGE_STORE: 'memory' })), logger: sinkLogger().logger });
    try {
      expect(await composed.store.findMerchantByAppKey('merchant-key')).toMatchObject({ appKey: 'merchant-key' });
    } finally {
      await composed.close();
    }
    expect(existsSync(dbPath)).toBe(false);
  });

  it('refuses an unknown store kind with CFG_INVALID naming the known ones, before opening anything', async () => {
    const dbPath = join(tmp.dir, 'c.sqlite');
    const config = loadServerConfig(testEnv(dbPath, { POSBRIDGE_STORE: 'nope' }));
    await expect(buildServer({ config, logger: sinkLogger().logger })).rejects.toMatchObject({
      code: 'CFG_INVALID',
      message: expect.stringContaining('POSBRIDGE_STORE: unknown store kind "nope" (known: sqlite, memory, postgres)'),
      details: { problems: ['POSBRIDGE_STORE: unknown store kind "nope" (known: sqlite, memory, postgres)'] },
    });
    await expect(openStore({ storeKind: 'constructor', dbPath })).rejects.toMatchObject({ code: 'CFG_INVALID' });
    expect(existsSync(dbPath)).toBe(false);
    expect([...STORE_FACTORIES.keys()]).toEqual(['sqlite', 'memory', 'postgres']);
  });

  it('close() before start is safe, idempotent, and closes the store', async () => {
    let closes = 0;
    const tracked: StoreFactory = async (settings) => {
      const store = await openSqliteStore({ filename: settings.dbPath });
      const close = store.close.bind(store);
      store.close = () => {
        closes++;
        return close();
      };
      return store;
    };
    const config = loadServerConfig(testEnv(join(tmp.dir, 'd.sqlite'), { POSBRIDGE_STORE: 'tracked' }));
    const composed = await buildServer({ config, logger: sinkLogger().logger, stores: new Map([['tracked', tracked]]) });
    await Promise.all([composed.close(), composed.close()]);
    await composed.close();
    expect(closes).toBe(1);
  });
});
