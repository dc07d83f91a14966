/**
 * Payment effects as agent-command rows (ports/agent-commands.ts): which commands a state change
 * opens and closes, and the exact server → agent message of each (docs/protocol/ws.md). The
 * payment service writes them in the same `applyTransition` as the change; the hub only delivers.
 *
 * | command | id | open while the payment is | target |
 * |---|---|---|---|
 * | `payment.start` | `binding.startId` | `dispatched` with that start | the bound agent |
 * | `payment.abort` | `ab_<id>` | `aborting`, or `unknown` after VTEX cancelled it | the bound agent |
 * | `operation.start` void | `vd_<id>` | `reversing` | an agent of the payment's merchant |
 * | `operation.start` refund | its operationId | the refund is `pending` or `unknown` | an agent of the payment's merchant |
 *
 * A terminal that moved to another agent (`terminal.moved`) also closes the abort: the agent it
 * was for no longer drives the terminal.
 *
 * @see docs/architecture.md "Effects are rows"
 */
import { encodeMessage, formatTraceparent, PROTOCOL_VERSION } from '@posbridge/protocol/ws';
import type { CommandWrites, NewAgentCommand } from '../ports/agent-commands.ts';
import type { Payment } from '../ports/index.ts';
import { abortIdOf, voidIdOf } from '../domain/ids.ts';
import type { PaymentEffect, PaymentEvent, PaymentMachineState } from '../domain/payment-machine.ts';

/**
 * `{ traceparent }` of a command of `p`: the payment's trace id with a new span id per command
 * (docs/tracing.md); nothing for a payment stored before trace ids.
 */
function traceOf(p: Payment): { traceparent?: string } {
  return p.traceId === undefined ? {} : { traceparent: formatTraceparent(p.traceId) };
}

function bindingOf(p: Payment): NonNullable<Payment['binding']> {
  if (!p.binding) throw new Error(`payment ${p.paymentId} is not bound`);
  return p.binding;
}

/** The `payment.start` command of a bound payment (its message id is `startId`). */
export function startCommandOf(p: Payment): NewAgentCommand {
  const b = bindingOf(p);
  return {
    commandId: b.startId,
    kind: 'start',
    paymentId: p.paymentId,
    merchantId: p.merchantId,
    serialNumber: b.serialNumber,
    agentId: b.agentId,
    message: encodeMessage({
      v: PROTOCOL_VERSION,
      id: b.startId,
      type: 'payment.start',
      paymentId: p.paymentId,
      serialNumber: b.serialNumber,
      amount: { amountMinor: p.amount.amountMinor, currency: p.amount.currency },
      method: p.method,
      installments: p.installments,
      ...traceOf(p),
    }),
  };
}

/** The `payment.abort` command of a bound payment (reason: its `endReason`, default cancelled). */
export function abortCommandOf(p: Payment): NewAgentCommand {
  const b = bindingOf(p);
  const id = abortIdOf(p);
  return {
    commandId: id,
    kind: 'abort',
    paymentId: p.paymentId,
    merchantId: p.merchantId,
    serialNumber: b.serialNumber,
    agentId: b.agentId,
    message: encodeMessage({ v: PROTOCOL_VERSION, id, type: 'payment.abort', paymentId: p.paymentId, reason: p.endReason ?? 'cancelled', ...traceOf(p) }),
  };
}

function operationCommand(p: Payment, kind: 'void' | 'refund', operationId: string, serialNumber: string, amountMinor: number): NewAgentCommand {
  return {
    commandId: operationId,
    kind,
    paymentId: p.paymentId,
    merchantId: p.merchantId,
    serialNumber,
    agentId: null,
    message: encodeMessage({
      v: PROTOCOL_VERSION,
      id: operationId,
      type: 'operation.start',
      operationId,
      paymentId: p.paymentId,
      kind,
      serialNumber,
      amount: { amountMinor, currency: p.amount.currency },
      originalTerminalRef: p.outcome?.terminalRef || p.paymentId,
      ...traceOf(p),
    }),
  };
}

/** The `operation.start` void of an approved payment (full processed amount). */
export function voidCommandOf(p: Payment): NewAgentCommand {
  return operationCommand(p, 'void', voidIdOf(p), bindingOf(p).serialNumber, p.outcome?.amountMinor ?? p.amount.amountMinor);
}

/** The `operation.start` refund of `amountMinor` of an approved payment, on its terminal. */
export function refundCommandOf(p: Payment, operationId: string, amountMinor: number): NewAgentCommand {
  return operationCommand(p, 'refund', operationId, bindingOf(p).serialNumber, amountMinor);
}

type Owes = Pick<PaymentMachineState, 'status' | 'binding' | 'endReason'>;

/** The start id a payment in this state still owes its agent, if any. */
function owedStart(s: Owes): string | null {
  return s.status === 'dispatched' && s.binding ? s.binding.startId : null;
}

function owesAbort(s: Owes): boolean {
  return s.binding !== null && (s.status === 'aborting' || (s.status === 'unknown' && s.endReason === 'cancelled'));
}

function owesVoid(s: Owes): boolean {
  return s.binding !== null && s.status === 'reversing';
}

/**
 * The command writes of one committed transition from `before` to `after` (the stored payment
 * after the change), caused by `event` with the machine's `effects`: `send_start`, `send_abort`
 * and `start_void` open their command; a command the new state no longer owes is closed
 * (reason: the event type).
 */
export function commandWritesOf(before: Payment, after: Payment, event: PaymentEvent, effects: readonly PaymentEffect[]): CommandWrites {
  const open: NewAgentCommand[] = [];
  for (const e of effects) {
    if (e.type === 'send_start') open.push(startCommandOf(after));
    else if (e.type === 'send_abort') open.push(abortCommandOf(after));
    else if (e.type === 'start_void') open.push(voidCommandOf(after));
  }
  const close: { commandId: string; reason: string }[] = [];
  const reason = event.type;
  const start = owedStart(before);
  if (start !== null && owedStart(after) !== start) close.push({ commandId: start, reason });
  if (owesAbort(before) && (!owesAbort(after) || event.type === 'terminal.moved')) close.push({ commandId: abortIdOf(before), reason });
  if (owesVoid(before) && !owesVoid(after)) close.push({ commandId: voidIdOf(before), reason });
  for (const e of effects) {
    // Belt and braces: the machine's own "stop repeating" names the start too.
    if (e.type === 'stop_resend' && !close.some((c) => c.commandId === e.startId)) close.push({ commandId: e.startId, reason });
  }
  return {
    ...(open.length > 0 ? { open } : {}),
    ...(close.length > 0 ? { close } : {}),
  };
}
