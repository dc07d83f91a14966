/**
 * The simulated payment terminal as a pure state machine:
 * `transition(state, event, now) → { state, effects }`.
 *
 * It knows transactions, not bytes: a dialect adapter (`dialects/pbl1.ts`; Concert E+ later)
 * turns received wire data into {@link DeviceEvent}s and {@link DeviceReply} effects back into
 * wire data, and the interpreter (`sim-terminal.ts`) performs the effects (write, timers, logs).
 * Which outcome a sale gets comes from `scenarios/`.
 *
 *                 SALE new rid
 *                 / ACK, PROGRESS waiting_card, start-timer
 *   ┌──────┐ ─────────────────────────────────────▶ ┌───────────────────────┐  step-due (waiting_card, pin)
 *   │ idle │                                        │ running(rid, stage)   │──┐ / stage := next,
 *   └──────┘ ◀───────────────────────────────────── │ waiting_card → pin →  │  │   PROGRESS stage,
 *       ▲      step-due at processing               │ processing            │◀─┘   start-timer
 *       │      / RESULT (outcome from scenarios/),  └───────────────────────┘
 *       │        remember, sale-finished                 │
 *       └────────────────────────────────────────────────┘
 *              ABORT rid / cancel-timer, ACK, RESULT aborted, remember, sale-finished
 *
 *   Answered in either phase without changing it:
 *     SALE finished rid      → the stored RESULT again    (never a second charge)
 *     SALE running rid       → ACK
 *     SALE other rid, busy   → ERR BUSY
 *     STATUS rid             → PROGRESS (running) | stored RESULT | ERR NOT_FOUND
 *     ABORT finished rid     → stored RESULT;  ABORT unknown rid → ERR NOT_FOUND
 *     IDENT                  → IDENT serial/model/vendor/firmware/dialect
 *     unreadable line        → NAK checksum|syntax (rid or "-")
 *     refused line           → ERR BAD_REQUEST | UNSUPPORTED
 *     stale step-due         → nothing
 *
 * Safety rule of PBL/1: a rid the terminal knows never starts a second charge. Finished
 * transactions are kept in a bounded history (oldest evicted first).
 */
import { selectOutcome, type TestCard } from './scenarios/outcomes.ts';

/** Progress stages the simulator walks through, in order. */
export const DEVICE_STAGES = ['waiting_card', 'pin', 'processing'] as const;
/** One progress stage of a running sale. */
export type DeviceStage = (typeof DEVICE_STAGES)[number];

/** Card scheme of a sale. */
export type DeviceMethod = 'credit' | 'debit';

/** A request from the host, already decoded by the dialect adapter. */
export type DeviceCommand =
  | { kind: 'sale'; rid: string; amountMinor: number; currency: string; method: DeviceMethod; installments: number }
  | { kind: 'status'; rid: string }
  | { kind: 'abort'; rid: string }
  | { kind: 'ident'; rid: string };

/** Codes of an ERR reply. */
export type DeviceErrCode = 'BUSY' | 'NOT_FOUND' | 'BAD_REQUEST' | 'UNSUPPORTED';

/** Inputs of the machine. */
export type DeviceEvent =
  /** A well-formed request. */
  | { type: 'command'; command: DeviceCommand }
  /** Wire data that could not be read (bad checksum or grammar); `rid` when it was readable. */
  | { type: 'unreadable'; reason: 'checksum' | 'syntax'; detail: string; rid?: string }
  /** A readable request the terminal refuses (unknown verb, missing/bad field). */
  | { type: 'refused'; rid: string; code: 'BAD_REQUEST' | 'UNSUPPORTED'; detail: string }
  /** The step timer of sale `rid` fired. */
  | { type: 'step-due'; rid: string };

