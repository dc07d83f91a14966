/**
 * `posbridge-agent totals` (terminal-agent/README.md "Terminal totals", docs/totals.md): asks each
 * configured PBL/1 terminal for its totals of a day (`TOTALS`, docs/protocol/terminal-line.md)
 * and prints them; with `--compare <report.json>` (the output of `posbridge-server totals --json`,
 * or `GET /admin/v1/totals`) it prints, per currency, method and bucket, posbridge's count and sum,
 * the terminal's, and the difference (terminal − posbridge), plus posbridge's `unknown` and
 * `in_progress` payments of that terminal, which usually explain a difference.
 *
 * The command opens the terminal's port itself: run it while the agent is stopped (end of day),
 * as `identify`. Exit codes: 0 printed (and, with `--compare`, everything matches); 1 a terminal
 * did not answer, or a difference was found; 2 usage or configuration.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { z } from 'zod';
import { isCodedError, toError } from '@posbridge/protocol/errors';
import { currencyInfo, formatMoney } from '@posbridge/protocol/money';
import { compareTotals, type TerminalTotalsLine } from '@posbridge/protocol/terminal';
import type { CommandIo } from './commands.ts';
import { AGENT_FLAG_OPTIONS, loadAgentConfig, type AgentConfig } from './config.ts';
import { createDriver, openTerminalPort } from './drivers/registry.ts';
import { requestLineTotals } from './drivers/line/line-totals.ts';
import { newRid } from './session/ids.ts';

/** Usage of `totals`. */
export const TOTALS_USAGE = `Usage: posbridge-agent totals [--date YYYY-MM-DD] [--compare report.json] [--json] [-c agent.json | --port …]

Asks each configured PBL/1 terminal for its own totals of a day (default: the report's day with
--compare, else today in UTC) and prints them. With --compare, the JSON of
"posbridge-server totals --date D --merchant M --json" (or GET /admin/v1/totals) is lined up with
the terminal's: count and sum per currency, method and status, and the difference
(terminal − posbridge). Stop the agent first: this command opens the terminal's port itself.
Exit 0: printed (and everything matches); 1: a terminal did not answer or a difference; 2: usage.
`;

/** The part of a totals report (server/src/totals/totals-report.ts) the comparison reads. */
const ReportSchema = z.object({
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  rows: z.array(
    z.object({
      serialNumber: z.string(),
      currency: z.string().length(3),
      method: z.enum(['credit', 'debit']),
      bucket: z.string(),
      count: z.number().int().nonnegative(),
      amountMinor: z.number().int().nonnegative(),
    }),
  ),
});

const money = (amountMinor: number, currency: string): string => {
  try {
    return formatMoney({ amountMinor, currency });
  } catch {
    return `${currency} ${amountMinor} (minor units)`;
  }
};

