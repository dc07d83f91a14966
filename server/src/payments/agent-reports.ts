/**
 * What agents report about payments and operations (start acknowledged, result, rejection,
 * progress, void/refund result) and a terminal moved away from the agent running its sale,
 * applied to the store through the machine. Each resolves once the change is durably stored.
 *
 * @see docs/protocol/ws.md
 */
import { formatMoney } from '@posbridge/protocol/money';
import type { OperationResult, PaymentProgress, PaymentRejected, PaymentResult } from '@posbridge/protocol/ws';
import { voidIdOf } from '../domain/ids.ts';
import type { TerminalOutcome } from '../domain/payment-machine.ts';
import type { AgentReportOutcome } from '../ports/agent-events.ts';
import type { Payment } from '../ports/index.ts';
import type { ApplyOutcome, PaymentCore } from './payment-core.ts';
import { traceField } from '../observability/trace-log.ts';

/**
 * The agent acknowledged `payment.start` `startId` (`agent.acked`: the payment is accepted).
 * `AgentEventHandler.onStartAcked`.
 */
export async function onStartAcked(core: PaymentCore, agentId: string, paymentId: string, startId: string): Promise<AgentReportOutcome> {
  const r = await core.applyEvent(paymentId, () => ({ type: 'agent.acked', startId }));
  return report(core, r, { agentId, paymentId, report: 'ack' });
}

/**
 * The agent reported a terminal outcome (`result.received`). A result from an agent the payment is
 * not bound to is ignored and alerted (the terminal may have charged anyway); one that contradicts
 * an outcome already told to VTEX is alerted (an approval after `denied` is reversed by the machine).
 * `AgentEventHandler.onResult`.
 */
export async function onResult(core: PaymentCore, agentId: string, result: PaymentResult): Promise<AgentReportOutcome> {
  const { paymentId } = result;
  /** The payment as the event was decided on (the last compare-and-set attempt). */
  let seen: Payment | undefined;
  const r = await core.applyEvent(paymentId, (p) => {
    seen = p;
    if (p.binding && p.binding.agentId !== agentId) {
      // A result from an agent the payment is not bound to: the terminal may have charged anyway.
      core.log.error(
        { paymentId, agentId, boundAgentId: p.binding.agentId, outcome: result.outcome },
        'result from an agent the payment is not bound to',
      );
      return null;
    }
    if (result.amount.currency !== p.amount.currency || result.amount.amountMinor !== p.amount.amountMinor) {
      core.log.warn(
        { paymentId, expected: formatMoney(p.amount), processed: formatMoney(result.amount) },
        'terminal processed a different amount',
      );
    }
    const outcome: TerminalOutcome = {
      outcome: result.outcome,
      terminalRef: result.terminalRef,
      authorizationId: result.authorizationId ?? null,
      nsu: result.nsu ?? null,
      tid: result.tid ?? null,
      responseCode: result.responseCode ?? null,
      message: result.message ?? null,
      card: result.card ?? null,
      amountMinor: result.amount.amountMinor,
    };
    return { type: 'result.received', outcome };
  });
  if (r.applied && r.payment) {
    core.log.info({ paymentId, ...traceField(r.payment), status: r.payment.status, outcome: result.outcome }, 'payment outcome recorded');
  }
  const before = seen;
  if (before && (before.status === 'approved' || before.status === 'denied')) {
    // The terminal contradicts what VTEX was told (an operator's resolution of an unknown
    // outcome, or a confused terminal): money may be taken for a denied order or missing for an
    // approved one. An approval after `denied` is reversed (machine); the rest needs a person.
    const recorded = before.outcome?.outcome;
    if (recorded !== undefined && recorded !== result.outcome && result.outcome !== 'unknown') {
      core.log.error(
        { paymentId, status: before.status, recorded, reported: result.outcome, terminalRef: result.terminalRef, applied: r.applied },
        'terminal result contradicts the recorded outcome',
      );
    }
  }
  return report(core, r, { agentId, paymentId, report: 'result' });
}

/**
 * The terminal refused the payment before charging (`start.rejected`): the payment awaits another
 * terminal, or an aborted one ends with nothing charged. `AgentEventHandler.onRejected`.
 */
export async function onRejected(core: PaymentCore, agentId: string, rejected: PaymentRejected): Promise<AgentReportOutcome> {
  const { paymentId } = rejected;
  const r = await core.applyEvent(paymentId, (p) =>
    p.binding && p.binding.agentId !== agentId
      ? null
      : {
          type: 'start.rejected',
          code: rejected.code,
          message: rejected.message,
          ...(rejected.startId !== undefined ? { startId: rejected.startId } : {}),
        },
  );
  if (r.applied && r.payment?.status === 'awaiting_terminal') {
    core.log.info({ paymentId, ...traceField(r.payment), code: rejected.code }, 'payment rejected by terminal; awaiting another terminal');
  } else if (r.applied && r.payment) {
    core.log.info({ paymentId, ...traceField(r.payment), code: rejected.code, status: r.payment.status }, 'aborted payment was never started by the agent; nothing charged');
  }
  return report(core, r, { agentId, paymentId, report: 'rejected' });
}

/**
 * The outcome of an `operation.start`: a void applies `void.result` to the payment; a refund's
 * outcome is stored on its operation (a busy refusal releases it, so VTEX's repeat retries; an
 * `unknown` one is alerted). Wakes the request waiting on the operation.
 * `AgentEventHandler.onOperationResult`.
 */
