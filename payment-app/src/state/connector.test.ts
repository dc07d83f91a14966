import { describe, expect, it } from 'vitest';
import { status, terminal } from '../testing/fixtures.ts';
import { connectorReducer, initialConnectorState, sortTerminals, type ConnectorAction, type ConnectorState } from './connector.ts';

const run = (state: ConnectorState, ...actions: ConnectorAction[]) => actions.reduce(connectorReducer, state);

describe('connectorReducer', () => {
  it('normalises the typed serial and counts attempts on submit', () => {
    const s = run(initialConnectorState(false), { type: 'serialTyped', text: ' sim0001 ' }, { type: 'submitRequested' });
    expect(s.phase).toEqual({ kind: 'submitting', serial: 'SIM0001', attempt: 1 });
    expect(s.serialText).toBe('SIM0001');
  });

  it('ignores answers that do not belong to the current attempt', () => {
    const s = run(initialConnectorState(false), { type: 'serialTyped', text: 'A1' }, { type: 'submitRequested' });
    expect(connectorReducer(s, { type: 'submitAccepted', serial: 'B2', paymentId: 'P', state: 'dispatched', watch: false })).toBe(s);
    expect(connectorReducer(initialConnectorState(false), { type: 'submitFailed', problem: 'offline' }).phase.kind).toBe('choosing');
  });

  it('goes straight to sent when the terminal already took the payment or nothing can be watched', () => {
    const base = run(initialConnectorState(false), { type: 'serialTyped', text: 'A1' }, { type: 'submitRequested' });
    expect(connectorReducer(base, { type: 'submitAccepted', serial: 'A1', paymentId: 'P', state: 'dispatched', watch: false }).phase.kind).toBe('sent');
    expect(connectorReducer(base, { type: 'submitAccepted', serial: 'A1', paymentId: 'P', state: 'in_progress', watch: true }).phase.kind).toBe('sent');
    expect(connectorReducer(base, { type: 'submitAccepted', serial: 'A1', paymentId: 'P', state: 'dispatched', watch: true }).phase.kind).toBe('confirming');
    expect(connectorReducer(base, { type: 'submitAccepted', serial: 'A1', paymentId: 'P', state: 'cancelled', watch: true }).phase).toEqual({
      kind: 'problem',
      problem: 'expired',
      serial: 'A1',
    });
  });

  it('turns a fall back to awaiting_terminal into "busy", and retries the same serial', () => {
    const confirming = run(
      initialConnectorState(false),
      { type: 'serialTyped', text: 'A1' },
      { type: 'submitRequested' },
      { type: 'submitAccepted', serial: 'A1', paymentId: 'P', state: 'dispatched', watch: true },
    );
    expect(connectorReducer(confirming, { type: 'statusSeen', status: status({ state: 'dispatched' }) })).toBe(confirming);
    const busy = connectorReducer(confirming, { type: 'statusSeen', status: status({ state: 'awaiting_terminal' }) });
    expect(busy.phase).toEqual({ kind: 'problem', problem: 'busy', serial: 'A1' });
    expect(connectorReducer(busy, { type: 'retryRequested' }).phase).toEqual({ kind: 'submitting', serial: 'A1', attempt: 2 });
    expect(connectorReducer(busy, { type: 'changeRequested' }).phase).toEqual({ kind: 'choosing' });
  });

  it('submits a scanned serial, and reports an unreadable code', () => {
    const scanning = connectorReducer(initialConnectorState(false), { type: 'scanRequested' });
    expect(connectorReducer(scanning, { type: 'scanRead', serial: 'sim7' }).phase).toEqual({ kind: 'submitting', serial: 'SIM7', attempt: 1 });
    expect(connectorReducer(scanning, { type: 'scanRead', serial: null }).phase).toEqual({ kind: 'problem', problem: 'scanner', serial: '' });
    expect(connectorReducer(scanning, { type: 'serialTyped', text: 'x' })).toBe(scanning);
  });

  it('keeps the list across reloads and sorts it', () => {
    const s = run(initialConnectorState(true), { type: 'listLoaded', terminals: [terminal('B', false), terminal('C', true, true), terminal('A')] });
    expect(s.list).toEqual({ status: 'loaded', terminals: [terminal('A'), terminal('C', true, true), terminal('B', false)] });
    expect(run(s, { type: 'listLoading' }, { type: 'listFailed' }).list).toEqual({ status: 'failed', terminals: s.list.status === 'unavailable' ? [] : s.list.terminals });
    expect(initialConnectorState(false).list).toEqual({ status: 'unavailable' });
    expect(sortTerminals([])).toEqual([]);
  });
});
