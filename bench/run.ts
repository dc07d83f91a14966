/**
 * `npm run bench` — posbridge's speed and memory figures, each side by side with a baseline in
 * the same run: PPP throughput vs a bare express handler, end-to-end latency vs the raw
 * pseudo-terminal round trip, hub capacity at 1,000 and 10,000 agents, agent footprint, and the
 * cluster (two instances on PostgreSQL and NATS) against one instance on SQLite.
 * Writes `bench/results/<mode>.json` and `<mode>.md` (`full` or `quick`; a partial run with
 * `--only` gets the suites in its name) and prints a summary. `--quick` finishes in under two minutes on a 2-core machine.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { agentEntries, benchAgent, type AgentRow } from './suites/agent.ts';
import { benchCluster, type ClusterResult } from './suites/cluster.ts';
import { benchE2e, type LatencyRow } from './suites/e2e.ts';
import { benchHub, type HubRow } from './suites/hub.ts';
import { benchPpp, type PppRow } from './suites/ppp.ts';

const HELP = `Usage: npm run bench [-- --quick] [-- --only ppp,e2e,hub,agent,cluster]

Measures posbridge against baselines and writes bench/results/<full|quick>.{json,md}.
  --quick      short runs (under two minutes): 10 connections, 1,000 agents, fewer samples
  --only LIST  run only these suites (comma-separated: ppp, e2e, hub, agent, cluster);
               cluster needs postgresql, nats-server and socat
  -h, --help   show this help

Environment:
  BENCH_AGENT_ENTRY   a compiled agent CLI (.js) for the agent suite to measure, beside the tsx
                      one (default, when built: terminal-agent/bin/posbridge-agent.js, which
                      runs dist/cli.js; either way with the node flags of the bin's shebang)
  BENCH_CPU_PROF_DIR  write a V8 CPU profile of every benchmark child process into this directory`;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
});
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const quick = values.quick;
const SUITES = ['ppp', 'e2e', 'hub', 'agent', 'cluster'];
const only = new Set((values.only ?? SUITES.join(',')).split(',').map((s) => s.trim()));
const log = (line: string) => process.stdout.write(`${line}\n`);
const startedAt = new Date();
const loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100);

const results: { ppp?: PppRow[]; e2e?: LatencyRow[]; hub?: HubRow[]; agent?: AgentRow[]; cluster?: ClusterResult } = {};
log(`posbridge bench (${quick ? 'quick' : 'full'}) on ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
if (only.has('ppp')) results.ppp = await benchPpp(quick ? [10] : [1, 10, 50], quick ? 2 : 5, log);
if (only.has('e2e')) results.e2e = await benchE2e(quick ? 20 : 200, log);
if (only.has('hub')) {
  results.hub = [];
  for (const agents of quick ? [1_000] : [1_000, 10_000]) results.hub.push(...(await benchHub(agents, [20, 200], quick ? 3 : 10, log)));
}
if (only.has('agent')) {
  results.agent = [];
  for (const program of agentEntries()) results.agent.push(await benchAgent(quick ? 20 : 200, log, program));
}
if (only.has('cluster')) results.cluster = await benchCluster(quick ? 20 : 200, quick ? 2 : 5, 10, log);

const report = {
  startedAt: startedAt.toISOString(),
  mode: quick ? 'quick' : 'full',
  machine: {
    cores: cpus().length,
    memoryBytes: totalmem(),
    node: process.version,
    /** 1/5/15-minute load averages when the run started and ended (the machine may be shared). */
    loadAverage: { start: loadAtStart, end: loadavg().map((l) => Math.round(l * 100) / 100) },
  },
  results,
};
const md = renderMarkdown(report);
const dir = new URL('./results/', import.meta.url);
await mkdir(dir, { recursive: true });
const name = SUITES.every((s) => only.has(s)) ? report.mode : `${report.mode}-${[...only].sort().join('-')}`;
await writeFile(new URL(`${name}.json`, dir), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(new URL(`${name}.md`, dir), `${md}\n`);
log(`\n${md}`);
log(`written: bench/results/${name}.json, bench/results/${name}.md (${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s)`);

function ratio(a: number, b: number): string {
  return b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(1)}×` : 'n/a';
}

function renderMarkdown(r: typeof report): string {
  const out: string[] = [`# posbridge benchmark — ${r.mode}, ${r.startedAt}`, '', `${r.machine.cores} cores, Node ${r.machine.node}, load average ${r.machine.loadAverage.start.join(' / ')} at start, ${r.machine.loadAverage.end.join(' / ')} at end.`, ''];
  if (r.results.ppp) {
    out.push('## PPP Create Payment (posbridge vs bare express returning the same JSON)', '');
    out.push('| mode | connections | posbridge req/s | bare req/s | bare ÷ posbridge | posbridge p50 / p99 ms | bare p50 / p99 ms |', '|---|---|---|---|---|---|---|');
    for (const row of r.results.ppp.filter((x) => x.target === 'posbridge')) {
      const bare = r.results.ppp.find((x) => x.target === 'bare' && x.mode === row.mode && x.connections === row.connections);
      out.push(
        `| ${row.mode} | ${row.connections} | ${row.requestsPerSecond} | ${bare?.requestsPerSecond ?? 'n/a'} | ${ratio(bare?.requestsPerSecond ?? 0, row.requestsPerSecond)} | ${row.p50Ms} / ${row.p99Ms} | ${bare ? `${bare.p50Ms} / ${bare.p99Ms}` : 'n/a'} |`,
      );
    }
    out.push('', '`create`: a new `paymentId` each request (one SQLite insert). `poll`: the same `paymentId` again (a read).', '');
  }
  if (r.results.e2e) {
    const [raw, full] = r.results.e2e;
    out.push('## End to end: bind → callback vs the raw pseudo-terminal round trip', '');
    out.push('| path | samples | p50 ms | p99 ms | mean ms |', '|---|---|---|---|---|');
    for (const row of r.results.e2e) out.push(`| ${row.path} | ${row.samples} | ${row.p50Ms} | ${row.p99Ms} | ${row.meanMs} |`);
    if (raw && full) out.push('', `posbridge ÷ raw (p50): ${ratio(full.p50Ms, raw.p50Ms)}`);
    out.push('');
  }
  if (r.results.hub) {
    out.push('## Hub capacity', '');
    out.push('| agents | connect s | memory per connection | heartbeat CPU (ms/s per 1k agents, 1 s pings) | dispatch p50 / p99 ms | payments |', '|---|---|---|---|---|---|');
    for (const row of r.results.hub) {
      out.push(
        `| ${row.agents} | ${row.connectSeconds} | ${(row.rssPerConnectionBytes / 1024).toFixed(1)} KiB | ${row.heartbeatCpuMsPerSecondPer1k} | ${row.dispatchP50Ms} / ${row.dispatchP99Ms} | ${row.dispatched} at ${row.dispatchRatePerSecond}/s${Object.keys(row.failures).length > 0 ? ` (not 200: ${Object.entries(row.failures).map(([k, v]) => `${k} ×${v}`).join(', ')})` : ''} |`,
      );
    }
    out.push('');
  }
  if (r.results.agent) {
    out.push('## Agent footprint', '');
    out.push('| program | start-up to ready | RSS idle | RSS under load (max) | payments | agent CPU / payment | wall / payment |', '|---|---|---|---|---|---|---|');
    for (const a of r.results.agent) {
      out.push(
        `| ${a.runtime} (\`node ${[...a.nodeFlags, ...(a.runtime === 'tsx' ? ['--import tsx'] : []), a.entry].join(' ')}\`) | ${a.startupToReadyMs} ms | ${(a.rssIdleBytes / 2 ** 20).toFixed(1)} MiB | ${(a.rssUnderLoadMaxBytes / 2 ** 20).toFixed(1)} MiB | ${a.paymentsUnderLoad} | ${a.cpuMsPerPayment} ms | ${a.wallMsPerPayment} ms |`,
      );
    }
    out.push('');
  }
  if (r.results.cluster) {
    const { latency, throughput } = r.results.cluster;
    out.push('## Cluster: two instances on PostgreSQL and NATS vs one instance on SQLite', '');
    out.push('| figure | one instance | cluster | cluster ÷ one | goal |', '|---|---|---|---|---|');
    out.push(
      `| bind → callback p50 / p99 ms (cluster: bound on one instance, agent on the other) | ${latency.single.p50Ms} / ${latency.single.p99Ms} | ${latency.crossInstance.p50Ms} / ${latency.crossInstance.p99Ms} | ${latency.ratioP50}× | ≤ 1.5× |`,
    );
    out.push(
      `| bind → callback p50 / p99 ms, cluster bound on the agent's own instance (PostgreSQL's share) | ${latency.single.p50Ms} / ${latency.single.p99Ms} | ${latency.sameInstance.p50Ms} / ${latency.sameInstance.p99Ms} | ${(latency.sameInstance.p50Ms / latency.single.p50Ms).toFixed(2)}× | |`,
    );
    out.push(
      `| Create Payment req/s at ${throughput.single.connections} connections (p99 ms) | ${throughput.single.requestsPerSecond} (${throughput.single.p99Ms}) | ${throughput.cluster.requestsPerSecond} (${throughput.cluster.p99Ms}) | ${throughput.ratio}× | ≥ 1.0× |`,
    );
    const non2xx = throughput.single.non2xx + throughput.cluster.non2xx + throughput.single.errors + throughput.cluster.errors;
    out.push('', non2xx > 0 ? `Answers other than 2xx or errors: ${non2xx}.` : 'Every answer was a 200.', '');
  }
  return out.join('\n');
}
