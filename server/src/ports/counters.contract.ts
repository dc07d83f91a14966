/**
 * Contract of the shared counters (./counters.ts `CountersPort`): every adapter runs these same
 * assertions (memory and SQLite through ./contracts.ts, PostgreSQL in
 * adapters/postgres/shared-state.test.ts). Takes just the port, so an adapter class can be
 * tested on its own.
 */
import { describe, expect, it } from 'vitest';
import { usePort, type PortFixture } from './contract-helpers.ts';
import { COUNTER_PURGE_PER_HIT, MAX_COUNTER_KEY_LENGTH, MAX_COUNTER_WINDOW_MS, type CountersPort } from './counters.ts';

/** Registers the counters contract of `name` against fixtures made by `make` (each: a new, empty store). */
export function countersContract(name: string, make: () => Promise<PortFixture<CountersPort>>): void {
  describe(`CountersPort contract: ${name}`, () => {
    const port = usePort(make);

    it('opens a fixed window on the first hit and counts hits in it; a hit after it ends opens a new one', async () => {
      expect(await port().hitCounter('k', 1000, 5000)).toEqual({ count: 1, resetAt: 6000 });
      expect(await port().hitCounter('k', 1000, 5500)).toEqual({ count: 2, resetAt: 6000 });
      expect(await port().hitCounter('k', 1000, 5999)).toEqual({ count: 3, resetAt: 6000 });
      // The window is fixed at its first hit: a later hit with another length does not move it.
      expect(await port().hitCounter('k', 60_000, 5999)).toEqual({ count: 4, resetAt: 6000 });
      expect(await port().hitCounter('k', 1000, 6000)).toEqual({ count: 1, resetAt: 7000 });
    });

    it('reads a current window, and nothing for an unknown key or an ended window', async () => {
      expect(await port().getCounter('k', 0)).toBeNull();
      await port().hitCounter('k', 1000, 5000);
      await port().hitCounter('k', 1000, 5100);
      expect(await port().getCounter('k', 5999)).toEqual({ count: 2, resetAt: 6000 });
      expect(await port().getCounter('k', 6000)).toBeNull();
      expect(await port().getCounter('other', 5100)).toBeNull();
    });

    it('counts every one of concurrent hits', async () => {
      const windows = await Promise.all(Array.from({ length: 25 }, () => port().hitCounter('busy', 10_000, 1000)));
      expect(windows.map((w) => w.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(new Set(windows.map((w) => w.resetAt))).toEqual(new Set([11_000]));
      expect(await port().getCounter('busy', 1000)).toEqual({ count: 25, resetAt: 11_000 });
    });

    it('keeps keys apart, and resets one key only', async () => {
      await port().hitCounter('a', 1000, 0);
      await port().hitCounter('a', 1000, 0);
      await port().hitCounter('b', 5000, 0);
      expect(await port().getCounter('a', 1)).toEqual({ count: 2, resetAt: 1000 });
      expect(await port().getCounter('b', 1)).toEqual({ count: 1, resetAt: 5000 });
      await port().resetCounter('a');
      await port().resetCounter('never');
      expect(await port().getCounter('a', 1)).toBeNull();
      expect(await port().getCounter('b', 1)).toEqual({ count: 1, resetAt: 5000 });
      expect(await port().hitCounter('a', 1000, 2)).toEqual({ count: 1, resetAt: 1002 });
    });

    it('takes a hit back within the window, never below zero, and never revives an ended window', async () => {
      await port().hitCounter('k', 1000, 0);
      await port().hitCounter('k', 1000, 0);
      await port().decrementCounter('k', 10);
      expect(await port().getCounter('k', 10)).toEqual({ count: 1, resetAt: 1000 });
      await port().decrementCounter('k', 10);
      await port().decrementCounter('k', 10);
      expect(await port().getCounter('k', 10)).toEqual({ count: 0, resetAt: 1000 });
      await port().decrementCounter('k', 1000);
      expect(await port().getCounter('k', 1000)).toBeNull();
      await port().decrementCounter('never', 0);
      expect(await port().getCounter('never', 0)).toBeNull();
      // The next hit after the end opens a new window, whatever was taken back.
      expect(await port().hitCounter('k', 1000, 1500)).toEqual({ count: 1, resetAt: 2500 });
    });

    it('purges ended windows only, at most `limit` per call, and each hit purges a few', async () => {
      for (let i = 0; i < 6; i++) await port().hitCounter(`old${i}`, 1000, 0);
      await port().hitCounter('live', 10_000, 0);
      expect(await port().purgeExpiredCounters(1000, 2)).toBe(2);
      // A hit at 1000 removes up to COUNTER_PURGE_PER_HIT of the 4 left.
      await port().hitCounter('new', 1000, 1000);
      expect(await port().purgeExpiredCounters(1000, 100)).toBe(4 - COUNTER_PURGE_PER_HIT);
      expect(await port().purgeExpiredCounters(1000, 100)).toBe(0);
      expect(await port().getCounter('live', 1000)).toEqual({ count: 1, resetAt: 10_000 });
      expect(await port().getCounter('new', 1000)).toEqual({ count: 1, resetAt: 2000 });
    });

    it('refuses keys and windows out of bounds', async () => {
      const longest = 'k'.repeat(MAX_COUNTER_KEY_LENGTH);
      expect(await port().hitCounter(longest, MAX_COUNTER_WINDOW_MS, 0)).toEqual({ count: 1, resetAt: MAX_COUNTER_WINDOW_MS });
      for (const [key, windowMs] of [
        [`${longest}k`, 1000],
        ['', 1000],
        ['k', 0],
        ['k', 1.5],
        ['k', MAX_COUNTER_WINDOW_MS + 1],
      ] as const) {
        await expect(port().hitCounter(key, windowMs, 0)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      }
      await expect(port().getCounter(`${longest}k`, 0)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await port().getCounter('k', 0)).toBeNull();
    });
  });
}
