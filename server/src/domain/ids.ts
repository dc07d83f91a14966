/** Ids posbridge mints for payments and the messages it sends about them (docs/protocol/ws.md). */
import { randomUUID } from 'node:crypto';
import type { Payment } from '../ports/index.ts';

/** posbridge's own id of a payment, reported as `tid`. */
export function newPaymentId(): string {
  return `pb_${randomUUID().replaceAll('-', '')}`;
}

/** Message id of a `payment.start`. */
export function newStartId(): string {
  return `st_${randomUUID().replaceAll('-', '')}`;
}

/** Message id of the `payment.abort` of a payment (stable: one abort per payment). */
export function abortIdOf(p: Pick<Payment, 'id'>): string {
  return `ab_${p.id}`;
}

/** `operationId` of the reversal (void) of a payment (stable: one reversal per payment). */
export function voidIdOf(p: Pick<Payment, 'id'>): string {
  return `vd_${p.id}`;
}
