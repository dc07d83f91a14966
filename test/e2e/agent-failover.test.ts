/**
 * Agent failover on real parts: the real server (SQLite on disk) reached over two routes — two
 * TCP proxies on loopback, each one hub URL of the agent — the simulated PBL/1 terminal on a real
 * pseudo-terminal, and the agent (`startAgent`, SQLite journal on disk) configured with both URLs.
 * A payment is running on the terminal when the route the agent uses goes away for good (its
 * connections reset, its port closed); the agent must move to the other URL, the payment must end
 * approved with one sale on the terminal and one callback to VTEX.
 *
 * Both URLs lead to one server instance: this proves the agent's side (URL rotation, journal and
 * outbox carried over to the new connection). Two server instances over one shared store need
 * PostgreSQL (issue 12 items 1–2) and are the cluster stack's job.
 * @requires-program socat
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type RunningSim } from '@posbridge/hardware-sim';
import { loadServerConfig, startServer, type RunningServer } from '@posbridge/server';
import { SqliteJournal, loadAgentConfig, startAgent, type RunningAgent } from '@posbridge/terminal-agent';
import { GatewayClient, appPayload, buildCreatePayment, startCallbackReceiver, submitTerminal, waitFor, type CallbackReceiver } from '@posbridge/testkit';
import { startTcpProxy, type TcpProxy } from '@posbridge/testkit/soak';
import { suiteAgentEnv, suiteServerEnv } from './suite-env.ts';

const SERIAL = 'SIMFAIL1';

type LogLine = Record<string, unknown> & { msg?: string };

describe('agent failover between two hub URLs with a payment in flight (real server, pty simulator)', () => {
  let dir: string;
  let server: RunningServer;
  let sim: RunningSim;
  let receiver: CallbackReceiver;
  let gateway: GatewayClient;
  let routes: [TcpProxy, TcpProxy];
  let journal: SqliteJournal;
  let agent: RunningAgent;
  let token: string;
  const lines: LogLine[] = [];
  const urlOf = (proxy: TcpProxy) => `ws://127.0.0.1:${proxy.port}/agent/v1`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'posbridge-failover-'));
    const quiet = pino({ level: 'warn' }, new Writable({ write: (_c, _e, done) => done() }));
    const appKey = 'vtexappkey-failover';
    const appToken = randomBytes(16).toString('hex');
    server = await startServer({
      config: loadServerConfig(suiteServerEnv(dir, { appKey, appToken }, { POSBRIDGE_DISPATCH_RESEND_MS: '300', POSBRIDGE_HEARTBEAT_INTERVAL_MS: '1000' })),
      logger: quiet,
    });
    // Slow stages, so the route can be cut while the terminal works on the sale.
    sim = await startSim({ terminals: [{ serialNumber: SERIAL }], logger: quiet, dir, link: 'pty', stepDelayMs: 400 });
    const terminal = sim.terminals[0]!;
    if (terminal.link !== 'pty') throw new Error('expected a pty simulator');
    receiver = await startCallbackReceiver();
    gateway = new GatewayClient(server.url, appKey, appToken);
    routes = [await startTcpProxy(() => server.port), await startTcpProxy(() => server.port)];

    ({ token } = await server.issueAgentToken('failover'));
    const config = loadAgentConfig(
      suiteAgentEnv(server.url, token, {
        POSBRIDGE_SERVER_URL: routes.map(urlOf).join(','),
        POSBRIDGE_TERMINAL_PORT: terminal.path,
        POSBRIDGE_JOURNAL: join(dir, 'agent-journal.sqlite'),
      }),
    );
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write: (chunk: Buffer, _e, done) => {
          for (const text of chunk.toString('utf8').split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as LogLine);
          done();
        },
      }),
    );
    journal = await SqliteJournal.open(config.journalPath);
    agent = await startAgent({ config, logger, journal });
    await agent.ready;
  });

  afterAll(async () => {
    await agent?.close();
    await journal?.close();
    for (const r of routes ?? []) await r.close();
    await receiver?.close();
    await sim?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const connectedTo = () => lines.filter((l) => l.msg === 'connected to server').at(-1)?.['serverUrl'];

  it('moves to the second URL when the first goes away mid-sale; the payment ends approved, charged once, one callback', async () => {
    expect(connectedTo()).toBe(urlOf(routes[0]));
    const salesBefore = sim.terminals[0]!.salesCount();
    const paymentId = randomBytes(16).toString('hex').toUpperCase();
    const transactionId = randomBytes(16).toString('hex').toUpperCase();
    const body = buildCreatePayment({ value: 31.9, method: 'credit', paymentId, transactionId, callbackUrl: receiver.callbackUrlFor(transactionId, paymentId) });
    const created = await gateway.createPayment(body);
    expect(created.status).toBe(200);
    expect((await submitTerminal(appPayload(created)!.payload['submitUrl'] as string, SERIAL)).status).toBe(200);

    // The terminal acknowledged the SALE and works on it: the first route goes away for good.
    await waitFor(() => lines.some((l) => l.msg === 'line received' && String(l['line']).startsWith('ACK ')), { timeoutMs: 20_000 });
    expect(lines.some((l) => l.msg === 'line received' && String(l['line']).startsWith('RESULT '))).toBe(false);
    await routes[0].close();

    const callback = await receiver.waitFor(paymentId, 30_000);
    expect(callback.body).toMatchObject({ paymentId, status: 'approved' });
    expect(connectedTo()).toBe(urlOf(routes[1]));
    expect(lines.find((l) => l.msg === 'disconnected from server')).toMatchObject({ serverUrl: urlOf(routes[0]), nextServerUrl: urlOf(routes[1]) });
    expect(sim.terminals[0]!.salesCount() - salesBefore).toBe(1);
    expect(receiver.received.filter((c) => c.body['paymentId'] === paymentId)).toHaveLength(1);
    expect((await gateway.createPayment(body)).body).toMatchObject({ paymentId, status: 'approved' });
    expect(JSON.stringify(lines)).not.toContain(token);
  });
});
