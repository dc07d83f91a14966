/**
 * Agent footprint: a real `posbridge-agent` process (the CLI, as technicians run it) against a
 * server and a simulated terminal on a pseudo-terminal. Measures start-up time from spawn to
 * `agent ready` (connected, welcomed, terminal identified), resident memory idle, and the
 * highest resident memory while it runs a stream of payments.
 *
 * Which program: the compiled agent (`npm run build` output) when one exists, run the way the
 * installed program runs — through `terminal-agent/bin/posbridge-agent.js` with the node flags of
 * its shebang — else the TypeScript sources through tsx (no flags, as the dev loop runs them);
 * `agentEntries()` says which, and `BENCH_AGENT_ENTRY` names another compiled entry (a scratch
 * build) to measure with the bin's flags.
 */
import pino from 'pino';
import { startSim } from '@posbridge/hardware-sim';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, cpuTimeMs, rssBytes, startChild } from '../lib/child.ts';
import { BENCH_APP_KEY, BENCH_APP_TOKEN, startBenchServer } from '../lib/targets.ts';
import {
  GatewayClient,
  appPayload,
  buildCreatePayment,
  startCallbackReceiver,
  submitTerminal,
} from '@posbridge/testkit';

/** The agent's footprint. */
export interface AgentRow {
  /** `compiled` (plain node on JavaScript) or `tsx` (the TypeScript sources, transformed at run time). */
  runtime: 'compiled' | 'tsx';
  /** The entry script run, relative to the repository root or absolute. */
  entry: string;
  /** Flags given to `node` before the entry (the bin's shebang flags for the compiled agent). */
  nodeFlags: string[];
  startupToReadyMs: number;
  rssIdleBytes: number;
  rssUnderLoadMaxBytes: number;
  paymentsUnderLoad: number;
  /** The agent's CPU time (user + system) per payment under load, milliseconds. */
  cpuMsPerPayment: number;
  /** Wall time per payment under load (create → callback, one at a time), milliseconds. */
  wallMsPerPayment: number;
}

/** Where the compiled agent CLI may be, relative to the repository root (the build's layouts). */
const COMPILED_ENTRIES = ['terminal-agent/dist/cli.js', 'terminal-agent/dist/src/cli.js'];
const TSX_ENTRY = 'terminal-agent/src/cli.ts';
/** The installed program; its shebang carries the node flags the agent runs with. */
const BIN = 'terminal-agent/bin/posbridge-agent.js';

/** A program to measure: how it runs, its entry script and the flags `node` gets before it. */
export type AgentProgram = Pick<AgentRow, 'runtime' | 'entry' | 'nodeFlags'>;

/**
 * The `node` flags of a script's shebang: those after `node` in `#!/usr/bin/env -S node …`,
 * none for `#!/usr/bin/env node`.
 */
export function shebangNodeFlags(source: string): string[] {
  const first = source.split('\n', 1)[0] ?? '';
  if (!first.startsWith('#!')) return [];
  const words = first.slice(2).trim().split(/\s+/);
  const node = words.findIndex((w) => w === 'node' || w.endsWith('/node'));
  return node < 0 ? [] : words.slice(node + 1);
}

/**
 * The agent programs to measure, first the one the figures are about: the compiled CLI
 * (`BENCH_AGENT_ENTRY`, else the first of {@link COMPILED_ENTRIES} present) followed by the
 * tsx one for comparison, or the tsx one alone when nothing is compiled.
 */
export function agentEntries(env: NodeJS.ProcessEnv = process.env): AgentProgram[] {
  const override = env['BENCH_AGENT_ENTRY'];
  const built = COMPILED_ENTRIES.some((e) => existsSync(join(ROOT, e)));
  const tsx: AgentProgram = { runtime: 'tsx', entry: TSX_ENTRY, nodeFlags: [] };
  const nodeFlags = shebangNodeFlags(readFileSync(join(ROOT, BIN), 'utf8'));
  // The bin imports '#cli', which resolves to the compiled CLI outside the source condition.
  const compiled = override ?? (built ? BIN : undefined);
  return compiled ? [{ runtime: 'compiled', entry: compiled, nodeFlags }, tsx] : [tsx];
}

