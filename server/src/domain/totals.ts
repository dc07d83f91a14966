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

export { compareTotals, type TerminalTotalsLine, type TotalsDifference } from '@posbridge/protocol/terminal';
