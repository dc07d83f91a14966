/**
 * The simulated terminal's own totals of a business day (PBL/1 `TOTALS`,
 * docs/protocol/terminal-line.md "TOTALS"), computed from its history of finished transactions:
 * per currency, method and bucket, the count and the sum in minor units. Pure.
 *
 * - `approved`: sales approved that day and not voided; `voided`: approved sales a VOID reversed;
 * - `declined`: sales declined that day (aborted sales are not counted: nothing was asked of the card);
 * - `refunded`: REFUNDs approved that day (their own amount), with the method of their sale.
 * The day of a transaction is the UTC date it finished on (the simulator's business day).
 */
/** Card method (the device machine's `DeviceMethod`; declared here so this module imports nothing of it). */
type DeviceMethod = 'credit' | 'debit';

/** What the totals read of a finished transaction (the device machine's `FinishedSale`). */
interface FinishedForTotals {
  readonly result: {
    readonly rid: string;
    readonly operation: 'sale' | 'void' | 'refund';
    readonly status: 'approved' | 'declined' | 'aborted';
    readonly amountMinor: number;
    readonly currency: string;
    readonly method?: DeviceMethod;
    readonly ref?: string;
  };
  readonly finishedAtMs: number;
}

/** A bucket of the terminal's totals. */
export type DeviceTotalsBucket = 'approved' | 'declined' | 'voided' | 'refunded';

/** One line of the terminal's totals. */
export interface DeviceTotalsEntry {
  /** ISO 4217 numeric. */
  currency: string;
  method: DeviceMethod;
  bucket: DeviceTotalsBucket;
  count: number;
  amountMinor: number;
}

/** `YYYYMMDD` of an instant, in UTC. */
export function businessDayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}

const ORDER: readonly DeviceTotalsBucket[] = ['approved', 'declined', 'voided', 'refunded'];

/** The totals of `date` (`YYYYMMDD`) from the finished transactions, sorted by currency, method, bucket. */
export function deviceTotals(finished: ReadonlyMap<string, FinishedForTotals>, date: string): DeviceTotalsEntry[] {
  const voided = new Set<string>();
  for (const { result } of finished.values()) {
    if (result.operation === 'void' && result.status === 'approved' && result.ref !== undefined) voided.add(result.ref);
  }
  const lines = new Map<string, DeviceTotalsEntry>();
  const add = (currency: string, method: DeviceMethod, bucket: DeviceTotalsBucket, amountMinor: number) => {
    const key = `${currency}.${method}.${bucket}`;
    const line = lines.get(key) ?? { currency, method, bucket, count: 0, amountMinor: 0 };
    lines.set(key, { ...line, count: line.count + 1, amountMinor: line.amountMinor + amountMinor });
  };
  for (const { result, finishedAtMs } of finished.values()) {
    if (businessDayOf(finishedAtMs) !== date || result.method === undefined) continue;
    if (result.operation === 'sale') {
      if (result.status === 'approved') add(result.currency, result.method, voided.has(result.rid) ? 'voided' : 'approved', result.amountMinor);
      else if (result.status === 'declined') add(result.currency, result.method, 'declined', result.amountMinor);
    } else if (result.operation === 'refund' && result.status === 'approved') {
      add(result.currency, result.method, 'refunded', result.amountMinor);
    }
  }
  return [...lines.values()].sort(
    (a, b) => a.currency.localeCompare(b.currency) || a.method.localeCompare(b.method) || ORDER.indexOf(a.bucket) - ORDER.indexOf(b.bucket),
  );
}
