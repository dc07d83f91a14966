/**
 * A Concert E+ terminal end to end: the real server, the simulator's Concert E+ terminal on a
 * real pseudo-terminal (its own codec, independent of the agent's), and the agent with the
 * `concert-serial` driver. Approved and refused payments, each charged exactly once.
 * @requires-program socat
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONCERT_EPLUS, startSim, type RunningSim } from '@posbridge/hardware-sim';
import { loadServerConfig, startServer, type RunningServer } from '@posbridge/server';
import { loadAgentConfig, startAgent, type RunningAgent } from '@posbridge/terminal-agent';
import { GatewayClient, appPayload, buildCreatePayment, startCallbackReceiver, submitTerminal, type CallbackReceiver } from '@posbridge/testkit';
import { suiteServerEnv } from './suite-env.ts';

const SERIAL = 'ING0001';

describe('Concert E+ terminal end to end (server → agent concert-serial → pty → simulator)', () => {
  let dir: string;
  let server: RunningServer;
  let sim: RunningSim;
  let agent: RunningAgent;
  let receiver: CallbackReceiver;
  let gateway: GatewayClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'posbridge-concert-'));
    const logger = pino({ level: 'warn' }, new Writable({ write: (_c, _e, done) => done() }));
    const appKey = 'vtexappkey-concert';
    const appToken = randomBytes(16).toString('hex');
    server = await startServer({
      config: loadServerConfig(suiteServerEnv(dir, { appKey, appToken })),
      logger,
    });
    sim = await startSim({ terminals: [{ serialNumber: SERIAL, dialect: CONCERT_EPLUS }], logger, dir, link: 'pty', stepDelayMs: 20 });
    const terminal = sim.terminals[0]!;
    if (terminal.link !== 'pty') throw new Error('expected a pty simulator');
    const { token } = await server.issueAgentToken('concert');
    agent = await startAgent({
      config: loadAgentConfig({
        POSBRIDGE_SERVER_URL: `${server.url.replace(/^http/, 'ws')}/agent/v1`,
        POSBRIDGE_AGENT_TOKEN: token,
        POSBRIDGE_TERMINAL_PORT: terminal.path,
        POSBRIDGE_TERMINAL_DRIVER: 'concert-serial',
        POSBRIDGE_TERMINAL_SERIAL: SERIAL,
      }),
      logger,
    });
    await agent.ready;
    receiver = await startCallbackReceiver();
    gateway = new GatewayClient(server.url, appKey, appToken);
  });

  afterAll(async () => {
    await agent?.close();
    await receiver?.close();
    await sim?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function pay(value: number) {
    const paymentId = randomBytes(16).toString('hex').toUpperCase();
    const transactionId = randomBytes(16).toString('hex').toUpperCase();
    const body = buildCreatePayment({ value, method: 'credit', paymentId, transactionId, callbackUrl: receiver.callbackUrlFor(transactionId, paymentId) });
    const first = await gateway.createPayment(body);
    const submitUrl = appPayload(first)!.payload['submitUrl'] as string;
    expect((await submitTerminal(submitUrl, SERIAL)).status).toBe(200);
    return receiver.waitFor(paymentId, 20_000);
  }

  it('approves a payment, charged once, with the card summary from the report', async () => {
    const before = sim.terminals[0]!.sales().charges;
    const callback = await pay(31.9);
    expect(callback.body).toMatchObject({ status: 'approved' });
    expect(String(callback.body['lastDigits'])).toMatch(/^\d{4}$/);
    expect(sim.terminals[0]!.sales().charges - before).toBe(1);
  });

  it('reports a refused payment as denied', async () => {
    const callback = await pay(31.05);
    expect(callback.body).toMatchObject({ status: 'denied' });
  });
});
