/**
 * {@link TotalsPort} on SQLite: two `GROUP BY` reads (payments by `payments_merchant_created`,
 * approved refunds joined to their sale) on the read connection's snapshot.
 */
import type { PaymentMethodKind } from '@posbridge/protocol/ws';
import type { PaymentStatus } from '../../domain/payment-machine.ts';
import { BOOTSTRAP_STORE_ID } from '../../ports/directory.ts';
import type { TotalsGroups, TotalsPort, TotalsQuery } from '../../ports/totals.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { runExclusive } from './rows.ts';

const PAYMENTS = `
  SELECT COALESCE(a.store_id, ?) AS store_id, p.serial_number, p.method, p.currency, p.state,
         (p.outcome = 'approved') AS approved, COUNT(*) AS n, SUM(COALESCE(p.result_amount_minor, p.amount_minor)) AS amount
    FROM payments p LEFT JOIN agents a ON a.agent_id = p.agent_id
   WHERE p.merchant_id = ? AND p.created_at >= ? AND p.created_at < ? AND p.serial_number IS NOT NULL AND p.test_suite = 0
     AND (? IS NULL OR COALESCE(a.store_id, ?) = ?)
   GROUP BY 1, 2, 3, 4, 5, 6`;

const REFUNDS = `
  SELECT COALESCE(a.store_id, ?) AS store_id, COALESCE(o.serial_number, p.serial_number) AS serial_number, p.method, p.currency,
         COUNT(*) AS n, SUM(o.amount_minor) AS amount
    FROM operations o JOIN payments p ON p.payment_id = o.payment_id LEFT JOIN agents a ON a.agent_id = p.agent_id
   WHERE o.kind = 'refund' AND o.status = 'approved' AND o.created_at >= ? AND o.created_at < ?
     AND p.merchant_id = ? AND p.serial_number IS NOT NULL AND p.test_suite = 0
     AND (? IS NULL OR COALESCE(a.store_id, ?) = ?)
   GROUP BY 1, 2, 3, 4`;

interface Row {
  store_id: string;
  serial_number: string;
  method: string;
  currency: string;
  state?: string;
  approved?: number | null;
  n: number;
  amount: number;
}

/** End-of-day totals over one connection. */
export class SqliteTotals implements TotalsPort {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  totalsGroups(q: TotalsQuery): Promise<TotalsGroups> {
    return runExclusive(this.#db, 'totalsGroups', async () => {
      const store = q.storeId ?? null;
      const payments = await this.#db.all<Row>(PAYMENTS, [BOOTSTRAP_STORE_ID, q.merchantId, q.from, q.to, store, BOOTSTRAP_STORE_ID, store]);
      const refunds = await this.#db.all<Row>(REFUNDS, [BOOTSTRAP_STORE_ID, q.from, q.to, q.merchantId, store, BOOTSTRAP_STORE_ID, store]);
      return {
        payments: payments.map((r) => ({
          storeId: r.store_id,
          serialNumber: r.serial_number,
          method: r.method as PaymentMethodKind,
          currency: r.currency,
          status: r.state as PaymentStatus,
          approvedByTerminal: r.approved === 1,
          count: r.n,
          amountMinor: r.amount,
        })),
        refunds: refunds.map((r) => ({ storeId: r.store_id, serialNumber: r.serial_number, method: r.method as PaymentMethodKind, currency: r.currency, count: r.n, amountMinor: r.amount })),
      };
    });
  }
}
