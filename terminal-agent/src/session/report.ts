/**
 * Maps a finished transaction to the report the server is owed: `payment.result` (approved,
 * denied, unknown) or `payment.rejected` (nothing was charged). Terminal-supplied strings are
 * clipped to the wire schema's limits so a chatty terminal cannot make a report unsendable.
 */
import { PROTOCOL_VERSION, type OperationResult, type PaymentRejected, type PaymentResult } from '@posbridge/protocol/ws';
import type { Transaction } from './transaction-machine.ts';

const clip = (text: string, max: number): string => (text.length > max ? text.slice(0, max) : text);
const opt = <K extends string>(key: K, value: string | undefined, max: number): { [P in K]?: string } =>
  (value === undefined || value === '' ? {} : { [key]: clip(value, max) }) as { [P in K]?: string };

/**
 * The report of `tx` under message id `tx.reportId`.
 * @throws TypeError when `tx` has no outcome or report id (a bug in the caller).
 */
export function buildReport(tx: Transaction): PaymentResult | PaymentRejected | OperationResult {
  const { outcome, reportId } = tx;
  if (!outcome || !reportId) throw new TypeError(`payment ${tx.paymentId} has nothing to report`);
  if (tx.kind === 'void' || tx.kind === 'refund') return buildOperationReport(tx, reportId);
  const base = { v: PROTOCOL_VERSION, id: reportId, paymentId: tx.paymentId } as const;
  switch (outcome.kind) {
    case 'rejected':
      return {
        ...base,
        type: 'payment.rejected',
        code: outcome.code,
        message: clip(outcome.message, 500),
        // The attempt refused: the server applies the rejection to that bind only. A refusal
        // that answers an abort names no attempt: no start of this payment ran here at all.
        ...(tx.abortRequested === true ? {} : opt('startId', tx.startMessageId, 64)),
      };
    case 'unknown':
      return {
        ...base,
        type: 'payment.result',
        outcome: 'unknown',
        amount: { amountMinor: tx.amount.amountMinor, currency: tx.amount.currency },
        terminalRef: tx.rid,
        message: clip(`outcome unknown: ${outcome.reason}`, 500),
      };
    case 'result': {
      const r = outcome.result;
      const card =
        r.card && r.card.brand.length > 0
          ? { card: { brand: clip(r.card.brand, 40), firstDigits: r.card.firstDigits, lastDigits: r.card.lastDigits } }
          : {};
      return {
        ...base,
        type: 'payment.result',
        outcome: r.outcome,
        amount: { amountMinor: r.amount.amountMinor, currency: r.amount.currency },
        terminalRef: tx.rid,
        ...opt('authorizationId', r.authorizationId, 64),
        ...opt('nsu', r.nsu, 64),
        ...opt('tid', r.tid, 64),
        ...opt('responseCode', r.responseCode, 16),
        ...opt('message', r.message, 500),
        ...card,
      };
    }
    default: {
      const never: never = outcome;
      throw new TypeError(`unknown outcome ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The `operation.result` of a void/refund. A refusal before the terminal took it (busy, unknown
 * terminal) is `denied` with the reason in `message`: nothing was reversed.
 */
function buildOperationReport(tx: Transaction, reportId: string): OperationResult {
  const outcome = tx.outcome;
  if (!outcome || (tx.kind !== 'void' && tx.kind !== 'refund') || tx.operationId === undefined) {
    throw new TypeError(`operation of payment ${tx.paymentId} has nothing to report`);
  }
  const base = {
    v: PROTOCOL_VERSION,
    id: reportId,
    type: 'operation.result',
    operationId: tx.operationId,
    paymentId: tx.paymentId,
    kind: tx.kind,
    terminalRef: tx.rid,
  } as const;
  const amount = { amountMinor: tx.amount.amountMinor, currency: tx.amount.currency };
  switch (outcome.kind) {
    case 'rejected':
      return { ...base, outcome: 'denied', amount, code: outcome.code, message: clip(`${outcome.code}: ${outcome.message}`, 500) };
    case 'unknown':
      return { ...base, outcome: 'unknown', amount, message: clip(`outcome unknown: ${outcome.reason}`, 500) };
    case 'result': {
      const r = outcome.result;
      return {
        ...base,
        outcome: r.outcome,
        amount: { amountMinor: r.amount.amountMinor, currency: r.amount.currency },
        ...opt('authorizationId', r.authorizationId, 64),
        ...opt('nsu', r.nsu, 64),
        ...opt('responseCode', r.responseCode, 16),
        ...opt('message', r.message, 500),
      };
    }
    default: {
      const never: never = outcome;
      throw new TypeError(`unknown outcome ${JSON.stringify(never)}`);
    }
  }
}
