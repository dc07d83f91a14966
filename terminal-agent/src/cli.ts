/**
 * `posbridge-agent` command line: `run | ports | hid | identify | doctor | pair | totals`, `--help`.
 * Writes only usage text and command output itself; `run` logs through pino (stdout).
 * Each command's module loads when that command runs: `run` does not load the doctor and the
 * listing commands (docs/performance.md "Agent footprint").
 */
import { parseArgs } from 'node:util';
import { AGENT_FLAG_OPTIONS, readProcessEnv } from './config.ts';
import type { CommandIo } from './commands.ts';

const USAGE = `Usage: posbridge-agent <command> [options]

Runs the posbridge terminal agent: keeps one WebSocket to the posbridge server and drives the
payment terminal(s) on serial ports or USB HID (PBL/1 line dialect, Ingenico Concert E+).

Commands:
  run                 run the agent (default)
  ports               list serial ports with their stable /dev/serial/by-id links and USB ids
  hid                 list USB HID devices (vendor/product id, serial, manufacturer, product)
  identify            open each configured terminal and print its identity
  doctor              check port, permissions, libusb, journal, server, token, clock: pass/fail table
  pair <code>         exchange a pairing code for this agent's token (see posbridge-agent pair --help)
  totals              the terminal's own totals of a day, compared with the server's report
                      (see posbridge-agent totals --help)

Options:
  -c, --config <file> JSON config file (keys as in terminal-agent/README.md)
      --server-url <u>  hub URL, ws(s)://host:port/agent/v1; several (cluster) separated by commas
      --port <path>       terminal serial port (prefer /dev/serial/by-id/…)
      --baud <n>          baud rate (default 9600)
      --serial <sn>       terminal serial number (required for Concert E+)
      --driver <name>     pbl1-serial (default) | concert-serial | pbl1-hid
      --pos-number <n>    Concert cash-register number (default 1)
      --journal <file>    SQLite journal (default ./posbridge-agent-journal.sqlite)
      --log-level <lvl>   fatal|error|warn|info|debug|trace|silent
      --json              machine-readable output (ports, hid, identify, doctor)
  -h, --help          show this help

Sources, later wins: defaults < --config file < environment < flags. The token comes only from
the environment (POSBRIDGE_AGENT_TOKEN, or POSBRIDGE_AGENT_TOKEN_FILE naming a file of mode 0600)
or the config file (token, or tokenFile as posbridge-agent pair writes it).

Environment:
  POSBRIDGE_SERVER_URL, POSBRIDGE_AGENT_TOKEN or POSBRIDGE_AGENT_TOKEN_FILE (required), POSBRIDGE_TERMINAL_PORT,
  POSBRIDGE_TERMINAL_BAUD, POSBRIDGE_TERMINAL_SERIAL, POSBRIDGE_TERMINAL_DRIVER,
  POSBRIDGE_TERMINAL_POS_NUMBER, POSBRIDGE_JOURNAL, LOG_LEVEL,
  POSBRIDGE_<KNOB> timing knobs, e.g. POSBRIDGE_RESULT_TIMEOUT_MS (see README)

Exit codes: 0 ok / stopped by SIGINT or SIGTERM; 1 agent not ready, or a doctor/identify check
failed; 2 invalid configuration or usage.
`;

const args = process.argv.slice(2);
const ownIo: CommandIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), env: readProcessEnv(), argv: args, json: false };
if (args[0] === 'pair') {
  process.exitCode = await (await import('./pair.ts')).pairCommand(args.slice(1), ownIo);
} else if (args[0] === 'totals') {
  process.exitCode = await (await import('./totals-command.ts')).totalsCommand(args.slice(1), ownIo);
} else {
  await runCommand();
}

/** Every command but `pair`, on the agent's own flags. */
async function runCommand(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: AGENT_FLAG_OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`posbridge-agent: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  const [command = 'run', ...extra] = parsed.positionals;
  const io: CommandIo = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    env: readProcessEnv(),
    argv: args,
    json: parsed.values.json === true,
  };
  if (parsed.values.help === true) {
    process.stdout.write(USAGE);
  } else if (extra.length > 0) {
    process.stderr.write(`posbridge-agent: unexpected argument ${JSON.stringify(extra.join(' '))}\n\n${USAGE}`);
    process.exitCode = 2;
  } else {
    switch (command) {
      case 'run':
        await (await import('./main.ts')).main(args);
        break;
      case 'ports':
        process.exitCode = await (await import('./commands.ts')).portsCommand(io);
        break;
      case 'hid':
        process.exitCode = await (await import('./commands.ts')).hidCommand(io);
        break;
      case 'identify':
        process.exitCode = await (await import('./commands.ts')).identifyCommand(io);
        break;
      case 'doctor':
        process.exitCode = await (await import('./commands.ts')).doctorCommand(io);
        break;
      default:
        process.stderr.write(`posbridge-agent: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        process.exitCode = 2;
    }
  }
}
