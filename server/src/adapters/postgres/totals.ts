/**
 * {@link TotalsPort} on PostgreSQL: two `GROUP BY` reads (payments by `payments_merchant_created`,
 * approved refunds joined to their sale). Sums are cast back to `bigint` (PostgreSQL sums
 * `bigint` as `numeric`), so they arrive as exact numbers or are refused (./pg-db.ts).
 */
import type { PaymentMethodKind } from '@posbridge/protocol/ws';
import type { PaymentStatus } from '../../domain/payment-machine.ts';
import { BOOTSTRAP_STORE_ID } from '../../ports/directory.ts';
import type { TotalsGroups, TotalsPort, TotalsQuery } from '../../ports/totals.ts';
import { toTs, type PgDb } from './pg-db.ts';
import { pgOp } from './rows.ts';

const PAYMENTS = `
  SELECT COALESCE(a.store_id, $1) AS store_id, p.serial_number, p.method, p.currency, p.state,
         COALESCE(p.outcome = 'approved', false) AS approved, COUNT(*) AS n, SUM(COALESCE(p.result_amount_minor, p.amount_minor))::bigint AS amount
    FROM payments p LEFT JOIN agents a ON a.agent_id = p.agent_id
   WHERE p.merchant_id = $2 AND p.created_at >= $3 AND p.created_at < $4 AND p.serial_number IS NOT NULL AND NOT p.test_suite
     AND ($5::text IS NULL OR COALESCE(a.store_id, $1) = $5::text)
   GROUP BY 1, 2, 3, 4, 5, 6`;

const REFUNDS = `
  SELECT COALESCE(a.store_id, $1) AS store_id, COALESCE(o.serial_number, p.serial_number) AS serial_number, p.method, p.currency,
         COUNT(*) AS n, SUM(o.amount_minor)::bigint AS amount
    FROM operations o JOIN payments p ON p.payment_id = o.payment_id LEFT JOIN agents a ON a.agent_id = p.agent_id
   WHERE o.kind = 'refund' AND o.status = 'approved' AND o.created_at >= $3 AND o.created_at < $4
     AND p.merchant_id = $2 AND p.serial_number IS NOT NULL AND NOT p.test_suite
     AND ($5::text IS NULL OR COALESCE(a.store_id, $1) = $5::text)
   GROUP BY 1, 2, 3, 4`;

interface Row {
  store_id: string;
  serial_number: string;
  method: string;
  currency: string;
  state?: string;
  approved?: boolean;
  n: number;
  amount: number;
}

/** End-of-day totals over a pool. */
export class PgTotals implements TotalsPort {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  totalsGroups(q: TotalsQuery): Promise<TotalsGroups> {
    return pgOp('totalsGroups', async () => {
      const params = [BOOTSTRAP_STORE_ID, q.merchantId, toTs(q.from), toTs(q.to), q.storeId ?? null];
      const payments = await this.#db.rows<Row>(PAYMENTS, params);
      const refunds = await this.#db.rows<Row>(REFUNDS, params);
      return {
        payments: payments.map((r) => ({
          storeId: r.store_id,
          serialNumber: r.serial_number,
          method: r.method as PaymentMethodKind,
          currency: r.currency,
          status: r.state as PaymentStatus,
          approvedByTerminal: r.approved === true,
          count: r.n,
          amountMinor: r.amount,
        })),
        refunds: refunds.map((r) => ({ storeId: r.store_id, serialNumber: r.serial_number, method: r.method as PaymentMethodKind, currency: r.currency, count: r.n, amountMinor: r.amount })),
      };
    });
  }
}
