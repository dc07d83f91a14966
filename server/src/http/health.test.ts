/**
 * The readiness store probe (issue 12 item 6): bounded by its time-out, one ping at a time,
 * cached, logging transitions only; and the readiness rules of `readinessOf`.
 */
import { describe, expect, it } from 'vitest';
import { CodedError } from '@posbridge/protocol/errors';
import { sinkLogger } from '../testing/helpers.ts';
import { StoreProbe, readinessOf, type ServerPhase } from './health.ts';
import type { BusState } from '../ports/bus-health.ts';

/** A store whose ping the test answers by hand. */
function manualStore() {
  const pending: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  return {
    pending,
    store: {
      getMeta: () => Promise.reject(new Error('getMeta must not be used when ping exists')),
      ping: () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject })),
    },
  };
}

describe('StoreProbe', () => {
  it('shares the ping in flight, caches the answer for cacheMs, then pings again', async () => {
    let clock = 0;
    const { store, pending } = manualStore();
    const probe = new StoreProbe({ store, kind: 'postgres', logger: sinkLogger().logger, cacheMs: 1000, monotonicNow: () => clock });
    const a = probe.check();
    const b = probe.check();
    expect(pending).toHaveLength(1);
    clock = 7;
    pending[0]!.resolve();
    expect(await a).toEqual({ status: 'up', kind: 'postgres', latencyMs: 7 });
    expect(await b).toEqual(await a);
    clock = 900;
    expect(await probe.check()).toEqual({ status: 'up', kind: 'postgres', latencyMs: 7 });
    expect(pending).toHaveLength(1);
    clock = 1010;
    const c = probe.check();
    expect(pending).toHaveLength(2);
    pending[1]!.reject(new CodedError('STORE_FAILED', 'connection refused'));
    expect(await c).toEqual({ status: 'down', kind: 'postgres', error: 'STORE_FAILED' });
  });

  it('a ping that does not answer within timeoutMs is down (timeout); a store without ping is read by key instead', async () => {
    const { logger, lines } = sinkLogger();
    const hanging = new StoreProbe({ store: { getMeta: () => Promise.resolve(null), ping: () => new Promise<void>(() => undefined) }, kind: 'postgres', logger, timeoutMs: 50 });
    const started = performance.now();
    expect(await hanging.check()).toEqual({ status: 'down', kind: 'postgres', error: 'timeout' });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(lines.filter((l) => l['msg'] === 'store down: readiness unready')).toEqual([expect.objectContaining({ store: 'postgres', reason: 'no answer within 50 ms' })]);
    const keys: string[] = [];
    const byKey = new StoreProbe({ store: { getMeta: (key) => (keys.push(key), Promise.resolve(null)) }, kind: 'sqlite', logger });
    expect(await byKey.check()).toMatchObject({ status: 'up', kind: 'sqlite' });
    expect(keys).toEqual(['readiness-probe']);
  });

  it('logs the transitions down and up once each, not every check', async () => {
    const { logger, lines } = sinkLogger();
    let clock = 0;
    let fail = true;
    const probe = new StoreProbe({
      store: { getMeta: () => (fail ? Promise.reject(new Error('SQLITE_IOERR')) : Promise.resolve(null)) },
      kind: 'sqlite',
      logger,
      cacheMs: 10,
      monotonicNow: () => clock,
    });
    for (const at of [0, 20, 40]) {
      clock = at;
      expect((await probe.check()).status).toBe('down');
    }
    fail = false;
    for (const at of [60, 80]) {
      clock = at;
      expect((await probe.check()).status).toBe('up');
    }
    expect(lines.map((l) => l['msg'])).toEqual(['store down: readiness unready', 'store up again: readiness restored']);
    expect(lines[0]).toMatchObject({ level: 40, error: 'error', reason: 'SQLITE_IOERR' });
  });
});

describe('readinessOf', () => {
  const upProbe = () => new StoreProbe({ store: { getMeta: () => Promise.resolve(null) }, kind: 'memory', logger: sinkLogger().logger });
  const of = (phase: ServerPhase, bus: BusState, probe = upProbe()) =>
    readinessOf({ instanceId: 'i-1', agents: { sessionCount: 2 }, probe, bus: { state: () => bus }, phase: () => phase });

  it('serving + store up: ready (bus none or up), degraded with the bus down (200); starting or closing: 503 unready', async () => {
    expect(await of('serving', 'none')).toMatchObject({ httpStatus: 200, body: { status: 'ready', instanceId: 'i-1', agentsConnected: 2 } });
    expect(await of('serving', 'up')).toMatchObject({ httpStatus: 200, body: { status: 'ready' } });
    expect(await of('serving', 'down')).toMatchObject({ httpStatus: 200, body: { status: 'degraded', components: { bus: { status: 'down' } } } });
    expect(await of('starting', 'none')).toMatchObject({ httpStatus: 503, body: { status: 'unready', components: { server: { status: 'starting' } } } });
    // Closing: the store (being closed) is not pinged; its last known state is reported.
    const probe = upProbe();
    await probe.check();
    expect(await of('closing', 'none', probe)).toMatchObject({ httpStatus: 503, body: { status: 'unready', components: { store: { status: 'up' } } } });
    expect(await of('closing', 'none')).toMatchObject({ httpStatus: 503, body: { components: { store: { status: 'down', kind: 'memory', error: 'closing' } } } });
  });

  it('store down: 503 unready, whatever the bus', async () => {
    const probe = new StoreProbe({ store: { getMeta: () => Promise.reject(new CodedError('STORE_FAILED')) }, kind: 'postgres', logger: sinkLogger().logger });
    expect(await of('serving', 'up', probe)).toMatchObject({ httpStatus: 503, body: { status: 'unready', components: { store: { status: 'down', error: 'STORE_FAILED' } } } });
  });

  it('a bus health that throws counts as down, never fails readiness', async () => {
    const result = await readinessOf({
      instanceId: 'i-1',
      agents: { sessionCount: 0 },
      probe: upProbe(),
      bus: {
        state: () => {
          throw new Error('boom');
        },
      },
      phase: () => 'serving',
    });
    expect(result).toMatchObject({ httpStatus: 200, body: { status: 'degraded', components: { bus: { status: 'down' } } } });
  });
});