/** Final outcome of a sale, as reported in RESULT. */
export interface SaleResult {
  rid: string;
  status: 'approved' | 'declined' | 'aborted';
  /** Integer minor units. */
  amountMinor: number;
  /** ISO 4217 numeric code. */
  currency: string;
  /** `00` approved, `51` insufficient funds, `ABORTED` … */
  responseCode: string;
  /** Card read (absent when aborted before a card was read). */
  card?: Readonly<TestCard>;
  /** Authorization code, 6 digits, approved sales only. */
  authCode?: string;
  /** Acquirer sequence number, 9 digits, when the acquirer was reached. */
  nsu?: string;
  /** Terminal transaction id. */
  tid: string;
  message: string;
}

/** Who the terminal says it is. */
export interface DeviceIdentity {
  serial: string;
  model: string;
  vendor: string;
  firmware: string;
  dialect: string;
}

/** An answer to the host, encoded by the dialect adapter. */
export type DeviceReply =
  | { kind: 'ack'; rid: string }
  | { kind: 'nak'; rid: string | undefined; reason: 'checksum' | 'syntax' }
  | { kind: 'err'; rid: string; code: DeviceErrCode; message?: string }
  | { kind: 'progress'; rid: string; stage: DeviceStage }
  | { kind: 'result'; result: SaleResult }
  | { kind: 'ident'; rid: string; identity: DeviceIdentity };

/** Outputs of the machine, performed by the interpreter. */
export type DeviceEffect =
  /** Send an answer to the host. */
  | { type: 'reply'; reply: DeviceReply }
  /** Fire `step-due` for `rid` after `delayMs`. */
  | { type: 'start-timer'; rid: string; delayMs: number }
  /** Forget the pending step timer of `rid`. */
  | { type: 'cancel-timer'; rid: string }
  /** A new sale began (log `sale started`). */
  | { type: 'sale-started'; rid: string; amountMinor: number; currency: string }
  /** A sale reached its final RESULT (log `sale finished`, count it). */
  | { type: 'sale-finished'; result: SaleResult }
  /** Input was rejected (log at warn). */
  | { type: 'input-rejected'; reason: string; detail: string; rid?: string };

/** Fixed settings of one simulated terminal. */
export interface DeviceConfig {
  serialNumber: string;
  /** Reported in IDENT. @default 'POSBRIDGE-SIM' */
  model: string;
  vendor: string;
  /** Firmware version reported in IDENT (the package version). */
  firmware: string;
  /** Dialect name reported in IDENT, e.g. `PBL/1`. */
  dialect: string;
  /** Think time between progress stages, in ms. */
  stepDelayMs: number;
  /** How many finished transactions are remembered for duplicate detection and STATUS. */
  historyLimit: number;
}

/** A sale in progress. */
export interface RunningSale {
  rid: string;
  amountMinor: number;
  currency: string;
  method: DeviceMethod;
  installments: number;
  stage: DeviceStage;
  tid: string;
  /** When the sale started (epoch ms, from `now`). */
  startedAtMs: number;
}

/** A finished transaction, kept for duplicates and STATUS. */
export interface FinishedSale {
  result: SaleResult;
  /** When it finished (epoch ms, from `now`). */
  finishedAtMs: number;
}

/** Phase of the terminal: at most one sale runs at a time. */
export type DevicePhase = { kind: 'idle' } | { kind: 'running'; sale: RunningSale };

/** Whole state of one simulated terminal. Treat as immutable. */
export interface DeviceState {
  config: Readonly<DeviceConfig>;
  phase: DevicePhase;
  /** Finished transactions by rid, oldest first (Map keeps insertion order). */
  finished: ReadonlyMap<string, FinishedSale>;
  /** Next terminal transaction number (for `tid`). */
  nextTxNumber: number;
  /** Next NSU (acquirer sequence number). */
  nextNsu: number;
}

/** Result of one transition. */
export interface DeviceTransition {
  state: DeviceState;
  effects: DeviceEffect[];
}

/** Default number of finished transactions remembered. */
export const DEFAULT_HISTORY_LIMIT = 1000;

