/**
 * A pino destination that turns the components' own log lines into a readable timeline of each
 * hop of a payment, for `npm run demo`. It reads what server, agent and simulator log (the hop
 * messages listed in docs/architecture.md), so the demo shows what really happened, not a script.
 */
import type { Writable } from 'node:stream';

/** Labels and colours for each component's lane. */
const LANES: Record<string, { label: string; colour: string }> = {
  gateway: { label: 'VTEX gateway', colour: '\x1b[35m' },
  app: { label: 'inStore app ', colour: '\x1b[36m' },
  ppp: { label: 'server/ppp  ', colour: '\x1b[34m' },
  pos: { label: 'server/pos  ', colour: '\x1b[34m' },
  hub: { label: 'server/hub  ', colour: '\x1b[34m' },
  callback: { label: 'server/cb   ', colour: '\x1b[34m' },
  link: { label: 'agent/link  ', colour: '\x1b[33m' },
  driver: { label: 'agent/serial', colour: '\x1b[33m' },
  terminal: { label: 'terminal-sim', colour: '\x1b[32m' },
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';

/** Fields shown after the message, in this order, when present. */
const SHOWN_FIELDS = [
  'status',
  'outcome',
  'amount',
  'method',
  'appName',
  'serialNumber',
  'agentName',
  'terminals',
  'accepted',
  'httpStatus',
  'attempt',
  'stage',
];

/** Options of {@link createTimeline}. */
export interface TimelineOptions {
  /** Where the timeline goes (the demo uses stdout). */
  out: Pick<Writable, 'write'>;
  /** Colour the lanes (ANSI). Default: when `out` is a TTY. */
  colour?: boolean;
  /** Start of the clock, epoch ms; each line shows `+ms` since then. */
  startedAtMs?: number;
}

/**
 * Creates a pino destination (`{ write(line) }`) that prints one timeline row per hop event.
 * Lines without a known `component`, and debug lines other than wire lines, are dropped.
 */
export function createTimeline(options: TimelineOptions): { write(line: string): void } {
  const colour = options.colour ?? Boolean((options.out as { isTTY?: boolean }).isTTY);
  const startedAtMs = options.startedAtMs ?? Date.now();
  return {
    write(chunk: string) {
      for (const text of chunk.split('\n')) {
        if (!text) continue;
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(text) as Record<string, unknown>;
        } catch {
          continue;
        }
        const row = formatRow(entry, startedAtMs, colour);
        if (row) options.out.write(`${row}\n`);
      }
    },
  };
}

function formatRow(entry: Record<string, unknown>, startedAtMs: number, colour: boolean): string | undefined {
  const component = typeof entry['component'] === 'string' ? entry['component'] : undefined;
  const lane = component ? LANES[component] : undefined;
  if (!lane) return undefined;
  const level = typeof entry['level'] === 'number' ? entry['level'] : 30;
  const msg = String(entry['msg'] ?? '');
  const isWire = msg === 'line sent' || msg === 'line received';
  if (level < 30 && !isWire) return undefined;
  const elapsed = typeof entry['time'] === 'number' ? entry['time'] - startedAtMs : 0;
  const clock = `+${String(Math.max(0, elapsed)).padStart(5)}ms`;
  const paint = (text: string, code: string) => (colour ? `${code}${text}${RESET}` : text);
  if (isWire) {
    const arrow = msg === 'line sent' ? '→' : '←';
    return `${paint(clock, DIM)}  ${paint(lane.label, lane.colour)}  ${arrow} ${paint(String(entry['line'] ?? ''), DIM)}`;
  }
  const details = SHOWN_FIELDS.filter((k) => entry[k] !== undefined)
    .map((k) => `${k}=${typeof entry[k] === 'string' ? entry[k] : JSON.stringify(entry[k])}`)
    .join(' ');
  const warn = level >= 40 ? paint(' [warn]', '\x1b[31m') : '';
  return `${paint(clock, DIM)}  ${paint(lane.label, lane.colour)}  ${msg}${warn}${details ? `  ${paint(details, DIM)}` : ''}`;
}
