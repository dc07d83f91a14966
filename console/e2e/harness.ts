/**
 * Test support of the console's browser suite: the console built by vite into a temporary
 * folder (no manual build), the local stack (server, simulated terminal, agent) serving it at
 * `/console/`, a callback endpoint that can be told to answer 500, console users made with the
 * real `posbridge-server user add` command line, gift cards issued with `posbridge-server giftcard`, payments driven as VTEX does, Debian's
 * Chromium through playwright-core, and axe-core injected into pages. For pairing: the real
 * `posbridge-agent` command line as a child process (`pair`, then `run` against one more
 * simulated terminal on a pty).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startSim, type RunningSim } from '@posbridge/hardware-sim';
import type { Logger } from 'pino';
import { build } from 'vite';
import { appPayload, buildCreatePayment, GatewayClient, SOURCE_NODE_ARGS, startCallbackReceiver, submitTerminal, waitFor, type CallbackReceiver } from '@posbridge/testkit';
import { collectedLogs, startLocalStack, type LocalStack } from '@posbridge/testkit/stack';

/** Repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONSOLE_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Where screenshots go (git-ignored). */
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');

/** Builds the console into a fresh temporary folder; returns it. */
export async function buildConsole(): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), 'posbridge-console-'));
  // vitest sets NODE_ENV=test, which would make vite bundle React's development build.
  const nodeEnv = process.env['NODE_ENV'];
  process.env['NODE_ENV'] = 'production';
  try {
    await build({ configFile: join(CONSOLE_ROOT, 'vite.config.ts'), mode: 'production', logLevel: 'warn', build: { outDir, emptyOutDir: true, sourcemap: false } });
  } finally {
    if (nodeEnv === undefined) delete process.env['NODE_ENV'];
    else process.env['NODE_ENV'] = nodeEnv;
  }
  return outDir;
}

/** Admin API status of a payment, read with the stack's operator token. */
export interface AdminRead {
  payment: { status: string; orderId: string };
  timeline: { component: string; event: string }[];
}

/** The running environment of the suite. */
export interface ConsoleEnv {
  readonly stack: LocalStack;
  readonly receiver: CallbackReceiver;
  readonly logs: Record<string, unknown>[];
  /** Payment ids whose callbacks the endpoint answers 500 (until removed). */
  readonly failing: Set<string>;
  /** Creates a payment with `orderId` and binds it to the terminal, as VTEX and the clerk do; returns its paymentId. */
  pay(value: number, orderId: string): Promise<string>;
  /** `GET /admin/v1/<path>` with the stack's operator token. */
  admin<T>(path: string): Promise<T>;
  /** Waits until the payment's admin status is one of `statuses`. */
  waitStatus(paymentId: string, statuses: string[], timeoutMs?: number): Promise<void>;
  /** Runs `posbridge-server user add` on the stack's database; resolves with its exit code and output. */
  addUser(name: string, role: string, password: string): Promise<{ code: number | null; out: string }>;
  /** Runs `posbridge-server giftcard <args…> --db <the stack's database>`; resolves with its exit code and output. */
  giftcard(args: readonly string[]): Promise<{ code: number | null; out: string }>;
  close(): Promise<void>;
}

/** Agent timers short enough that a lost terminal answer ends `unknown` within a second or two. */
const FAST_AGENT = { ackTimeoutMs: 150, saleAttempts: 3, resultTimeoutMs: 600, statusTimeoutMs: 250, statusAttempts: 4, statusBackoffMs: 100, recoveryIntervalMs: 300, resendIntervalMs: 300 };