/** Initial state of a terminal: idle, empty history. */
export function createDeviceState(config: Readonly<DeviceConfig>): DeviceState {
  return { config, phase: { kind: 'idle' }, finished: new Map(), nextTxNumber: 1, nextNsu: 1 };
}

const reply = (r: DeviceReply): DeviceEffect => ({ type: 'reply', reply: r });

/** Deterministic 6-digit authorization code derived from the NSU (spread so codes look varied). */
function authCodeFor(nsu: number): string {
  return String((nsu * 7919 + 104_729) % 1_000_000).padStart(6, '0');
}

function remember(state: DeviceState, result: SaleResult, now: number): ReadonlyMap<string, FinishedSale> {
  const finished = new Map(state.finished);
  finished.delete(result.rid);
  finished.set(result.rid, { result, finishedAtMs: now });
  while (finished.size > Math.max(1, state.config.historyLimit)) {
    const oldest = finished.keys().next();
    if (oldest.done === true) break;
    finished.delete(oldest.value);
  }
  return finished;
}

function finish(state: DeviceState, result: SaleResult, now: number, first: DeviceEffect[]): DeviceTransition {
  return {
    state: { ...state, phase: { kind: 'idle' }, finished: remember(state, result, now) },
    effects: [...first, reply({ kind: 'result', result }), { type: 'sale-finished', result }],
  };
}

function onSale(state: DeviceState, cmd: Extract<DeviceCommand, { kind: 'sale' }>, now: number): DeviceTransition {
  const done = state.finished.get(cmd.rid);
  if (done !== undefined) return { state, effects: [reply({ kind: 'result', result: done.result })] };
  switch (state.phase.kind) {
    case 'running':
      return state.phase.sale.rid === cmd.rid
        ? { state, effects: [reply({ kind: 'ack', rid: cmd.rid })] }
        : { state, effects: [reply({ kind: 'err', rid: cmd.rid, code: 'BUSY' })] };
    case 'idle': {
      const sale: RunningSale = {
        rid: cmd.rid,
        amountMinor: cmd.amountMinor,
        currency: cmd.currency,
        method: cmd.method,
        installments: cmd.installments,
        stage: 'waiting_card',
        tid: `${state.config.serialNumber}-${String(state.nextTxNumber).padStart(6, '0')}`,
        startedAtMs: now,
      };
      return {
        state: { ...state, phase: { kind: 'running', sale }, nextTxNumber: state.nextTxNumber + 1 },
        effects: [
          { type: 'sale-started', rid: sale.rid, amountMinor: sale.amountMinor, currency: sale.currency },
          reply({ kind: 'ack', rid: sale.rid }),
          reply({ kind: 'progress', rid: sale.rid, stage: sale.stage }),
          { type: 'start-timer', rid: sale.rid, delayMs: state.config.stepDelayMs },
        ],
      };
    }
    default: {
      const never: never = state.phase;
      throw new TypeError(`unknown phase ${JSON.stringify(never)}`);
    }
  }
}

function onStatus(state: DeviceState, rid: string): DeviceTransition {
  const done = state.finished.get(rid);
  if (done !== undefined) return { state, effects: [reply({ kind: 'result', result: done.result })] };
  if (state.phase.kind === 'running' && state.phase.sale.rid === rid) {
    return { state, effects: [reply({ kind: 'progress', rid, stage: state.phase.sale.stage })] };
  }
  return { state, effects: [reply({ kind: 'err', rid, code: 'NOT_FOUND' })] };
}

