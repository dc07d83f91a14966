/**
 * PPP Create Payment throughput and latency, side by side with a bare express handler that
 * returns the same JSON (bench/lib/targets.ts). Each request creates a new payment (a new
 * `paymentId`, so posbridge writes to SQLite every time); a second mode repeats one
 * `paymentId` (the gateway's polls). The ratio posbridge / bare is the figure.
 */
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { startChild } from '../lib/child.ts';
import { BENCH_APP_KEY, BENCH_APP_TOKEN } from '../lib/targets.ts';

/** One measured run. */
export interface PppRow {
  target: 'posbridge' | 'bare';
  mode: 'create' | 'poll';
  connections: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  /** Answers by HTTP status. */
  statuses: Record<string, number>;
}

const EXAMPLE = JSON.parse(
  readFileSync(new URL('../../test/fixtures/ppp/create-payment.venda-direta-credito.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

/** Where a load goes: a PPP base URL and the merchant credentials it accepts. */
export interface PppTarget {
  baseUrl: string;
  appKey: string;
  appToken: string;
}

/** The target of a bench child (bench/lib/targets.ts) on `port`. */
const benchTarget = (port: number): PppTarget => ({ baseUrl: `http://127.0.0.1:${port}`, appKey: BENCH_APP_KEY, appToken: BENCH_APP_TOKEN });

/**
 * `connections` gateways calling `POST /payments` on `target` for `durationS` seconds:
 * `create` = a new `paymentId` each request, `poll` = the same one again.
 */
export async function runPppLoad(
  target: PppTarget,
  connections: number,
  durationS: number,
  mode: 'create' | 'poll',
): Promise<{ result: autocannon.Result; statuses: Record<string, number>; sampleError?: string }> {
  let counter = 0;
  const runId = `${Date.now().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`.toUpperCase();
  const bodyFor = (paymentId: string) =>
    JSON.stringify({ ...EXAMPLE, paymentId, callbackUrl: 'http://127.0.0.1:9/callback?X-VTEX-signature=bench' });
  const pollBody = bodyFor(`POLL${runId}`.padEnd(32, '0'));
  const statuses: Record<string, number> = {};
  let sampleError: string | undefined;
  const options: autocannon.Options = {
    url: `${target.baseUrl}/payments`,
    method: 'POST',
    connections,
    duration: durationS,
    headers: {
      'content-type': 'application/json',
      'x-vtex-api-appkey': target.appKey,
      'x-vtex-api-apptoken': target.appToken,
    },
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          body: mode === 'poll' ? pollBody : bodyFor(`${runId}${String(counter++).padStart(32 - runId.length, '0')}`),
        }),
      },
    ],
  };
  // The callback form returns the instance, whose events count the answers by status.
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err: Error | null, res: autocannon.Result) => (err ? reject(err) : resolve(res)));
    instance.on('response', (_client: unknown, statusCode: number) => {
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
    instance.on('reqError', (err: Error) => {
      sampleError ??= String(err);
    });
  });
  return { result, statuses, ...(sampleError === undefined ? {} : { sampleError }) };
}

/**
 * Runs every (target, mode, concurrency) combination.
 * @param concurrencies - connection counts, e.g. [1, 10, 50].
 * @param durationS - seconds per run.
 */
export async function benchPpp(concurrencies: number[], durationS: number, log: (line: string) => void): Promise<PppRow[]> {
  const rows: PppRow[] = [];
  for (const target of ['bare', 'posbridge'] as const) {
    const child = await startChild<{ port: number }>('bench/lib/targets.ts', [target]);
    try {
      for (const mode of ['create', 'poll'] as const) {
        for (const connections of concurrencies) {
          await runPppLoad(benchTarget(child.ready.port), connections, 1, mode); // warm-up
          const { result, statuses } = await runPppLoad(benchTarget(child.ready.port), connections, durationS, mode);
          const row: PppRow = {
            target,
            mode,
            connections,
            requestsPerSecond: Math.round(result.requests.average),
            p50Ms: result.latency.p50,
            p99Ms: result.latency.p99,
            non2xx: result.non2xx,
            errors: result.errors,
            statuses,
          };
          rows.push(row);
          log(`ppp ${target.padEnd(9)} ${mode.padEnd(6)} c=${String(connections).padEnd(3)} ${row.requestsPerSecond} req/s  p50 ${row.p50Ms} ms  p99 ${row.p99Ms} ms${row.non2xx || row.errors ? `  (non-2xx ${row.non2xx}, errors ${row.errors}, statuses ${JSON.stringify(statuses)})` : ''}`);
        }
      }
    } finally {
      await child.stop();
    }
  }
  return rows;
}