export async function onOperationResult(core: PaymentCore, agentId: string, result: OperationResult): Promise<AgentReportOutcome> {
  const { paymentId, operationId } = result;
  switch (result.kind) {
    case 'void': {
      const r = await core.applyEvent(paymentId, (p) =>
        voidIdOf(p) === operationId ? { type: 'void.result', outcome: result.outcome, message: result.message ?? null } : null,
      );
      if (r.applied && r.payment) {
        core.log.info({ paymentId, ...traceField(r.payment), operationId, outcome: result.outcome, status: r.payment.status }, 'reversal outcome recorded');
      }
      return report(core, r, { agentId, paymentId, report: 'void' });
    }
    case 'refund': {
      if (isBusyRefusal(result)) {
        // The terminal never ran it: not a refusal of the refund. The waiting request answers a
        // retryable 500 and VTEX's repeat is a new attempt (never refund-manually for a busy terminal).
        const released = await core.store.releaseOperation(operationId, core.now());
        core.changes.notify(operationId);
        if (released) {
          core.log.warn({ paymentId, operationId, agentId }, 'refund not taken: terminal busy; VTEX repeats the request');
          return 'applied';
        }
      }
      const op = await core.store.setOperationOutcome(operationId, {
        status: result.outcome,
        terminalRef: result.terminalRef,
        authorizationId: result.authorizationId ?? null,
        nsu: result.nsu ?? null,
        responseCode: result.responseCode ?? null,
        message: result.message ?? null,
        at: core.now(),
      });
      core.changes.notify(operationId);
      if (!op) {
        const known = await core.store.getOperation(operationId);
        if (known && known.status !== result.outcome && result.outcome !== 'unknown') {
          // An operator's resolution (or a confused terminal) contradicts the terminal: the
          // customer may be refunded twice or not at all; needs a person.
          core.log.error(
            { paymentId, operationId, recorded: known.status, reported: result.outcome, terminalRef: result.terminalRef },
            'terminal refund result contradicts the recorded outcome',
          );
        }
        core.log.info({ paymentId, operationId, agentId, status: known?.status }, 'refund result ignored');
        return known ? 'ignored' : 'unknown_payment';
      }
      if (result.outcome === 'unknown') {
        // The alert of an uncertain refund: stable message, counted in posbridge_operations_unknown.
        core.log.error(
          { paymentId, operationId, serialNumber: op.serialNumber, terminalRef: result.terminalRef, detail: result.message },
          'refund outcome unknown; resolve it with posbridge-server operation resolve',
        );
      } else {
        core.log.info({ paymentId, operationId, outcome: result.outcome }, 'refund outcome recorded');
      }
      return 'applied';
    }
    default: {
      const never: never = result.kind;
      throw new Error(`unhandled operation kind ${String(never)}`);
    }
  }
}

/**
 * A progress stage of a payment (for the Payment App's status; not acknowledged), stored and
 * notified on the payment's key. `AgentEventHandler.onProgress`.
 */
export async function onProgress(core: PaymentCore, agentId: string, progress: PaymentProgress): Promise<void> {
  const found = await core.store.setProgressStage(progress.paymentId, progress.stage, core.now());
  if (!found) core.log.warn({ paymentId: progress.paymentId, agentId }, 'progress for an unknown payment');
  else core.changes.notify(progress.paymentId);
}

/**
 * The payment's terminal now belongs to agent `ownerAgentId`, not to the agent the payment is
 * bound to: no agent can finish or learn the sale, so the payment is flagged `unknown`
 * (`terminal.moved`; docs/protocol/ws.md "Terminal ownership").
 * `AgentEventHandler.onBoundAgentReplaced`.
 */
export async function onBoundAgentReplaced(core: PaymentCore, paymentId: string, ownerAgentId: string): Promise<void> {
  const r = await core.applyEvent(paymentId, (p) =>
    p.binding && p.binding.agentId !== ownerAgentId
      ? {
          type: 'terminal.moved',
          outcome: {
            outcome: 'unknown',
            terminalRef: '',
            authorizationId: null,
            nsu: null,
            tid: null,
            responseCode: null,
            message: `terminal ${p.binding.serialNumber} moved to agent ${ownerAgentId} before agent ${p.binding.agentId} reported the sale`,
            card: null,
            amountMinor: p.amount.amountMinor,
          },
        }
      : null,
  );
  if (r.applied && r.payment) {
    core.log.warn(
      { paymentId, serialNumber: r.payment.binding?.serialNumber, boundAgentId: r.payment.binding?.agentId, ownerAgentId },
      'terminal moved away from the agent running the sale; outcome unknown',
    );
  }
}

/** What the hub is told about a report: `unknown_payment`, `ignored` (logged with its reason) or `applied`. */
function report(core: PaymentCore, r: ApplyOutcome, ctx: { agentId: string; paymentId: string; report: string }): AgentReportOutcome {
  if (!r.payment) {
    core.log.warn(ctx, 'agent report for an unknown payment');
    return 'unknown_payment';
  }
  if (!r.applied) {
    core.log.info({ ...ctx, status: r.payment.status, reason: r.reason }, 'agent report ignored');
    return 'ignored';
  }
  return 'applied';
}

/**
 * True when an agent refused an operation because its terminal was busy (nothing ran on the
 * terminal): `code: "TERM_BUSY"`, or the `TERM_BUSY: …` message of agents that predate the
 * `code` field (docs/protocol/ws.md).
 */
function isBusyRefusal(result: OperationResult): boolean {
  if (result.outcome !== 'denied') return false;
  return result.code === 'TERM_BUSY' || (result.code === undefined && (result.message ?? '').startsWith('TERM_BUSY:'));
}