function onAbort(state: DeviceState, rid: string, now: number): DeviceTransition {
  const done = state.finished.get(rid);
  if (done !== undefined) return { state, effects: [reply({ kind: 'result', result: done.result })] };
  if (state.phase.kind === 'running' && state.phase.sale.rid === rid) {
    const sale = state.phase.sale;
    const result: SaleResult = {
      rid,
      status: 'aborted',
      amountMinor: sale.amountMinor,
      currency: sale.currency,
      responseCode: 'ABORTED',
      tid: sale.tid,
      message: 'Aborted by host',
    };
    return finish(state, result, now, [{ type: 'cancel-timer', rid }, reply({ kind: 'ack', rid })]);
  }
  return { state, effects: [reply({ kind: 'err', rid, code: 'NOT_FOUND' })] };
}

function onStepDue(state: DeviceState, rid: string, now: number): DeviceTransition {
  // A stale timer (sale aborted meanwhile) is ignored.
  if (state.phase.kind !== 'running' || state.phase.sale.rid !== rid) return { state, effects: [] };
  const sale = state.phase.sale;
  switch (sale.stage) {
    case 'waiting_card':
    case 'pin': {
      const stage: DeviceStage = sale.stage === 'waiting_card' ? 'pin' : 'processing';
      return {
        state: { ...state, phase: { kind: 'running', sale: { ...sale, stage } } },
        effects: [reply({ kind: 'progress', rid, stage }), { type: 'start-timer', rid, delayMs: state.config.stepDelayMs }],
      };
    }
    case 'processing': {
      const outcome = selectOutcome(sale);
      const nsu = state.nextNsu;
      const result: SaleResult = {
        rid,
        status: outcome.status,
        amountMinor: sale.amountMinor,
        currency: sale.currency,
        responseCode: outcome.responseCode,
        card: outcome.card,
        ...(outcome.authorized ? { authCode: authCodeFor(nsu) } : {}),
        nsu: String(nsu % 1_000_000_000).padStart(9, '0'),
        tid: sale.tid,
        message: outcome.message,
      };
      return finish({ ...state, nextNsu: nsu + 1 }, result, now, []);
    }
    default: {
      const never: never = sale.stage;
      throw new TypeError(`unknown stage ${JSON.stringify(never)}`);
    }
  }
}

function identityOf(config: Readonly<DeviceConfig>): DeviceIdentity {
  return {
    serial: config.serialNumber,
    model: config.model,
    vendor: config.vendor,
    firmware: config.firmware,
    dialect: config.dialect,
  };
}

/**
 * Applies one event. Pure: the same inputs always give the same outputs; `now` (epoch ms) is the
 * only clock.
 */
export function transition(state: DeviceState, event: DeviceEvent, now: number): DeviceTransition {
  switch (event.type) {
    case 'command': {
      const cmd = event.command;
      switch (cmd.kind) {
        case 'sale':
          return onSale(state, cmd, now);
        case 'status':
          return onStatus(state, cmd.rid);
        case 'abort':
          return onAbort(state, cmd.rid, now);
        case 'ident':
          return { state, effects: [reply({ kind: 'ident', rid: cmd.rid, identity: identityOf(state.config) })] };
        default: {
          const never: never = cmd;
          throw new TypeError(`unknown command ${JSON.stringify(never)}`);
        }
      }
    }
    case 'unreadable':
      return {
        state,
        effects: [
          { type: 'input-rejected', reason: event.reason, detail: event.detail, ...(event.rid !== undefined ? { rid: event.rid } : {}) },
          reply({ kind: 'nak', rid: event.rid, reason: event.reason }),
        ],
      };
    case 'refused':
      return {
        state,
        effects: [
          { type: 'input-rejected', reason: event.code, detail: event.detail, rid: event.rid },
          reply({ kind: 'err', rid: event.rid, code: event.code, message: event.detail }),
        ],
      };
    case 'step-due':
      return onStepDue(state, event.rid, now);
    default: {
      const never: never = event;
      throw new TypeError(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

/** The running sale's rid, if any (for tests and diagnostics). */
export function runningRid(state: DeviceState): string | undefined {
  return state.phase.kind === 'running' ? state.phase.sale.rid : undefined;
}
