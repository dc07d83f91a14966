/**
 * A hostile merchant, end to end on real parts: the real server (`startServer`, SQLite on disk,
 * restarted once), two merchants, and two real terminal agents (`startAgent`) over real
 * WebSockets, each driving a simulated PBL/1 terminal (`startSim`, in-process link) — the
 * hijacker's terminal answers IDENT with the victim's serial. A raw WebSocket client with the
 * hijacker's token then tries to forge reports.
 *
 * The victim's agent goes offline mid-sale with a cancellation owed to it, the server restarts
 * (routes are in memory), and the hijacker announces the victim's serial: it must be refused
 * (`WS_SERIAL_FOREIGN`), receive nothing of the victim's, and have its forged result and refund
 * refused (`WS_REPORT_REFUSED`); the victim's agent, back, gets its terminal and the abort.
 * @see docs/protocol/ws.md "Terminal ownership", "Who may report what"
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type InProcessSimTerminalHandle, type RunningSim } from '@posbridge/hardware-sim';
import { PROTOCOL_VERSION, decodeServerMessage, type ServerMessage } from '@posbridge/protocol/ws';
import { loadServerConfig, startServer, type RunningServer } from '@posbridge/server';
import { MemoryJournal, loadAgentConfig, startAgent, type RunningAgent } from '@posbridge/terminal-agent';
import { GatewayClient, appPayload, buildCreatePayment, startCallbackReceiver, submitTerminal, waitFor, type CallbackReceiver } from '@posbridge/testkit';

const SERIAL = 'SIMVICTIM1';
const APP_KEY = 'vtexappkey-victim';
const APP_TOKEN = 'victim-app-token-0123456789abcdef';

type Line = Record<string, unknown>;

/** A logger whose JSON lines land in `lines`. */
function sink(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text.trim()) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}