/** Runs the agent CLI `entry` and `payments` payments through it. */
export async function benchAgent(
  payments: number,
  log: (line: string) => void,
  program: AgentProgram = agentEntries()[0]!,
): Promise<AgentRow> {
  const dir = await mkdtemp(join(tmpdir(), 'posbridge-bench-agent-'));
  const silent = pino({ level: 'silent' });
  const server = await startBenchServer(dir);
  const sim = await startSim({ terminals: [{ serialNumber: 'BENCH0001' }], logger: silent, dir, link: 'pty', stepDelayMs: 0 });
  const receiver = await startCallbackReceiver();
  const terminal = sim.terminals[0]!;
  if (terminal.link !== 'pty') throw new Error('the agent benchmark needs socat');
  const { token } = await server.issueAgentToken('bench');
  const agent = await startChild<Record<string, unknown>>(program.entry, [], {
    env: {
      POSBRIDGE_SERVER_URL: `${server.url.replace(/^http/, 'ws')}/agent/v1`,
      POSBRIDGE_AGENT_TOKEN: token,
      POSBRIDGE_TERMINAL_PORT: terminal.path,
      POSBRIDGE_JOURNAL: join(dir, 'agent-journal.sqlite'), // not ./posbridge-agent-journal.sqlite in the checkout
      LOG_LEVEL: 'info',
    },
    isReady: (line) => line['msg'] === 'agent ready',
    nodeArgs: program.nodeFlags,
  });
  try {
    const pid = agent.process.pid!;
    await new Promise((r) => setTimeout(r, 2_000));
    const rssIdleBytes = rssBytes(pid);
    let rssUnderLoadMaxBytes = rssIdleBytes;
    const sampler = setInterval(() => {
      rssUnderLoadMaxBytes = Math.max(rssUnderLoadMaxBytes, rssBytes(pid));
    }, 50);
    const cpuBefore = cpuTimeMs(pid);
    const loadStarted = performance.now();
    const gateway = new GatewayClient(server.url, BENCH_APP_KEY, BENCH_APP_TOKEN);
    for (let i = 0; i < payments; i++) {
      const paymentId = `AGENTBENCH${Date.now().toString(16)}${i}`.toUpperCase().padEnd(32, '0').slice(0, 32);
      const body = buildCreatePayment({ paymentId, callbackUrl: receiver.callbackUrlFor('T', paymentId) });
      const created = await gateway.createPayment(body);
      const submitUrl = appPayload(created)?.payload['submitUrl'];
      if (typeof submitUrl !== 'string') throw new Error(`unexpected Create Payment answer ${created.status}: ${JSON.stringify(created.body)}`);
      const done = receiver.waitFor(paymentId, 30_000);
      await submitTerminal(submitUrl, 'BENCH0001');
      await done;
    }
    clearInterval(sampler);
    const cpuMsPerPayment = Math.round(((cpuTimeMs(pid) - cpuBefore) / payments) * 10) / 10;
    const wallMsPerPayment = Math.round(((performance.now() - loadStarted) / payments) * 10) / 10;
    const row: AgentRow = {
      ...program,
      startupToReadyMs: Math.round(agent.startupMs),
      rssIdleBytes,
      rssUnderLoadMaxBytes,
      paymentsUnderLoad: payments,
      cpuMsPerPayment,
      wallMsPerPayment,
    };
    log(
      `agent (${program.runtime}, node ${[...program.nodeFlags, program.entry].join(' ')}) start-up to ready ${row.startupToReadyMs} ms, RSS idle ${Math.round(rssIdleBytes / 2 ** 20)} MiB, under load max ${Math.round(rssUnderLoadMaxBytes / 2 ** 20)} MiB (${payments} payments, agent CPU ${cpuMsPerPayment} ms and wall ${wallMsPerPayment} ms per payment)`,
    );
    return row;
  } finally {
    await agent.stop();
    await receiver.close();
    await sim.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}
