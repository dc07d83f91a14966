/**
 * Where the cluster's bind → callback time goes: runs the `--instances 2` cluster stack on a
 * throwaway PostgreSQL with `log_statement = all`, binds payments on the instance that does
 * not hold the agent (as bench/suites/cluster.ts does), and reads the server log back: the
 * PostgreSQL statements per payment and the median time of each phase, cut at the statements
 * that mark them (the three transitions, the send of the start, the callback claim).
 *
 * Not part of `npm run bench` (statement logging slows PostgreSQL down a little, so its totals
 * are a few ms above the benchmark's): a tool for finding round trips to cut, whose figures
 * docs/performance.md "Cluster" quotes.
 *
 *   node --import tsx bench/cluster-trace.ts [--payments N] [--log FILE]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { startClusterStack } from '@posbridge/testkit/stack';
import { GatewayClient, appPayload, buildCreatePayment, psql, startCallbackReceiver, startPostgres, submitTerminal } from '@posbridge/testkit';

const HELP = `Usage: node --import tsx bench/cluster-trace.ts [--payments N] [--log FILE]
  Counts PostgreSQL statements and times the phases of bind → callback on a two-instance
  cluster (bound on the instance without the agent). Needs postgresql, nats-server and socat.
  --payments N  payments measured after 3 warm-ups (1–500, default 20)
  --log FILE    also write PostgreSQL's statement log there (to read one payment's timeline)
  --help        this text`;

const { values } = parseArgs({ options: { payments: { type: 'string' }, log: { type: 'string' }, help: { type: 'boolean' } } });
if (values.help === true) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const payments = Number(values.payments ?? 20);
if (!Number.isInteger(payments) || payments < 1 || payments > 500) {
  process.stderr.write(`--payments must be an integer 1–500\n${HELP}\n`);
  process.exit(2);
}

/** One logged statement: ms of the day, backend pid, the statement's first line. */
interface Logged {
  readonly ms: number;
  readonly pid: string;
  readonly sql: string;
}

/** The statements between `MARK-START i` and `MARK-END i`, per payment. */
function windows(log: string): { totalMs: number; statements: Logged[] }[] {
  const out: { totalMs: number; statements: Logged[] }[] = [];
  let current: Logged[] | undefined;
  for (const line of log.split('\n')) {
    if (line.includes("'MARK-START")) {
      current = [];
      continue;
    }
    const end = /'MARK-END \d+ ([\d.]+)'/.exec(line);
    if (end && current) {
      out.push({ totalMs: Number(end[1]), statements: current });
      current = undefined;
      continue;
    }
    const m = /^\S+ (\d+):(\d+):([\d.]+) \S+ \[(\d+)\] LOG:\s+(?:execute \S+|statement): (.*)$/.exec(line);
    if (m && current) current.push({ ms: (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000, pid: m[4]!, sql: m[5]! });
  }
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
};

const pg = await startPostgres();
const receiver = await startCallbackReceiver();
try {
  await psql(pg.url, 'CREATE DATABASE posbridge');
  await psql(pg.url, "ALTER SYSTEM SET log_statement = 'all'");
  await psql(pg.url, "ALTER SYSTEM SET log_line_prefix = '%m [%p] '");
  await psql(pg.url, 'SELECT pg_reload_conf()');
  const stack = await startClusterStack({ logger: pino({ level: 'silent' }), instances: 2, stepDelayMs: 0, databaseUrl: pg.urlOf('posbridge'), logSink: { write: () => undefined } });
  try {
    const health = await Promise.all(stack.instances.map((i) => i.health()));
    const holder = health.findIndex((h) => (h?.agentsConnected ?? 0) > 0);
    if (holder < 0) throw new Error('no instance holds the agent');
    const on = stack.instances[1 - holder]!;
    const gateway = new GatewayClient(on.pppBaseUrl, stack.appKey, stack.appToken);
    for (let i = 0; i < payments + 3; i++) {
      const paymentId = `TRACE${Date.now().toString(16)}${i}`.toUpperCase().padEnd(32, '0');
      const transactionId = `TX${paymentId}`.slice(0, 32);
      const body = buildCreatePayment({ paymentId, transactionId, callbackUrl: receiver.callbackUrlFor(transactionId, paymentId) });
      const submitUrl = new URL(appPayload(await gateway.createPayment(body))!.payload['submitUrl'] as string);
      submitUrl.host = new URL(on.pppBaseUrl).host;
      if (i >= 3) await psql(pg.url, `SELECT 'MARK-START ${i}'`);
      const started = performance.now();
      const arrived = receiver.waitFor(paymentId, 30_000);
      const bound = await submitTerminal(submitUrl.toString(), stack.terminals[0]!.serialNumber);
      if (bound.status !== 200) throw new Error(`bind answered ${bound.status}`);
      await arrived;
      const ms = performance.now() - started;
      if (i >= 3) await psql(pg.url, `SELECT 'MARK-END ${i} ${ms.toFixed(2)}'`);
    }
  } finally {
    await stack.close();
  }
  const log = readFileSync(join(dirname(pg.dataDir), 'server.log'), 'utf8');
  if (values.log !== undefined) writeFileSync(values.log, log);
  const traced = windows(log);
  const phases: Record<string, number[]> = {};
  const counts: number[] = [];
  const add = (name: string, v: number) => (phases[name] ??= []).push(v);
  for (const w of traced) {
    const s = w.statements;
    const claim = s.findIndex((x) => x.sql.startsWith('WITH ranked'));
    const upd = s.map((x, i) => (x.sql.startsWith('WITH upd AS') ? i : -1)).filter((i) => i >= 0);
    const sent = s.findIndex((x) => x.sql.startsWith('UPDATE agent_commands SET attempts'));
    if (claim < 0 || upd.length < 3 || sent < 0) continue;
    counts.push(claim + 1);
    const t = (i: number) => s[i]!.ms;
    add('bind: first read → bind committed', t(upd[0]!) - t(0));
    add('commit → start marked sent on the holder (NATS wake, delivery reads)', t(sent) - t(upd[0]!));
    add('start sent → first read of its ack (agent process, journal, terminal)', t(sent + 1) - t(sent));
    add('ack read → accepted committed', t(upd[1]!) - t(sent + 1));
    add('accepted → result committed (progress ×3, result checks)', t(upd[2]!) - t(upd[1]!));
    add('result committed → callback claimed', t(claim) - t(upd[2]!));
    add('total bind → callback received (client clock)', w.totalMs);
  }
  process.stdout.write(`${counts.length} payments traced; PostgreSQL statements up to the callback claim: median ${median(counts)}\n`);
  for (const [name, xs] of Object.entries(phases)) process.stdout.write(`  ${median(xs).toFixed(1).padStart(6)} ms  ${name}\n`);
} finally {
  await receiver.close();
  await pg.stop();
}
