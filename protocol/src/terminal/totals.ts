/**
 * A terminal's own totals of a day beside posbridge's (docs/totals.md "Terminal totals"): the
 * lines a PBL/1 `TOTALS` answer carries (./line.ts `LineTotalsEntry`, in ISO 4217 alpha codes
 * and posbridge's bucket names) compared per currency, method and bucket. Pure and portable:
 * the server (server/src/domain/totals.ts) and the agent's `totals` command use it.
 */

/** Card method. */
export type TotalsMethod = 'credit' | 'debit';

/** One of posbridge's lines of a terminal's day (server/src/domain/totals.ts `TotalsRow`). */
export interface OurTotalsLine {
  readonly currency: string;
  readonly method: TotalsMethod;
  /** `approved`, `denied`, `voided`, `refunded`, `unknown` or `in_progress`. */
  readonly bucket: string;
  readonly count: number;
  readonly amountMinor: number;
}

const ORDER: readonly string[] = ['approved', 'denied', 'voided', 'refunded'];

/** True for the buckets a terminal counts too. */
function isTerminalBucket(bucket: string): bucket is TerminalTotalsLine['bucket'] {
  return ORDER.includes(bucket);
}

/** What a terminal reports of a day for one method and bucket (PBL/1 `TOTALS`). */
export interface TerminalTotalsLine {
  readonly currency: string;
  readonly method: TotalsMethod;
  readonly bucket: 'approved' | 'denied' | 'voided' | 'refunded';
  readonly count: number;
  readonly amountMinor: number;
}

/** One line of a comparison: ours, the terminal's, and the difference (terminal − ours). */
export interface TotalsDifference {
  readonly currency: string;
  readonly method: TotalsMethod;
  readonly bucket: TerminalTotalsLine['bucket'];
  readonly ours: { readonly count: number; readonly amountMinor: number };
  readonly terminal: { readonly count: number; readonly amountMinor: number };
  readonly countDifference: number;
  readonly amountDifferenceMinor: number;
}

/**
 * Compares our rows of one terminal with the terminal's own lines, for the buckets a terminal
 * knows (`approved`, `denied`, `voided`, `refunded`). Every line either side has appears;
 * `matches` is true when every difference is zero. Our `unknown` and `in_progress` payments
 * are returned apart: they often explain a difference (an `unknown` the terminal approved).
 */
export function compareTotals<R extends OurTotalsLine>(
  ours: readonly R[],
  terminal: readonly TerminalTotalsLine[],
): { lines: TotalsDifference[]; matches: boolean; unresolved: R[] } {
  const key = (currency: string, method: string, bucket: string) => `${currency}\u0000${method}\u0000${bucket}`;
  const both = new Map<string, { currency: string; method: TotalsMethod; bucket: TerminalTotalsLine['bucket']; o: [number, number]; t: [number, number] }>();
  const entry = (currency: string, method: TotalsMethod, bucket: TerminalTotalsLine['bucket']) => {
    const k = key(currency, method, bucket);
    let e = both.get(k);
    if (!e) {
      e = { currency, method, bucket, o: [0, 0], t: [0, 0] };
      both.set(k, e);
    }
    return e;
  };
  const unresolved: R[] = [];
  for (const r of ours) {
    if (!isTerminalBucket(r.bucket)) {
      unresolved.push(r);
      continue;
    }
    const e = entry(r.currency, r.method, r.bucket);
    e.o = [e.o[0] + r.count, e.o[1] + r.amountMinor];
  }
  for (const t of terminal) {
    const e = entry(t.currency, t.method, t.bucket);
    e.t = [e.t[0] + t.count, e.t[1] + t.amountMinor];
  }
  const lines = [...both.values()]
    .map((e) => ({
      currency: e.currency,
      method: e.method,
      bucket: e.bucket,
      ours: { count: e.o[0], amountMinor: e.o[1] },
      terminal: { count: e.t[0], amountMinor: e.t[1] },
      countDifference: e.t[0] - e.o[0],
      amountDifferenceMinor: e.t[1] - e.o[1],
    }))
    .sort((a, b) => a.currency.localeCompare(b.currency) || a.method.localeCompare(b.method) || ORDER.indexOf(a.bucket) - ORDER.indexOf(b.bucket));
  return { lines, matches: lines.every((l) => l.countDifference === 0 && l.amountDifferenceMinor === 0), unresolved };
}
