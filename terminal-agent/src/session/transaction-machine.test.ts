import { describe, expect, it } from 'vitest';
import type { SaleOutcome } from '../drivers/terminal-driver.ts';
import { newTransaction, transition, type Transaction, type TxEvent } from './transaction-machine.ts';

const T0 = 1_700_000_000_000;
const fresh = (): Transaction =>
  newTransaction(
    {
      paymentId: 'pay-1',
      serialNumber: 'SN-1',
      rid: 'pabc',
      amount: { amountMinor: 1250, currency: 'BRL' },
      method: 'debit',
      installments: 1,
      startMessageId: 'm-start',
    },
    T0,
  );

const approved: SaleOutcome = {
  kind: 'result',
  result: { outcome: 'approved', terminalStatus: 'approved', amount: { amountMinor: 1250, currency: 'BRL' }, responseCode: '00' },
};

/** Applies events in order and returns the final transition. */
function run(events: TxEvent[], from = fresh()) {
  let state = from;
  let last = transition(state, events[0]!, T0);
  state = last.state;
  for (const [i, e] of events.slice(1).entries()) {
    last = transition(state, e, T0 + i + 1);
    state = last.state;
  }
  return last;
}

describe('transaction machine', () => {
  it('journals before acking and before running the sale', () => {
    const t = transition(fresh(), { type: 'start' }, T0);
    expect(t.state.phase).toBe('requested');
    expect(t.effects.map((e) => e.type)).toEqual(['persist', 'ack_start', 'run_sale']);
    expect(t.effects[1]).toEqual({ type: 'ack_start', messageId: 'm-start' });
  });

  it('walks the happy path to reported', () => {
    let s = fresh();
    const phases: string[] = [];
    const events: TxEvent[] = [
      { type: 'start' },
      { type: 'sent' },
      { type: 'acked' },
      { type: 'progress', stage: 'pin' },
      { type: 'outcome', outcome: approved, reportId: 'r1' },
      { type: 'report_acked', messageId: 'r1' },
    ];
    for (const [i, e] of events.entries()) {
      const t = transition(s, e, T0 + i);
      expect(t.ignored).toBeUndefined();
      s = t.state;
      phases.push(s.phase);
    }
    expect(phases).toEqual(['requested', 'sent', 'acked', 'acked', 'result', 'reported']);
    expect(s).toMatchObject({ acked: true, stage: 'pin', reportId: 'r1', reportAcked: true, updatedAt: T0 + 5, createdAt: T0 });
  });

  it('emits progress and report effects', () => {
    const acked = run([{ type: 'start' }, { type: 'sent' }, { type: 'acked' }]).state;
    expect(transition(acked, { type: 'progress', stage: 'waiting_card' }, T0).effects).toEqual([
      { type: 'progress', stage: 'waiting_card' },
    ]);
    expect(transition(acked, { type: 'outcome', outcome: approved, reportId: 'r1' }, T0).effects.map((e) => e.type)).toEqual([
      'persist',
      'report',
    ]);
  });

  it('refuses before anything reaches the terminal', () => {
    const t = transition(fresh(), { type: 'refuse', code: 'TERM_BUSY', message: 'busy', reportId: 'r0' }, T0);
    expect(t.state.phase).toBe('rejected');
    expect(t.effects.map((e) => e.type)).toEqual(['persist', 'ack_start', 'report']);
    expect(t.effects).not.toContainEqual({ type: 'run_sale' });
  });

  it('goes through recovering and keeps unknown until a terminal result resolves it', () => {
    const unknown = run([
      { type: 'start' },
      { type: 'sent' },
      { type: 'acked' },
      { type: 'recovering', reason: 'no RESULT' },
      { type: 'outcome', outcome: { kind: 'unknown', reason: 'no answer' }, reportId: 'r1' },
    ]);
    expect(unknown.state.phase).toBe('unknown');
    expect(unknown.effects.map((e) => e.type)).toEqual(['persist', 'report', 'resolve_later']);

    const ackedUnknown = transition(unknown.state, { type: 'report_acked', messageId: 'r1' }, T0);
    expect(ackedUnknown.state).toMatchObject({ phase: 'unknown', reportAcked: true });

    // Never folded into a refusal or a guess:
    const refused = transition(ackedUnknown.state, { type: 'outcome', outcome: { kind: 'rejected', code: 'TERM_BUSY', message: 'x' }, reportId: 'r2' }, T0);
    expect(refused.ignored).toBeDefined();
    expect(refused.state.phase).toBe('unknown');

    const resolved = transition(ackedUnknown.state, { type: 'outcome', outcome: approved, reportId: 'r2' }, T0);
    expect(resolved.state).toMatchObject({ phase: 'result', reportId: 'r2', reportAcked: false });
    expect(resolved.effects.map((e) => e.type)).toEqual(['persist', 'report']);
  });

  it('ignores an ack of a superseded report', () => {
    const s = run([{ type: 'start' }, { type: 'outcome', outcome: approved, reportId: 'r2' }]).state;
    expect(transition(s, { type: 'report_acked', messageId: 'r1' }, T0).ignored).toBeDefined();
  });

  it('re-acks a duplicate start, re-reporting only when finished', () => {
    const running = run([{ type: 'start' }, { type: 'sent' }]).state;
    expect(transition(running, { type: 'redeliver', startMessageId: 'm2' }, T0).effects).toEqual([
      { type: 'ack_start', messageId: 'm2' },
    ]);
    const reported = run([{ type: 'outcome', outcome: approved, reportId: 'r1' }, { type: 'report_acked', messageId: 'r1' }], running).state;
    const again = transition(reported, { type: 'redeliver', startMessageId: 'm3' }, T0);
    expect(again.state.phase).toBe('result');
    expect(again.effects.map((e) => e.type)).toEqual(['persist', 'ack_start', 'report']);
  });

  it('never starts twice', () => {
    const s = run([{ type: 'start' }]).state;
    expect(transition(s, { type: 'start' }, T0)).toMatchObject({ effects: [], ignored: expect.any(String) });
  });

  it('turns an in-flight sale found after a restart into unknown and recovers it', () => {
    const s = run([{ type: 'start' }, { type: 'sent' }, { type: 'acked' }]).state;
    const t = transition(s, { type: 'resume', reportId: 'r9' }, T0);
    expect(t.state).toMatchObject({ phase: 'unknown', reportId: 'r9', outcome: { kind: 'unknown' } });
    expect(t.effects.map((e) => e.type)).toEqual(['persist', 'report', 'resolve_later']);
  });

  it('an abort of a sale whose outcome is unknown (restart mid-sale) asks the terminal to abort, then STATUS learns the outcome', () => {
    const s = run([{ type: 'start' }, { type: 'sent' }, { type: 'acked' }, { type: 'resume', reportId: 'r9' }]).state;
    const t = transition(s, { type: 'abort', messageId: 'ab-1' }, T0);
    expect(t.state).toMatchObject({ phase: 'unknown', abortRequested: true });
    expect(t.effects).toEqual([
      { type: 'persist' },
      { type: 'ack_message', messageId: 'ab-1' },
      { type: 'abort_terminal' },
      { type: 'report' },
      { type: 'resolve_later', immediate: true },
    ]);
  });

  it('sends a journaled abort to the terminal again when the agent restarts', () => {
    const inFlight = run([{ type: 'start' }, { type: 'sent' }, { type: 'acked' }, { type: 'abort', messageId: 'ab-1' }]).state;
    expect(transition(inFlight, { type: 'resume', reportId: 'r9' }, T0).effects.map((e) => e.type)).toEqual([
      'persist',
      'abort_terminal',
      'report',
      'resolve_later',
    ]);
    const unknown = transition(inFlight, { type: 'resume', reportId: 'r9' }, T0).state;
    expect(transition(unknown, { type: 'resume', reportId: 'r10' }, T0).effects.map((e) => e.type)).toEqual([
      'abort_terminal',
      'report',
      'resolve_later',
    ]);
  });

  it('a start with another id after a refusal is a new attempt (fresh rid, journaled, acked, run); anything that may have charged is not', () => {
    const refused = run([{ type: 'refuse', code: 'TERM_BUSY', message: 'busy', reportId: 'r1' }, { type: 'report_acked', messageId: 'r1' }]).state;
    const attempt = { serialNumber: 'SN-1', rid: 'pnew', amount: refused.amount, method: refused.method, installments: 1, startMessageId: 'm-start-2' };
    const t = transition(refused, { type: 'new_attempt', attempt }, T0 + 5);
    expect(t.state).toMatchObject({ phase: 'requested', rid: 'pnew', startMessageId: 'm-start-2', acked: false, reportAcked: false });
    expect(t.state.outcome).toBeUndefined();
    expect(t.state.reportId).toBeUndefined();
    expect(t.effects).toEqual([{ type: 'persist' }, { type: 'ack_start', messageId: 'm-start-2' }, { type: 'run_sale' }]);
    // Busy again: refused again, with a new report naming the new attempt.
    const again = transition(refused, { type: 'new_attempt', attempt, refusal: { code: 'TERM_BUSY', message: 'busy', reportId: 'r2' } }, T0 + 5);
    expect(again.state).toMatchObject({ phase: 'rejected', reportId: 'r2', startMessageId: 'm-start-2' });
    expect(again.effects.map((e) => e.type)).toEqual(['persist', 'ack_start', 'report']);
    // The same attempt repeated, a sale that ran, or an aborted payment: never a new sale.
    expect(transition(refused, { type: 'new_attempt', attempt: { ...attempt, startMessageId: 'm-start' } }, T0).ignored).toBeDefined();
    const ran = run([{ type: 'start' }, { type: 'outcome', outcome: approved, reportId: 'r1' }]).state;
    expect(transition(ran, { type: 'new_attempt', attempt }, T0).ignored).toBeDefined();
    const unknown = run([{ type: 'start' }, { type: 'outcome', outcome: { kind: 'unknown', reason: 'lost' }, reportId: 'r1' }]).state;
    expect(transition(unknown, { type: 'new_attempt', attempt }, T0).ignored).toBeDefined();
    expect(transition({ ...refused, abortRequested: true }, { type: 'new_attempt', attempt }, T0).ignored).toBeDefined();
  });

  it('ignores terminal events after the sale is over', () => {
    const s = run([{ type: 'start' }, { type: 'outcome', outcome: approved, reportId: 'r1' }]).state;
    for (const e of [{ type: 'acked' }, { type: 'progress', stage: 'pin' }, { type: 'sent' }] as TxEvent[]) {
      expect(transition(s, e, T0).ignored).toBeDefined();
    }
  });
});

