/**
 * The NATS change feed on a real, throwaway nats-server: the ChangeFeed contract (with the bus up,
 * and with a bus that never reaches NATS: then the feed is this instance's alone), a notification
 * crossing from one instance to another, and NATS killed: long waits resolve true ("read the
 * store again") within the poll step, and after a restart notifications cross again.
 * @requires-program nats-server
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startNats, waitFor, type ThrowawayNats } from '@posbridge/testkit';
import { changeFeedContract } from '../../ports/change-feed.contract.ts';
import { sinkLogger } from '../../testing/helpers.ts';
import { NatsBus } from './nats-bus.ts';
import { NatsChangeFeed } from './nats-change-feed.ts';

let nats: ThrowawayNats;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats?.stop();
});

let instances = 0;
/** A bus (started) and its feed, on `url`. */
function openFeed(url: string, downWaitMs = 1000): { bus: NatsBus; feed: NatsChangeFeed; close: () => Promise<void> } {
  const bus = new NatsBus({ url, subjectPrefix: 'feedtest', instanceId: `feed-${++instances}`, logger: sinkLogger().logger, reconnectCapMs: 300 });
  const feed = new NatsChangeFeed({ bus, downWaitMs });
  bus.start();
  return {
    bus,
    feed,
    close: async () => {
      feed.close();
      await bus.close();
    },
  };
}
const up = async (bus: NatsBus) => {
  await waitFor(() => bus.state() === 'up', { message: 'bus up' });
  await bus.flush();
};

changeFeedContract('nats', async () => {
  const t = openFeed(nats.url);
  await up(t.bus);
  return t;
});

changeFeedContract('nats (bus never up)', async () => {
  const t = openFeed(`nats://127.0.0.1:${await freePort()}`);
  return t;
});

describe('NatsChangeFeed across instances', () => {
  const opened: Array<{ close: () => Promise<void> }> = [];
  const open = (downWaitMs?: number) => {
    const t = openFeed(nats.url, downWaitMs);
    opened.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((t) => t.close()));
    await nats.start();
  });

  it("wakes the other instance's waiter of the key, and only that key's", async () => {
    const a = open();
    const b = open();
    await Promise.all([up(a.bus), up(b.bus)]);
    const waiting = b.feed.wait('pay-1', 5000);
    const other = b.feed.wait('pay-2', 300);
    const began = performance.now();
    a.feed.notify('pay-1');
    expect(await waiting).toBe(true);
    expect(performance.now() - began).toBeLessThan(1000);
    expect(await other).toBe(false);
  });

  it('polls while NATS is down: long waits say "read again" every step, short ones keep their time-out', async () => {
    const a = open(500);
    const b = open(500);
    await Promise.all([up(a.bus), up(b.bus)]);
    const inFlight = b.feed.wait('pay-1', 30_000);
    await nats.kill();
    let began = performance.now();
    // The wait in flight when the bus went down ends at once: its caller reads the store again …
    expect(await inFlight).toBe(true);
    expect(performance.now() - began).toBeLessThan(3000);
    await waitFor(() => a.bus.state() === 'down' && b.bus.state() === 'down');
    // … and a new long wait lasts one poll step, then says "read again".
    began = performance.now();
    expect(await b.feed.wait('pay-1', 30_000)).toBe(true);
    const took = performance.now() - began;
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(1500);
    // A wait within the step times out as usual; an aborted one is false.
    expect(await b.feed.wait('pay-1', 100)).toBe(false);
    const stop = new AbortController();
    const aborted = b.feed.wait('pay-1', 30_000, stop.signal);
    stop.abort();
    expect(await aborted).toBe(false);
    // Local notifications still wake local waiters at once.
    const local = b.feed.wait('pay-1', 30_000);
    b.feed.notify('pay-1');
    expect(await local).toBe(true);
    expect(b.feed.waiting).toBe(0);

    await nats.start();
    await Promise.all([up(a.bus), up(b.bus)]);
    const waiting = b.feed.wait('pay-1', 30_000);
    a.feed.notify('pay-1');
    expect(await waiting).toBe(true);
    expect(b.feed.waiting).toBe(0);
  });
});