describe('a hostile merchant (real server restarted, two merchants, two real agents, victim offline)', () => {
  let dir: string;
  let server: RunningServer;
  let receiver: CallbackReceiver;
  const server1 = sink();
  const server2 = sink();
  const victimLog = sink();
  const victimBackLog = sink();
  const hijackerLog = sink();
  const sims: RunningSim[] = [];
  const agents: RunningAgent[] = [];
  const sockets: WebSocket[] = [];

  const serverEnv = (db: string) =>
    loadServerConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      POSBRIDGE_DB: db,
      POSBRIDGE_APP_KEY: APP_KEY,
      POSBRIDGE_APP_TOKEN: APP_TOKEN,
      POSBRIDGE_CALLBACK_APP_KEY: 'vtexappkey-partner',
      POSBRIDGE_CALLBACK_APP_TOKEN: 'partner-secret',
      POSBRIDGE_CALLBACK_ALLOW_HOSTS: '127.0.0.1', // the test's callback receiver
      POSBRIDGE_DISPATCH_RESEND_MS: '200',
      POSBRIDGE_HEARTBEAT_INTERVAL_MS: '1000',
      POSBRIDGE_ANSWER_BUDGET_MS: '1500',
    });

  async function simTerminal(logger: Logger): Promise<InProcessSimTerminalHandle> {
    const sim = await startSim({ terminals: [{ serialNumber: SERIAL }], logger, link: 'in-process', stepDelayMs: 5, scenario: { customer: 'manual' } });
    sims.push(sim);
    const t = sim.terminals[0];
    if (t?.link !== 'in-process') throw new Error('expected an in-process terminal');
    return t;
  }

  async function agent(token: string, terminal: InProcessSimTerminalHandle, logger: Logger, journal: MemoryJournal): Promise<RunningAgent> {
    const config = loadAgentConfig({
      POSBRIDGE_SERVER_URL: `${server.url.replace(/^http/, 'ws')}/agent/v1`,
      POSBRIDGE_AGENT_TOKEN: token,
      POSBRIDGE_TERMINAL_PORT: `in-process:${SERIAL}`,
      POSBRIDGE_RECONNECT_BASE_MS: '50',
      POSBRIDGE_RECONNECT_CAP_MS: '200',
      POSBRIDGE_RESEND_INTERVAL_MS: '300',
    });
    const a = await startAgent({ config, logger, journal, openPort: async () => terminal.connect() });
    agents.push(a);
    return a;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'posbridge-hostile-'));
    receiver = await startCallbackReceiver();
  });
  afterAll(async () => {
    for (const s of sockets) s.terminate();
    for (const a of agents.splice(0)) await a.close();
    await server?.close();
    for (const s of sims.splice(0)) await s.close();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses the hijacker, sends it nothing of the victim’s, refuses its forgeries, and gives the victim its terminal back', async () => {
    const db = join(dir, 'server.sqlite');
    server = await startServer({ config: serverEnv(db), logger: server1.logger });
    // Merchant 2 (the hijacker) with its own store and agent; the victim is the bootstrap merchant.
    await server.store.createMerchant({ merchantId: 'mch_evil', name: 'evil', appKey: 'evil-key', appTokenSha256: 'x'.repeat(64), callbackMode: 'notification', createdAt: 1 });
    await server.store.createStore({ storeId: 'sto_evil', merchantId: 'mch_evil', name: 'default', createdAt: 1 });
    const evil = await server.issueAgentToken('evil-till', 'sto_evil');
    const forger = await server.issueAgentToken('evil-forger', 'sto_evil');
    const victim = await server.issueAgentToken('victim-till');

    // The victim's agent registers its terminal and takes a sale that waits for the card.
    const victimTerminal = await simTerminal(victimLog.logger);
    const victimJournal = new MemoryJournal();
    const victimAgent = await agent(victim.token, victimTerminal, victimLog.logger, victimJournal);
    await victimAgent.ready;
    const gateway = () => new GatewayClient(server.url, APP_KEY, APP_TOKEN);
    const paymentId = 'HOSTILE0000000000000000000000001';
    const body = buildCreatePayment({ paymentId, callbackUrl: receiver.callbackUrlFor('TXHOSTILE1', paymentId) });
    const created = await gateway().createPayment(body);
    expect(created.status).toBe(200);
    expect((await submitTerminal(appPayload(created)!.payload['submitUrl'] as string, SERIAL)).status).toBe(200);
    await waitFor(async () => (await server.store.getPayment(paymentId))?.status === 'accepted', { timeoutMs: 10_000, message: 'sale accepted by the victim' });

    // The victim's agent goes offline; VTEX cancels: an abort is now owed to the victim's agent.
    await victimAgent.close();
    await waitFor(() => !server.hub.onlineSerials().has(SERIAL), { timeoutMs: 5_000, message: 'victim offline' });
    const cancel = await fetch(`${server.url}/payments/${paymentId}/cancellations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-VTEX-API-AppKey': APP_KEY, 'X-VTEX-API-AppToken': APP_TOKEN },
      body: JSON.stringify({ paymentId, requestId: 'CANCEL-H1', authorizationId: '', transactionId: body['transactionId'] }),
    });
    expect(cancel.status).toBeGreaterThanOrEqual(200);
    expect((await server.store.getPayment(paymentId))?.status).toBe('aborting');

    // Server restart: routes are gone; only the store knows who owns the serial.
    await server.close();
    server = await startServer({ config: serverEnv(db), logger: server2.logger });

    // The hijacker's real agent, its terminal answering IDENT with the victim's serial.
    const hijackerTerminal = await simTerminal(hijackerLog.logger);
    const hijacker = await agent(evil.token, hijackerTerminal, hijackerLog.logger, new MemoryJournal());
    await hijacker.ready; // keeps running (and retrying) although refused
    expect(await server.store.findTerminal(SERIAL)).toMatchObject({ agentId: victim.agentId });
    expect(hijackerLog.lines.find((l) => l['msg'] === 'terminal refused by server')).toMatchObject({ serialNumber: SERIAL, code: 'WS_SERIAL_FOREIGN' });
    const warn = server2.lines.find((l) => l['msg'] === 'terminal of another merchant announced; refused');
    expect(warn).toMatchObject({ level: 40, serialNumber: SERIAL, agentId: evil.agentId, merchantId: 'mch_evil', ownerAgentId: victim.agentId, ownerMerchantId: 'mch_bootstrap' });
    expect(hijacker.refusedSerials().get(SERIAL)).toMatchObject({ code: 'WS_SERIAL_FOREIGN' });

    // A second agent of the hijacker's store forges: its announcement is refused, its reports too.
    const forged: ServerMessage[] = [];
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/agent/v1`, { headers: { Authorization: `Bearer ${forger.token}` } });
    sockets.push(ws);
    ws.on('message', (data) => {
      const decoded = decodeServerMessage(String(data));
      if (decoded.ok) forged.push(decoded.value);
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const send = (m: object) => ws.send(JSON.stringify({ v: PROTOCOL_VERSION, ...m }));
    send({ id: 'h1', type: 'agent.hello', agentVersion: 'forger/1', terminals: [{ serialNumber: SERIAL, dialect: 'PBL/1', serialSource: 'device' }] });
    const welcome = await waitFor(() => forged.find((m) => m.type === 'hub.welcome'), { timeoutMs: 5_000, message: 'forger welcome' });
    expect(welcome).toMatchObject({ accepted: [], refused: [{ serialNumber: SERIAL, code: 'WS_SERIAL_FOREIGN' }] });
    send({
      id: 'f1',
      type: 'payment.result',
      paymentId,
      outcome: 'approved',
      amount: { amountMinor: 3190, currency: 'BRL' },
      terminalRef: 'forged',
      authorizationId: 'FORGED',
    });
    send({ id: 'f2', type: 'operation.result', operationId: `vd_${paymentId}`, paymentId, kind: 'void', outcome: 'approved', amount: { amountMinor: 3190, currency: 'BRL' }, terminalRef: 'forged' });
    const refusals = await waitFor(() => {
      const r = forged.filter((m) => m.type === 'error' && m.code === 'WS_REPORT_REFUSED');
      return r.length === 2 ? r : undefined;
    }, { timeoutMs: 5_000, message: 'forgeries refused' });
    expect(refusals.map((m) => (m as { ref?: string }).ref)).toEqual(['f1', 'f2']);

    // Longer than several resend periods: nothing of the victim's ever reached the hijacker.
    // Real time on purpose: the real server's resend timer (POSBRIDGE_DISPATCH_RESEND_MS, 200 ms)
    // is the subject, and a resend to nobody leaves no trace to wait for.
    await new Promise((r) => setTimeout(r, 800));
    expect(forged.filter((m) => m.type === 'payment.start' || m.type === 'payment.abort' || m.type === 'operation.start' || m.type === 'ack')).toEqual([]);
    for (const msg of ['payment received', 'payment abort received', 'operation received']) {
      expect(hijackerLog.lines.filter((l) => l['msg'] === msg)).toEqual([]);
    }
    expect(hijackerTerminal.salesCount()).toBe(0);
    expect(await server.store.getPayment(paymentId)).toMatchObject({ status: 'aborting', outcome: null });
    expect(receiver.received.filter((c) => c.body['paymentId'] === paymentId && c.body['status'] === 'approved')).toEqual([]);

    // The victim's agent comes back: its terminal is accepted, and the owed abort reaches it.
    const back = await agent(victim.token, victimTerminal, victimBackLog.logger, victimJournal);
    await back.ready;
    expect(back.refusedSerials().size).toBe(0);
    await waitFor(() => victimBackLog.lines.find((l) => l['msg'] === 'payment abort received' && l['paymentId'] === paymentId), { timeoutMs: 10_000, message: 'abort at the victim' });
  }, 60_000);
});
