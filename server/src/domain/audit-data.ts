/**
 * The audit data of a payment event: what the timeline (ports/events.ts) keeps of each machine
 * event, the same in every adapter. Never card data beyond brand/first6/last4, never secrets.
 */
import type { Money } from '@posbridge/protocol/money';
import type { PaymentEvent } from './payment-machine.ts';

/**
 * Audit data of a payment's `created` event: amount, method, installments, and `sandbox: true`
 * for a payment sent from a VTEX sandbox (docs/homologation.md "Sandbox mode").
 */
export function createdEventData(input: { amount: Money; method: string; installments: number; sandbox?: boolean | undefined }): Record<string, unknown> {
  return { amount: input.amount, method: input.method, installments: input.installments, ...(input.sandbox === true ? { sandbox: true } : {}) };
}

/** Audit data of an event: what happened, never card data beyond brand/first6/last4. */
export function eventData(event: PaymentEvent): unknown {
  switch (event.type) {
    case 'terminal.bound':
      return { ...event.binding, deadlineAt: event.deadlineAt };
    case 'agent.acked':
      return { startId: event.startId };
    case 'start.rejected':
      return { code: event.code, message: event.message, ...(event.startId !== undefined ? { startId: event.startId } : {}) };
    case 'result.received':
      return {
        outcome: event.outcome.outcome,
        terminalRef: event.outcome.terminalRef,
        responseCode: event.outcome.responseCode,
        amountMinor: event.outcome.amountMinor,
      };
    case 'cancel.requested':
      return { canReverse: event.canReverse };
    case 'deadline.passed':
      return {};
    case 'void.result':
      return { outcome: event.outcome, message: event.message };
    case 'operator.resolved':
      // Who and why (the row's `at` is when): the audit trail of a manual resolution.
      return { outcome: event.outcome, authorizationId: event.authorizationId, operator: event.operator, reason: event.reason };
    case 'terminal.moved':
      return { outcome: event.outcome.outcome, message: event.outcome.message };
    default: {
      const never: never = event;
      return never;
    }
  }
}

