import { describe, expect, it } from 'vitest';
import { changeFeedContract } from '../../ports/change-feed.contract.ts';
import { MemoryChangeFeed } from './change-feed.ts';

changeFeedContract('memory', async () => ({ feed: new MemoryChangeFeed(), close: async () => undefined }));

describe('MemoryChangeFeed bounds', () => {
  it('refuses a wait beyond maxWaiters at once (false) and releases every finished wait', async () => {
    const feed = new MemoryChangeFeed({ maxWaiters: 2 });
    const a = feed.wait('k', 5000);
    const b = feed.wait('other', 5000);
    expect(await feed.wait('k', 5000)).toBe(false);
    expect(feed.waiting).toBe(2);
    feed.notify('k');
    feed.notify('other');
    expect(await Promise.all([a, b])).toEqual([true, true]);
    expect(feed.waiting).toBe(0);
    const stop = new AbortController();
    const c = feed.wait('k', 5000, stop.signal);
    stop.abort();
    expect(await c).toBe(false);
    expect(await feed.wait('k', 10)).toBe(false);
    expect(feed.waiting).toBe(0);
  });

  it('cuts a wait longer than maxWaitMs short', async () => {
    const feed = new MemoryChangeFeed({ maxWaitMs: 50 });
    const began = performance.now();
    expect(await feed.wait('k', 60_000)).toBe(false);
    expect(performance.now() - began).toBeLessThan(2000);
  });
});