/** Runs `totals`. @param args - the arguments after `totals`. */
export async function totalsCommand(args: readonly string[], io: CommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], strict: true, allowPositionals: false, options: { ...AGENT_FLAG_OPTIONS, date: { type: 'string' }, compare: { type: 'string' } } });
  } catch (err) {
    io.err(`posbridge-agent totals: ${(err as Error).message}\n\n${TOTALS_USAGE}`);
    return 2;
  }
  const { date: dateFlag, compare, help, json, ...rest } = parsed.values;
  if (help === true) {
    io.out(TOTALS_USAGE);
    return 0;
  }
  let report: z.infer<typeof ReportSchema> | undefined;
  if (compare !== undefined) {
    try {
      report = ReportSchema.parse(JSON.parse(readFileSync(compare, 'utf8')));
    } catch (err) {
      io.err(`posbridge-agent totals: ${compare} is not a posbridge totals report (posbridge-server totals --json): ${toError(err).message.slice(0, 300)}\n`);
      return 2;
    }
  }
  const date = dateFlag ?? report?.date ?? new Date().toISOString().slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) {
    io.err('posbridge-agent totals: --date must be YYYY-MM-DD\n');
    return 2;
  }
  const configArgv = Object.entries(rest).flatMap(([k, v]) => (typeof v === 'string' ? [`--${k}`, v] : []));
  let config: AgentConfig;
  try {
    config = loadAgentConfig({ ...io.env, POSBRIDGE_SERVER_URL: io.env['POSBRIDGE_SERVER_URL'] ?? 'ws://unused.invalid/agent/v1', POSBRIDGE_AGENT_TOKEN: io.env['POSBRIDGE_AGENT_TOKEN'] ?? 'unused' }, configArgv);
  } catch (err) {
    io.err(`posbridge-agent: ${toError(err).message}\n`);
    return 2;
  }
  const logger = pino({ level: 'silent' });
  const results: Record<string, unknown>[] = [];
  let failed = 0;
  for (const terminal of config.terminals) {
    if (terminal.dialect !== 'PBL/1') {
      results.push({ path: terminal.path, error: `${terminal.dialect} has no totals request; only PBL/1 terminals report totals` });
      continue;
    }
    try {
      let serialNumber = terminal.serialNumber;
      if (serialNumber === undefined) {
        const driver = await createDriver({ terminal, config, logger });
        try {
          serialNumber = (await driver.identify()).serialNumber;
        } finally {
          await driver.close();
        }
      }
      const stream = await openTerminalPort(terminal);
      let answer;
      try {
        answer = await requestLineTotals(stream, { rid: newRid('t'), date: date.replaceAll('-', ''), timeoutMs: config.identTimeoutMs, attempts: 3 });
      } finally {
        await new Promise<void>((resolve) => {
          stream.once('close', () => resolve());
          stream.destroy();
          setTimeout(resolve, 500).unref();
        });
      }
      const lines: TerminalTotalsLine[] = answer.entries.map((e) => ({
        currency: currencyInfo(e.currency).alpha,
        method: e.method,
        bucket: e.bucket === 'declined' ? 'denied' : e.bucket,
        count: e.count,
        amountMinor: e.amountMinor,
      }));
      const result: Record<string, unknown> = { path: terminal.path, serialNumber, date, terminal: lines };
      if (report !== undefined) {
        const ours = report.rows.filter((r) => r.serialNumber === serialNumber);
        const cmp = compareTotals(ours, lines);
        if (!cmp.matches) failed += 1;
        Object.assign(result, { comparison: cmp.lines, matches: cmp.matches, unresolved: cmp.unresolved });
      }
      results.push(result);
    } catch (err) {
      failed += 1;
      results.push({ path: terminal.path, error: isCodedError(err) ? `${err.code}: ${err.message}` : toError(err).message });
    }
  }
  if (json === true) io.out(`${JSON.stringify(results, null, 2)}\n`);
  else for (const r of results) io.out(describe(r));
  return failed > 0 ? 1 : 0;
}

/** The text form of one terminal's result. */
function describe(r: Record<string, unknown>): string {
  if (typeof r['error'] === 'string') return `${String(r['path'])}: ${r['error']}\n`;
  let out = `terminal ${String(r['serialNumber'])} (${String(r['path'])}), ${String(r['date'])}\n`;
  const comparison = r['comparison'] as ReturnType<typeof compareTotals>['lines'] | undefined;
  if (comparison === undefined) {
    const lines = r['terminal'] as TerminalTotalsLine[];
    if (lines.length === 0) out += '  no transactions\n';
    for (const l of lines) out += `  ${l.currency} ${l.method.padEnd(6)} ${l.bucket.padEnd(9)} ${String(l.count).padStart(5)}  ${money(l.amountMinor, l.currency)}\n`;
    return out;
  }
  out += '  currency method status     posbridge                terminal                 difference\n';
  for (const l of comparison) {
    const cell = (count: number, amount: number) => `${String(count).padStart(4)} ${money(amount, l.currency)}`.padEnd(24);
    const diff = l.countDifference === 0 && l.amountDifferenceMinor === 0 ? 'ok' : `${l.countDifference >= 0 ? '+' : ''}${l.countDifference} / ${l.amountDifferenceMinor >= 0 ? '+' : '-'}${money(Math.abs(l.amountDifferenceMinor), l.currency)}`;
    out += `  ${l.currency.padEnd(8)} ${l.method.padEnd(6)} ${l.bucket.padEnd(10)} ${cell(l.ours.count, l.ours.amountMinor)} ${cell(l.terminal.count, l.terminal.amountMinor)} ${diff}\n`;
  }
  const unresolved = r['unresolved'] as { bucket: string; count: number; amountMinor: number; currency: string; method: string }[];
  for (const u of unresolved) out += `  posbridge also has ${u.count} ${u.method} payment(s) ${u.bucket} (${money(u.amountMinor, u.currency)}): resolve them, they may explain a difference\n`;
  out += r['matches'] === true ? '  totals match\n' : '  totals DIFFER\n';
  return out;
}
