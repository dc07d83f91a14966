import { describe, expect, it } from 'vitest';
import { encodeMessage, PROTOCOL_VERSION } from '@posbridge/protocol/ws';
import type { Payment } from '../ports/index.ts';
import {
  abortCommandOf,
  commandWritesOf,
  refundCommandOf,
  startCommandOf,
  voidCommandOf,
} from './command-rows.ts';
import { transition, type PaymentEvent, type TerminalOutcome } from '../domain/payment-machine.ts';

const binding = { serialNumber: 'SN1', agentId: 'agt_1', startId: 'st_1' };

function payment(overrides: Partial<Payment> = {}): Payment {
  return {
    paymentId: 'PAY1',
    id: 'pb_1',
    transactionId: 'TX',
    orderId: 'O',
    reference: 'R',
    merchantName: 'M',
    merchantId: 'mch_1',
    testSuite: false,
    method: 'debit',
    installments: 1,
    amount: { amountMinor: 3190, currency: 'BRL' },
    callbackUrl: 'https://gw.example/cb',
    createdAt: 1,
    status: 'awaiting_terminal',
    binding: null,
    outcome: null,
    endReason: null,
    deadlineAt: null,
    changedAt: 1,
    version: 0,
    progressStage: null,
    updatedAt: 1,
    ...overrides,
  };
}

function outcome(o: TerminalOutcome['outcome']): TerminalOutcome {
  return { outcome: o, terminalRef: 'ref-1', authorizationId: 'A1', nsu: null, tid: null, responseCode: null, message: null, card: null, amountMinor: 3000 };
}

/** The writes of applying `event` to `p`. */
function writes(p: Payment, event: PaymentEvent) {
  const { state, effects } = transition(p, event, 100);
  const w = commandWritesOf(p, { ...p, ...state }, event, effects);
  return { opened: (w.open ?? []).map((c) => c.commandId), closed: (w.close ?? []).map((c) => `${c.commandId}:${c.reason}`) };
}

describe('the messages of command rows are byte-identical to what the hub sent before', () => {
  it('payment.start, payment.abort and operation.start', () => {
    const p = payment({ status: 'dispatched', binding, endReason: 'expired', outcome: outcome('approved') });
    expect(startCommandOf(p)).toMatchObject({ commandId: 'st_1', kind: 'start', agentId: 'agt_1', serialNumber: 'SN1', merchantId: 'mch_1' });
    expect(startCommandOf(p).message).toBe(
      encodeMessage({
        v: PROTOCOL_VERSION,
        id: 'st_1',
        type: 'payment.start',
        paymentId: 'PAY1',
        serialNumber: 'SN1',
        amount: { amountMinor: 3190, currency: 'BRL' },
        method: 'debit',
        installments: 1,
      }),
    );
    expect(abortCommandOf(p)).toMatchObject({ commandId: 'ab_pb_1', kind: 'abort', agentId: 'agt_1' });
    expect(abortCommandOf(p).message).toBe(
      encodeMessage({ v: PROTOCOL_VERSION, id: 'ab_pb_1', type: 'payment.abort', paymentId: 'PAY1', reason: 'expired' }),
    );
    const op = (id: string, kind: 'void' | 'refund', amountMinor: number, ref: string) =>
      encodeMessage({
        v: PROTOCOL_VERSION,
        id,
        type: 'operation.start',
        operationId: id,
        paymentId: 'PAY1',
        kind,
        serialNumber: 'SN1',
        amount: { amountMinor, currency: 'BRL' },
        originalTerminalRef: ref,
      });
    expect(voidCommandOf(p)).toMatchObject({ commandId: 'vd_pb_1', kind: 'void', agentId: null });
    expect(voidCommandOf(p).message).toBe(op('vd_pb_1', 'void', 3000, 'ref-1'));
    expect(refundCommandOf(p, 'rf_9', 500).message).toBe(op('rf_9', 'refund', 500, 'ref-1'));
    // No terminal reference recorded: the paymentId stands in, as before.
    expect(voidCommandOf(payment({ binding, outcome: { ...outcome('approved'), terminalRef: '' } })).message).toBe(op('vd_pb_1', 'void', 3000, 'PAY1'));
  });
});

