/**
 * `npm run soak` — hundreds of payments through the real server, agent and simulated terminals
 * with faults injected at random (seeded), then the invariants: see docs/reliability.md.
 * Exit codes: 0 every invariant held, 1 a violation (each one printed), 2 usage error, 3 the
 * stack could not be started.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CLUSTER_FAULT_KINDS, FAULT_KINDS, runSoak, type SoakResult } from '@posbridge/testkit/soak';

const HELP = `npm run soak -- [options]

Payments through the real posbridge server and terminal agent (child processes, SQLite on disk)
and simulated terminals on pseudo-terminals, with faults injected at random: WebSocket drops and stalls,
agent and server SIGKILL + restart, callback endpoint answering 503 or hanging, serial faults of
the simulator (NAK, lost ACK, bad CRC, noise, duplicate or mismatched answers, reboot, lost
answer, cable pulled, slow answer). Then checks: every payment final (an unknown resolved), no
sale without a matching final callback, no payment charged twice, no callback lost.

With --instances N (N ≥ 2) the server side is a cluster: N server processes on a throwaway
PostgreSQL and NATS (postgresql and nats-server installed), the gateway spreading its calls over
the instances and the agent knowing every hub; the plan adds instance SIGKILL + restart after a
pause, PostgreSQL crash + restart and NATS kill + restart, with the same invariants.

Options:
  --payments N    payments to make (default 300)
  --instances N   server instances: 1 = one server on SQLite (default), 2–8 = a cluster
  --quick         40 payments (the CI mode; under 3 minutes on 2 cores)
  --seed S        seed of the fault schedule and amounts (default: random, printed)
  --terminals N   simulated terminals working in parallel (default 2)
  --poll-ms N     interval of the gateway's POST /payments polls (default 500)
  --keep          keep the run folder (logs, databases) even when it passed
  --json FILE     also write the result as JSON to FILE
  --help          this text

Exit codes: 0 all invariants held · 1 violations (printed) · 2 usage · 3 the stack did not start.
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${HELP}`);
  process.exit(2);
}

function intOption(value: string | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer ≥ ${min}`);
  return n;
}

function printResult(r: SoakResult): void {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const c = r.counts;
  out('');
  out(`soak finished in ${(r.durationMs / 1000).toFixed(1)} s (seed ${r.seed})`);
  out(`  payments            ${c.payments}`);
  out(`  approved            ${c.approved}`);
  out(`  denied              ${c.denied}`);
  out(`  unknown → resolved  ${c.unknownResolved}`);
  out(`  callbacks           ${c.callbacksDelivered} delivered (2xx) of ${c.callbackAttempts} attempts; ${c.duplicateCallbacks} payments got a duplicate delivery`);
  out(`  terminal sales      ${c.terminalSales} final, ${c.terminalCharges} charges`);
  out(`  duplicate charges   ${c.duplicateCharges}`);
  out('  faults injected (planned):');
  for (const k of r.instances > 1 ? [...FAULT_KINDS, ...CLUSTER_FAULT_KINDS] : FAULT_KINDS) out(`    ${k.padEnd(24)} ${String(r.faultsInjected[k]).padStart(4)} (${r.faultsPlanned[k]})`);
  out(`  ws connections cut  ${r.connectionsCut}, stalled ${r.connectionsStalled}`);
  const notes = Object.entries(r.wireFaultNotes).sort(([a], [b]) => a.localeCompare(b));
  if (notes.length > 0) out(`  simulator frame notes: ${notes.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (r.unexpectedExits.server.length + r.unexpectedExits.agent.length > 0) {
    out(`  exits not injected (restarted): server [${r.unexpectedExits.server.join(', ')}], agent [${r.unexpectedExits.agent.join(', ')}]`);
  }
  out(`  gateway retries     ${r.gatewayRetries}`);
  if (r.deniedWithoutCharge.length > 0) {
    out(`  approving amounts that ended denied, nothing charged (a fault stopped the sale): ${r.deniedWithoutCharge.length}`);
    for (const d of r.deniedWithoutCharge) out(`    #${d.index} ${d.paymentId} faults: ${d.faults.join(', ') || 'none of its own (a fault aimed at another payment)'}`);
  }
  if (r.dirKept) out(`  run folder          ${r.dir}`);
  if (r.violations.length === 0) {
    out('\nall invariants held');
  } else {
    out(`\n${r.violations.length} VIOLATION(S):`);
    for (const v of r.violations) out(`  ✗ ${v}`);
  }
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        payments: { type: 'string' },
        quick: { type: 'boolean' },
        seed: { type: 'string' },
        terminals: { type: 'string' },
        instances: { type: 'string' },
        'poll-ms': { type: 'string' },
        keep: { type: 'boolean' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.quick && values.payments !== undefined) fail('--quick and --payments go separately');
  const payments = values.quick ? 40 : intOption(values.payments, 'payments', 300, 1);
  const seed = intOption(values.seed, 'seed', Math.floor(Math.random() * 2 ** 31), 0);
  const terminals = intOption(values.terminals, 'terminals', 2, 1);
  const instances = intOption(values.instances, 'instances', 1, 1);
  if (instances > 8) fail('--instances must be 1–8');
  const pollMs = intOption(values['poll-ms'], 'poll-ms', 500, 50);
  const reproduce = `npm run soak -- --payments ${payments} --seed ${seed}${terminals !== 2 ? ` --terminals ${terminals}` : ''}${instances !== 1 ? ` --instances ${instances}` : ''}${pollMs !== 500 ? ` --poll-ms ${pollMs}` : ''}`;
  process.stdout.write(`soak: ${payments} payments, seed ${seed}, ${terminals} terminals, ${instances === 1 ? 'one server (SQLite)' : `${instances} instances (PostgreSQL, NATS)`} (reproduce: ${reproduce})\n`);
  let result: SoakResult;
  try {
    result = await runSoak({
      payments,
      seed,
      terminals,
      instances,
      pollMs,
      keep: values.keep === true,
      handleSignals: true,
      paymentTimeoutMs: values.quick ? 90_000 : 120_000,
      onProgress: (line) => process.stdout.write(`${line}\n`),
    });
  } catch (err) {
    const dir = (err as { soakDir?: string }).soakDir;
    process.stderr.write(`soak could not run: ${err instanceof Error ? err.message : String(err)}${dir ? ` (folder ${dir})` : ''}\n`);
    process.exit(3);
  }
  printResult(result);
  if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify(result, null, 2)}\n`);
  process.exit(result.violations.length === 0 ? 0 : 1);
}

await main();
