/**
 * The assertions every {@link ChangeFeed} adapter passes (memory today; the cluster adapters
 * later). Real time, with short time-outs: an adapter's timers and its transport are the point.
 * Call {@link changeFeedContract} inside a test file with a factory of fresh feeds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeFeed } from './change-feed.ts';

/** A feed under test and how to release it (close connections, clear timers). */
export interface ChangeFeedUnderTest {
  readonly feed: ChangeFeed;
  close(): Promise<void>;
}

/** Registers the contract suite for one adapter. */
export function changeFeedContract(adapter: string, make: () => Promise<ChangeFeedUnderTest>): void {
  describe(`ChangeFeed contract: ${adapter}`, () => {
    const opened: ChangeFeedUnderTest[] = [];
    const open = async (): Promise<ChangeFeed> => {
      const t = await make();
      opened.push(t);
      return t.feed;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((t) => t.close()));
    });

    it('wakes a waiter with true when its key is notified', async () => {
      const feed = await open();
      const waiting = feed.wait('pay-1', 5000);
      feed.notify('pay-1');
      expect(await waiting).toBe(true);
    });

    it('wakes every waiter of the key, and only those', async () => {
      const feed = await open();
      const a = feed.wait('pay-1', 5000);
      const b = feed.wait('pay-1', 5000);
      const other = feed.wait('pay-2', 150);
      feed.notify('pay-1');
      expect(await Promise.all([a, b, other])).toEqual([true, true, false]);
    });

    it('resolves false after the time-out when nothing changes', async () => {
      const feed = await open();
      const began = performance.now();
      expect(await feed.wait('pay-1', 100)).toBe(false);
      expect(performance.now() - began).toBeGreaterThanOrEqual(90);
    });

    it('resolves false at once for a time-out of 0 or less', async () => {
      const feed = await open();
      expect(await feed.wait('pay-1', 0)).toBe(false);
      expect(await feed.wait('pay-1', -5)).toBe(false);
    });

    it('keeps no notification for a later waiter', async () => {
      const feed = await open();
      feed.notify('pay-1');
      expect(await feed.wait('pay-1', 100)).toBe(false);
    });

    it('is woken once per wait: a second wait needs a second notification', async () => {
      const feed = await open();
      const first = feed.wait('pay-1', 5000);
      feed.notify('pay-1');
      expect(await first).toBe(true);
      const second = feed.wait('pay-1', 100);
      expect(await second).toBe(false);
    });

    it('resolves false when the signal aborts, and at once for an aborted signal', async () => {
      const feed = await open();
      const stop = new AbortController();
      const waiting = feed.wait('pay-1', 5000, stop.signal);
      stop.abort();
      expect(await waiting).toBe(false);
      expect(await feed.wait('pay-1', 5000, AbortSignal.abort())).toBe(false);
      // An aborted waiter is gone: a later notification wakes only the live one.
      const live = feed.wait('pay-1', 5000);
      feed.notify('pay-1');
      expect(await live).toBe(true);
    });
  });
}
