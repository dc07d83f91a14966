/**
 * `posbridge-server totals` (docs/totals.md), dispatched by ./cli.ts:
 *
 * ```
 * posbridge-server totals --date YYYY-MM-DD [--merchant M] [--store S] [--tz ZONE] [--csv | --json]
 * ```
 * Prints one line per store, terminal, currency, method and bucket with its count and sum
 * (integer minor units, and the decimal amount in the text form), or CSV with `--csv`.
 */
import { CodedError } from '@posbridge/protocol/errors';
import { formatMoney } from '@posbridge/protocol/money';
import { buildTotalsReport, totalsCsv } from './totals/totals-report.ts';
import { BOOTSTRAP_MERCHANT_ID, type PaymentStore } from './ports/index.ts';

/** Help lines of the command (part of ./cli.ts `HELP`). */
export const TOTALS_HELP = `  posbridge-server totals --date YYYY-MM-DD [--merchant M] [--store S] [--tz ZONE] [--csv | --json]
                                          end-of-day totals of merchant M (default: the
                                          env-configured one): per store, terminal, currency,
                                          method and status, counts and sums; the day in IANA
                                          zone ZONE (default UTC); --csv for a spreadsheet,
                                          --json for posbridge-agent totals --compare
`;

/** What the command gets from ./cli.ts. */
export interface TotalsCliContext {
  readonly values: { readonly merchant?: string | undefined; readonly store?: string | undefined; readonly date?: string | undefined; readonly tz?: string | undefined; readonly csv?: boolean | undefined; readonly json?: boolean | undefined };
  readonly admin: (what: string, fn: (store: PaymentStore) => Promise<void>) => Promise<number>;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/**
 * Runs `totals` when `command` is it.
 * @returns the exit code, or undefined for another command.
 */
export async function runTotalsCommand(command: string, rest: readonly string[], ctx: TotalsCliContext): Promise<number | undefined> {
  if (command !== 'totals') return undefined;
  const { values } = ctx;
  if (rest.length > 0 || values.date === undefined) {
    ctx.err('totals: usage: totals --date YYYY-MM-DD [--merchant M] [--store S] [--tz ZONE] [--csv]\n');
    return 2;
  }
  const date = values.date;
  return ctx.admin('totals', async (store) => {
    let merchantId = BOOTSTRAP_MERCHANT_ID;
    if (values.merchant !== undefined) {
      const merchant = await store.findMerchantByName(values.merchant);
      if (!merchant) throw new CodedError('CFG_INVALID', `no merchant named ${JSON.stringify(values.merchant)}`);
      merchantId = merchant.merchantId;
    } else if (values.store !== undefined) {
      throw new CodedError('CFG_INVALID', '--store needs --merchant');
    }
    let storeId: string | undefined;
    if (values.store !== undefined) {
      const s = await store.findStore(merchantId, values.store);
      if (!s) throw new CodedError('CFG_INVALID', `merchant ${values.merchant ?? ''} has no store named ${JSON.stringify(values.store)}`);
      storeId = s.storeId;
    }
    let report;
    try {
      report = await buildTotalsReport(store, { merchantId, date, ...(storeId === undefined ? {} : { storeId }), ...(values.tz === undefined ? {} : { timeZone: values.tz }) });
    } catch (err) {
      if (err instanceof RangeError) throw new CodedError('CFG_INVALID', err.message);
      throw err;
    }
    if (values.csv === true) {
      ctx.out(totalsCsv(report));
      return;
    }
    if (values.json === true) {
      ctx.out(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    ctx.out(`totals of ${date} (${report.timeZone}: ${report.from} to ${report.to}), merchant ${values.merchant ?? merchantId}${values.store === undefined ? '' : `, store ${values.store}`}\n`);
    if (report.rows.length === 0) {
      ctx.out('no terminal payments that day\n');
      return;
    }
    ctx.out('store\tterminal\tcurrency\tmethod\tstatus\tcount\tamount\tamountMinor\n');
    for (const r of report.rows) {
      ctx.out(`${r.storeId}\t${r.serialNumber}\t${r.currency}\t${r.method}\t${r.bucket}\t${r.count}\t${formatMoney({ amountMinor: r.amountMinor, currency: r.currency })}\t${r.amountMinor}\n`);
    }
  });
}
