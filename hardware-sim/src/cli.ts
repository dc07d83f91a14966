/**
 * `posbridge-sim`: runs simulated payment terminals (PBL/1, Concert E+) on socat
 * pseudo-terminals for a technician or tester. Prints one line per terminal on stdout (the path
 * to give the agent), logs pino JSON on stderr (to a file in interactive mode), and stops cleanly
 * on SIGINT/SIGTERM. Every option is in {@link USAGE} (`cli-usage.ts`).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { CLI_OPTIONS, LOG_LEVELS, USAGE } from './cli-usage.ts';
import { CONCERT_EPLUS } from './dialects/concert.ts';
import { startSim, type RunningSim, type SimTerminalSpec } from './index.ts';
import { runInteractive } from './interactive.ts';
import { createSimLogger } from './logger.ts';
import { findExecutable, SOCAT_INSTALL_HINT } from './pty.ts';
import { parseScenarioPatch, type SimScenarioPatch } from './scenarios/scenario.ts';
import { parseDialect } from './sim-terminal.ts';

function fail(message: string): never {
  process.stderr.write(`posbridge-sim: ${message}\n`);
  process.exit(1);
}

let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    options: CLI_OPTIONS,
    strict: true,
    allowPositionals: false,
  });
} catch (err) {
  fail(`${(err as Error).message}\n\n${USAGE}`);
}
const { values } = parsed;
if (values['echo-private'] === true && values['private-field'] !== undefined && values['private-field'] !== 'echo') {
  fail('--echo-private and --private-field say different things: give one');
}
if (values.help === true) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const level = values['log-level'] ?? 'info';
if (!(LOG_LEVELS as readonly string[]).includes(level)) fail(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);

const whole = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) fail(`--${name} must be a whole number ≥ 0`);
  return Number(text);
};
const rate = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d*\.?\d+$/.test(text) || n > 1) fail(`--${name} must be a number from 0 to 1`);
  return n;
};

// Scenario: file first, then flags.
let scenario: SimScenarioPatch = {};
try {
  if (values.scenario !== undefined) scenario = parseScenarioPatch(JSON.parse(readFileSync(values.scenario, 'utf8')));
  const flags: Record<string, unknown> = {
    stepDelayMs: whole('step-delay-ms', values['step-delay-ms']),
    slowAnswerDelayMs: whole('slow-answer-delay-ms', values['slow-answer-delay-ms']),
    unplugMs: whole('unplug-ms', values['unplug-ms']),
    rebootMs: whole('reboot-ms', values['reboot-ms']),
    customer: values.interactive === true && values.customer === undefined ? 'manual' : values.customer,
    forceBehaviour: values['force-outcome'],
    forceBrand: values['force-brand'],
    seed: whole('seed', values.seed),
    privateField: values['echo-private'] === true ? 'echo' : values['private-field'],
  };
  const faults: Record<string, unknown> = {
    dropAck: whole('drop-ack', values['drop-ack']),
    delayAckMs: whole('delay-ack-ms', values['delay-ack-ms']),
    nakFirst: values['nak-first'],
    corruptRate: rate('corrupt-rate', values['corrupt-rate']),
    garbageRate: rate('garbage-rate', values['garbage-rate']),
    duplicateAnswer: values['duplicate-answer'],
    wrongRef: whole('wrong-ref', values['wrong-ref']),
    wrongAmount: whole('wrong-amount', values['wrong-amount']),
    rebootMidTransaction: values['reboot-mid-transaction'],
  };
  const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const fromFlags = parseScenarioPatch({ ...defined(flags), faults: defined(faults) });
  scenario = { ...scenario, ...fromFlags, faults: { ...(scenario.faults ?? {}), ...(fromFlags.faults ?? {}) } };
} catch (err) {
  fail((err as Error).message);
}

let terminals: SimTerminalSpec[];
try {
  const fallback = parseDialect(values.dialect ?? 'PBL/1');
  terminals = (values.serial ?? ['SIM0001']).map((spec) => {
    const [serialNumber = '', dialect] = spec.split('=');
    return { serialNumber, dialect: dialect === undefined ? fallback : parseDialect(dialect) };
  });
} catch (err) {
  fail((err as Error).message);
}
const controlPort = whole('control-port', values['control-port']);
const interactive = values.interactive === true;
if (interactive && process.stdin.isTTY !== true) fail('--interactive needs a terminal (TTY) on stdin');

const logFile = values['log-file'] ?? (interactive ? 'posbridge-sim.log' : undefined);
const logger = createSimLogger(level, logFile === undefined ? pino.destination(2) : pino.destination({ dest: logFile, mkdir: true }));

if ((await findExecutable('socat')) === undefined) {
  fail(`socat not found — ${SOCAT_INSTALL_HINT}. The standalone simulator needs it to create the pseudo-terminal the agent opens.`);
}

let sim: RunningSim;
try {
  sim = await startSim({
    terminals,
    logger,
    link: 'pty', // the standalone simulator cannot fall back: no agent runs in this process
    scenario,
    ...(values.dir !== undefined ? { dir: values.dir } : {}),
    ...(controlPort !== undefined ? { controlPort } : {}),
  });
} catch (err) {
  fail(err instanceof Error ? err.message : `could not start: ${String(err)}`);
}

for (const t of sim.terminals) {
  if (t.link !== 'pty') continue;
  // Concert E+ cannot tell its serial number or dialect: the agent must be told both.
  const agentEnv =
    t.dialect === CONCERT_EPLUS
      ? `POSBRIDGE_TERMINAL_PORT=${t.path} POSBRIDGE_TERMINAL_DRIVER=concert-serial POSBRIDGE_TERMINAL_SERIAL=${t.serialNumber}`
      : `POSBRIDGE_TERMINAL_PORT=${t.path}`;
  process.stdout.write(`terminal ${t.serialNumber} ready on ${t.path} (${t.dialect}) — point the agent at it: ${agentEnv}\n`);
}
if (sim.controlUrl !== undefined) process.stdout.write(`control interface on ${sim.controlUrl} (GET /terminals)\n`);

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  try {
    await sim.close();
    logger.flush();
    process.exit(0);
  } catch (err) {
    logger.error({ err }, 'could not stop cleanly');
    logger.flush();
    process.exit(1);
  }
}
process.once('SIGINT', (s) => void stop(s));
process.once('SIGTERM', (s) => void stop(s));

if (interactive) {
  await runInteractive(sim.terminals, { input: process.stdin, output: process.stdout });
  await stop('quit');
} else {
  process.stdout.write('press Ctrl+C to stop\n');
}
