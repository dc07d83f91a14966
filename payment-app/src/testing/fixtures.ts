/** Payloads, statuses and terminals for component tests. */
import type { PosStatus, PosTerminal } from '@posbridge/protocol/pos';

export const SUBMIT_URL = 'https://pos.example/pos/v1/submit/tok123';
export const STATUS_URL = 'https://pos.example/pos/v1/status/tok123';
export const TERMINALS_URL = 'https://pos.example/pos/v1/terminals/tok123';

/** A terminal-connector payload string with the given URLs. */
export function connectorPayload(extra: { statusUrl?: string; terminalsUrl?: string } = {}): string {
  return JSON.stringify({ submitUrl: SUBMIT_URL, ...extra });
}

/** A wait-for-confirmation payload string. */
export function waitPayload(secondsWaiting = 300, statusUrl: string | null = STATUS_URL): string {
  return JSON.stringify(statusUrl === null ? { secondsWaiting } : { secondsWaiting, statusUrl });
}

/** A status with defaults for a credit payment of R$ 10,50 on SIM0001. */
export function status(overrides: Partial<PosStatus> = {}): PosStatus {
  return {
    paymentId: 'PAY1',
    state: 'in_progress',
    stage: null,
    serialNumber: 'SIM0001',
    amount: { amountMinor: 1050, currency: 'BRL' },
    method: 'credit',
    result: null,
    secondsRemaining: 280,
    ...overrides,
  };
}

/** A terminal row. */
export function terminal(serialNumber: string, online = true, busy = false, model?: string): PosTerminal {
  return model === undefined ? { serialNumber, online, busy } : { serialNumber, online, busy, model };
}

/** An error body as the server sends it. */
export function posError(code: string, retryable = false): { code: string; message: string; retryable: boolean } {
  return { code, message: `${code} from the server`, retryable };
}
