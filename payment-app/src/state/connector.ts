/**
 * Terminal connector screen state: a pure reducer. The screen dispatches what happened (typing,
 * picking, scanning, server answers) and runs the side effect each phase asks for
 * (`submitting` → POST submitUrl, `confirming` → poll statusUrl, `scanning` → scanner.scan()).
 */
import type { PosPaymentState, PosStatus, PosTerminal } from '@posbridge/protocol/pos';
import { SerialNumberSchema } from '@posbridge/protocol/ws';
import type { ScannerFailure } from '../host/scanner.ts';
import type { ConnectorProblem } from '../i18n/index.ts';

/** Where the screen is. */
export type ConnectorPhase =
  | { readonly kind: 'choosing' }
  | { readonly kind: 'scanning' }
  | { readonly kind: 'submitting'; readonly serial: string; readonly attempt: number }
  | { readonly kind: 'confirming'; readonly serial: string; readonly paymentId: string }
  | { readonly kind: 'sent'; readonly serial: string; readonly paymentId: string }
  | { readonly kind: 'problem'; readonly problem: ConnectorProblem; readonly serial: string };

/** The store's terminals, as last fetched. */
export type TerminalList =
  | { readonly status: 'unavailable' }
  | { readonly status: 'loading' | 'loaded' | 'failed'; readonly terminals: readonly PosTerminal[] };

/** Whole screen state. */
export interface ConnectorState {
  readonly phase: ConnectorPhase;
  /** Text of the serial field. */
  readonly serialText: string;
  readonly list: TerminalList;
  /** Submits so far, so a retry of the same serial is a new effect. */
  readonly attempts: number;
  /** The store the device stands in (remembered; null: not chosen, or one store only). */
  readonly storeId: string | null;
  /** The terminal last used on this device (preselected when it is in the list and free). */
  readonly lastSerial: string | null;
}

/** Everything that can happen on the screen. */
export type ConnectorAction =
  | { readonly type: 'serialTyped'; readonly text: string }
  | { readonly type: 'terminalPicked'; readonly serial: string }
  | { readonly type: 'submitRequested' }
  | { readonly type: 'submitAccepted'; readonly serial: string; readonly paymentId: string; readonly state: PosPaymentState; readonly watch: boolean }
  | { readonly type: 'submitFailed'; readonly problem: ConnectorProblem }
  | { readonly type: 'statusSeen'; readonly status: PosStatus }
  | { readonly type: 'confirmTimedOut' }
  | { readonly type: 'scanRequested' }
  | { readonly type: 'scanRead'; readonly serial: string | null }
  | { readonly type: 'scanCancelled' }
  | { readonly type: 'scanFailed'; readonly reason?: ScannerFailure | undefined }
  | { readonly type: 'retryRequested' }
  | { readonly type: 'changeRequested' }
  | { readonly type: 'listLoading' }
  | { readonly type: 'listLoaded'; readonly terminals: readonly PosTerminal[] }
  | { readonly type: 'listFailed' }
  | { readonly type: 'remembered'; readonly storeId: string | null; readonly lastSerial: string | null }
  | { readonly type: 'storeChosen'; readonly storeId: string }
  | { readonly type: 'storeChangeRequested' };

/** Initial state; `hasTerminalList` when the payload carries a `terminalsUrl`. */
export function initialConnectorState(hasTerminalList: boolean): ConnectorState {
  return {
    phase: { kind: 'choosing' },
    serialText: '',
    list: hasTerminalList ? { status: 'loading', terminals: [] } : { status: 'unavailable' },
    attempts: 0,
    storeId: null,
    lastSerial: null,
  };
}

