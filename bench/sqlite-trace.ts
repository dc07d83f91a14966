/**
 * Where the SQLite store's work goes per payment: runs the real server on a throwaway SQLite
 * file with one fake agent (as bench/suites/hub.ts does) and a callback receiver answering 200,
 * takes payments one at a time through create → bind → `payment.start` → ack → result →
 * callback, and counts every statement sqlite3 is asked to run, per payment, by connection
 * (`writer`: the one connection whose FIFO every write and transaction waits in; `reader`: the
 * read-only connection of server/src/adapters/sqlite/sqlite-db.ts) and by SQL text.
 *
 * Not part of `npm run bench`: a tool for finding round trips to cut, whose figures
 * docs/performance.md "What limits them" quotes.
 *
 *   node --conditions=@posbridge/source --import tsx bench/sqlite-trace.ts [--payments N]
 */
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sqlite3 from 'sqlite3';
import { WebSocket } from 'ws';
import { approvalFor } from './lib/fake-agent.ts';
import { startBenchServer } from './lib/targets.ts';

const HELP = `Usage: node --conditions=@posbridge/source --import tsx bench/sqlite-trace.ts [--payments N]
  Counts the SQLite statements of one POS payment (create, bind, start, ack, result, callback)
  on the real server, by connection and SQL text.
  --payments N  payments measured after 3 warm-ups (1–500, default 20)
  --help        this text`;

const { values } = parseArgs({ options: { payments: { type: 'string' }, help: { type: 'boolean' } } });
if (values.help === true) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const payments = Number(values.payments ?? 20);
if (!Number.isInteger(payments) || payments < 1 || payments > 500) {
  process.stderr.write(`--payments must be an integer 1–500\n${HELP}\n`);
  process.exit(2);
}

// Count at the driver: every Database method that runs SQL, and the runs of statements prepared
// through Database.prepare (the store's cached statements). Database.run/all/get build their own
// Statement internally, which is not in `prepared` and so is not counted twice.
type Db = sqlite3.Database;
type Fn = (this: unknown, ...args: unknown[]) => unknown;
const role = new WeakMap<Db, 'writer' | 'reader'>();
const prepared = new WeakMap<object, { db: Db; sql: string }>();
const counts = new Map<string, number>();
let counting = false;
const label = (sql: string) => sql.replace(/\s+/g, ' ').replace(/(\(\?(, \?)*\))(, \(\?(, \?)*\))+/g, '$1, …').trim().slice(0, 100);
const count = (db: Db, sql: string) => {
  if (!counting) return;
  const key = `${role.get(db) ?? 'writer'}\t${label(sql)}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
};
const dbProto = sqlite3.Database.prototype as unknown as Record<string, Fn>;
for (const m of ['run', 'all', 'get', 'exec', 'each']) {
  const original = dbProto[m]!;
  dbProto[m] = function (this: unknown, ...args: unknown[]) {
    const sql = String(args[0]);
    if (sql.includes('query_only')) role.set(this as Db, 'reader');
    count(this as Db, sql);
    return original.apply(this, args);
  };
}
const prepare = dbProto['prepare']!;
dbProto['prepare'] = function (this: unknown, ...args: unknown[]) {
  const st = prepare.apply(this, args) as object;
  prepared.set(st, { db: this as Db, sql: String(args[0]) });
  return st;
};
const stProto = sqlite3.Statement.prototype as unknown as Record<string, Fn>;
for (const m of ['run', 'all', 'get', 'each']) {
  const original = stProto[m]!;
  stProto[m] = function (this: unknown, ...args: unknown[]) {
    const p = prepared.get(this as object);
    if (p) count(p.db, p.sql);
    return original.apply(this, args);
  };
}

const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/callback`;
const dir = mkdtempSync(join(tmpdir(), 'posbridge-sqlite-trace-'));
const server = await startBenchServer(dir);
const { token } = await server.issueAgentToken('trace-agent');
const example = JSON.parse(readFileSync(new URL('../test/fixtures/ppp/create-payment.venda-direta-credito.json', import.meta.url), 'utf8')) as Record<string, unknown>;

// The fake agent answers a start at once; a payment is done when its callback settled (a short wait after the result).
const finished = new Map<string, () => void>();
const ws = new WebSocket(`ws://127.0.0.1:${server.port}/agent/v1`, { headers: { authorization: `Bearer ${token}` } });
let seq = 0;
const send = (msg: Record<string, unknown>) => ws.send(JSON.stringify({ v: 1, id: `trace-${seq++}`, ...msg }));
await new Promise<void>((resolve, reject) => {
  ws.on('error', reject);
  ws.on('open', () => send({ type: 'agent.hello', agentVersion: 'trace', terminals: [{ serialNumber: 'TRACE1', dialect: 'PBL/1' }] }));
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data)) as Record<string, unknown>;
    if (msg['type'] === 'hub.welcome') resolve();
    if (msg['type'] !== 'payment.start') return;
    const paymentId = String(msg['paymentId']);
    send({ type: 'ack', ackOf: msg['id'] });
    send(approvalFor(msg, `r${seq}`));
    setTimeout(() => finished.get(paymentId)?.(), 300);
  });
});

const headers = { 'content-type': 'application/json', 'x-vtex-api-appkey': 'vtexappkey-bench', 'x-vtex-api-apptoken': 'bench-token-0123456789' };
async function onePayment(): Promise<void> {
  const paymentId = randomBytes(16).toString('hex').toUpperCase();
  const res = await fetch(`http://127.0.0.1:${server.port}/payments`, { method: 'POST', headers, body: JSON.stringify({ ...example, paymentId, callbackUrl }) });
  const created = (await res.json()) as { paymentAppData: { payload: string } };
  const { submitUrl } = JSON.parse(created.paymentAppData.payload) as { submitUrl: string };
  const done = new Promise<void>((resolve) => finished.set(paymentId, resolve));
  const bound = await fetch(submitUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ serialNumber: 'TRACE1' }) });
  if (bound.status !== 200) throw new Error(`bind answered ${bound.status}: ${await bound.text()}`);
  await done;
}

try {
  for (let i = 0; i < 3; i++) await onePayment();
  counting = true;
  for (let i = 0; i < payments; i++) await onePayment();
  counting = false;
  const per = (n: number) => (n / payments).toFixed(2);
  const byRole = { writer: 0, reader: 0 };
  for (const [key, n] of counts) byRole[key.split('\t')[0] as 'writer' | 'reader'] += n;
  process.stdout.write(`SQLite statements per payment (${payments} payments): writer ${per(byRole.writer)}, reader ${per(byRole.reader)}\n`);
  for (const [key, n] of [...counts].sort((a, b) => b[1] - a[1])) process.stdout.write(`${per(n).padStart(6)}  ${key}\n`);
} finally {
  ws.close();
  receiver.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
