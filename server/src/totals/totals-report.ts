/**
 * The end-of-day totals report (docs/totals.md) that `posbridge-server totals` prints and
 * `GET /admin/v1/totals` answers: the day's window in a time zone (../domain/totals-day.ts), the
 * store's groups (../ports/totals.ts) folded into rows (../domain/totals.ts), as JSON or CSV.
 */
import type { TotalsPort } from '../ports/totals.ts';
import { dayWindow } from '../domain/totals-day.ts';
import { foldTotals, type TotalsRow } from '../domain/totals.ts';

/** What to total. */
export interface TotalsRequest {
  readonly merchantId: string;
  readonly storeId?: string;
  /** `YYYY-MM-DD`. */
  readonly date: string;
  /** IANA zone of the day. @default 'UTC' */
  readonly timeZone?: string;
}

/** One day's totals of a merchant (or one of its stores). */
export interface TotalsReport {
  readonly merchantId: string;
  readonly storeId: string | null;
  readonly date: string;
  readonly timeZone: string;
  /** ISO instants of the window [from, to). */
  readonly from: string;
  readonly to: string;
  readonly rows: readonly TotalsRow[];
}

/**
 * Builds the report.
 * @throws RangeError for a bad date or time zone; CodedError `STORE_FAILED`.
 */
export async function buildTotalsReport(store: TotalsPort, request: TotalsRequest): Promise<TotalsReport> {
  const timeZone = request.timeZone ?? 'UTC';
  const { from, to } = dayWindow(request.date, timeZone);
  const groups = await store.totalsGroups({ merchantId: request.merchantId, from, to, ...(request.storeId === undefined ? {} : { storeId: request.storeId }) });
  return {
    merchantId: request.merchantId,
    storeId: request.storeId ?? null,
    date: request.date,
    timeZone,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    rows: foldTotals(groups),
  };
}

/** Header of {@link totalsCsv}. */
export const TOTALS_CSV_HEADER = 'date,timeZone,storeId,serialNumber,currency,method,bucket,count,amountMinor';

/** RFC 4180 field: quoted when it holds a comma, quote or line break; a leading `=+-@` is prefixed with `'` (no formula in a spreadsheet). */
function field(value: string | number): string {
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The report as CSV (CRLF line ends, header first; amounts in integer minor units). */
export function totalsCsv(report: TotalsReport): string {
  const lines = [TOTALS_CSV_HEADER];
  for (const r of report.rows) {
    lines.push([report.date, report.timeZone, r.storeId, r.serialNumber, r.currency, r.method, r.bucket, r.count, r.amountMinor].map(field).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
