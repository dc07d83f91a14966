import { describe, expect, it } from 'vitest';
import {
  PAYMENT_STATUSES,
  initialPaymentState,
  isFinalStatus,
  transition,
  type PaymentEvent,
  type PaymentMachineState,
  type PaymentStatus,
  type TerminalOutcome,
} from './payment-machine.ts';

const binding = { serialNumber: 'SN1', agentId: 'ag1', startId: 'st1' };
const outcome = (o: TerminalOutcome['outcome']): TerminalOutcome => ({
  outcome: o,
  terminalRef: 'r1',
  authorizationId: o === 'approved' ? 'AUTH1' : null,
  nsu: '42',
  tid: 'T1',
  responseCode: o === 'approved' ? '00' : '51',
  message: null,
  card: { brand: 'Visa', firstDigits: '411111', lastDigits: '1111' },
  amountMinor: 3190,
});

function stateIn(status: PaymentStatus): PaymentMachineState {
  return {
    status,
    binding: status === 'awaiting_terminal' ? null : binding,
    outcome: status === 'approved' || status === 'denied' || status === 'unknown' ? outcome(status) : null,
    changedAt: 1,
  };
}

const events = {
  bound: { type: 'terminal.bound', binding },
  acked: { type: 'agent.acked', startId: 'st1' },
  rejected: { type: 'start.rejected', code: 'TERM_BUSY', message: 'busy' },
  approved: { type: 'result.received', outcome: outcome('approved') },
  denied: { type: 'result.received', outcome: outcome('denied') },
  unknown: { type: 'result.received', outcome: outcome('unknown') },
} satisfies Record<string, PaymentEvent>;

describe('payment machine', () => {
  it('starts awaiting a terminal', () => {
    expect(initialPaymentState(5)).toEqual({ status: 'awaiting_terminal', binding: null, outcome: null, changedAt: 5 });
  });

  it('binds a terminal: awaiting_terminal → dispatched, sends the start', () => {
    const r = transition(stateIn('awaiting_terminal'), events.bound, 10);
    expect(r.state).toEqual({ status: 'dispatched', binding, outcome: null, changedAt: 10 });
    expect(r.effects).toEqual([{ type: 'send_start', binding }]);
  });

  it('agent ack: dispatched → accepted, stops the resend', () => {
    const r = transition(stateIn('dispatched'), events.acked, 11);
    expect(r.state.status).toBe('accepted');
    expect(r.state.changedAt).toBe(11);
    expect(r.effects).toEqual([{ type: 'stop_resend', startId: 'st1' }]);
  });

  it('ignores an ack of another start', () => {
    const s = stateIn('dispatched');
    const r = transition(s, { type: 'agent.acked', startId: 'other' }, 11);
    expect(r.state).toBe(s);
    expect(r.effects[0]?.type).toBe('ignored');
  });

  it.each(['approved', 'denied'] as const)('accepted → %s enqueues the callback', (o) => {
    const r = transition(stateIn('accepted'), events[o], 12);
    expect(r.state.status).toBe(o);
    expect(r.state.outcome?.outcome).toBe(o);
    expect(r.effects).toEqual([{ type: 'enqueue_callback', status: o }]);
  });

  it('a result while still dispatched (ack lost) also stops the resend', () => {
    const r = transition(stateIn('dispatched'), events.approved, 12);
    expect(r.state.status).toBe('approved');
    expect(r.effects).toEqual([
      { type: 'stop_resend', startId: 'st1' },
      { type: 'enqueue_callback', status: 'approved' },
    ]);
  });

  it('unknown outcome is never folded into denied', () => {
    const r = transition(stateIn('accepted'), events.unknown, 13);
    expect(r.state.status).toBe('unknown');
    expect(r.effects).toEqual([{ type: 'outcome_unknown' }]);
  });

  it.each(['approved', 'denied'] as const)('unknown → %s when a later result resolves it', (o) => {
    const r = transition(stateIn('unknown'), events[o], 14);
    expect(r.state.status).toBe(o);
    expect(r.effects).toEqual([{ type: 'enqueue_callback', status: o }]);
  });

  it('unknown + unknown is ignored', () => {
    const s = stateIn('unknown');
    expect(transition(s, events.unknown, 14).state).toBe(s);
  });

  it.each(['dispatched', 'accepted'] as const)('rejection from %s unbinds back to awaiting_terminal', (from) => {
    const r = transition(stateIn(from), events.rejected, 15);
    expect(r.state).toEqual({ status: 'awaiting_terminal', binding: null, outcome: null, changedAt: 15 });
    expect(r.effects).toEqual([{ type: 'stop_resend', startId: 'st1' }]);
  });

  // Every (state, event) pair not listed as legal must leave the state untouched.
  const legal = new Set([
    'awaiting_terminal:bound',
    'dispatched:acked',
    'dispatched:rejected',
    'dispatched:approved',
    'dispatched:denied',
    'dispatched:unknown',
    'accepted:rejected',
    'accepted:approved',
    'accepted:denied',
    'accepted:unknown',
    'unknown:approved',
    'unknown:denied',
  ]);
  for (const status of PAYMENT_STATUSES) {
    for (const [name, event] of Object.entries(events)) {
      if (legal.has(`${status}:${name}`)) continue;
      it(`ignores ${name} in ${status}`, () => {
        const s = stateIn(status);
        const r = transition(s, event, 99);
        expect(r.state).toBe(s);
        expect(r.effects).toHaveLength(1);
        expect(r.effects[0]?.type).toBe('ignored');
      });
    }
  }

  it('final statuses are approved and denied only', () => {
    expect(PAYMENT_STATUSES.filter(isFinalStatus)).toEqual(['approved', 'denied']);
  });

  it('a final payment never enqueues a second callback', () => {
    const approved = transition(stateIn('accepted'), events.approved, 1).state;
    for (const e of [events.approved, events.denied, events.unknown]) {
      const r = transition(approved, e, 2);
      expect(r.state).toBe(approved);
      expect(r.effects.some((x) => x.type === 'enqueue_callback')).toBe(false);
    }
  });
});