describe('which commands a transition opens and closes', () => {
  const dispatched = payment({ status: 'dispatched', binding });
  const accepted = payment({ status: 'accepted', binding });

  it('a bind opens its start; the ack, a result or a rejection closes it', () => {
    expect(writes(payment(), { type: 'terminal.bound', binding })).toEqual({ opened: ['st_1'], closed: [] });
    expect(writes(dispatched, { type: 'agent.acked', startId: 'st_1' })).toEqual({ opened: [], closed: ['st_1:agent.acked'] });
    expect(writes(dispatched, { type: 'result.received', outcome: outcome('approved') })).toEqual({ opened: [], closed: ['st_1:result.received'] });
    expect(writes(dispatched, { type: 'start.rejected', code: 'TERM_BUSY', message: 'busy', startId: 'st_1' })).toEqual({
      opened: [],
      closed: ['st_1:start.rejected'],
    });
  });

  it('a cancellation of a sale in flight closes the start and opens the abort; its answer closes the abort', () => {
    expect(writes(dispatched, { type: 'cancel.requested', canReverse: true })).toEqual({ opened: ['ab_pb_1'], closed: ['st_1:cancel.requested'] });
    expect(writes(accepted, { type: 'deadline.passed' })).toEqual({ opened: ['ab_pb_1'], closed: [] });
    const aborting = payment({ status: 'aborting', binding, endReason: 'cancelled' });
    expect(writes(aborting, { type: 'result.received', outcome: outcome('denied') })).toEqual({ opened: [], closed: ['ab_pb_1:result.received'] });
    // A late approval closes the abort and opens the void; the void's answer closes it.
    expect(writes(aborting, { type: 'result.received', outcome: outcome('approved') })).toEqual({ opened: ['vd_pb_1'], closed: ['ab_pb_1:result.received'] });
    const reversing = payment({ status: 'reversing', binding, endReason: 'cancelled', outcome: outcome('approved') });
    expect(writes(reversing, { type: 'void.result', outcome: 'approved', message: null })).toEqual({ opened: [], closed: ['vd_pb_1:void.result'] });
    expect(writes(reversing, { type: 'void.result', outcome: 'unknown', message: null })).toEqual({ opened: [], closed: ['vd_pb_1:void.result'] });
  });

  it('an unknown payment VTEX cancelled keeps its abort until it is resolved; an abort answered unknown keeps it too', () => {
    const unknown = payment({ status: 'unknown', binding, outcome: outcome('unknown') });
    expect(writes(unknown, { type: 'cancel.requested', canReverse: false })).toEqual({ opened: ['ab_pb_1'], closed: [] });
    const cancelledUnknown = payment({ status: 'unknown', binding, outcome: outcome('unknown'), endReason: 'cancelled', deadlineAt: 50 });
    expect(writes(cancelledUnknown, { type: 'deadline.passed' })).toEqual({ opened: [], closed: [] });
    expect(
      writes(cancelledUnknown, { type: 'operator.resolved', outcome: 'denied', authorizationId: null, operator: 'ops', reason: 'journal' }),
    ).toEqual({ opened: [], closed: ['ab_pb_1:operator.resolved'] });
    const aborting = payment({ status: 'aborting', binding, endReason: 'cancelled' });
    expect(writes(aborting, { type: 'result.received', outcome: outcome('unknown') })).toEqual({ opened: [], closed: [] });
    // An expiry abort answered unknown drops its reason: nothing is owed any more.
    expect(writes({ ...aborting, endReason: 'expired' }, { type: 'result.received', outcome: outcome('unknown') })).toEqual({
      opened: [],
      closed: ['ab_pb_1:result.received'],
    });
  });

  it('a terminal that moved to another agent closes the start or the abort of the agent that lost it', () => {
    expect(writes(dispatched, { type: 'terminal.moved', outcome: outcome('unknown') })).toEqual({ opened: [], closed: ['st_1:terminal.moved'] });
    const aborting = payment({ status: 'aborting', binding, endReason: 'cancelled' });
    expect(writes(aborting, { type: 'terminal.moved', outcome: outcome('unknown') })).toEqual({ opened: [], closed: ['ab_pb_1:terminal.moved'] });
  });
});
