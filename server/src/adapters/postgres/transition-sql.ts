/**
 * A payment transition with all its effect rows as **one** PostgreSQL statement: the
 * compare-and-set `UPDATE payments … RETURNING *` and, as data-modifying CTEs that read its
 * result, the audit event, the final callback and the agent commands it opens and closes.
 *
 * One statement outside `BEGIN … COMMIT` is its own transaction: the change and its effects
 * commit together or not at all, exactly as the multi-statement transaction did, in one round
 * trip instead of five or six (BEGIN, UPDATE, INSERT event, INSERT callback/command, COMMIT).
 * Every effect CTE selects `FROM upd`, so when the compare-and-set matches nothing (the payment
 * moved on) no effect row is written. Under READ COMMITTED a concurrent update of the same
 * payment makes the `UPDATE` wait and re-check its condition on the committed row, as before.
 *
 * PostgreSQL forbids one statement to change the same row twice, so a change that opens one
 * command id twice or opens and closes the same id is applied as a transaction instead
 * ({@link oneStatementFits}).
 *
 * @see https://www.postgresql.org/docs/15/queries-with.html#QUERIES-WITH-MODIFYING, ./payments.ts
 */
import { eventData } from '../../domain/audit-data.ts';
import type { CommandWrites } from '../../ports/agent-commands.ts';
import type { PaymentChange } from '../../ports/payments.ts';
import { paymentSetParams } from '../payment-set-params.ts';
import { toTs, type PgParam } from './pg-db.ts';

/** The `SET` list of a transition (parameters $1–$19 of {@link transitionParams}). */
export const PAYMENT_SET = `state = $1, serial_number = $2, agent_id = $3, start_id = $4,
             outcome = $5, terminal_ref = $6, authorization_id = $7, nsu = $8, result_tid = $9, response_code = $10,
             result_message = $11, card_brand = $12, card_first_digits = $13, card_last_digits = $14, result_amount_minor = $15,
             end_reason = $16, deadline_at = $17, changed_at = $18, updated_at = $19, version = version + 1`;

/**
 * The whole transition. $1–$22: the payment's columns and its compare-and-set condition;
 * $23–$24 the event; $25–$28 the callback (kind null: none); $29–$35 the commands opened (arrays);
 * $36–$37 the commands closed (arrays). `$19` (`updated_at`) is the time of every row written.
 */
export const TRANSITION_SQL = `WITH upd AS (
  UPDATE payments SET ${PAYMENT_SET}
   WHERE payment_id = $20 AND version = $21 AND state = $22
  RETURNING *
), ev AS (
  INSERT INTO payment_events (payment_id, type, from_state, to_state, data, at)
  SELECT upd.payment_id, $23::text, $22::text, $1::text, $24::text, $19::timestamptz FROM upd
), cb AS (
  INSERT INTO callback_outbox (payment_id, kind, url, body, status, attempts, next_attempt_at, created_at, updated_at, expires_at)
  SELECT upd.payment_id, $25::text, $26::text, $27::text, 'pending', 0, $19::timestamptz, $19::timestamptz, $19::timestamptz, $28::timestamptz
    FROM upd WHERE $25::text IS NOT NULL
  ON CONFLICT (payment_id, kind) DO NOTHING
), opened AS (
  INSERT INTO agent_commands (command_id, kind, payment_id, merchant_id, serial_number, agent_id, message, status, created_at, updated_at)
  SELECT c.command_id, c.kind, c.payment_id, c.merchant_id, c.serial_number, c.agent_id, c.message, 'open', $19::timestamptz, $19::timestamptz
    FROM unnest($29::text[], $30::text[], $31::text[], $32::text[], $33::text[], $34::text[], $35::text[])
           AS c(command_id, kind, payment_id, merchant_id, serial_number, agent_id, message)
   WHERE EXISTS (SELECT 1 FROM upd)
  ON CONFLICT (command_id) DO UPDATE SET kind = excluded.kind, serial_number = excluded.serial_number,
    agent_id = excluded.agent_id, message = excluded.message, status = 'open', sent_session_id = NULL,
    next_attempt_at = NULL, acked_at = NULL, acked_session_id = NULL, passed_session_id = NULL,
    closed_at = NULL, close_reason = NULL, updated_at = excluded.updated_at
), closed AS (
  UPDATE agent_commands a SET status = 'closed', closed_at = $19::timestamptz, close_reason = c.reason, updated_at = $19::timestamptz
    FROM unnest($36::text[], $37::text[]) AS c(command_id, reason)
   WHERE a.command_id = c.command_id AND a.status = 'open' AND EXISTS (SELECT 1 FROM upd)
)
SELECT * FROM upd`;

/**
 * True when `writes` can go in {@link TRANSITION_SQL}: no command id opened twice, none both
 * opened and closed (closing one id twice is harmless: the second matches nothing either way,
 * but is refused too, to keep the rule simple).
 */
export function oneStatementFits(writes: CommandWrites | undefined): boolean {
  const ids = [...(writes?.open ?? []).map((c) => c.commandId), ...(writes?.close ?? []).map((c) => c.commandId)];
  return new Set(ids).size === ids.length;
}

/** The 37 parameters of {@link TRANSITION_SQL} (the first 22 are those of a bare compare-and-set with {@link PAYMENT_SET}). */
export function transitionParams(change: PaymentChange): PgParam[] {
  const open = change.commands?.open ?? [];
  const close = change.commands?.close ?? [];
  return [
    ...paymentSetParams(change, toTs),
    // the event
    change.event.type,
    JSON.stringify(eventData(change.event)),
    // the callback
    change.callback ? `final:${change.callback.status}` : null,
    change.callback?.url ?? null,
    change.callback?.body ?? null,
    toTs(change.callback?.expiresAt ?? null),
    // the commands opened
    open.map((c) => c.commandId),
    open.map((c) => c.kind),
    open.map((c) => c.paymentId),
    open.map((c) => c.merchantId),
    open.map((c) => c.serialNumber),
    open.map((c) => c.agentId),
    open.map((c) => c.message),
    // the commands closed
    close.map((c) => c.commandId),
    close.map((c) => c.reason.slice(0, 200)),
  ];
}
