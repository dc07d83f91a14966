/**
 * The hub's wake-up signal across instances (../adapters/nats/nats-wake.ts) on a real, throwaway
 * nats-server: a wake-up on one instance reaches the other instance's signal once, is not
 * published back (one bus message per local wake-up, long lists split), and malformed serials
 * are not sent.
 * @requires-program nats-server
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startNats, waitFor, type ThrowawayNats } from '@posbridge/testkit';
import { WakeSignal } from './wake-signal.ts';
import { sinkLogger } from '../testing/helpers.ts';
import { NatsBus } from '../adapters/nats/nats-bus.ts';
import { MAX_WAKE_SERIALS, NatsWakeBridge } from '../adapters/nats/nats-wake.ts';

describe('NatsWakeBridge', () => {
  let nats: ThrowawayNats;
  let raw: NatsConnection;
  const onBus: string[][] = [];
  const opened: Array<{ bus: NatsBus; bridge: NatsWakeBridge }> = [];

  /** An instance: its bus, its local signal (with what its listener heard) and the bridge. */
  const instance = (id: string) => {
    const bus = new NatsBus({ url: nats.url, subjectPrefix: 'waketest', instanceId: id, logger: sinkLogger().logger });
    const wakes = new WakeSignal();
    const heard: string[][] = [];
    wakes.subscribe((serials) => heard.push([...serials]));
    const bridge = new NatsWakeBridge(bus, wakes);
    bus.start();
    opened.push({ bus, bridge });
    return { bus, wakes, heard };
  };
  const up = async (bus: NatsBus) => {
    await waitFor(() => bus.state() === 'up');
    await bus.flush();
  };

  beforeAll(async () => {
    nats = await startNats();
    raw = await connect({ servers: nats.url });
    raw.subscribe('waketest.wake', {
      callback: (_e, m) => void onBus.push((m.json<{ data: { serials: string[] } }>()).data.serials),
    });
    await raw.flush();
  });
  afterEach(async () => {
    for (const { bridge } of opened) bridge.close();
    await Promise.all(opened.splice(0).map(({ bus }) => bus.close()));
    onBus.length = 0;
  });
  afterAll(async () => {
    await raw?.close();
    await nats?.stop();
  });

  it("passes one instance's wake-up to the other's signal, once, without echo", async () => {
    const a = instance('a');
    const b = instance('b');
    await Promise.all([up(a.bus), up(b.bus)]);
    a.wakes.wake(['SIM0001', 'SIM0002']);
    await waitFor(() => b.heard.length === 1);
    expect(b.heard).toEqual([['SIM0001', 'SIM0002']]);
    expect(a.heard).toEqual([['SIM0001', 'SIM0002']]);
    // b did not publish it back: one message on the bus, and a heard it only locally.
    await Promise.all([a.bus.flush(), b.bus.flush(), raw.flush()]);
    await new Promise((r) => setTimeout(r, 100));
    expect(onBus).toEqual([['SIM0001', 'SIM0002']]);
    expect(a.heard).toHaveLength(1);
  });

  it('splits a long list, drops duplicates and malformed serials', async () => {
    const a = instance('a');
    const b = instance('b');
    await Promise.all([up(a.bus), up(b.bus)]);
    const serials = Array.from({ length: MAX_WAKE_SERIALS + 6 }, (_, i) => `T${String(i).padStart(4, '0')}`);
    a.wakes.wake([...serials, 'T0000', 'bad serial!', 'x'.repeat(65)]);
    await waitFor(() => b.heard.length === 2);
    expect(b.heard.flat()).toEqual(serials);
    expect(b.heard[0]).toHaveLength(MAX_WAKE_SERIALS);
  });

  it('ignores a wake-up message that is not a list of serials', async () => {
    const b = instance('b');
    await up(b.bus);
    raw.publish('waketest.wake', JSON.stringify({ from: 'z', data: { serials: ['ok1', 'not ok'] } }));
    raw.publish('waketest.wake', JSON.stringify({ from: 'z', data: { serials: [] } }));
    raw.publish('waketest.wake', JSON.stringify({ from: 'z', data: { serials: ['SIM0009'] } }));
    await waitFor(() => b.heard.length === 1);
    expect(b.heard).toEqual([['SIM0009']]);
  });
});