/** Starts the callback endpoint, the stack serving `consoleDir`, with one callback attempt (a 500 fails the callback at once). */
export async function startConsoleEnv(consoleDir: string): Promise<ConsoleEnv> {
  const failing = new Set<string>();
  const receiver = await startCallbackReceiver({ respond: (cb) => (failing.has(String(cb.body['paymentId'])) ? 500 : 200) });
  const { logger, lines } = collectedLogs('info');
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      logger,
      stepDelayMs: 5,
      agentTimings: FAST_AGENT,
      serverEnv: { POSBRIDGE_CONSOLE_DIR: consoleDir, POSBRIDGE_CALLBACK_MAX_ATTEMPTS: '1' },
    });
  } catch (err) {
    await receiver.close();
    throw err;
  }
  const serial = stack.terminals[0]?.serialNumber ?? 'SIM0001';
  const gateway = new GatewayClient(stack.pppBaseUrl, stack.appKey, stack.appToken);
  const admin = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${stack.pppBaseUrl}/admin/v1/${path}`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    if (!res.ok) throw new Error(`admin ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  return {
    stack,
    receiver,
    logs: lines,
    failing,
    async pay(value, orderId) {
      const paymentId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
      const transactionId = crypto.randomUUID().replaceAll('-', '').toUpperCase();
      const body = { ...buildCreatePayment({ value, paymentId, transactionId, callbackUrl: receiver.callbackUrlFor(transactionId, paymentId) }), orderId };
      const first = await gateway.createPayment(body);
      const app = appPayload(first);
      if (first.status !== 200 || app === undefined) throw new Error(`create payment answered ${first.status}: ${JSON.stringify(first.body)}`);
      const submitted = await submitTerminal(app.payload['submitUrl'] as string, serial);
      if (submitted.status !== 200) throw new Error(`submitUrl answered ${submitted.status}: ${JSON.stringify(submitted.body)}`);
      return paymentId;
    },
    admin,
    async waitStatus(paymentId, statuses, timeoutMs = 20_000) {
      await waitFor(async () => statuses.includes((await admin<AdminRead>(`payments/${paymentId}`)).payment.status), {
        timeoutMs,
        intervalMs: 100,
        message: `payment ${paymentId} ${statuses.join('|')}`,
      });
    },
    addUser(name, role, password) {
      const child = spawn(
        process.execPath,
        ['--conditions=@posbridge/source', '--import', 'tsx', 'server/bin/posbridge-server.js', 'user', 'add', '--db', join(stack.dir, 'posbridge.sqlite'), '--name', name, '--role', role, '--password-stdin', '--operator', 'console-e2e'],
        { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
      child.stdin.end(`${password}\n`);
      return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
    },
    giftcard(args) {
      const child = spawn(
        process.execPath,
        ['--conditions=@posbridge/source', '--import', 'tsx', 'server/bin/posbridge-server.js', 'giftcard', ...args, '--db', join(stack.dir, 'posbridge.sqlite')],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
      return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
    },
    async close() {
      await stack.close();
      await receiver.close();
    },
  };
}

const AGENT_BIN = 'terminal-agent/bin/posbridge-agent.js';
/** The environment of an agent child: PATH and HOME only, so nothing of this process's POSBRIDGE_* leaks in. */
const agentEnv = (home: string): NodeJS.ProcessEnv => ({ PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home });

/** Runs the real `posbridge-agent <args…>` (this repository's sources) in `cwd`; resolves with its exit code and output. */
export function agentCli(args: readonly string[], cwd: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [...SOURCE_NODE_ARGS, join(ROOT, AGENT_BIN), ...args], { cwd, env: agentEnv(cwd), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

/** A `posbridge-agent run` child process and the simulated terminal it drives. */
export interface AgentProcess {
  readonly child: ChildProcess;
  readonly sim: RunningSim;
  readonly serialNumber: string;
  /** What the agent wrote so far (its JSON log lines). */
  output(): string;
  /** SIGTERM to this child (by its pid), waits for its exit (SIGKILL after 5 s), then closes the simulator. */
  stop(): Promise<void>;
}

/**
 * Starts a simulated PBL/1 terminal `serialNumber` on a pty (socat) and the real
 * `posbridge-agent run --config <configPath> --port <pty>` in `dir`, as a technician would after
 * `posbridge-agent pair`.
 */
export async function startAgentProcess(dir: string, configPath: string, serialNumber: string, logger: Logger): Promise<AgentProcess> {
  const sim = await startSim({ terminals: [{ serialNumber, dialect: 'PBL/1' }], logger, dir, link: 'pty', stepDelayMs: 5 });
  const handle = sim.terminals[0];
  const path = handle?.link === 'pty' ? handle.path : undefined;
  if (path === undefined) {
    await sim.close();
    throw new Error('the simulator made no pty');
  }
  const child = spawn(
    process.execPath,
    [...SOURCE_NODE_ARGS, join(ROOT, AGENT_BIN), 'run', '--config', configPath, '--port', path, '--journal', join(dir, 'journal.sqlite'), '--log-level', 'info'],
    { cwd: dir, env: agentEnv(dir), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    sim,
    serialNumber,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await sim.close();
    },
  };
}

/** Debian's Chromium, the only browser that installs here (playwright cannot download one). */
export const CHROMIUM = process.env['POSBRIDGE_CHROMIUM'] ?? '/usr/bin/chromium';

/** Launches Chromium headless with the flags of the Payment App's suite; fails with the fix if it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) or set POSBRIDGE_CHROMIUM`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** axe-core's browser build. */
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** A serious or critical axe violation, short enough to read in a failure message. */
export interface A11yViolation {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core (WCAG 2 A/AA and best-practice rules) on the page and returns its serious and
 * critical violations. The context must be made with `bypassCSP: true` (the console's CSP
 * refuses injected scripts, as it should).
 */
export async function seriousViolations(page: Page): Promise<A11yViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact ?? '', help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

/** Removes a temporary build folder. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
