/**
 * The cluster against the single instance (issue 12 item 9), each side by side in the same run:
 *
 * - bind → callback when the payment is bound on one instance and the agent's socket is held by
 *   the other (the command row crosses over NATS, the result comes back through PostgreSQL),
 *   vs the single-instance figure (the `e2e` suite's path: one server on SQLite). Goal ≤ 1.5×.
 *   The same bound on the agent's own instance is measured too, to tell PostgreSQL's share from
 *   the crossing's.
 * - Create Payment throughput of two instances on one PostgreSQL (half the connections on each)
 *   vs one instance on SQLite with all of them. Goal ≥ 1.0×.
 *
 * The cluster is the real `--instances 2` stack (testkit/src/cluster-stack.ts): throwaway
 * PostgreSQL and NATS, two server processes, the agent process, the simulator at zero think time.
 */
import pino from 'pino';
import { startClusterStack, type ClusterInstance } from '@posbridge/testkit/stack';
import { GatewayClient, appPayload, buildCreatePayment, startCallbackReceiver, submitTerminal } from '@posbridge/testkit';
import { startChild } from '../lib/child.ts';
import { BENCH_APP_KEY, BENCH_APP_TOKEN } from '../lib/targets.ts';
import { measurePosbridge, summarise, type LatencyRow } from './e2e.ts';
import { runPppLoad, type PppTarget } from './ppp.ts';

