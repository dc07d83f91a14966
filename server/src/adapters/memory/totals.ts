/** {@link TotalsPort} in memory: the groups of ../../ports/totals.ts, counted over the payment and operation tables. */
import { BOOTSTRAP_STORE_ID } from '../../ports/directory.ts';
import type { PaymentTotalsGroup, RefundTotalsGroup, TotalsGroups, TotalsPort, TotalsQuery } from '../../ports/totals.ts';
import type { MemoryConnection } from './state.ts';

/** End-of-day totals over a memory connection. */
export class MemoryTotals implements TotalsPort {
  readonly #conn: MemoryConnection;

  constructor(conn: MemoryConnection) {
    this.#conn = conn;
  }

  totalsGroups(query: TotalsQuery): Promise<TotalsGroups> {
    return this.#conn.run('totalsGroups', (): TotalsGroups => {
      const { payments, agents, operations } = this.#conn.tables;
      const storeOfAgent = (agentId: string) => agents.get(agentId)?.storeId ?? BOOTSTRAP_STORE_ID;
      const groups = new Map<string, { -readonly [K in keyof PaymentTotalsGroup]: PaymentTotalsGroup[K] }>();
      for (const p of payments.values()) {
        if (p.merchantId !== query.merchantId || p.testSuite || p.binding === null) continue;
        if (p.createdAt < query.from || p.createdAt >= query.to) continue;
        const storeId = storeOfAgent(p.binding.agentId);
        if (query.storeId !== undefined && storeId !== query.storeId) continue;
        const approvedByTerminal = p.outcome?.outcome === 'approved';
        const amount = p.outcome?.amountMinor ?? p.amount.amountMinor;
        const key = [storeId, p.binding.serialNumber, p.method, p.amount.currency, p.status, approvedByTerminal].join('\u0000');
        const g = groups.get(key);
        if (g) {
          g.count++;
          g.amountMinor += amount;
        } else {
          groups.set(key, { storeId, serialNumber: p.binding.serialNumber, method: p.method, currency: p.amount.currency, status: p.status, approvedByTerminal, count: 1, amountMinor: amount });
        }
      }
      const refunds = new Map<string, { -readonly [K in keyof RefundTotalsGroup]: RefundTotalsGroup[K] }>();
      for (const o of operations.values()) {
        if (o.kind !== 'refund' || o.status !== 'approved' || o.createdAt < query.from || o.createdAt >= query.to) continue;
        const p = payments.get(o.paymentId);
        if (p === undefined || p.merchantId !== query.merchantId || p.testSuite || p.binding === null) continue;
        const storeId = storeOfAgent(p.binding.agentId);
        if (query.storeId !== undefined && storeId !== query.storeId) continue;
        const serialNumber = o.serialNumber ?? p.binding.serialNumber;
        const key = [storeId, serialNumber, p.method, p.amount.currency].join('\u0000');
        const g = refunds.get(key);
        if (g) {
          g.count++;
          g.amountMinor += o.amountMinor;
        } else {
          refunds.set(key, { storeId, serialNumber, method: p.method, currency: p.amount.currency, count: 1, amountMinor: o.amountMinor });
        }
      }
      return { payments: [...groups.values()], refunds: [...refunds.values()] };
    });
  }
}
