/**
 * `posbridge-sim`: runs simulated PBL/1 terminals on socat pseudo-terminals for a technician or
 * tester. Prints one line per terminal on stdout (the path to give the agent), logs pino JSON on
 * stderr, and stops cleanly on SIGINT/SIGTERM.
 *
 *   posbridge-sim [--serial SN]... [--dir DIR] [--step-delay-ms N] [--log-level L] [--help]
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { DEFAULT_STEP_DELAY_MS, startSim, type RunningSim } from './index.ts';
import { findExecutable, SOCAT_INSTALL_HINT } from './pty.ts';

const USAGE = `Usage: posbridge-sim [options]

Simulated payment terminals speaking PBL/1 on real pseudo-terminals (needs socat).

Options:
  --serial SN          serial number of a simulated terminal; repeat for several (default SIM0001)
  --dir DIR            directory for the pty links (default: a new temp directory)
  --step-delay-ms N    think time between progress stages, in ms (default ${DEFAULT_STEP_DELAY_MS})
  --log-level L        pino level: trace, debug, info, warn, error, fatal, silent (default info)
  -h, --help           show this help

Test amounts: cents 05 (e.g. 13.05) are declined with rc 51; any other amount is approved.
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
      dir: { type: 'string' },
      'step-delay-ms': { type: 'string' },
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
const stepText = values['step-delay-ms'];
const stepDelayMs = stepText === undefined ? DEFAULT_STEP_DELAY_MS : Number(stepText);
if (!/^\d+$/.test(stepText ?? '0') || !Number.isSafeInteger(stepDelayMs)) fail('--step-delay-ms must be a non-negative integer');
const serials = values.serial ?? ['SIM0001'];

const logger = pino({ level, base: { app: 'posbridge-sim' } }, pino.destination(2));

if ((await findExecutable('socat')) === undefined) {
  fail(`socat not found — ${SOCAT_INSTALL_HINT}. The standalone simulator needs it to create the pseudo-terminal the agent opens.`);
}

let sim: RunningSim;
try {
  sim = await startSim({
    terminals: serials.map((serialNumber) => ({ serialNumber })),
    logger,
    link: 'pty', // the standalone simulator cannot fall back: no agent runs in this process
    stepDelayMs,
    ...(values.dir !== undefined ? { dir: values.dir } : {}),
  });
} catch (err) {
  fail(err instanceof Error ? err.message : `could not start: ${String(err)}`);
}

for (const t of sim.terminals) {
  if (t.link !== 'pty') continue;
  process.stdout.write(
    `terminal ${t.serialNumber} ready on ${t.path} (PBL/1) — point the agent at it: POSBRIDGE_TERMINAL_PORT=${t.path}\n`,
  );
}
process.stdout.write('press Ctrl+C to stop\n');

let stopping = false;
async function stop(signal: NodeJS.Signals): Promise<void> {
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
