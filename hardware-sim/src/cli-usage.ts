/**
 * The command line of `posbridge-sim`: its options (the `node:util` parseArgs table) and the
 * `--help` text, kept apart from `cli.ts` (which starts terminals when imported) so a test can
 * check that the help and the README document every option.
 */
import { DEFAULT_STEP_DELAY_MS } from './index.ts';
import { CONTROL_ACTIONS } from './control.ts';
import { DEFAULT_OUTCOME, SALE_BEHAVIOURS, TEST_AMOUNTS, TEST_CARDS } from './scenarios/outcomes.ts';
import { DEFAULT_SCENARIO, PRIVATE_FIELD_MODES } from './scenarios/scenario.ts';
import { SIM_DIALECTS } from './sim-terminal.ts';

/** Every option of `posbridge-sim`, in the shape `parseArgs` takes. */
export const CLI_OPTIONS = {
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
  'private-field': { type: 'string' },
  'echo-private': { type: 'boolean' },
  'drop-ack': { type: 'string' },
  'delay-ack-ms': { type: 'string' },
  'nak-first': { type: 'boolean' },
  'corrupt-rate': { type: 'string' },
  'garbage-rate': { type: 'string' },
  'duplicate-answer': { type: 'boolean' },
  'wrong-ref': { type: 'string' },
  'wrong-amount': { type: 'string' },
  'reboot-mid-transaction': { type: 'boolean' },
  'control-port': { type: 'string' },
  interactive: { type: 'boolean' },
  'log-file': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Log levels `--log-level` accepts. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const d = DEFAULT_SCENARIO;
const brands = [...new Set(TEST_CARDS.map((r) => r.card.brand))].join(', ');
const cards = (method: 'credit' | 'debit') =>
  TEST_CARDS.filter((r) => r.method === method)
    .map((r) => `${r.unitsDigit} ${r.card.brand} ${r.card.bin}…${r.card.last4}`)
    .join(', ');

/** Wraps `text` at `width` columns, continuation lines indented by `indent` spaces. */
function wrap(text: string, indent = 26, width = 100): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/** The `--help` text. */
export const USAGE = `Usage: posbridge-sim [options]

Simulated payment terminals on real pseudo-terminals (needs socat), speaking PBL/1 or Concert E+.
Prints one line per terminal with the path to give the agent, then runs until Ctrl+C / SIGTERM
(which removes the links). Logs are pino JSON on stderr.

Terminals:
  --serial SN[=DIALECT]   a simulated terminal; repeat for several (default SIM0001). DIALECT is
                          ${SIM_DIALECTS.join(' or ')} (also: pbl1, concert), default --dialect
  --dialect D             dialect of terminals that do not name one (default PBL/1)
  --dir DIR               directory for the pty links: the agent opens DIR/<serial> (default: a new
                          temp directory, printed)

Behaviour (scenario; every terminal):
  --scenario FILE         JSON scenario file (same keys as the control interface, see
                          hardware-sim/README.md); flags given on the command line override it
  --step-delay-ms N       think time between terminal stages, ms (default ${DEFAULT_STEP_DELAY_MS})
  --slow-answer-delay-ms N  extra delay of a slow answer (cents 20), ms (default ${d.slowAnswerDelayMs}: longer
                          than the agent's result wait; shorten both to try it by hand)
  --unplug-ms N           how long the cable stays pulled (cents 40, action unplug), ms
                          (default ${d.unplugMs})
  --reboot-ms N           how long a reboot keeps the terminal silent, ms (default ${d.rebootMs})
  --customer auto|manual  who plays the customer: timers, or you / the control interface
                          (default auto; manual keeps a sale waiting for the card, e.g. to cancel
                          it from VTEX while the terminal works)
  --force-outcome B       ${wrap(`every sale behaves as B whatever its amount: ${SALE_BEHAVIOURS.join(', ')}`)}
  --force-brand BRAND     ${wrap(`every sale is paid with this test card brand: ${brands}`)}
  --seed N                seed of the random faults: runs are reproducible (default ${d.seed})
  --private-field MODE    ${wrap(`Concert E+: what the answer's private field holds: ${PRIVATE_FIELD_MODES.join(', ')} (default ${d.privateField}: the terminal's own reference, as real terminals; blank and zeros as others do; echo: the request's)`)}
  --echo-private          Concert E+: echo the request's private field (same as --private-field echo)

Faults (off by default), on PBL/1 / on Concert E+:
  --drop-ack N            lose the ACK of the first N requests of each transaction / the ACK to
                          the first N ENQs of each exchange
  --delay-ack-ms N        send that ACK N ms late
  --nak-first             NAK the first copy of every SALE/VOID/REFUND / the first request frame
  --corrupt-rate R        probability 0-1 that a sent line has a wrong CRC / that the answer frame
                          has a wrong LRC
  --garbage-rate R        probability 0-1 of noise bytes before a sent line / before the ENQ and
                          the answer frame
  --duplicate-answer      send every RESULT twice / run exchange B twice
  --wrong-ref N           the first N RESULTs / answers of each transaction carry another reference
  --wrong-amount N        Concert E+ only: the first N answers of each transaction carry an amount
                          one minor unit off (the POS must refuse them)
  --reboot-mid-transaction  restart the terminal once the card is read (silent for --reboot-ms, the
                          sale recorded aborted, no answer)

Control and people:
  --control-port N        HTTP control interface on 127.0.0.1:N (0 = any free port; printed):
                          GET /terminals[/SN], GET|PATCH|PUT /terminals/SN/scenario,
                          GET|DELETE /terminals/SN/frames, GET /terminals/SN/sales,
                          POST /terminals/SN/actions {"action": A, "forMs"?: N, "brand"?: B}
                          ${wrap(`with A one of ${CONTROL_ACTIONS.join(', ')}`)}
  --interactive           play the customer at the keyboard (implies --customer manual; logs go
                          to --log-file)
  --log-file FILE         write the logs there instead of stderr (default in interactive mode:
                          posbridge-sim.log)
  --log-level L           ${wrap(`${LOG_LEVELS.join(', ')} (default info; debug shows every frame)`)}
  -h, --help              show this help

Test amounts (the cents of the amount choose the outcome; what VTEX sees through agent and server):
${TEST_AMOUNTS.map((r) => `  ${r.cents}  ${r.behaviour.padEnd(20)} ${r.status} rc=${r.responseCode} → ${r.expected}`).join('\n')}
  ${DEFAULT_OUTCOME.cents.padEnd(2)}  ${DEFAULT_OUTCOME.behaviour.padEnd(20)} approved rc=00
  Concert E+ has no status query and no abort: 20 is unknown until the late answer comes; 30 and
  40 stay unknown (never denied); 60 is approved, then cancelled by the server if VTEX cancelled
  meanwhile.
Test cards (method, last digit of the whole units; Concert E+ always uses the credit row):
  ${wrap(`credit: ${cards('credit')}`, 10)}
  ${wrap(`debit: ${cards('debit')}`, 10)}

Agent timers to shorten for rows 20 and 30 by hand: POSBRIDGE_RESULT_TIMEOUT_MS (PBL/1, default
180000) or POSBRIDGE_CONCERT_ANSWER_TIMEOUT_MS (Concert, default 120000), and
POSBRIDGE_RECOVERY_INTERVAL_MS (default 30000). A Concert terminal needs the agent's
POSBRIDGE_TERMINAL_DRIVER=concert-serial and POSBRIDGE_TERMINAL_SERIAL=<its serial>.

Exit status: 0 stopped by Ctrl+C / SIGTERM or q; 1 bad option, socat missing, or start-up failure.
`;
