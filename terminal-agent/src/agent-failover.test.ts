/**
 * Failover of the agent over several hub URLs (issue 12 item 5), end to end against fake hubs
 * that are real `ws` servers on 127.0.0.1 (./testing/fake-hub.ts), with a scripted PBL/1
 * terminal on an in-memory pair: the agent moves to the next URL when its server goes away, waits
 * the reconnect backoff only after every URL failed, takes the first URL that comes back, and a
 * payment in flight when its server went away is reported to the server that takes the agent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { loadAgentConfig, type AgentConfig } from './config.ts';
import { startAgent, type RunningAgent } from './agent.ts';
import { MemoryJournal } from './session/journal.ts';
import { createMemoryPair } from './transports/memory-pair.ts';
import { FakeLineTerminal, type FakeTerminalScript } from './testing/fake-line-terminal.ts';
import { createLogSink } from './testing/log-sink.ts';
import { startHub, type Hub, type HubOptions } from './testing/fake-hub.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Reconnect knobs of the suite; the jitter source is pinned to 0.5, so each delay is half its ceiling. */
const RECONNECT = { reconnectBaseMs: 40, reconnectCapMs: 200 } as const;
const HALF = () => 0.5;

/** A hub that is started (and closed after the test), optionally on a given port. */
async function hub(opts: HubOptions = {}): Promise<Hub> {
  const h = await startHub(opts);
  cleanups.push(h.close);
  return h;
}

/** Two hub URLs whose ports are free again: nothing listens there until a test starts a hub on one. */
async function deadUrls(): Promise<{ urls: [string, string]; ports: [number, number] }> {
  const a = await startHub();
  const b = await startHub();
  await a.close();
  await b.close();
  const port = (url: string) => Number(new URL(url).port);
  return { urls: [a.url, b.url], ports: [port(a.url), port(b.url)] };
}

/** Starts the agent on `urls` (comma-separated, as in POSBRIDGE_SERVER_URL) with one fake terminal SN-1. */
async function agentOn(urls: readonly string[], script: Partial<FakeTerminalScript> = {}) {
  const base = loadAgentConfig({ POSBRIDGE_SERVER_URL: urls.join(','), POSBRIDGE_AGENT_TOKEN: 'tok-123', POSBRIDGE_TERMINAL_PORT: '/dev/fake0' });
  const config: AgentConfig = { ...base, ...RECONNECT, resendIntervalMs: 60, identTimeoutMs: 200 };
  const sink = createLogSink('debug');
  const journal = new MemoryJournal();
  let terminal: FakeLineTerminal | undefined;
  const agent: RunningAgent = await startAgent({
    config,
    logger: sink.logger,
    journal,
    random: HALF,
    openPort: async () => {
      const { a, b } = createMemoryPair();
      terminal = new FakeLineTerminal(b, { serial: 'SN-1', ...script });
      return a;
    },
  });
  cleanups.push(() => agent.close());
  return {
    agent,
    sink,
    journal,
    terminal: () => {
      if (!terminal) throw new Error('terminal not opened yet');
      return terminal;
    },
    /** The URLs of the `connecting to server` lines, in order. */
    attempts: () => sink.find('connecting to server').map((r) => r['serverUrl']),
    /** The `serverUrl` of the latest `connected to server` line. */
    connectedTo: () => sink.find('connected to server').at(-1)?.['serverUrl'],
  };
}

const until = <T>(get: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 3000): Promise<T> =>
  waitFor(get, { timeoutMs, intervalMs: 5, retryErrors: true });

let seq = 0;
const start = (paymentId: string) => ({
  v: 1,
  id: `s-${++seq}`,
  type: 'payment.start',
  paymentId,
  serialNumber: 'SN-1',
  amount: { amountMinor: 3190, currency: 'BRL' },
  method: 'credit',
  installments: 1,
});