/** Create throughput of one side. */
export interface ThroughputRow {
  side: 'one instance, SQLite' | 'two instances, PostgreSQL';
  connections: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

/** What the cluster suite measured. */
export interface ClusterResult {
  /** `sameInstance` (bound where the agent is) splits the cost of PostgreSQL from the cost of crossing instances. */
  latency: { single: LatencyRow; sameInstance: LatencyRow; crossInstance: LatencyRow; ratioP50: number };
  throughput: { single: ThroughputRow; cluster: ThroughputRow; ratio: number };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The same path and query on another instance. */
const onInstance = (url: string, instance: ClusterInstance): string => {
  const u = new URL(url);
  u.host = new URL(instance.pppBaseUrl).host;
  return u.toString();
};

/** Create load on several targets at once, `connections` split evenly; the sums and the worst percentiles. */
async function createLoad(targets: PppTarget[], connections: number, durationS: number): Promise<Omit<ThroughputRow, 'side' | 'connections'>> {
  const each = Math.max(1, Math.floor(connections / targets.length));
  await Promise.all(targets.map((t) => runPppLoad(t, each, 1, 'create'))); // warm-up
  const runs = await Promise.all(targets.map((t) => runPppLoad(t, each, durationS, 'create')));
  return {
    requestsPerSecond: Math.round(runs.reduce((s, r) => s + r.result.requests.average, 0)),
    p50Ms: Math.max(...runs.map((r) => r.result.latency.p50)),
    p99Ms: Math.max(...runs.map((r) => r.result.latency.p99)),
    non2xx: runs.reduce((s, r) => s + r.result.non2xx, 0),
    errors: runs.reduce((s, r) => s + r.result.errors, 0),
  };
}

/**
 * Runs both comparisons.
 * @param samples - sequential payments per latency figure (after 3 warm-ups).
 * @param durationS - seconds of each throughput run.
 * @param connections - concurrent gateways of each throughput run (split over the instances).
 * @throws Error when the cluster stack cannot start (PostgreSQL, nats-server or socat missing; a server build without the cluster).
 */
export async function benchCluster(samples: number, durationS: number, connections: number, log: (line: string) => void): Promise<ClusterResult> {
  const single = summarise('posbridge bind→callback', await measurePosbridge(samples));
  log(`cluster single instance bind→callback          p50 ${single.p50Ms} ms  p99 ${single.p99Ms} ms  (n=${single.samples})`);

  const sqlite = await startChild<{ port: number }>('bench/lib/targets.ts', ['posbridge']);
  let singleLoad: ThroughputRow;
  try {
    const target = { baseUrl: `http://127.0.0.1:${sqlite.ready.port}`, appKey: BENCH_APP_KEY, appToken: BENCH_APP_TOKEN };
    singleLoad = { side: 'one instance, SQLite', connections, ...(await createLoad([target], connections, durationS)) };
  } finally {
    await sqlite.stop();
  }
  log(`cluster create, one instance on SQLite       c=${connections} ${singleLoad.requestsPerSecond} req/s  p50 ${singleLoad.p50Ms} ms  p99 ${singleLoad.p99Ms} ms`);

  const receiver = await startCallbackReceiver();
  const stack = await startClusterStack({
    logger: pino({ level: 'silent' }),
    instances: 2,
    stepDelayMs: 0,
    logSink: { write: () => undefined }, // the children log at info (their ready lines); dropped here
  });
  try {
    // Throughput first, on the fresh database of both instances.
    const targets = stack.instances.map((i) => ({ baseUrl: i.pppBaseUrl, appKey: stack.appKey, appToken: stack.appToken }));
    const clusterLoad: ThroughputRow = { side: 'two instances, PostgreSQL', connections, ...(await createLoad(targets, connections, durationS)) };
    log(`cluster create, two instances on PostgreSQL  c=${connections} ${clusterLoad.requestsPerSecond} req/s  p50 ${clusterLoad.p50Ms} ms  p99 ${clusterLoad.p99Ms} ms`);
    // Which instance holds the agent's socket: bound there, then on the other.
    const health = await Promise.all(stack.instances.map((i) => i.health()));
    const holder = health.findIndex((h) => (h?.agentsConnected ?? 0) > 0);
    if (holder < 0) throw new Error('no instance holds the agent');
    const serialNumber = stack.terminals[0]!.serialNumber;
    /** Bind → callback of `samples` payments created and bound on `on`, ms each. */
    const measure = async (on: ClusterInstance): Promise<number[]> => {
      const gateway = new GatewayClient(on.pppBaseUrl, stack.appKey, stack.appToken);
      const times: number[] = [];
      for (let i = 0; i < samples + 3; i++) {
        const paymentId = `CLBENCH${on.index}${Date.now().toString(16)}${i}`.toUpperCase().padEnd(32, '0');
        const transactionId = `TX${paymentId}`.slice(0, 32);
        const body = buildCreatePayment({ paymentId, transactionId, callbackUrl: receiver.callbackUrlFor(transactionId, paymentId) });
        const submitUrl = appPayload(await gateway.createPayment(body))!.payload['submitUrl'] as string;
        const started = performance.now();
        const callbackArrived = receiver.waitFor(paymentId, 30_000);
        const bound = await submitTerminal(onInstance(submitUrl, on), serialNumber);
        if (bound.status !== 200) throw new Error(`bind on instance ${on.index} answered ${bound.status} ${JSON.stringify(bound.body)}`);
        await callbackArrived;
        if (i >= 3) times.push(performance.now() - started);
      }
      return times;
    };
    const sameInstance = summarise('cluster bind→callback, agent on the same instance', await measure(stack.instances[holder]!));
    log(`cluster bound on the agent's instance        p50 ${sameInstance.p50Ms} ms  p99 ${sameInstance.p99Ms} ms  (n=${sameInstance.samples})`);
    const times = await measure(stack.instances[1 - holder]!);
    const crossInstance = summarise('cluster bind→callback, agent on the other instance', times);
    log(`cluster bound on one instance, agent on other p50 ${crossInstance.p50Ms} ms  p99 ${crossInstance.p99Ms} ms  (n=${crossInstance.samples})`);

    return {
      latency: { single, sameInstance, crossInstance, ratioP50: round2(crossInstance.p50Ms / single.p50Ms) },
      throughput: { single: singleLoad, cluster: clusterLoad, ratio: round2(clusterLoad.requestsPerSecond / singleLoad.requestsPerSecond) },
    };
  } finally {
    await stack.close();
    await receiver.close();
  }
}
