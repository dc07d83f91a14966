/**
 * `npm run stack` — server, simulated terminal and agent, running for other tools to drive
 * (the Payment App's browser test, an independent PPP client, a person with curl).
 *
 * Contract (kept by test/e2e/stack-contract.test.ts):
 * - honours `PORT` (`0` = any free port; default 8080);
 * - when ready, prints exactly one JSON line on stdout:
 *   `{"event":"ready","pppBaseUrl":"http://127.0.0.1:<port>","appKey":"…","appToken":"…","terminals":[{"serialNumber":"…"}]}`
 * - logs go to stderr as JSON lines;
 * - SIGTERM or SIGINT stops it cleanly, socat included, and removes its temporary folder; it
 *   exits within `STACK_EXIT_TIMEOUT_MS` whatever hangs (status 1, printing what was still open).
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { logRedaction } from '@posbridge/protocol/redaction';
import { startLocalStack, armExitWatchdog } from '@posbridge/testkit/stack';

/** The stack exits at most this long after SIGTERM/SIGINT, ms (each close step is bounded to 5 s). */
const STACK_EXIT_TIMEOUT_MS = 25_000;

const HELP = `Usage: npm run stack [-- options]

Starts the posbridge server (SQLite in a temporary folder), one simulated terminal on a
pseudo-terminal and a connected agent, then prints one JSON "ready" line on stdout.
Logs go to stderr. Stop with Ctrl-C or SIGTERM: it exits within 25 s (status 1 and a list of
what was still open when it had to force the exit).

Environment:
  PORT        HTTP port of the server; 0 = any free port (default 8080)
  LOG_LEVEL   pino level of the stderr logs (default info)
  POSBRIDGE_CALLBACK_ALLOW_HOSTS
              callback hosts allowed besides loopback, host[:port],… (loopback always is)

Options:
  --serial <serial>    serial number of the simulated terminal (default SIM0001)
  --step-delay-ms <n>  simulator think time between terminal stages (default 250)
  -h, --help           show this help`;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    serial: { type: 'string', default: 'SIM0001' },
    'step-delay-ms': { type: 'string', default: '250' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

const port = Number(process.env['PORT'] ?? '8080');
const stepDelayMs = Number(values['step-delay-ms']);
if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isInteger(stepDelayMs) || stepDelayMs < 0) {
  process.stderr.write(`PORT must be 0–65535 and --step-delay-ms a whole number ≥ 0\n\n${HELP}\n`);
  process.exit(2);
}

// The same redaction and token masking as the three programs' own root loggers.
const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'info', ...logRedaction() }, pino.destination({ fd: 2, sync: true }));

try {
  const callbackAllowHosts = process.env['POSBRIDGE_CALLBACK_ALLOW_HOSTS'];
  const stack = await startLocalStack({ logger, port, serialNumber: values.serial, stepDelayMs, ...(callbackAllowHosts ? { callbackAllowHosts } : {}) });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stack stopping');
    armExitWatchdog({ afterMs: STACK_EXIT_TIMEOUT_MS, what: 'the stack', code: 1 });
    stack.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stack did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  logger.info({ dir: stack.dir, pppBaseUrl: stack.pppBaseUrl, terminals: stack.terminals }, 'local stack ready');
  process.stdout.write(
    `${JSON.stringify({
      event: 'ready',
      pppBaseUrl: stack.pppBaseUrl,
      appKey: stack.appKey,
      appToken: stack.appToken,
      terminals: stack.terminals.map((t) => ({ serialNumber: t.serialNumber })),
    })}\n`,
  );
} catch (err) {
  logger.fatal({ err }, 'stack failed to start');
  process.exit(1);
}
