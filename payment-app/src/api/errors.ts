/**
 * How a failed submit reads to the clerk: server codes (docs/errors.md) and transport failures
 * mapped to a {@link ConnectorProblem} and to what the clerk can do next.
 */
import type { ConnectorProblem } from '../i18n/index.ts';
import type { ApiFailure } from './client.ts';

/** What the clerk may do after a problem. */
export interface ProblemActions {
  /** Send again to the same terminal (the cause may clear by itself). */
  readonly retry: boolean;
  /** Go back and pick or type another terminal. */
  readonly change: boolean;
}

/** The actions offered for each problem; problems offering neither only allow closing. */
export const PROBLEM_ACTIONS: Readonly<Record<ConnectorProblem, ProblemActions>> = {
  unknown_terminal: { retry: false, change: true },
  invalid_serial: { retry: false, change: true },
  offline: { retry: true, change: true },
  busy: { retry: true, change: true },
  network: { retry: true, change: true },
  server: { retry: true, change: true },
  scanner: { retry: false, change: true },
  camera_missing: { retry: false, change: true },
  camera_denied: { retry: false, change: true },
  already_bound: { retry: false, change: false },
  sandbox_refused: { retry: false, change: false },
  payment_final: { retry: false, change: false },
  expired: { retry: false, change: false },
  invalid_payload: { retry: false, change: false },
};

/** The problem a failed `POST submitUrl` stands for. */
export function problemOfSubmitFailure(error: ApiFailure): ConnectorProblem {
  if (error.kind === 'network') return 'network';
  if (error.kind === 'invalid-answer') return 'server';
  switch (error.code) {
    case 'POS_TERMINAL_UNKNOWN':
      return 'unknown_terminal';
    case 'POS_TERMINAL_OFFLINE':
      return 'offline';
    case 'POS_TERMINAL_BUSY':
      return 'busy';
    case 'POS_ALREADY_BOUND':
      return 'already_bound';
    case 'POS_PAYMENT_FINAL':
      return 'payment_final';
    case 'POS_SANDBOX_REFUSED':
      return 'sandbox_refused';
    case 'POS_SUBMIT_NOT_FOUND':
    case 'POS_PAYMENT_EXPIRED':
    case 'POS_PAYMENT_CANCELLED':
      return 'expired';
    case 'POS_INVALID_SERIAL':
      return 'invalid_serial';
    // The server's database is unavailable (503 too, but not the terminal's fault): try again.
    case 'STORE_FAILED':
    case 'PPP_UNAVAILABLE':
      return 'server';
    default:
      break;
  }
  if (error.status === 410) return 'expired';
  if (error.status === 503) return 'offline';
  // A 409 with a code this app does not know says nothing about which conflict it is: claiming
  // "already bound" would send the clerk after a terminal that may not exist.
  return 'server';
}
