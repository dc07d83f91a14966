/**
 * Hub capacity: `n` concurrent agent WebSockets on one server process (1,000 and 10,000).
 * Measures, on the server process:
 * - memory per connection: resident-set growth from 0 to `n` authenticated, welcomed agents;
 * - heartbeat CPU: the server's CPU time per second while all `n` sit idle being pinged (the
 *   heartbeat interval is shortened to 1 s so the cost is visible), per 1,000 agents;
 * - dispatch latency: p50/p99 from `POST submitUrl` returning to the `payment.start` frame
 *   reaching the agent, at a steady payment rate spread over random terminals; the fake agents
 *   acknowledge and report an approval at once, as a real agent would after a zero-time sale,
 *   and a callback receiver in this process answers each payment's callback 200 as VTEX does
 *   (an unreachable callbackUrl would add the retry schedule's rows to every payment).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { cpuTimeMs, rssBytes, startChild } from '../lib/child.ts';
import { approvalFor } from '../lib/fake-agent.ts';
import { BENCH_APP_KEY, BENCH_APP_TOKEN } from '../lib/targets.ts';
import { percentile } from './e2e.ts';

/** One measured hub size. */
export interface HubRow {
  agents: number;
  connectSeconds: number;
  rssPerConnectionBytes: number;
  heartbeatCpuMsPerSecondPer1k: number;
  dispatchRatePerSecond: number;
  dispatchP50Ms: number;
  dispatchP99Ms: number;
  dispatched: number;
  /** Creates or binds answered other than 200, by `create <status>` / `bind <status>` (none: empty). */
  failures: Record<string, number>;
}

