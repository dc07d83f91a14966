/**
 * The bound values of the payment compare-and-set that both SQL stores run (SQLite:
 * ./sqlite/payments.ts `applyTransition`; PostgreSQL: ./postgres/transition-sql.ts
 * `PAYMENT_SET`), in the column order of
 * `UPDATE payments SET state, serial_number, agent_id, start_id, outcome, terminal_ref,
 * authorization_id, nsu, result_tid, response_code, result_message, card_brand,
 * card_first_digits, card_last_digits, result_amount_minor, end_reason, deadline_at, changed_at,
 * updated_at … WHERE payment_id AND version AND state` — 22 values. One list, so the two
 * dialects can never disagree on which value goes in which column.
 *
 * @see docs/architecture.md "Effects are rows"
 */
import type { PaymentChange } from '../ports/payments.ts';

/**
 * The 22 values of the compare-and-set of `change`.
 * @param ts maps a time (ms since epoch, or null) to the dialect's value: SQLite keeps the
 *   number, PostgreSQL passes a `Date` for `timestamptz`.
 */
export function paymentSetParams<T>(change: PaymentChange, ts: (ms: number | null) => T): (string | number | null | T)[] {
  const { next } = change;
  const o = next.outcome;
  return [
    next.status,
    next.binding?.serialNumber ?? null,
    next.binding?.agentId ?? null,
    next.binding?.startId ?? null,
    o?.outcome ?? null,
    o?.terminalRef ?? null,
    o?.authorizationId ?? null,
    o?.nsu ?? null,
    o?.tid ?? null,
    o?.responseCode ?? null,
    o?.message ?? null,
    o?.card?.brand ?? null,
    o?.card?.firstDigits ?? null,
    o?.card?.lastDigits ?? null,
    o?.amountMinor ?? null,
    next.endReason,
    ts(next.deadlineAt),
    ts(next.changedAt),
    ts(change.at),
    change.paymentId,
    change.expectedVersion,
    change.expectedStatus,
  ];
}