describe('transaction machine: an operation waiting for a busy terminal', () => {
  const refund = (): Transaction => ({ ...fresh(), kind: 'refund', operationId: 'op-1', originalTerminalRef: 'pabc' });

  it('queue journals and acks, waits its turn; start from queued runs it without a second ack', () => {
    const queued = transition(refund(), { type: 'queue' }, T0);
    expect(queued.state.phase).toBe('queued');
    expect(queued.effects).toEqual([{ type: 'persist' }, { type: 'ack_start', messageId: 'm-start' }, { type: 'wait_turn' }]);
    const started = transition(queued.state, { type: 'start' }, T0 + 1);
    expect(started.state.phase).toBe('requested');
    expect(started.effects).toEqual([{ type: 'persist' }, { type: 'run_sale' }]);
  });

  it('only voids and refunds are queued; a queued one is re-acked on repeats, back in line after a restart, never aborted', () => {
    expect(transition(fresh(), { type: 'queue' }, T0).ignored).toBeDefined();
    const queued = transition(refund(), { type: 'queue' }, T0).state;
    expect(transition(queued, { type: 'redeliver', startMessageId: 'm-2' }, T0).effects).toEqual([{ type: 'ack_start', messageId: 'm-2' }]);
    expect(transition(queued, { type: 'resume', reportId: 'r-1' }, T0).effects).toEqual([{ type: 'wait_turn' }]);
    expect(transition(queued, { type: 'abort', messageId: 'a-1' }, T0).ignored).toBeDefined();
    expect(transition(queued, { type: 'queue' }, T0).ignored).toBeDefined();
    expect(transition(queued, { type: 'outcome', outcome: approved, reportId: 'r-2' }, T0).ignored).toBeDefined();
  });
});