const EXAMPLE = JSON.parse(
  readFileSync(new URL('../../test/fixtures/ppp/create-payment.venda-direta-credito.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface FakeAgent {
  ws: WebSocket;
  serial: string;
}

function connectAgent(port: number, token: string, serial: string, onStart: (paymentId: string) => void): Promise<FakeAgent> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/agent/v1`, { headers: { authorization: `Bearer ${token}` } });
    let seq = 0;
    const send = (msg: Record<string, unknown>) => ws.send(JSON.stringify({ v: 1, id: `${serial}-${seq++}`, ...msg }));
    ws.on('open', () => send({ type: 'agent.hello', agentVersion: 'bench', terminals: [{ serialNumber: serial, dialect: 'PBL/1' }] }));
    ws.on('error', reject);
    // Settles the promise if the server closes before welcoming (a no-op after the welcome).
    ws.on('close', (code, reason) => reject(new Error(`agent ${serial} closed before hub.welcome: ${code} ${String(reason)}`)));
    ws.on('unexpected-response', (_req, res) => reject(new Error(`agent ${serial} upgrade refused: HTTP ${res.statusCode}`)));
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as Record<string, unknown>;
      if (msg['type'] === 'hub.welcome') resolve({ ws, serial });
      if (msg['type'] === 'payment.start') {
        const paymentId = msg['paymentId'] as string;
        onStart(paymentId);
        send({ type: 'ack', ackOf: msg['id'] });
        send(approvalFor(msg, `r${seq}`));
      }
    });
  });
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: counted by status below
  }
  return { status: res.status, body: parsed };
}

/** A stand-in for VTEX's callback endpoint on 127.0.0.1: every POST answered 200 once its body is read. */
function callbackReceiver(): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * Offers `rate` payments per second for `seconds` (open loop: a payment starts every
 * `1000 / rate` ms whether or not the earlier ones finished), each created over PPP and bound to
 * a random agent; records in `started` when each bind answered.
 */
async function dispatchAtRate(
  base: string,
  callbackUrl: string,
  fleet: readonly FakeAgent[],
  started: Map<string, number>,
  rate: number,
  seconds: number,
): Promise<{ offered: number; failures: Record<string, number> }> {
  const failures: Record<string, number> = {};
  const fail = (what: string) => {
    failures[what] = (failures[what] ?? 0) + 1;
  };
  const headers = { 'x-vtex-api-appkey': BENCH_APP_KEY, 'x-vtex-api-apptoken': BENCH_APP_TOKEN };
  const total = rate * seconds;
  const inFlight: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const paymentId = randomBytes(16).toString('hex').toUpperCase();
    const serial = fleet[Math.floor(Math.random() * fleet.length)]!.serial;
    inFlight.push(
      (async () => {
        try {
          const created = await postJson(`${base}/payments`, { ...EXAMPLE, paymentId, callbackUrl }, headers);
          const appData = created.body['paymentAppData'] as { payload: string } | undefined;
          if (created.status !== 200 || !appData) return fail(`create ${created.status}`);
          const payload = JSON.parse(appData.payload) as { submitUrl: string };
          started.set(paymentId, performance.now());
          const bound = await postJson(payload.submitUrl, { serialNumber: serial });
          if (bound.status !== 200) {
            started.delete(paymentId);
            fail(`bind ${bound.status}`);
          }
        } catch (err) {
          started.delete(paymentId);
          fail(`request error ${(err as Error).message}`);
        }
      })(),
    );
    // Keep to the schedule (timers drift by a millisecond or more each at 200/s).
    const ahead = t0 + ((i + 1) * 1000) / rate - performance.now();
    if (ahead > 0) await sleep(ahead);
  }
  await Promise.all(inFlight);
  await sleep(1_000);
  return { offered: total, failures };
}

/**
 * Measures one hub size: connects `agents`, then dispatches at each rate in turn over the same
 * connections; one row per rate (the connection figures repeat).
 * @param agents - concurrent agent connections.
 * @param dispatchRatesPerSecond - payments per second of each dispatch phase.
 * @param dispatchSeconds - length of each dispatch phase.
 */
export async function benchHub(
  agents: number,
  dispatchRatesPerSecond: readonly number[],
  dispatchSeconds: number,
  log: (line: string) => void,
): Promise<HubRow[]> {
  const server = await startChild<{ port: number; tokens: string[] }>('bench/lib/targets.ts', ['hub', String(agents)], {
    env: { BENCH_HEARTBEAT_MS: '1000' },
    timeoutMs: 300_000,
  });
  const pid = server.process.pid!;
  const started = new Map<string, number>();
  const latencies: number[] = [];
  const fleet: FakeAgent[] = [];
  let receiver: Server | undefined;
  try {
    await sleep(500);
    const rssBefore = rssBytes(pid);
    const connectStarted = performance.now();
    for (let i = 0; i < agents; i += 200) {
      const batch = server.ready.tokens.slice(i, i + 200).map((token, j) =>
        connectAgent(server.ready.port, token, `BENCH${String(i + j).padStart(6, '0')}`, (paymentId) => {
          const t0 = started.get(paymentId);
          if (t0 === undefined) return; // a repeat (the ack came late), or not ours
          started.delete(paymentId);
          latencies.push(performance.now() - t0);
        }),
      );
      fleet.push(...(await Promise.all(batch)));
    }
    const connectSeconds = (performance.now() - connectStarted) / 1000;
    await sleep(1_000);
    const rssPerConnectionBytes = Math.round((rssBytes(pid) - rssBefore) / agents);

    const cpuBefore = cpuTimeMs(pid);
    const idleMs = 5_000;
    await sleep(idleMs);
    const heartbeatCpuMsPerSecondPer1k = Math.round(((cpuTimeMs(pid) - cpuBefore) / (idleMs / 1000) / agents) * 1000 * 100) / 100;

    const base = `http://127.0.0.1:${server.ready.port}`;
    receiver = await callbackReceiver();
    const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/callback`;
    const rows: HubRow[] = [];
    for (const rate of dispatchRatesPerSecond) {
      latencies.length = 0;
      const { offered, failures } = await dispatchAtRate(base, callbackUrl, fleet, started, rate, dispatchSeconds);
      const row: HubRow = {
        agents,
        connectSeconds: Math.round(connectSeconds * 10) / 10,
        rssPerConnectionBytes,
        heartbeatCpuMsPerSecondPer1k,
        dispatchRatePerSecond: rate,
        dispatchP50Ms: Math.round(percentile(latencies, 50) * 100) / 100,
        dispatchP99Ms: Math.round(percentile(latencies, 99) * 100) / 100,
        dispatched: latencies.length,
        failures,
      };
      log(
        `hub ${agents} agents: connect ${row.connectSeconds} s, ${(row.rssPerConnectionBytes / 1024).toFixed(1)} KiB/conn, heartbeat ${row.heartbeatCpuMsPerSecondPer1k} ms CPU/s per 1k, dispatch p50 ${row.dispatchP50Ms} ms p99 ${row.dispatchP99Ms} ms (${row.dispatched}/${offered} at ${rate}/s)${Object.keys(failures).length > 0 ? `, failed: ${JSON.stringify(failures)}` : ''}`,
      );
      rows.push(row);
    }
    return rows;
  } finally {
    receiver?.close();
    for (const agent of fleet) agent.ws.terminate();
    await server.stop();
  }
}
