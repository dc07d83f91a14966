/**
 * End-of-day totals, pure (docs/totals.md): the store's groups (../ports/totals.ts) folded into
 * one row per store, terminal, currency, method and bucket, and the comparison with the totals a
 * terminal reports (PBL/1 `TOTALS`, docs/protocol/terminal-line.md).
 *
 * Buckets of a payment's status:
 *
 * | bucket | payments |
 * |---|---|
 * | `approved` | `approved` (settled or not: settlement is not a terminal event) |
 * | `denied` | `denied` |
 * | `voided` | approved by the terminal, then reversed: `cancelled` / `expired` with an approval |
 * | `unknown` | `unknown`, `reversal_unknown`: the card may or may not be charged; an operator resolves them |
 * | `in_progress` | `dispatched`, `accepted`, `aborting`, `reversing`: still on the terminal when totalled |
 * | `refunded` | refunds the terminal approved (operations), counted on the day of the refund |
 *
 * A payment cancelled or expired before the terminal approved it moved no money and is not
 * counted. Sums are integer minor units per currency; currencies are never added together.
 */
import type { PaymentMethodKind } from '@posbridge/protocol/ws';
import type { PaymentStatus } from './payment-machine.ts';
import type { TotalsGroups } from '../ports/totals.ts';

/** A bucket of the totals. */
export type TotalsBucket = 'approved' | 'denied' | 'voided' | 'unknown' | 'in_progress' | 'refunded';

/** Every bucket, in report order. */
export const TOTALS_BUCKETS: readonly TotalsBucket[] = ['approved', 'denied', 'voided', 'refunded', 'unknown', 'in_progress'];

/** One line of the totals. */
export interface TotalsRow {
  readonly storeId: string;
  readonly serialNumber: string;
  readonly currency: string;
  readonly method: PaymentMethodKind;
  readonly bucket: TotalsBucket;
  readonly count: number;
  /** Integer minor units of `currency`. */
  readonly amountMinor: number;
}

/** The bucket of a payment, or null when it is not counted. */
export function bucketOf(status: PaymentStatus, approvedByTerminal: boolean): Exclude<TotalsBucket, 'refunded'> | null {
  switch (status) {
    case 'approved':
      return 'approved';
    case 'denied':
      return 'denied';
    case 'cancelled':
    case 'expired':
      return approvedByTerminal ? 'voided' : null;
    case 'unknown':
    case 'reversal_unknown':
      return 'unknown';
    case 'dispatched':
    case 'accepted':
    case 'aborting':
    case 'reversing':
      return 'in_progress';
    case 'awaiting_terminal':
      return null;
    default: {
      const never: never = status;
      throw new Error(`unknown status ${String(never)}`);
    }
  }
}

/** Folds the store's groups into rows, sorted by store, terminal, currency, method, bucket. */
export function foldTotals(groups: TotalsGroups): TotalsRow[] {
  const rows = new Map<string, TotalsRow>();
  const add = (r: Omit<TotalsRow, 'count' | 'amountMinor'>, count: number, amountMinor: number) => {
    const key = [r.storeId, r.serialNumber, r.currency, r.method, r.bucket].join('\u0000');
    const before = rows.get(key);
    const total = (before?.amountMinor ?? 0) + amountMinor;
    if (!Number.isSafeInteger(total)) throw new RangeError(`totals of ${r.serialNumber} ${r.currency} overflow`);
    rows.set(key, { ...r, count: (before?.count ?? 0) + count, amountMinor: total });
  };
  for (const g of groups.payments) {
    const bucket = bucketOf(g.status, g.approvedByTerminal);
    if (bucket !== null) add({ storeId: g.storeId, serialNumber: g.serialNumber, currency: g.currency, method: g.method, bucket }, g.count, g.amountMinor);
  }
  for (const g of groups.refunds) add({ storeId: g.storeId, serialNumber: g.serialNumber, currency: g.currency, method: g.method, bucket: 'refunded' }, g.count, g.amountMinor);
  const order = (b: TotalsBucket) => TOTALS_BUCKETS.indexOf(b);
  return [...rows.values()].sort(
    (a, b) =>
      a.storeId.localeCompare(b.storeId) ||
      a.serialNumber.localeCompare(b.serialNumber) ||
      a.currency.localeCompare(b.currency) ||
      a.method.localeCompare(b.method) ||
      order(a.bucket) - order(b.bucket),
  );
}

/** What a terminal reports of a day for one method and bucket (PBL/1 `TOTALS`). */
export interface TerminalTotalsLine {
  readonly currency: string;
  readonly method: PaymentMethodKind;
  readonly bucket: 'approved' | 'denied' | 'voided' | 'refunded';
  readonly count: number;
  readonly amountMinor: number;
}

/** One line of a comparison: ours, the terminal's, and the difference (terminal − ours). */
export interface TotalsDifference {
  readonly currency: string;
  readonly method: PaymentMethodKind;
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
export function compareTotals(
  ours: readonly TotalsRow[],
  terminal: readonly TerminalTotalsLine[],
): { lines: TotalsDifference[]; matches: boolean; unresolved: TotalsRow[] } {
  const key = (currency: string, method: string, bucket: string) => `${currency}\u0000${method}\u0000${bucket}`;
  const both = new Map<string, { currency: string; method: PaymentMethodKind; bucket: TerminalTotalsLine['bucket']; o: [number, number]; t: [number, number] }>();
  const entry = (currency: string, method: PaymentMethodKind, bucket: TerminalTotalsLine['bucket']) => {
    const k = key(currency, method, bucket);
    let e = both.get(k);
    if (!e) {
      e = { currency, method, bucket, o: [0, 0], t: [0, 0] };
      both.set(k, e);
    }
    return e;
  };
  const unresolved: TotalsRow[] = [];
  for (const r of ours) {
    if (r.bucket === 'unknown' || r.bucket === 'in_progress') {
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
    .sort((a, b) => a.currency.localeCompare(b.currency) || a.method.localeCompare(b.method) || TOTALS_BUCKETS.indexOf(a.bucket) - TOTALS_BUCKETS.indexOf(b.bucket));
  return { lines, matches: lines.every((l) => l.countDifference === 0 && l.amountDifferenceMinor === 0), unresolved };
}
