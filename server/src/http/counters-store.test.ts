/**
 * The express-rate-limit `Store` over the shared counters (./counters-store.ts): the library's
 * calls map onto fixed windows on the injected clock, keys are stored hashed under the limit's
 * prefix, and the middleware's `windowMs` wins over the constructor's.
 */
import { createHash } from 'node:crypto';
import type { Options } from 'express-rate-limit';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../adapters/memory/index.ts';
import { CountersStore } from './counters-store.ts';

describe('CountersStore', () => {
  it('counts in fixed windows on the injected clock, under a hashed key', async () => {
    const counters = createMemoryStore();
    let now = 10_000;
    const store = new CountersStore(counters, { prefix: 'ppp:', windowMs: 1000, now: () => now });
    expect(await store.get('192.0.2.1|pbk_x')).toBeUndefined();
    expect(await store.increment('192.0.2.1|pbk_x')).toEqual({ totalHits: 1, resetTime: new Date(11_000) });
    now = 10_500;
    expect(await store.increment('192.0.2.1|pbk_x')).toEqual({ totalHits: 2, resetTime: new Date(11_000) });
    await store.decrement('192.0.2.1|pbk_x');
    expect(await store.get('192.0.2.1|pbk_x')).toEqual({ totalHits: 1, resetTime: new Date(11_000) });
    // Stored as prefix + base64url sha256: no address or appKey in the clear.
    const digest = createHash('sha256').update('192.0.2.1|pbk_x').digest('base64url');
    expect(store.keyOf('192.0.2.1|pbk_x')).toBe(`ppp:${digest}`);
    expect(await counters.getCounter(`ppp:${digest}`, now)).toEqual({ count: 1, resetAt: 11_000 });
    now = 11_000;
    expect(await store.get('192.0.2.1|pbk_x')).toBeUndefined();
    await counters.close();
  });

  it('keeps limits apart by prefix, resets one key, and takes the window of the middleware', async () => {
    const counters = createMemoryStore();
    const now = () => 0;
    const a = new CountersStore(counters, { prefix: 'pos:', windowMs: 1000, now });
    const b = new CountersStore(counters, { prefix: 'metrics:', windowMs: 1000, now });
    await a.increment('src');
    expect(await b.get('src')).toBeUndefined();
    a.init({ windowMs: 60_000 } as Options);
    expect((await a.increment('other'))?.resetTime).toEqual(new Date(60_000));
    await a.resetKey('src');
    expect(await a.get('src')).toBeUndefined();
    expect(a.localKeys).toBe(false);
    expect(() => new CountersStore(counters, { prefix: 'p'.repeat(33), windowMs: 1000, now })).toThrow(RangeError);
    await counters.close();
  });
});
