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
    ...(status === 'aborting' || status === 'reversing' ? { endReason: 'cancelled' as const } : {}),
    outcome:
      status === 'approved' || status === 'denied' || status === 'unknown'
        ? outcome(status)
        : status === 'reversal_unknown'
          ? outcome('approved')
          : null,
    endReason: null,
    deadlineAt: null,
    changedAt: 1,
    ...(status === 'aborting' || status === 'reversing' || status === 'reversal_unknown' ? { endReason: 'cancelled' as const } : {}),
  };
}

const events = {
  bound: { type: 'terminal.bound', binding },
  acked: { type: 'agent.acked', startId: 'st1' },
  rejected: { type: 'start.rejected', code: 'TERM_BUSY', message: 'busy' },
  approved: { type: 'result.received', outcome: outcome('approved') },
  denied: { type: 'result.received', outcome: outcome('denied') },
  unknown: { type: 'result.received', outcome: outcome('unknown') },
  resolvedApproved: { type: 'operator.resolved', outcome: 'approved', authorizationId: 'OP-AUTH', operator: 'alice', reason: 'receipt 123 printed' },
  resolvedDenied: { type: 'operator.resolved', outcome: 'denied', authorizationId: null, operator: 'alice', reason: 'terminal journal shows no sale' },
} satisfies Record<string, PaymentEvent>;

