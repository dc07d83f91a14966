/**
 * Wait-for-confirmation screen state: a pure reducer over the countdown and the `statusUrl`
 * answers. The screen ticks it every second and feeds it each poll.
 */
import type { PosStatus } from '@posbridge/protocol/pos';
import type { ApiFailure } from '../api/client.ts';
import type { WaitResult } from '../host/contract.ts';

/** Whole screen state. */
export interface WaitState {
  /** Countdown shown to the clerk, whole seconds. */
  readonly secondsLeft: number;
  /** Latest status from the server, if any yet. */
  readonly status: PosStatus | null;
  /** The last poll failed; polling goes on. */
  readonly connectionLost: boolean;
  /** How it ended; null while waiting. */
  readonly end: WaitResult | null;
}

/** Everything that can happen on the screen. */
export type WaitAction =
  | { readonly type: 'tick' }
  | { readonly type: 'statusReceived'; readonly status: PosStatus }
  | { readonly type: 'statusFailed'; readonly error: ApiFailure };

/** Initial state for a `secondsWaiting` budget. */
export function initialWaitState(secondsWaiting: number): WaitState {
  return { secondsLeft: secondsWaiting, status: null, connectionLost: false, end: null };
}

/** The final result a status stands for, if it is final. */
export function endOfStatus(status: PosStatus): WaitResult | null {
  switch (status.state) {
    case 'approved':
      return { outcome: 'approved', cardBrand: status.result?.cardBrand ?? null, lastDigits: status.result?.lastDigits ?? null };
    case 'denied':
      return { outcome: 'denied', message: status.result?.message ?? null };
    case 'cancelled':
    case 'expired':
      return { outcome: 'ended', state: status.state };
    default:
      return null;
  }
}

/** The wait reducer. Pure. */
export function waitReducer(state: WaitState, action: WaitAction): WaitState {
  if (state.end !== null) return state;
  switch (action.type) {
    case 'tick': {
      const secondsLeft = Math.max(0, state.secondsLeft - 1);
      return { ...state, secondsLeft, end: secondsLeft === 0 ? { outcome: 'timeout' } : null };
    }
    case 'statusReceived': {
      const { status } = action;
      const secondsLeft = status.secondsRemaining ?? state.secondsLeft;
      return { ...state, status, secondsLeft, connectionLost: false, end: endOfStatus(status) };
    }
    case 'statusFailed':
      if (action.error.kind === 'http' && (action.error.code === 'POS_SUBMIT_NOT_FOUND' || action.error.code === 'POS_STATUS_NOT_FOUND')) {
        return { ...state, end: { outcome: 'ended', state: 'not_found' } };
      }
      return { ...state, connectionLost: true };
  }
}
