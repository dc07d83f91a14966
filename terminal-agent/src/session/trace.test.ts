import { describe, expect, it } from 'vitest';
import { ManualClock } from '@posbridge/kit/manual-clock';
import { decodeAgentMessage, encodeMessage, type TraceEvent } from '@posbridge/protocol/ws';
import { effectStageOf, MAX_BUFFERED_EVENTS, PaymentTracer, stageOf, TRACE_FLUSH_MS } from './trace.ts';
import { newTransaction, type Transaction } from './transaction-machine.ts';

const tx: Transaction = {
  ...newTransaction(
    { paymentId: 'P1', serialNumber: 'SN-1', rid: 'pabc', amount: { amountMinor: 100, currency: 'BRL' }, method: 'credit', installments: 1, startMessageId: 's1' },
    0,
  ),
  phase: 'sent',
};

describe('agent trace stages', () => {
  it('maps runner events to stages with allow-listed details only', () => {
    expect(stageOf({ ...tx, phase: 'requested' }, { type: 'start' })).toEqual({ stage: 'command.received', detail: { messageId: 's1', serialNumber: 'SN-1' } });
    expect(stageOf(tx, { type: 'sent' })).toEqual({ stage: 'terminal.request', detail: { rid: 'pabc', serialNumber: 'SN-1' } });
    const answer = stageOf(tx, {
      type: 'outcome',
      reportId: 'r1',
      outcome: {
        kind: 'result',
        result: { outcome: 'approved', terminalStatus: 'approved', amount: { amountMinor: 100, currency: 'BRL' }, responseCode: '00', card: { brand: 'visa', firstDigits: '411111', lastDigits: '1111' } },
      },
    });
    expect(answer).toEqual({ stage: 'terminal.answer', detail: { rid: 'pabc', outcome: 'approved', responseCode: '00' } });
    expect(stageOf(tx, { type: 'redeliver', startMessageId: 's1' })).toBeNull();
    expect(effectStageOf({ ...tx, reportId: 'r1' }, { type: 'report' })).toEqual({ stage: 'result.sent', detail: { messageId: 'r1' } });
  });

  it('masks card numbers in free text and keeps it within the wire bound', () => {
    const marked = stageOf(tx, { type: 'recovering', reason: `no answer; display showed 5454545454545454 ${'x'.repeat(400)}` });
    expect(marked?.detail.reason).toMatch(/^no answer; display showed \[redacted\] x+$/);
    expect(marked?.detail.reason?.length).toBe(200);
    // What it builds is a valid frame.
    const frame = encodeMessage({ v: 1, id: 'e1', type: 'payment.events', paymentId: 'P1', events: [{ at: 1, ...marked! }] });
    expect(decodeAgentMessage(frame).ok).toBe(true);
  });

  it('buffers per payment, sends in messages of at most 16 after the flush delay, and drops the oldest past its bound', async () => {
    const clock = new ManualClock(1000);
    const sent: { paymentId: string; events: readonly TraceEvent[] }[] = [];
    const tracer = new PaymentTracer({ sendEvents: (paymentId, events) => (sent.push({ paymentId, events }), true) }, clock);
    for (let i = 0; i < MAX_BUFFERED_EVENTS + 6; i++) tracer.record('P1', 'terminal.progress', { stage: 'pin' });
    tracer.record('P2', 'command.received', {});
    expect(sent).toEqual([]);
    await clock.advance(TRACE_FLUSH_MS);
    expect(sent.filter((s) => s.paymentId === 'P1').map((s) => s.events.length)).toEqual([16, 16, 16, 16]);
    expect(sent.find((s) => s.paymentId === 'P2')?.events).toEqual([{ at: 1000, stage: 'command.received' }]);
    sent.length = 0;
    tracer.flush();
    expect(sent).toEqual([]);
  });
});