describe('payment machine', () => {
  it('starts awaiting a terminal', () => {
    expect(initialPaymentState(5)).toEqual({ status: 'awaiting_terminal', binding: null, outcome: null, endReason: null, deadlineAt: null, changedAt: 5 });
  });

  it('binds a terminal: awaiting_terminal → dispatched, sends the start', () => {
    const r = transition(stateIn('awaiting_terminal'), events.bound, 10);
    expect(r.state).toEqual({ status: 'dispatched', binding, outcome: null, endReason: null, deadlineAt: null, changedAt: 10 });
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

  it('applies a rejection of the current attempt, ignores one of another attempt (a rebind has a new startId)', () => {
    const s = stateIn('dispatched');
    expect(transition(s, { ...events.rejected, startId: 'st1' }, 11).state).toMatchObject({ status: 'awaiting_terminal', binding: null });
    const stale = transition(s, { ...events.rejected, startId: 'st0' }, 11);
    expect(stale.state).toBe(s);
    expect(stale.effects).toEqual([{ type: 'ignored', reason: 'rejection of another attempt' }]);
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
    expect(r.state).toEqual({ status: 'awaiting_terminal', binding: null, outcome: null, endReason: null, deadlineAt: null, changedAt: 15 });
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
    // only an unknown outcome is resolved by an operator
    'unknown:resolvedApproved',
    'unknown:resolvedDenied',
    // … and a reversal whose outcome is unknown (denied: the void went through; an authorization is refused)
    'reversal_unknown:resolvedDenied',
    // while aborting, the terminal's answer ends the abort (approved → reversal, unknown → flagged unknown)
    'aborting:approved',
    'aborting:denied',
    'aborting:unknown',
    // while aborting, "never started" (nothing charged) ends the abort too
    'aborting:rejected',
    // a late approval after the payment ended is reversed
    'cancelled:approved',
    'expired:approved',
    // … and so is one after a denial (an operator resolved an unknown outcome denied; the terminal charged)
    'denied:approved',
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

  it('final statuses are approved, denied, cancelled and expired', () => {
    expect(PAYMENT_STATUSES.filter(isFinalStatus)).toEqual(['approved', 'denied', 'cancelled', 'expired']);
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

describe('cancellations, deadlines and reversals', () => {
  const cancel = (canReverse: boolean): PaymentEvent => ({ type: 'cancel.requested', canReverse });
  const deadline: PaymentEvent = { type: 'deadline.passed' };
  const voidResult = (o: TerminalOutcome['outcome']): PaymentEvent => ({ type: 'void.result', outcome: o, message: o === 'denied' ? 'too late' : null });

  it('cancel before a terminal was chosen: cancelled at once, no callback', () => {
    const r = transition({ ...stateIn('awaiting_terminal'), deadlineAt: 500 }, cancel(false), 20);
    expect(r.state).toMatchObject({ status: 'cancelled', endReason: 'cancelled', deadlineAt: null, changedAt: 20 });
    expect(r.effects).toEqual([]);
  });

  it.each(['dispatched', 'accepted'] as const)('cancel while the terminal works (%s): abort on the terminal', (from) => {
    const r = transition(stateIn(from), cancel(true), 21);
    expect(r.state).toMatchObject({ status: 'aborting', endReason: 'cancelled' });
    expect(r.effects).toContainEqual({ type: 'send_abort', reason: 'cancelled' });
    if (from === 'dispatched') expect(r.effects).toContainEqual({ type: 'stop_resend', startId: 'st1' });
  });

  it('aborting + denied → cancelled without callback; + unknown → flagged unknown, the cancellation kept', () => {
    const aborting = transition(stateIn('accepted'), cancel(true), 1).state;
    expect(transition(aborting, events.denied, 2)).toMatchObject({ state: { status: 'cancelled' }, effects: [] });
    const flagged = transition(aborting, events.unknown, 2);
    expect(flagged.state).toMatchObject({ status: 'unknown', endReason: 'cancelled', deadlineAt: null });
    expect(flagged.effects).toEqual([{ type: 'outcome_unknown' }]);
  });

  it('aborting + rejected (the agent never started it: nothing charged) ends the abort; not after an unknown outcome', () => {
    const aborting = transition(stateIn('accepted'), cancel(true), 1).state;
    expect(transition(aborting, events.rejected, 2)).toMatchObject({ state: { status: 'cancelled', binding, outcome: null }, effects: [] });
    const expiring = transition(stateIn('accepted'), deadline, 1).state;
    expect(transition(expiring, events.rejected, 2)).toMatchObject({
      state: { status: 'expired' },
      effects: [{ type: 'enqueue_callback', status: 'denied' }],
    });
    // The terminal may have charged: only its answer ends the abort.
    const unknownThenAbort = transition(transition(stateIn('accepted'), events.unknown, 1).state, cancel(true), 2).state;
    expect(transition(unknownThenAbort, events.rejected, 3).effects[0]?.type).toBe('ignored');
    // A rejection naming another attempt is ignored here too.
    expect(transition(aborting, { ...events.rejected, startId: 'st0' }, 2).effects[0]?.type).toBe('ignored');
  });

  it('aborting + approved (the terminal charged anyway) → reversing with a late void', () => {
    const aborting = transition(stateIn('accepted'), cancel(true), 1).state;
    const r = transition(aborting, events.approved, 2);
    expect(r.state).toMatchObject({ status: 'reversing', endReason: 'cancelled', outcome: { outcome: 'approved' } });
    expect(r.effects).toEqual([{ type: 'start_void', late: true }]);
    expect(transition(r.state, voidResult('approved'), 3)).toMatchObject({ state: { status: 'cancelled' }, effects: [] });
  });

  it('cancel after approval: void when the agent can, otherwise ignored (cancel-manually)', () => {
    const approved = transition(stateIn('accepted'), events.approved, 1).state;
    expect(transition(approved, cancel(false), 2).effects[0]?.type).toBe('ignored');
    const r = transition(approved, cancel(true), 2);
    expect(r.state).toMatchObject({ status: 'reversing', endReason: 'cancelled' });
    expect(r.effects).toEqual([{ type: 'start_void', late: false }]);
  });

  it('a void the terminal refuses leaves the payment approved and flags it', () => {
    const reversing = transition(transition(stateIn('accepted'), events.approved, 1).state, cancel(true), 2).state;
    const r = transition(reversing, voidResult('denied'), 3);
    expect(r.state.status).toBe('approved');
    expect(r.effects).toEqual([{ type: 'reversal_failed' }]);
    // A lost answer flags it instead (issue 10 item 5): see "unknown reversals" below.
    expect(transition(reversing, voidResult('unknown'), 3).state.status).toBe('reversal_unknown');
  });

  it('deadline before a terminal: expired, reported denied', () => {
    const r = transition(stateIn('awaiting_terminal'), deadline, 30);
    expect(r.state).toMatchObject({ status: 'expired', endReason: 'expired', deadlineAt: null });
    expect(r.effects).toEqual([{ type: 'enqueue_callback', status: 'denied' }]);
  });

  it('deadline while the terminal works: abort, then expired + denied callback', () => {
    const r = transition(stateIn('accepted'), deadline, 30);
    expect(r.state).toMatchObject({ status: 'aborting', endReason: 'expired' });
    expect(r.effects).toEqual([{ type: 'send_abort', reason: 'expired' }]);
    expect(transition(r.state, events.denied, 31).effects).toEqual([{ type: 'enqueue_callback', status: 'denied' }]);
  });

  it('late approval after expiry: reversed, then reported denied; if it cannot be reversed, approved', () => {
    const expired = transition(transition(stateIn('accepted'), deadline, 30).state, events.denied, 31).state;
    const late = transition(expired, events.approved, 40);
    expect(late.state).toMatchObject({ status: 'reversing', endReason: 'expired' });
    expect(late.effects).toEqual([{ type: 'start_void', late: true }]);
    expect(transition(late.state, voidResult('approved'), 41).effects).toEqual([{ type: 'enqueue_callback', status: 'denied' }]);
    expect(transition(late.state, voidResult('denied'), 41).effects).toEqual([
      { type: 'reversal_failed' },
      { type: 'enqueue_callback', status: 'approved' },
    ]);
  });

  it.each(['approved', 'denied', 'aborting', 'reversing', 'reversal_unknown', 'cancelled', 'expired'] as const)('deadline is ignored in %s', (status) => {
    expect(transition(stateIn(status), deadline, 50).effects[0]?.type).toBe('ignored');
  });

  it.each(['aborting', 'reversing', 'reversal_unknown', 'denied', 'cancelled', 'expired'] as const)('cancel is ignored in %s', (status) => {
    expect(transition(stateIn(status), cancel(true), 50).effects[0]?.type).toBe('ignored');
  });

  it('binding sets the deadline counted from the bind', () => {
    expect(transition(stateIn('awaiting_terminal'), { ...events.bound, deadlineAt: 999 }, 10).state.deadlineAt).toBe(999);
  });
});

describe('unknown outcomes: flagged until a terminal answer or an operator resolves them', () => {
  const cancel: PaymentEvent = { type: 'cancel.requested', canReverse: true };
  const deadline: PaymentEvent = { type: 'deadline.passed' };
  const unknownFrom = (status: 'dispatched' | 'accepted') =>
    transition({ ...stateIn(status), deadlineAt: 500 }, events.unknown, 10).state;

  it('entering unknown drops the deadline: nothing runs on the terminal any more, so nothing is guessed at it', () => {
    for (const from of ['dispatched', 'accepted'] as const) {
      expect(unknownFrom(from)).toMatchObject({ status: 'unknown', deadlineAt: null, endReason: null });
    }
  });

  it('a deadline on an unknown payment (stored before the upgrade) is cleared, never turned into an abort or a denial', () => {
    const r = transition({ ...stateIn('unknown'), deadlineAt: 500 }, deadline, 600);
    expect(r.state).toMatchObject({ status: 'unknown', deadlineAt: null, endReason: null });
    expect(r.effects).toEqual([]);
    expect(transition(stateIn('unknown'), deadline, 600).effects[0]?.type).toBe('ignored');
  });

  it('an expiry abort answered unknown becomes plain unknown: VTEX was told nothing, so a later approval is reported approved', () => {
    const aborting = transition(stateIn('accepted'), deadline, 30).state;
    const flagged = transition(aborting, events.unknown, 31);
    expect(flagged.state).toMatchObject({ status: 'unknown', endReason: null, deadlineAt: null });
    const approved = transition(flagged.state, events.approved, 40);
    expect(approved.state.status).toBe('approved');
    expect(approved.effects).toEqual([{ type: 'enqueue_callback', status: 'approved' }]);
  });

  it('a cancellation of an unknown payment is remembered and keeps it flagged; the abort goes to the agent, nothing is reported', () => {
    const r = transition(stateIn('unknown'), cancel, 20);
    expect(r.state).toMatchObject({ status: 'unknown', endReason: 'cancelled', outcome: { outcome: 'unknown' } });
    expect(r.effects).toEqual([{ type: 'send_abort', reason: 'cancelled' }]);
    // a repeat is a no-op
    expect(transition(r.state, cancel, 21).effects[0]?.type).toBe('ignored');
  });

  it('after a cancellation, the terminal resolving it: denied → cancelled silently, approved → reversed', () => {
    const cancelled = transition(stateIn('unknown'), cancel, 20).state;
    expect(transition(cancelled, events.denied, 21)).toMatchObject({ state: { status: 'cancelled' }, effects: [] });
    const late = transition(cancelled, events.approved, 21);
    expect(late.state).toMatchObject({ status: 'reversing', endReason: 'cancelled' });
    expect(late.effects).toEqual([{ type: 'start_void', late: true }]);
  });

  it('operator resolves approved: approved with the given authorization, callback enqueued', () => {
    const r = transition(stateIn('unknown'), events.resolvedApproved, 30);
    expect(r.state).toMatchObject({
      status: 'approved',
      endReason: null,
      deadlineAt: null,
      changedAt: 30,
      outcome: { outcome: 'approved', authorizationId: 'OP-AUTH', terminalRef: 'r1', amountMinor: 3190 },
    });
    expect(r.effects).toEqual([{ type: 'enqueue_callback', status: 'approved' }]);
  });

  it('operator resolves denied: denied, callback enqueued; no authorization is kept', () => {
    const r = transition(stateIn('unknown'), events.resolvedDenied, 30);
    expect(r.state).toMatchObject({ status: 'denied', outcome: { outcome: 'denied', authorizationId: null } });
    expect(r.effects).toEqual([{ type: 'enqueue_callback', status: 'denied' }]);
  });

  it('operator resolves a payment VTEX cancelled meanwhile: denied → cancelled (no callback); approved → approved, left for the cancellation retry to reverse', () => {
    const cancelled = transition(stateIn('unknown'), cancel, 20).state;
    expect(transition(cancelled, events.resolvedDenied, 30)).toMatchObject({ state: { status: 'cancelled', endReason: 'cancelled' }, effects: [] });
    const approved = transition(cancelled, events.resolvedApproved, 30);
    expect(approved.state).toMatchObject({ status: 'approved', endReason: null });
    expect(approved.effects).toEqual([]);
    // VTEX's repeated cancellation then reverses it like any approved payment
    expect(transition(approved.state, cancel, 31).effects).toEqual([{ type: 'start_void', late: false }]);
  });

  it('an unknown payment without a terminal report cannot be resolved (nothing to build the outcome from)', () => {
    const s = { ...stateIn('unknown'), outcome: null };
    expect(transition(s, events.resolvedApproved, 30).effects[0]?.type).toBe('ignored');
  });
});

describe('unknown reversals: a void whose answer was lost is flagged until the terminal or an operator resolves it', () => {
  const cancel: PaymentEvent = { type: 'cancel.requested', canReverse: true };
  const voidResult = (o: TerminalOutcome['outcome']): PaymentEvent => ({ type: 'void.result', outcome: o, message: null });
  const approvedState = () => transition(stateIn('accepted'), events.approved, 1).state;
  const expiredLate = () => transition(transition(transition(stateIn('accepted'), { type: 'deadline.passed' }, 2).state, events.denied, 3).state, events.approved, 4).state;
  const resolve = (o: 'approved' | 'denied'): PaymentEvent => ({ type: 'operator.resolved', outcome: o, authorizationId: null, operator: 'dora', reason: 'journal' });

  it('reversing + void unknown → reversal_unknown with the alert; the approval and its endReason kept', () => {
    const reversing = transition(approvedState(), cancel, 2).state;
    const r = transition(reversing, voidResult('unknown'), 3);
    expect(r.state).toEqual({ ...reversing, status: 'reversal_unknown', changedAt: 3 });
    expect(r.state.outcome).toEqual(outcome('approved'));
    expect(r.effects).toEqual([{ type: 'outcome_unknown' }]);
    expect(transition(r.state, voidResult('unknown'), 4).effects[0]?.type).toBe('ignored');
  });

  it('the terminal answering later is applied: approved → cancelled / expired (+ denied callback), denied → approved (reversal_failed)', () => {
    const flagged = transition(transition(approvedState(), cancel, 2).state, voidResult('unknown'), 3).state;
    expect(transition(flagged, voidResult('approved'), 5)).toEqual({ state: { ...flagged, status: 'cancelled', changedAt: 5 }, effects: [] });
    expect(transition(flagged, voidResult('denied'), 5)).toEqual({ state: { ...flagged, status: 'approved', changedAt: 5 }, effects: [{ type: 'reversal_failed' }] });
    const late = transition(expiredLate(), voidResult('unknown'), 5).state;
    expect(late).toMatchObject({ status: 'reversal_unknown', endReason: 'expired' });
    expect(transition(late, voidResult('approved'), 6).effects).toEqual([{ type: 'enqueue_callback', status: 'denied' }]);
    expect(transition(late, voidResult('denied'), 6).effects).toEqual([{ type: 'reversal_failed' }, { type: 'enqueue_callback', status: 'approved' }]);
  });

  it('an operator resolves it: denied = nothing charged any more (ended by its reason), approved = still charged; the approval untouched', () => {
    const flagged = transition(transition(approvedState(), cancel, 2).state, voidResult('unknown'), 3).state;
    expect(transition(flagged, resolve('denied'), 7)).toEqual({ state: { ...flagged, status: 'cancelled', changedAt: 7 }, effects: [] });
    expect(transition(flagged, resolve('approved'), 7)).toEqual({ state: { ...flagged, status: 'approved', changedAt: 7 }, effects: [{ type: 'reversal_failed' }] });
    const late = transition(expiredLate(), voidResult('unknown'), 5).state;
    expect(transition(late, resolve('denied'), 7)).toMatchObject({ state: { status: 'expired' }, effects: [{ type: 'enqueue_callback', status: 'denied' }] });
    expect(transition(late, resolve('approved'), 7)).toMatchObject({ state: { status: 'approved' }, effects: [{ type: 'reversal_failed' }, { type: 'enqueue_callback', status: 'approved' }] });
    // The approval's authorization is kept: an operator's authorization is refused.
    expect(transition(flagged, events.resolvedApproved, 7).effects[0]?.type).toBe('ignored');
  });

  it('an approval whose reversal failed is not reversed again by a repeated cancellation (cancel-manually)', () => {
    const reversing = transition(approvedState(), cancel, 2).state;
    for (const failed of [transition(reversing, voidResult('denied'), 3).state, transition(transition(reversing, voidResult('unknown'), 3).state, resolve('approved'), 4).state]) {
      expect(failed.status).toBe('approved');
      expect(transition(failed, cancel, 5).effects[0]?.type).toBe('ignored');
    }
  });
});
