/**
 * Processes the benchmarks measure, each started as its own child process so the load
 * generator does not share an event loop with the code under test. Run with
 * `node --import tsx bench/lib/targets.ts <target>`; prints one JSON line `{ "port": … }` when
 * listening, then serves until killed.
 *
 * Targets:
 * - `posbridge` — the real server (`startServer`, SQLite in a temporary folder, logs silenced);
 * - `hub <n>` — the real server with `n` agent tokens issued (printed in the ready line);
 * - `bare` — the baseline: express with `express.json()` answering `POST /payments` with the
 *   same JSON body posbridge gives a new POS payment, and nothing else.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import pino from 'pino';
import { loadServerConfig, startServer, type RunningServer } from '@posbridge/server';

/** Credentials the benchmark's gateway sends. */
export const BENCH_APP_KEY = 'vtexappkey-bench';
export const BENCH_APP_TOKEN = 'bench-token-0123456789';

/**
 * Starts the real server on 127.0.0.1 (any free port) with its SQLite file in `dir`, logs
 * silenced and the benchmark's merchant credentials.
 */
export function startBenchServer(dir: string, extraEnv: Record<string, string> = {}): Promise<RunningServer> {
  const config = loadServerConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    POSBRIDGE_DB: join(dir, 'bench.sqlite'),
    POSBRIDGE_APP_KEY: BENCH_APP_KEY,
    POSBRIDGE_APP_TOKEN: BENCH_APP_TOKEN,
    POSBRIDGE_CALLBACK_APP_KEY: 'bench-partner',
    POSBRIDGE_CALLBACK_APP_TOKEN: 'bench-partner-token',
    POSBRIDGE_CALLBACK_ALLOW_HOSTS: '127.0.0.1', // the benchmark's callback receivers
    ...extraEnv,
  });
  return startServer({ config, logger: pino({ level: 'silent' }) });
}

/** The answer the baseline gives: the shape of posbridge's first Create Payment answer. */
export const BARE_ANSWER = {
  paymentId: '00000000000000000000000000000000',
  status: 'undefined',
  authorizationId: null,
  tid: 'pb_0000000000000000',
  nsu: null,
  acquirer: 'posbridge',
  code: null,
  message: 'Choose the payment terminal',
  delayToAutoSettle: 1200,
  delayToAutoSettleAfterAntifraud: 1200,
  delayToCancel: 900,
  paymentAppData: {
    appName: 'vtex.terminal-connector-app',
    payload: JSON.stringify({ submitUrl: 'http://127.0.0.1:1/pos/v1/submit/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }),
  },
};

async function main(target: string | undefined): Promise<void> {
  // Exit (rather than die) on the harness's SIGTERM, so `--cpu-prof` (BENCH_CPU_PROF_DIR) is written.
  process.once('SIGTERM', () => process.exit(0));
  if (target === 'bare') {
    const app = express();
    app.use(express.json({ limit: '256kb' }));
    app.post('/payments', (req, res) => {
      const body = req.body as { paymentId?: unknown };
      res.json({ ...BARE_ANSWER, paymentId: typeof body.paymentId === 'string' ? body.paymentId : BARE_ANSWER.paymentId });
    });
    const server = app.listen(0, '127.0.0.1', () => {
      const address = server.address();
      process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
    });
    return;
  }
  if (target === 'posbridge' || target === 'hub') {
    const dir = mkdtempSync(join(tmpdir(), 'posbridge-bench-'));
    const server = await startBenchServer(dir, { POSBRIDGE_HEARTBEAT_INTERVAL_MS: process.env['BENCH_HEARTBEAT_MS'] ?? '15000' });
    const tokens: string[] = [];
    for (let i = 0; i < (target === 'hub' ? Number(process.argv[3] ?? '0') : 0); i++) {
      tokens.push((await server.issueAgentToken(`bench-agent-${i}`)).token);
    }
    process.stdout.write(`${JSON.stringify({ port: server.port, dir, tokens })}\n`);
    return;
  }
  process.stderr.write('usage: targets.ts posbridge | hub <agents> | bare\n');
  process.exit(2);
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv[2]);