describe('agent failover over several hub URLs', () => {
  it('connects to the first URL, moves to the second when the first goes away, and back when the second does', async () => {
    const a = await hub({ agentId: 'agent-a' });
    const b = await hub({ agentId: 'agent-b' });
    const { agent, sink, attempts, connectedTo } = await agentOn([a.url, b.url]);
    await agent.ready;
    expect(connectedTo()).toBe(a.url);
    expect(b.of('agent.hello')).toHaveLength(0);

    await a.close();
    await until(() => b.of('agent.hello').length === 1 && connectedTo() === b.url);
    // The live link dropped: one short jittered wait (backoff(0) = base·0.5), then the next URL, not A again.
    expect(sink.find('disconnected from server').at(-1)).toMatchObject({ serverUrl: a.url, nextServerUrl: b.url, reconnectInMs: 20 });
    expect(attempts()).toEqual([a.url, b.url]);
    expect(b.upgrades[0]?.headers.authorization).toBe('Bearer tok-123');
    expect(b.of('agent.hello')[0]).toMatchObject({ terminals: [expect.objectContaining({ serialNumber: 'SN-1' })] });

    const aAgain = await hub({ port: Number(new URL(a.url).port), agentId: 'agent-a' });
    await b.close();
    await until(() => aAgain.of('agent.hello').length === 1 && connectedTo() === a.url);
    expect(attempts()).toEqual([a.url, b.url, a.url]);
    // Never a token in the logs.
    expect(JSON.stringify(sink.records)).not.toContain('tok-123');
  });

  it('with every URL down, tries each in turn at once and waits the backoff only after a full round; the first to come back takes the agent', async () => {
    const { urls, ports } = await deadUrls();
    const [a, b] = urls;
    const { agent, sink, connectedTo } = await agentOn(urls);
    await until(() => sink.find('disconnected from server').length >= 6);
    const waits = sink.find('disconnected from server').slice(0, 6).map((r) => [r['serverUrl'], r['nextServerUrl'], r['reconnectInMs']]);
    // Rounds A→B: A's failure moves on at once; B's ends the round: 0.5 · min(cap, base·2^k) for k = 0, 1, 2.
    expect(waits).toEqual([
      [a, b, 0],
      [b, a, 20],
      [a, b, 0],
      [b, a, 40],
      [a, b, 0],
      [b, a, 80],
    ]);

    const second = await hub({ port: ports[1] });
    await agent.ready;
    expect(connectedTo()).toBe(b);
    expect(second.of('agent.hello')).toHaveLength(1);
  });

  it('a payment in flight when its server goes away is reported to the server that takes the agent, which acks it; one sale', async () => {
    const a = await hub();
    const b = await hub();
    const { agent, journal, terminal, connectedTo } = await agentOn([a.url, b.url], { hold: true });
    await agent.ready;
    a.send(start('pay-f1'));
    await until(() => terminal().sales.size === 1);
    await until(async () => (await journal.get('pay-f1'))?.phase !== undefined && a.of('ack').length >= 1);

    await a.close();
    await until(() => connectedTo() === b.url);
    terminal().finish([...terminal().sales.keys()][0]!);
    const result = await until(() => b.of('payment.result').find((m) => m['paymentId'] === 'pay-f1'));
    expect(result).toMatchObject({ outcome: 'approved', amount: { amountMinor: 3190, currency: 'BRL' } });
    await until(async () => (await journal.get('pay-f1'))?.phase === 'reported');
    expect(terminal().count('SALE')).toBe(1);
    expect(a.of('payment.result')).toHaveLength(0);
  });

  it('a result finished while no server was reachable is sent to the first one that comes back', async () => {
    const a = await hub();
    const { urls, ports } = await deadUrls();
    const { agent, journal, terminal, connectedTo } = await agentOn([a.url, urls[1]], { hold: true });
    await agent.ready;
    a.send(start('pay-f2'));
    await until(() => terminal().sales.size === 1);
    await a.close();
    terminal().finish([...terminal().sales.keys()][0]!);

    const b = await hub({ port: ports[1] });
    await until(() => connectedTo() === urls[1]);
    await until(() => b.of('payment.result').find((m) => m['paymentId'] === 'pay-f2'));
    await until(async () => (await journal.get('pay-f2'))?.phase === 'reported');
  });

  it('one URL refusing the upgrade (503, 401) does not stop the agent while another takes it; every URL refusing rejects ready', async () => {
    const stopping = await hub({ refuseStatus: 503 });
    const other = await hub({ refuseStatus: 401 });
    const good = await hub();
    const { agent, connectedTo } = await agentOn([stopping.url, other.url, good.url]);
    await agent.ready;
    expect(connectedTo()).toBe(good.url);

    const r1 = await hub({ refuseStatus: 401 });
    const r2 = await hub({ refuseStatus: 401 });
    const refused = await agentOn([r1.url, r2.url]);
    await expect(refused.agent.ready).rejects.toMatchObject({ code: 'WS_UNAUTHORIZED' });
    expect(refused.attempts().slice(0, 2)).toEqual([r1.url, r2.url]);
  });
});
