/**
 * `posbridge-agent` command line: `posbridge-agent [run] [--config <file.json>]`, `--help`.
 * Writes only usage text itself; everything else is logged by the agent (pino, stdout).
 */
import { parseArgs } from 'node:util';
import { main } from './main.ts';

const USAGE = `Usage: posbridge-agent [run] [--config <file.json>]

Runs the posbridge terminal agent: keeps one WebSocket to the posbridge server and drives
the payment terminal(s) on serial ports (PBL/1 line dialect).

Commands:
  run                 run the agent (default)

Options:
  -c, --config <file> JSON config file (keys as in terminal-agent/README.md); env wins over it
  -h, --help          show this help

Environment:
  POSBRIDGE_SERVER_URL       hub URL, ws://host:port/agent/v1                (required)
  POSBRIDGE_AGENT_TOKEN      agent token issued by the server                (required)
  POSBRIDGE_TERMINAL_PORT    serial port of the terminal, e.g. /dev/ttyACM0  (required unless in --config)
  POSBRIDGE_TERMINAL_BAUD    baud rate (default 9600)
  POSBRIDGE_TERMINAL_SERIAL  expected serial number (default: read with IDENT)
  LOG_LEVEL                  fatal|error|warn|info|debug|trace|silent (default info)
  POSBRIDGE_<KNOB>           timing knobs, e.g. POSBRIDGE_RESULT_TIMEOUT_MS (see README)

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 agent could not become ready, 2 invalid configuration.
`;

const args = process.argv.slice(2);
let parsed;
try {
  parsed = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
} catch (err) {
  process.stderr.write(`posbridge-agent: ${(err as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
const [command = 'run', ...extra] = parsed.positionals;
if (parsed.values.help === true) {
  process.stdout.write(USAGE);
} else if (command !== 'run' || extra.length > 0) {
  process.stderr.write(`posbridge-agent: unknown command ${JSON.stringify([command, ...extra].join(' '))}\n\n${USAGE}`);
  process.exitCode = 2;
} else {
  await main(args);
}