/** The stores of the listed terminals (by name), when there is more than one: the clerk picks theirs. */
export function storesOf(terminals: readonly PosTerminal[]): { storeId: string; name: string }[] {
  const stores = new Map<string, string>();
  for (const t of terminals) if (t.store !== undefined) stores.set(t.store.storeId, t.store.name);
  if (stores.size < 2) return [];
  return [...stores].map(([storeId, name]) => ({ storeId, name })).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * What the picker shows: the device's store's terminals; every terminal when they are all of
 * one store; none while the store of a several-store merchant is not chosen (`chooseStore`).
 */
export function visibleTerminals(state: ConnectorState): { terminals: readonly PosTerminal[]; chooseStore: boolean } {
  const all = state.list.status === 'unavailable' ? [] : state.list.terminals;
  const stores = storesOf(all);
  if (stores.length === 0) return { terminals: all, chooseStore: false };
  if (state.storeId === null || !stores.some((s) => s.storeId === state.storeId)) return { terminals: [], chooseStore: true };
  return { terminals: all.filter((t) => t.store?.storeId === state.storeId), chooseStore: false };
}

/** Preselects the last used terminal when the field is empty and it is listed, online and free. */
function preselect(state: ConnectorState): ConnectorState {
  if (state.serialText !== '' || state.lastSerial === null || state.phase.kind !== 'choosing') return state;
  const last = visibleTerminals(state).terminals.find((t) => t.serialNumber === state.lastSerial);
  return last !== undefined && last.online && !last.busy ? { ...state, serialText: last.serialNumber } : state;
}

/** The problem a scanner failure shows. */
const SCAN_PROBLEM: Readonly<Record<ScannerFailure, ConnectorProblem>> = {
  'no-camera': 'camera_missing',
  'permission-denied': 'camera_denied',
  failed: 'scanner',
};

/** Normalises what the clerk typed or scanned: trimmed, upper case (serial labels are upper case). */
export function normaliseSerial(text: string): string {
  return text.trim().toUpperCase();
}

/** States in which the terminal has taken the payment. */
const ACCEPTED: ReadonlySet<PosPaymentState> = new Set(['in_progress', 'approved', 'denied', 'unknown']);

function submit(state: ConnectorState, serial: string): ConnectorState {
  const attempts = state.attempts + 1;
  if (!SerialNumberSchema.safeParse(serial).success) {
    return { ...state, attempts, phase: { kind: 'problem', problem: 'invalid_serial', serial } };
  }
  return { ...state, attempts, serialText: serial, phase: { kind: 'submitting', serial, attempt: attempts } };
}

/** The connector reducer. Pure. */
export function connectorReducer(state: ConnectorState, action: ConnectorAction): ConnectorState {
  const { phase } = state;
  switch (action.type) {
    case 'serialTyped':
      return phase.kind === 'choosing' ? { ...state, serialText: action.text } : state;
    case 'terminalPicked':
      return phase.kind === 'choosing' ? { ...state, serialText: action.serial } : state;
    case 'submitRequested':
      return phase.kind === 'choosing' ? submit(state, normaliseSerial(state.serialText)) : state;
    case 'submitAccepted':
      if (phase.kind !== 'submitting' || phase.serial !== action.serial) return state;
      if (action.state === 'cancelled' || action.state === 'expired') {
        return { ...state, phase: { kind: 'problem', problem: 'expired', serial: action.serial } };
      }
      return {
        ...state,
        phase: {
          kind: action.watch && !ACCEPTED.has(action.state) ? 'confirming' : 'sent',
          serial: action.serial,
          paymentId: action.paymentId,
        },
      };
    case 'submitFailed':
      return phase.kind === 'submitting' ? { ...state, phase: { kind: 'problem', problem: action.problem, serial: phase.serial } } : state;
    case 'statusSeen': {
      if (phase.kind !== 'confirming') return state;
      const s = action.status.state;
      if (ACCEPTED.has(s)) return { ...state, phase: { ...phase, kind: 'sent' } };
      // The terminal refused (busy, or gone): the server put the payment back to awaiting_terminal.
      if (s === 'awaiting_terminal') return { ...state, phase: { kind: 'problem', problem: 'busy', serial: phase.serial } };
      if (s === 'cancelled' || s === 'expired') return { ...state, phase: { kind: 'problem', problem: 'expired', serial: phase.serial } };
      return state;
    }
    case 'confirmTimedOut':
      return phase.kind === 'confirming' ? { ...state, phase: { ...phase, kind: 'sent' } } : state;
    case 'scanRequested':
      return phase.kind === 'choosing' ? { ...state, phase: { kind: 'scanning' } } : state;
    case 'scanRead':
      if (phase.kind !== 'scanning') return state;
      if (action.serial === null) return { ...state, phase: { kind: 'problem', problem: 'scanner', serial: '' } };
      return submit(state, normaliseSerial(action.serial));
    case 'scanCancelled':
      return phase.kind === 'scanning' ? { ...state, phase: { kind: 'choosing' } } : state;
    case 'scanFailed':
      return phase.kind === 'scanning' ? { ...state, phase: { kind: 'problem', problem: SCAN_PROBLEM[action.reason ?? 'failed'], serial: '' } } : state;
    case 'retryRequested':
      return phase.kind === 'problem' && phase.serial !== '' ? submit(state, phase.serial) : state;
    case 'changeRequested':
      return phase.kind === 'problem' ? { ...state, phase: { kind: 'choosing' } } : state;
    case 'listLoading':
      return { ...state, list: { status: 'loading', terminals: state.list.status === 'unavailable' ? [] : state.list.terminals } };
    case 'listLoaded':
      return preselect({ ...state, list: { status: 'loaded', terminals: sortTerminals(action.terminals) } });
    case 'remembered':
      return preselect({ ...state, storeId: state.storeId ?? action.storeId, lastSerial: action.lastSerial });
    case 'storeChosen':
      return preselect({ ...state, storeId: action.storeId });
    case 'storeChangeRequested':
      return phase.kind === 'choosing' ? { ...state, storeId: null, serialText: '' } : state;
    case 'listFailed':
      return { ...state, list: { status: 'failed', terminals: state.list.status === 'unavailable' ? [] : state.list.terminals } };
  }
}

/** Online and free first, then busy, then offline; by serial within each group. */
export function sortTerminals(terminals: readonly PosTerminal[]): PosTerminal[] {
  const rank = (t: PosTerminal) => (!t.online ? 2 : t.busy ? 1 : 0);
  return [...terminals].sort((a, b) => rank(a) - rank(b) || a.serialNumber.localeCompare(b.serialNumber));
}
