/**
 * The NATS bus on a real, throwaway nats-server: publish/subscribe between two instances, the
 * subject prefix, what incoming messages are ignored (and the rate-limited warning), the up/down
 * state and its log lines through a server kill and restart, a bus started while NATS is down,
 * and a bounded close() with NATS gone.
 * @requires-program nats-server
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startNats, waitFor, type ThrowawayNats } from '@posbridge/testkit';
import { sinkLogger } from '../../testing/helpers.ts';
import { NatsBus, type NatsBusOptions } from './nats-bus.ts';

const Schema = z.strictObject({ n: z.number().int() });

describe('NatsBus', () => {
  let nats: ThrowawayNats;
  let raw: NatsConnection;
  const opened: NatsBus[] = [];

  const open = (overrides: Partial<NatsBusOptions> = {}) => {
    const sink = sinkLogger();
    const bus = new NatsBus({ url: nats.url, subjectPrefix: 'test', instanceId: `i${opened.length}`, logger: sink.logger, reconnectCapMs: 500, ...overrides });
    opened.push(bus);
    bus.start();
    return { bus, lines: sink.lines };
  };
  /** Up, with its subscriptions registered at the server. */
  const up = async (bus: NatsBus) => {
    await waitFor(() => bus.state() === 'up', { message: 'bus up' });
    await bus.flush();
  };

  beforeAll(async () => {
    nats = await startNats();
    raw = await connect({ servers: nats.url });
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((b) => b.close()));
    await nats.start();
  });
  afterAll(async () => {
    await raw?.close();
    await nats?.stop();
  });

  it('carries a message from one instance to another, under the subject prefix', async () => {
    const a = open();
    const b = open();
    const heard: Array<[number, string]> = [];
    b.bus.subscribe('x', Schema, (data, from) => heard.push([data.n, from]));
    const rawHeard: string[] = [];
    raw.subscribe('test.x', { callback: (_e, m) => void rawHeard.push(m.string()) });
    await Promise.all([up(a.bus), up(b.bus)]);
    await raw.flush();
    a.bus.publish('x', { n: 1 });
    await waitFor(() => heard.length === 1);
    expect(heard).toEqual([[1, 'i0']]);
    expect(rawHeard).toEqual([JSON.stringify({ from: 'i0', data: { n: 1 } })]);
  });

  it('ignores its own messages and other prefixes', async () => {
    const a = open();
    const other = open({ subjectPrefix: 'other' });
    const b = open();
    const heardA: number[] = [];
    const heardB: number[] = [];
    a.bus.subscribe('x', Schema, (d) => heardA.push(d.n));
    b.bus.subscribe('x', Schema, (d) => heardB.push(d.n));
    await Promise.all([up(a.bus), up(b.bus), up(other.bus)]);
    other.bus.publish('x', { n: 9 });
    a.bus.publish('x', { n: 1 });
    await waitFor(() => heardB.length === 1, { message: `first: ${JSON.stringify(heardB)}` });
    // A raw message of the same shape from "i0" (a's id) is a's own: a does not hear it either.
    raw.publish('test.x', JSON.stringify({ from: 'i0', data: { n: 2 } }));
    b.bus.publish('x', { n: 3 });
    await waitFor(() => heardA.length === 1, { message: `A ${JSON.stringify(heardA)}` });
    await waitFor(() => heardB.length === 2, { message: `B ${JSON.stringify(heardB)}` });
    expect(heardA).toEqual([3]);
    expect(heardB).toEqual([1, 2]);
  });

  it('ignores malformed and oversized messages, warning at most once per interval', async () => {
    let now = 1_000_000;
    const b = open({ now: () => now, maxMessageBytes: 200, warnEveryMs: 10_000 });
    const heard: number[] = [];
    b.bus.subscribe('x', Schema, (d) => heard.push(d.n));
    b.bus.subscribe('y', Schema, () => {
      throw new Error('handler bug');
    });
    await up(b.bus);
    const bad = ['not json', JSON.stringify({ n: 1 }), JSON.stringify({ from: 'z', data: { n: 'one' } }), JSON.stringify({ from: 'z', data: { n: 1, extra: true } })];
    for (const m of bad) raw.publish('test.x', m);
    raw.publish('test.x', JSON.stringify({ from: 'z', data: { n: 1 }, pad: 'p'.repeat(300) }));
    raw.publish('test.x', new Uint8Array([0xff, 0xfe]));
    raw.publish('test.y', JSON.stringify({ from: 'z', data: { n: 1 } }));
    raw.publish('test.x', JSON.stringify({ from: 'z', data: { n: 7 } }));
    await waitFor(() => heard.length === 1);
    expect(heard).toEqual([7]);
    const warns = () => b.lines.filter((l) => l['msg'] === 'bus messages ignored');
    expect(warns()).toHaveLength(1);
    now += 10_000;
    raw.publish('test.x', 'still not json');
    await waitFor(() => warns().length === 2);
    // The second warning counts everything ignored since the first (six more, then this one).
    expect(warns()[1]).toMatchObject({ ignored: 7, subject: 'test.x', level: 40 });
  });

  it('goes down when NATS dies and up when it is back, logging each change once, subscriptions kept', async () => {
    const a = open();
    const b = open();
    const heard: number[] = [];
    b.bus.subscribe('x', Schema, (d) => heard.push(d.n));
    await Promise.all([up(a.bus), up(b.bus)]);
    await nats.kill();
    await waitFor(() => a.bus.state() === 'down' && b.bus.state() === 'down', { message: 'bus down' });
    a.bus.publish('x', { n: 1 }); // dropped, not queued
    await nats.start();
    await Promise.all([up(a.bus), up(b.bus)]);
    a.bus.publish('x', { n: 2 });
    await waitFor(() => heard.length >= 1, { message: 'a message after the restart' });
    await new Promise((r) => setTimeout(r, 100));
    expect(heard).toEqual([2]);
    const states = a.lines.filter((l) => /^NATS bus (up|down)/.test(String(l['msg']))).map((l) => [l['level'], String(l['msg']).slice(0, 13)]);
    expect(states).toEqual([
      [30, 'NATS bus up'],
      [40, 'NATS bus down'],
      [30, 'NATS bus up'],
    ]);
  });

  it('starts while NATS is down (callers never wait) and comes up when it starts', async () => {
    await nats.kill();
    const { bus, lines } = open({ url: `nats://svc:hunter2@127.0.0.1:${nats.port}` });
    expect(bus.state()).toBe('down');
    bus.publish('x', { n: 1 });
    await waitFor(() => lines.some((l) => String(l['msg']).startsWith('NATS bus down')));
    await nats.start();
    await up(bus);
    expect(JSON.stringify(lines)).not.toContain('hunter2');
    expect(lines.filter((l) => String(l['msg']).startsWith('NATS bus down'))).toHaveLength(1);
  });

  it('closes within its bound when NATS is gone', async () => {
    const { bus } = open({ closeTimeoutMs: 300 });
    await up(bus);
    await nats.kill();
    const began = performance.now();
    await bus.close();
    expect(performance.now() - began).toBeLessThan(1000);
    expect(bus.state()).toBe('down');
  });
});
