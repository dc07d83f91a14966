/**
 * An operator's resolution of an `unknown` outcome (payment, reversal or refund), read from the
 * terminal's journal or receipt (`posbridge-server payment resolve` / `operation resolve`).
 *
 * @see docs/ppp.md "Unknown outcomes"; server/README.md "Resolving unknown payments"
 */
import { CodedError } from '@posbridge/protocol/errors';
import type { NewAuditEntry, OperationRecord, Payment } from '../ports/index.ts';
import type { PaymentCore } from './payment-core.ts';

/**
 * An operator's resolution of an `unknown` payment (`posbridge-server payment resolve`).
 * Bounded: `operator` 1–64 characters, `reason` 1–500, `authorizationId` 1–64 of
 * `A-Z a-z 0-9 . _ / -` and only with `approved`.
 */
export interface OperatorResolution {
  readonly outcome: 'approved' | 'denied';
  readonly reason: string;
  /** Who decided (OS user or `--operator`). */
  readonly operator: string;
  /** Authorization code from the terminal's receipt; absent: keep the terminal's. */
  readonly authorizationId?: string;
}

/**
 * Resolves an `unknown` payment (or a `reversal_unknown` one: `denied` = the void went
 * through, nothing is charged any more; `approved` = still charged, its cancellation is answered
 * cancel-manually) by an operator's decision, read from the terminal's journal or receipt. The decision (who, why, when) becomes an `operator.resolved` event in the payment's
 * audit log, and the callback to VTEX is enqueued in the same transaction (a payment VTEX
 * cancelled meanwhile gets none: denied ends `cancelled`, approved is left for VTEX's repeated
 * cancellation to reverse). Works against the store alone, so the CLI can run it next to a
 * running server, whose callback worker delivers the callback. `audit` (the admin audit row of
 * the decision, docs/admin-api.md "Audit log") is written in that same transaction.
 *
 * @returns the updated payment.
 * @throws CodedError `ADMIN_RESOLVE_REFUSED` when the payment does not exist, is neither
 *   `unknown` nor `reversal_unknown`, or the resolution is out of bounds (an authorization
 *   with a reversal); `STORE_FAILED`.
 * @see docs/ppp.md "Unknown outcomes"; server/README.md "Resolving unknown payments"
 */
export async function resolveUnknown(core: PaymentCore, paymentId: string, resolution: OperatorResolution, audit?: NewAuditEntry): Promise<Payment> {
  const problem = resolutionProblem(resolution);
  if (problem) throw new CodedError('ADMIN_RESOLVE_REFUSED', problem, { details: { paymentId } });
  const before = await core.store.getPayment(paymentId);
  const r = await core.applyEvent(paymentId, (p) =>
    p.status === 'unknown' || p.status === 'reversal_unknown'
      ? {
          type: 'operator.resolved',
          outcome: resolution.outcome,
          authorizationId: resolution.authorizationId ?? null,
          operator: resolution.operator.trim(),
          reason: resolution.reason.trim(),
        }
      : null,
    audit,
  );
  if (!r.payment) throw new CodedError('ADMIN_RESOLVE_REFUSED', `no payment ${JSON.stringify(paymentId)}`, { details: { paymentId } });
  if (!r.applied) {
    throw new CodedError('ADMIN_RESOLVE_REFUSED', `payment ${paymentId} is ${r.payment.status}${r.payment.status === 'reversal_unknown' ? '' : ', not unknown'}${r.reason && r.reason !== 'not applicable' ? ` (${r.reason})` : ''}`, {
      details: { paymentId, status: r.payment.status },
    });
  }
  const p = r.payment;
  core.log.warn(
    { paymentId, outcome: resolution.outcome, operator: resolution.operator, reason: resolution.reason, status: p.status },
    'unknown payment resolved by an operator',
  );
  if (before?.status === 'reversal_unknown') {
    core.log.warn(
      { paymentId, serialNumber: p.binding?.serialNumber, status: p.status, authorizationId: p.outcome?.authorizationId },
      p.status === 'approved'
        ? 'reversal resolved as still charged; its cancellation is answered cancel-manually'
        : 'reversal resolved as done; nothing is charged any more',
    );
  } else if (before?.endReason === 'cancelled' && p.status === 'approved') {
    core.log.warn(
      { paymentId, serialNumber: p.binding?.serialNumber },
      'resolved approved after VTEX cancelled; its next cancellation attempt reverses it on the terminal',
    );
  }
  return p;
}

/**
 * Resolves a refund whose terminal outcome is `unknown` by an operator's decision, read from the
 * terminal's journal or receipt: `approved` = refunded (VTEX's retry of the refund is answered
 * 200), `denied` = not refunded (501 `refund-manually`). The decision is the
 * `operation.resolved` event in the payment's events (who, why, when), written with the new
 * operation status (and `audit`, the admin audit row, when given) in one transaction. Works against the store alone (the CLI runs it next to a
 * running server). Bounded like {@link resolveUnknown}: `operator` 1–64 characters, `reason` 1–500.
 *
 * @returns the updated operation.
 * @throws CodedError `ADMIN_RESOLVE_REFUSED` when the operation does not exist, is not
 *   `unknown`, or the resolution is out of bounds; `STORE_FAILED`.
 * @see docs/ppp.md "Unknown outcomes"; server/README.md "Resolving unknown payments"
 */
export async function resolveUnknownOperation(
  core: PaymentCore,
  operationId: string,
  resolution: Omit<OperatorResolution, 'authorizationId'>,
  audit?: NewAuditEntry,
): Promise<OperationRecord> {
  const problem = resolutionProblem(resolution);
  if (problem) throw new CodedError('ADMIN_RESOLVE_REFUSED', problem, { details: { operationId } });
  const operator = resolution.operator.trim();
  const reason = resolution.reason.trim();
  const op = await core.store.resolveUnknownOperation({
    operationId,
    status: resolution.outcome,
    message: `${resolution.outcome === 'approved' ? 'refunded' : 'not refunded'} (confirmed by an operator)`,
    operator,
    reason,
    at: core.now(),
    ...(audit ? { audit } : {}),
  });
  if (!op) {
    const known = await core.store.getOperation(operationId);
    throw new CodedError(
      'ADMIN_RESOLVE_REFUSED',
      known ? `operation ${operationId} is ${known.status}, not unknown` : `no operation ${JSON.stringify(operationId)}`,
      { details: { operationId, ...(known ? { status: known.status } : {}) } },
    );
  }
  core.changes.notify(operationId);
  core.log.warn(
    { paymentId: op.paymentId, operationId, kind: op.kind, outcome: resolution.outcome, operator, reason },
    'unknown operation resolved by an operator',
  );
  return op;
}

const AUTHORIZATION_PATTERN = /^[A-Za-z0-9._/-]{1,64}$/;

/** Why `r` is out of bounds, or null. */
function resolutionProblem(r: OperatorResolution): string | null {
  if (r.outcome !== 'approved' && r.outcome !== 'denied') return 'outcome must be approved or denied';
  const reason = r.reason.trim();
  if (reason.length === 0 || reason.length > 500) return 'reason must be 1–500 characters';
  const operator = r.operator.trim();
  if (operator.length === 0 || operator.length > 64) return 'operator must be 1–64 characters';
  if (r.authorizationId !== undefined) {
    if (r.outcome !== 'approved') return 'an authorization only goes with outcome approved';
    if (!AUTHORIZATION_PATTERN.test(r.authorizationId)) return 'authorization must be 1–64 of A-Z a-z 0-9 . _ / -';
  }
  return null;
}
