/**
 * `posbridge-sim`: runs simulated payment terminals (PBL/1, Concert E+) on socat
 * pseudo-terminals for a technician or tester. Prints one line per terminal on stdout (the path
 * to give the agent), logs pino JSON on stderr (to a file in interactive mode), and stops cleanly
 * on SIGINT/SIGTERM. Every option is in {@link USAGE}.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { DEFAULT_STEP_DELAY_MS, startSim, type RunningSim, type SimTerminalSpec } from './index.ts';
import { runInteractive } from './interactive.ts';
import { findExecutable, SOCAT_INSTALL_HINT } from './pty.ts';
import { DEFAULT_OUTCOME, SALE_BEHAVIOURS, TEST_AMOUNTS, TEST_CARDS } from './scenarios/outcomes.ts';
import { DEFAULT_SCENARIO, parseScenarioPatch, type SimScenarioPatch } from './scenarios/scenario.ts';
import { parseDialect, SIM_DIALECTS } from './sim-terminal.ts';

const d = DEFAULT_SCENARIO;
const USAGE = `Usage: posbridge-sim [options]

Simulated payment terminals on real pseudo-terminals (needs socat), speaking PBL/1 or Concert E+.

Terminals:
  --serial SN[=DIALECT]   a simulated terminal; repeat for several (default SIM0001). DIALECT is
                          ${SIM_DIALECTS.join(' or ')} (also: pbl1, concert), default --dialect
  --dialect D             dialect of terminals that do not name one (default PBL/1)
  --dir DIR               directory for the pty links, DIR/<serial> (default: a new temp directory)

Behaviour (scenario; every terminal):
  --scenario FILE         JSON scenario file (same keys as below, see hardware-sim/README.md);
                          flags given on the command line override it
  --step-delay-ms N       think time between terminal stages, ms (default ${DEFAULT_STEP_DELAY_MS})
  --slow-answer-delay-ms N  extra delay of a slow answer (cents 20), ms (default ${d.slowAnswerDelayMs})
  --unplug-ms N           how long the cable stays pulled (cents 40), ms (default ${d.unplugMs})
  --reboot-ms N           how long a reboot keeps the terminal silent, ms (default ${d.rebootMs})
  --customer auto|manual  who plays the customer: timers, or you/the control interface (default auto)
  --force-outcome B       every sale behaves as B whatever its amount: ${SALE_BEHAVIOURS.join(', ')}
  --force-brand BRAND     every sale is paid with this test card brand: ${[...new Set(TEST_CARDS.map((r) => r.card.brand))].join(', ')}
  --seed N                seed of the random faults (default ${d.seed})

Faults (off by default):
  --drop-ack N            lose the ACK of the first N requests of each transaction
  --delay-ack-ms N        send that ACK N ms late
  --nak-first             NAK the first copy of every transaction request
  --corrupt-rate R        probability 0-1 that a sent frame has a wrong CRC/LRC
  --garbage-rate R        probability 0-1 of noise bytes before a sent frame
  --duplicate-answer      send every final answer twice
  --wrong-ref N           the first N final answers of each transaction carry another reference
  --reboot-mid-transaction  restart the terminal in the middle of every sale

Control and people:
  --control-port N        HTTP control interface on 127.0.0.1:N (0 = any free port; printed)
  --interactive           play the customer at the keyboard (implies --customer manual; logs go
                          to --log-file)
  --log-file FILE         write the logs there instead of stderr (default in interactive mode:
                          posbridge-sim.log)
  --log-level L           trace, debug, info, warn, error, fatal, silent (default info; debug
                          shows every frame)
  -h, --help              show this help

Test amounts (cents of the amount choose the outcome):
${TEST_AMOUNTS.map((r) => `  ${r.cents}  ${r.behaviour.padEnd(20)} ${r.status} rc=${r.responseCode} → ${r.expected}`).join('\n')}
  ${DEFAULT_OUTCOME.cents.padEnd(2)}  ${DEFAULT_OUTCOME.behaviour.padEnd(20)} approved rc=00
Test cards (method, last digit of the whole units): ${TEST_CARDS.map((r) => `${r.method} ${r.unitsDigit}: ${r.card.brand} ${r.card.bin}…${r.card.last4}`).join('; ')}
`;

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function fail(message: string): never {
  process.stderr.write(`posbridge-sim: ${message}\n`);
  process.exit(1);
}

let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    options: {
      serial: { type: 'string', multiple: true },
      dialect: { type: 'string' },
      dir: { type: 'string' },
      scenario: { type: 'string' },
      'step-delay-ms': { type: 'string' },
      'slow-answer-delay-ms': { type: 'string' },
      'unplug-ms': { type: 'string' },
      'reboot-ms': { type: 'string' },
      customer: { type: 'string' },
      'force-outcome': { type: 'string' },
      'force-brand': { type: 'string' },
      seed: { type: 'string' },
      'drop-ack': { type: 'string' },
      'delay-ack-ms': { type: 'string' },
      'nak-first': { type: 'boolean' },
      'corrupt-rate': { type: 'string' },
      'garbage-rate': { type: 'string' },
      'duplicate-answer': { type: 'boolean' },
      'wrong-ref': { type: 'string' },
      'reboot-mid-transaction': { type: 'boolean' },
      'control-port': { type: 'string' },
      interactive: { type: 'boolean' },
      'log-file': { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
} catch (err) {
  fail(`${(err as Error).message}\n\n${USAGE}`);
}
const { values } = parsed;
if (values.help === true) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const level = values['log-level'] ?? 'info';
if (!LEVELS.includes(level)) fail(`--log-level must be one of ${LEVELS.join(', ')}`);

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
  };
  const faults: Record<string, unknown> = {
    dropAck: whole('drop-ack', values['drop-ack']),
    delayAckMs: whole('delay-ack-ms', values['delay-ack-ms']),
    nakFirst: values['nak-first'],
    corruptRate: rate('corrupt-rate', values['corrupt-rate']),
    garbageRate: rate('garbage-rate', values['garbage-rate']),
    duplicateAnswer: values['duplicate-answer'],
    wrongRef: whole('wrong-ref', values['wrong-ref']),
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
const logger = pino({ level, base: { app: 'posbridge-sim' } }, logFile === undefined ? pino.destination(2) : pino.destination({ dest: logFile, mkdir: true }));

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
  process.stdout.write(
    `terminal ${t.serialNumber} ready on ${t.path} (${t.dialect}) — point the agent at it: POSBRIDGE_TERMINAL_PORT=${t.path}\n`,
  );
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
