import { describe, expect, it } from 'vitest';
import { status } from '../testing/fixtures.ts';
import { initialWaitState, waitReducer } from './wait.ts';

describe('waitReducer', () => {
  it('counts down to a timeout and then freezes', () => {
    let s = initialWaitState(2);
    s = waitReducer(s, { type: 'tick' });
    expect(s).toMatchObject({ secondsLeft: 1, end: null });
    s = waitReducer(s, { type: 'tick' });
    expect(s).toMatchObject({ secondsLeft: 0, end: { outcome: 'timeout' } });
    expect(waitReducer(s, { type: 'statusReceived', status: status({ state: 'approved' }) })).toBe(s);
  });

  it('takes the server clock and the final result', () => {
    let s = waitReducer(initialWaitState(300), { type: 'statusReceived', status: status({ secondsRemaining: 42 }) });
    expect(s.secondsLeft).toBe(42);
    s = waitReducer(s, {
      type: 'statusReceived',
      status: status({ state: 'approved', secondsRemaining: null, result: { status: 'approved', cardBrand: 'Visa', lastDigits: '1234', message: null } }),
    });
    expect(s).toMatchObject({ secondsLeft: 42, end: { outcome: 'approved', cardBrand: 'Visa', lastDigits: '1234' } });
  });

  it('treats an approval without card data as approved, and denial as denied', () => {
    expect(waitReducer(initialWaitState(9), { type: 'statusReceived', status: status({ state: 'approved' }) }).end).toEqual({
      outcome: 'approved',
      cardBrand: null,
      lastDigits: null,
    });
    expect(waitReducer(initialWaitState(9), { type: 'statusReceived', status: status({ state: 'denied' }) }).end).toEqual({ outcome: 'denied', message: null });
  });

  it('marks the connection lost on failures but ends only when the payment is gone', () => {
    const lost = waitReducer(initialWaitState(9), { type: 'statusFailed', error: { kind: 'network', message: 'x' } });
    expect(lost).toMatchObject({ connectionLost: true, end: null });
    const missingRoute = waitReducer(initialWaitState(9), {
      type: 'statusFailed',
      error: { kind: 'http', status: 404, code: 'PPP_NOT_FOUND', message: 'no route', retryable: false },
    });
    expect(missingRoute.end).toBeNull();
    const gone = waitReducer(initialWaitState(9), {
      type: 'statusFailed',
      error: { kind: 'http', status: 404, code: 'POS_SUBMIT_NOT_FOUND', message: '', retryable: false },
    });
    expect(gone.end).toEqual({ outcome: 'ended', state: 'not_found' });
    expect(waitReducer(lost, { type: 'statusReceived', status: status() }).connectionLost).toBe(false);
  });
});
