/**
 * End-of-day totals (issue 14 item 5, docs/totals.md): what the store groups of a merchant's
 * terminal payments and refunds in a time window; the day, the buckets and the sums are made
 * from these groups by ../domain/totals.ts.
 *
 * What every adapter counts:
 * - payments of `merchantId` created in [`from`, `to`) that were bound to a terminal (a serial)
 *   and are not VTEX Test Suite payments, grouped by the store of the agent they were bound to
 *   (agents without a store: the bootstrap store), the serial, the method, the currency, the
 *   status and whether the terminal approved them (`outcome = approved`, also kept on a payment
 *   later voided); the amount summed is the authorised amount when the terminal reported one,
 *   else the requested amount, in integer minor units;
 * - refunds (`operations` of kind `refund`) approved by the terminal and created in the window,
 *   grouped the same way by the sale's store, the serial that ran the refund (else the sale's),
 *   the sale's method and currency.
 * Times are ms since epoch. Money is integer minor units + ISO 4217 alpha code.
 */
import type { PaymentMethodKind } from '@posbridge/protocol/ws';
import type { PaymentStatus } from '../domain/payment-machine.ts';

/** Which payments to total. */
export interface TotalsQuery {
  readonly merchantId: string;
  /** Only this store's; absent: every store of the merchant. */
  readonly storeId?: string;
  /** Start of the window, inclusive, ms since epoch. */
  readonly from: number;
  /** End of the window, exclusive, ms since epoch. */
  readonly to: number;
}

/** Payments of one store, terminal, method, currency and status. */
export interface PaymentTotalsGroup {
  readonly storeId: string;
  readonly serialNumber: string;
  readonly method: PaymentMethodKind;
  readonly currency: string;
  readonly status: PaymentStatus;
  /** The terminal reported them approved (a voided approval keeps it). */
  readonly approvedByTerminal: boolean;
  readonly count: number;
  /** Sum, integer minor units of `currency`. */
  readonly amountMinor: number;
}

/** Approved refunds of one store, terminal, method and currency. */
export interface RefundTotalsGroup {
  readonly storeId: string;
  readonly serialNumber: string;
  readonly method: PaymentMethodKind;
  readonly currency: string;
  readonly count: number;
  readonly amountMinor: number;
}

/** The groups of one query. */
export interface TotalsGroups {
  readonly payments: readonly PaymentTotalsGroup[];
  readonly refunds: readonly RefundTotalsGroup[];
}

/** End-of-day totals. May reject with `CodedError('STORE_FAILED')`. */
export interface TotalsPort {
  /** The groups of `query` (order unspecified; ../domain/totals.ts sorts). */
  totalsGroups(query: TotalsQuery): Promise<TotalsGroups>;
}
