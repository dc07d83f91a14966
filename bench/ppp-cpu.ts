/**
 * CPU time per answered PPP request, a load-independent figure for a shared machine: starts the
 * bare express target and the posbridge target (bench/lib/targets.ts) side by side, drives each
 * with the bench's load (bench/suites/ppp.ts `runPppLoad`), and divides the server process's
 * CPU time (all threads, /proc) by the requests answered. Alternates the targets per round, so
 * both see the same minutes of the machine.
 *
 * Run: `node --conditions=@posbridge/source --import tsx bench/ppp-cpu.ts [seconds] [rounds] [create|poll]`
 * (`BENCH_CPU_PROF_DIR=<dir>` also writes each target's CPU profile).
 * @see docs/performance.md "PPP Create Payment"
 */
import { cpuTimeMs, startChild } from './lib/child.ts';
import { BENCH_APP_KEY, BENCH_APP_TOKEN } from './lib/targets.ts';
import { runPppLoad } from './suites/ppp.ts';

const seconds = Number(process.argv[2] ?? '3');
const rounds = Number(process.argv[3] ?? '2');
const only = process.argv[4]; // `create` or `poll`: that mode only
const targets = ['bare', 'posbridge'] as const;
const children = await Promise.all(targets.map((t) => startChild<{ port: number }>('bench/lib/targets.ts', [t])));
try {
  for (let round = 0; round < rounds; round++) {
    for (const mode of (['create', 'poll'] as const).filter((m) => only === undefined || m === only)) {
      for (const connections of [10, 50]) {
        const line: string[] = [];
        for (const [i, child] of children.entries()) {
          const target = { baseUrl: `http://127.0.0.1:${child.ready.port}`, appKey: BENCH_APP_KEY, appToken: BENCH_APP_TOKEN };
          await runPppLoad(target, connections, 1, mode);
          const pid = child.process.pid ?? 0;
          const before = cpuTimeMs(pid);
          const { result } = await runPppLoad(target, connections, seconds, mode);
          const used = cpuTimeMs(pid) - before;
          const answered = result.requests.total;
          line.push(`${targets[i]} ${Math.round(result.requests.average)} req/s p99 ${result.latency.p99} ms ${Math.round((used * 1000) / answered)} µs/req`);
        }
        process.stdout.write(`${mode} c=${connections}: ${line.join(' | ')}\n`);
      }
    }
  }
} finally {
  await Promise.all(children.map((c) => c.stop()));
}
