/**
 * The simulated payment terminal as a pure state machine:
 * `transition(state, event, now) → { state, effects }`.
 *
 * It knows transactions, not bytes: a dialect adapter (`dialects/pbl1.ts`, `dialects/concert.ts`)
 * turns received wire data into {@link DeviceEvent}s and {@link DeviceReply} effects back into
 * wire data, and the interpreter (`sim-terminal.ts`) performs the effects (write, timers, logs,
 * wire faults). Which outcome a sale gets comes from `scenarios/outcomes.ts` (the test amounts).
 *
 *                 SALE new rid
 *                 / ACK, PROGRESS waiting_card, [start-timer unless customer is manual]
 *   ┌──────┐ ─────────────────────────────────────▶ ┌─────────────────────────────┐
 *   │ idle │                                        │ running(rid, stage)         │
 *   └──────┘ ◀──────────────────────────────────── │ waiting_card ─card─▶ pin    │
 *       ▲ ▲   step-due at processing                │   (tap: straight to         │
 *       │ │   / RESULT (outcome from scenarios/)    │    processing) ─pin─▶       │
 *       │ │     [slow-answer: one more long timer;  │ processing                  │
 *       │ │      lost-answer: RESULT not sent]      └─────────────────────────────┘
 *       │ └─ ABORT rid / ACK, RESULT aborted          │ customer cancel / RESULT aborted CANCELLED
 *       │      (approve-after-abort: RESULT approved) │ reboot / RESULT aborted REBOOT, not sent
 *       └─────────────────────────────────────────────┘
 *   "card" = step-due at waiting_card (auto customer) or a customer present-card event;
 *   "pin"  = step-due at pin (auto) or a customer enter-pin event. Leaving waiting_card of a
 *   `disconnect` sale emits `unplug` (the interpreter pulls the cable for `unplugMs`).
 *
 *   Answered in either phase without changing it:
 *     SALE/VOID/REFUND finished rid → the stored RESULT again   (never a second charge)
 *     SALE running rid       → ACK
 *     SALE/VOID/REFUND other rid, busy → ERR BUSY
 *     VOID/REFUND new rid, idle → ACK, RESULT approved | declined rc=12 (unknown original)
 *                                  | declined rc=13 (amount above what remains)
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
import { businessDayOf, deviceTotals, type DeviceTotalsEntry } from './device-totals.ts';
import {
  cardByBrand,
  cardFor,
  rowForAmount,
  rowForBehaviour,
  type SaleBehaviour,
  type TestAmountRow,
  type TestCard,
} from './scenarios/outcomes.ts';

/** Progress stages the simulator walks through, in order. */
export const DEVICE_STAGES = ['waiting_card', 'pin', 'processing'] as const;
/** One progress stage of a running sale. */
export type DeviceStage = (typeof DEVICE_STAGES)[number];

/** Card scheme of a sale. */
export type DeviceMethod = 'credit' | 'debit';

/** Kind of a transaction: a sale, or the reversal of one. */
export type DeviceOperation = 'sale' | 'void' | 'refund';

/** A request from the host, already decoded by the dialect adapter. */
export type DeviceCommand =
  | {
      kind: 'sale';
      rid: string;
      amountMinor: number;
      currency: string;
      method: DeviceMethod;
      installments: number;
      /** The host's reference for counting (PBL/1: the rid; Concert: the private data). @default rid */
      reference?: string;
    }
  | {
      kind: 'reverse';
      op: 'void' | 'refund';
      rid: string;
      /** Reference of the original sale (its rid); absent for a standalone refund (Concert). */
      ref?: string;
      amountMinor: number;
      currency: string;
      reference?: string;
    }
  | { kind: 'status'; rid: string }
  | { kind: 'abort'; rid: string }
  | { kind: 'ident'; rid: string }
  /** The terminal's totals of a business day (`date` YYYYMMDD; absent: today). */
  | { kind: 'totals'; rid: string; date?: string };

/** Codes of an ERR reply. */
export type DeviceErrCode = 'BUSY' | 'NOT_FOUND' | 'BAD_REQUEST' | 'UNSUPPORTED';

/** What the person at the terminal does (interactive mode, control interface). */
export type CustomerAction =
  | { action: 'present-card'; entry: 'insert' | 'tap'; brand?: string }
  | { action: 'enter-pin' }
  | { action: 'cancel' };

/** Inputs of the machine. */
export type DeviceEvent =
  /** A well-formed request. */
  | { type: 'command'; command: DeviceCommand }
  /** Wire data that could not be read (bad checksum or grammar); `rid` when it was readable. */
  | { type: 'unreadable'; reason: 'checksum' | 'syntax'; detail: string; rid?: string }
  /** A readable request the terminal refuses (unknown verb, missing/bad field). */
  | { type: 'refused'; rid: string; code: 'BAD_REQUEST' | 'UNSUPPORTED'; detail: string }
  /** The step timer of sale `rid` fired. */
  | { type: 'step-due'; rid: string }
  /** The customer acted on the terminal. */
  | ({ type: 'customer' } & CustomerAction)
  /** The terminal restarts: a running sale is lost (recorded as aborted, answer not sent). */
  | { type: 'reboot' }
  /** Settings changed at run time (scenario). */
  | { type: 'configure'; config: Readonly<DeviceConfig> };

/** Final outcome of a transaction, as reported in RESULT. */
export interface SaleResult {
  rid: string;
  /** What kind of transaction this was. */
  operation: DeviceOperation;
  /** The host's reference (PBL/1 rid, Concert private data), for counting per reference. */
  reference: string;
  status: 'approved' | 'declined' | 'aborted';
  /** Integer minor units. */
  amountMinor: number;
  /** ISO 4217 numeric code. */
  currency: string;
  /** `00` approved, `51` insufficient funds, `ABORTED` … */
  responseCode: string;
  /** Card read (absent when aborted before a card was read). */
  card?: Readonly<TestCard>;
  /** Authorization code, 6 digits, approved transactions only. */
  authCode?: string;
  /** Acquirer sequence number, 9 digits, when the acquirer was reached. */
  nsu?: string;
  /** Terminal transaction id. */
  tid: string;
  message: string;
  /** Card method of the sale (of the original sale, for a VOID / REFUND), for the totals. */
  method?: DeviceMethod;
  /** VOID / REFUND: the rid of the sale it reverses. */
  ref?: string;
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
  | { kind: 'ident'; rid: string; identity: DeviceIdentity }
  | { kind: 'totals'; rid: string; date: string; entries: DeviceTotalsEntry[] };

/** Outputs of the machine, performed by the interpreter. */
export type DeviceEffect =
  /** Send an answer to the host. */
  | { type: 'reply'; reply: DeviceReply }
  /** Fire `step-due` for `rid` after `delayMs`. */
  | { type: 'start-timer'; rid: string; delayMs: number }
  /** Forget the pending step timer of `rid`. */
  | { type: 'cancel-timer'; rid: string }
  /** A new transaction began (log `sale started`). */
  | { type: 'sale-started'; rid: string; amountMinor: number; currency: string }
  /** A transaction reached its final RESULT (log `sale finished`, count it). */
  | { type: 'sale-finished'; result: SaleResult }
  /** The RESULT of `rid` was decided but is lost on the wire (test amount "lost answer"). */
  | { type: 'answer-lost'; rid: string }
  /** Pull the cable for `forMs` (test amount "disconnect"). */
  | { type: 'unplug'; forMs: number }
  /** Input was rejected (log at warn). */
  | { type: 'input-rejected'; reason: string; detail: string; rid?: string };

/** Who plays the customer: timers (`auto`) or a person / the control interface (`manual`). */
export type CustomerMode = 'auto' | 'manual';

/** Settings of one simulated terminal (the scenario may change some at run time). */
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
  /** Extra delay before the RESULT of a `slow-answer` sale, ms. @default 200000 */
  slowAnswerDelayMs?: number;
  /** How long the cable stays pulled for a `disconnect` sale, ms. @default 5000 */
  unplugMs?: number;
  /** @default 'auto' */
  customer?: CustomerMode;
  /** When set, every sale behaves like this regardless of its amount. */
  forceBehaviour?: SaleBehaviour;
  /** When set, every sale is paid with this brand (from the test-card table). */
  forceBrand?: string;
}

/** Default extra delay of a slow answer: longer than the agent's 180 s result timer. */
export const DEFAULT_SLOW_ANSWER_DELAY_MS = 200_000;
/** Default time the cable stays pulled. */
export const DEFAULT_UNPLUG_MS = 5_000;

/** A sale in progress. */
export interface RunningSale {
  rid: string;
  reference: string;
  amountMinor: number;
  currency: string;
  method: DeviceMethod;
  installments: number;
  stage: DeviceStage;
  tid: string;
  /** What this sale does (from the test amount or the scenario). */
  behaviour: SaleBehaviour;
  /** The card presented (known once the card stage is passed). */
  card?: Readonly<TestCard>;
  /** True once the extra delay of a slow answer has been scheduled. */
  slowScheduled?: boolean;
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
  /** Minor units already voided or refunded, by original sale rid. */
  reversed: ReadonlyMap<string, number>;
  /** Next terminal transaction number (for `tid`). */
  nextTxNumber: number;
  /** Next NSU (acquirer sequence number). */
  nextNsu: number;
  /** The last finished transaction (for the screen). */
  last?: SaleResult;
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
  return { config, phase: { kind: 'idle' }, finished: new Map(), reversed: new Map(), nextTxNumber: 1, nextNsu: 1 };
}

const reply = (r: DeviceReply): DeviceEffect => ({ type: 'reply', reply: r });

/** Deterministic 6-digit authorization code derived from the NSU (spread so codes look varied). */
function authCodeFor(nsu: number): string {
  return String((nsu * 7919 + 104_729) % 1_000_000).padStart(6, '0');
}

const nsuText = (nsu: number) => String(nsu % 1_000_000_000).padStart(9, '0');

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

/** Ends the running sale with `result`; `send: false` keeps the RESULT off the wire. */
function finish(state: DeviceState, result: SaleResult, now: number, first: DeviceEffect[], send = true): DeviceTransition {
  return {
    state: { ...state, phase: { kind: 'idle' }, finished: remember(state, result, now), last: result },
    effects: [
      ...first,
      send ? reply({ kind: 'result', result }) : { type: 'answer-lost', rid: result.rid },
      { type: 'sale-finished', result },
    ],
  };
}

function rowOf(state: DeviceState, sale: { amountMinor: number }): Readonly<TestAmountRow> {
  const forced = state.config.forceBehaviour;
  return forced !== undefined ? rowForBehaviour(forced) : rowForAmount(sale.amountMinor);
}

function chooseCard(state: DeviceState, method: DeviceMethod, amountMinor: number, brand?: string): Readonly<TestCard> {
  const wanted = brand ?? state.config.forceBrand;
  return (wanted !== undefined ? cardByBrand(wanted, method) : undefined) ?? cardFor(method, amountMinor);
}

function isManual(state: DeviceState): boolean {
  return state.config.customer === 'manual';
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
        reference: cmd.reference ?? cmd.rid,
        amountMinor: cmd.amountMinor,
        currency: cmd.currency,
        method: cmd.method,
        installments: cmd.installments,
        stage: 'waiting_card',
        tid: `${state.config.serialNumber}-${String(state.nextTxNumber).padStart(6, '0')}`,
        behaviour: rowOf(state, cmd).behaviour,
        startedAtMs: now,
      };
      return {
        state: { ...state, phase: { kind: 'running', sale }, nextTxNumber: state.nextTxNumber + 1 },
        effects: [
          { type: 'sale-started', rid: sale.rid, amountMinor: sale.amountMinor, currency: sale.currency },
          reply({ kind: 'ack', rid: sale.rid }),
          reply({ kind: 'progress', rid: sale.rid, stage: sale.stage }),
          ...(isManual(state) ? [] : [{ type: 'start-timer', rid: sale.rid, delayMs: state.config.stepDelayMs } as const]),
        ],
      };
    }
    default: {
      const never: never = state.phase;
      throw new TypeError(`unknown phase ${JSON.stringify(never)}`);
    }
  }
}

/** VOID / REFUND: instant, keyed by their own rid; reversals tracked per original sale. */
function onReverse(state: DeviceState, cmd: Extract<DeviceCommand, { kind: 'reverse' }>, now: number): DeviceTransition {
  const done = state.finished.get(cmd.rid);
  if (done !== undefined) return { state, effects: [reply({ kind: 'result', result: done.result })] };
  if (state.phase.kind === 'running') {
    return state.phase.sale.rid === cmd.rid
      ? { state, effects: [reply({ kind: 'ack', rid: cmd.rid })] }
      : { state, effects: [reply({ kind: 'err', rid: cmd.rid, code: 'BUSY' })] };
  }
  const tid = `${state.config.serialNumber}-${String(state.nextTxNumber).padStart(6, '0')}`;
  const original = cmd.ref === undefined ? undefined : state.finished.get(cmd.ref)?.result;
  const base = {
    rid: cmd.rid,
    operation: cmd.op,
    reference: cmd.reference ?? cmd.rid,
    amountMinor: cmd.amountMinor,
    currency: cmd.currency,
    tid,
    ...(cmd.ref === undefined ? {} : { ref: cmd.ref }),
    ...(original?.method === undefined ? {} : { method: original.method }),
  } as const;
  const declined = (responseCode: string, message: string, card?: Readonly<TestCard>): SaleResult => ({
    ...base,
    status: 'declined',
    responseCode,
    message,
    ...(card !== undefined ? { card } : {}),
  });
  let result: SaleResult;
  let reversed = state.reversed;
  let nextNsu = state.nextNsu;
  if (cmd.ref !== undefined && (original === undefined || original.operation !== 'sale' || original.status !== 'approved')) {
    result = declined('12', 'Unknown original transaction');
  } else if (original !== undefined && original.currency !== cmd.currency) {
    result = declined('12', 'Currency differs from the original transaction', original.card);
  } else {
    const already = cmd.ref === undefined ? 0 : (state.reversed.get(cmd.ref) ?? 0);
    const remaining = original === undefined ? Number.MAX_SAFE_INTEGER : original.amountMinor - already;
    const tooMuch = cmd.op === 'void' ? original !== undefined && (already > 0 || cmd.amountMinor !== original.amountMinor) : cmd.amountMinor > remaining;
    if (tooMuch) {
      result = declined('13', cmd.op === 'void' ? 'Void must reverse the full amount of an unreversed sale' : 'Amount above what remains', original?.card);
    } else {
      const nsu = state.nextNsu;
      nextNsu = nsu + 1;
      if (cmd.ref !== undefined) reversed = new Map(state.reversed).set(cmd.ref, already + cmd.amountMinor);
      result = {
        ...base,
        status: 'approved',
        responseCode: '00',
        message: cmd.op === 'void' ? 'Voided' : 'Refunded',
        ...(original?.card !== undefined ? { card: original.card } : {}),
        authCode: authCodeFor(nsu),
        nsu: nsuText(nsu),
      };
    }
  }
  const next: DeviceState = { ...state, reversed, nextNsu, nextTxNumber: state.nextTxNumber + 1 };
  return finish(next, result, now, [
    { type: 'sale-started', rid: cmd.rid, amountMinor: cmd.amountMinor, currency: cmd.currency },
    reply({ kind: 'ack', rid: cmd.rid }),
  ]);
}

function onStatus(state: DeviceState, rid: string): DeviceTransition {
  const done = state.finished.get(rid);
  if (done !== undefined) return { state, effects: [reply({ kind: 'result', result: done.result })] };
  if (state.phase.kind === 'running' && state.phase.sale.rid === rid) {
    return { state, effects: [reply({ kind: 'progress', rid, stage: state.phase.sale.stage })] };
  }
  return { state, effects: [reply({ kind: 'err', rid, code: 'NOT_FOUND' })] };
}

/** The final result of a sale that ran to the end (or was approved despite an abort). */
function completedResult(state: DeviceState, sale: RunningSale, row: Readonly<TestAmountRow>): SaleResult {
  const nsu = state.nextNsu;
  return {
    rid: sale.rid,
    operation: 'sale',
    reference: sale.reference,
    status: row.status,
    amountMinor: sale.amountMinor,
    currency: sale.currency,
    responseCode: row.responseCode,
    card: sale.card ?? chooseCard(state, sale.method, sale.amountMinor),
    ...(row.status === 'approved' ? { authCode: authCodeFor(nsu) } : {}),
    nsu: nsuText(nsu),
    tid: sale.tid,
    message: row.message,
    method: sale.method,
  };
}

function abortedResult(sale: RunningSale, responseCode: string, message: string): SaleResult {
  return {
    rid: sale.rid,
    operation: 'sale',
    reference: sale.reference,
    status: 'aborted',
    amountMinor: sale.amountMinor,
    currency: sale.currency,
    responseCode,
    // No card data on an aborted sale: nothing was paid with it.
    tid: sale.tid,
    message,
    method: sale.method,
  };
}

function onAbort(state: DeviceState, rid: string, now: number): DeviceTransition {
  const done = state.finished.get(rid);
  if (done !== undefined) return { state, effects: [reply({ kind: 'result', result: done.result })] };
  if (state.phase.kind === 'running' && state.phase.sale.rid === rid) {
    const sale = state.phase.sale;
    const first: DeviceEffect[] = [{ type: 'cancel-timer', rid }, reply({ kind: 'ack', rid })];
    if (sale.behaviour === 'approve-after-abort') {
      // The authorization had already gone through: the abort comes too late.
      const result = completedResult(state, sale, rowForBehaviour('approve-after-abort'));
      return finish({ ...state, nextNsu: state.nextNsu + 1 }, result, now, first);
    }
    return finish(state, abortedResult(sale, 'ABORTED', 'Aborted by host'), now, first);
  }
  return { state, effects: [reply({ kind: 'err', rid, code: 'NOT_FOUND' })] };
}

/** Moves a running sale to `stage`, announcing it; schedules the next step unless manual. */
function advance(state: DeviceState, sale: RunningSale, stage: DeviceStage, extra: DeviceEffect[] = [], forceTimer = false): DeviceTransition {
  const next = { ...sale, stage };
  const timer = forceTimer || !isManual(state) ? [{ type: 'start-timer', rid: sale.rid, delayMs: state.config.stepDelayMs } as const] : [];
  return {
    state: { ...state, phase: { kind: 'running', sale: next } },
    effects: [...extra, reply({ kind: 'progress', rid: sale.rid, stage }), ...timer],
  };
}

/** Leaving waiting_card with a card: the `disconnect` behaviour pulls the cable now. */
function cardRead(state: DeviceState, sale: RunningSale, entry: 'insert' | 'tap', brand?: string): DeviceTransition {
  const withCard: RunningSale = { ...sale, card: chooseCard(state, sale.method, sale.amountMinor, brand) };
  const unplug: DeviceEffect[] =
    sale.behaviour === 'disconnect' ? [{ type: 'unplug', forMs: state.config.unplugMs ?? DEFAULT_UNPLUG_MS }] : [];
  // Contactless below the PIN limit skips the PIN stage; the timers carry on to the result.
  return entry === 'tap' ? advance(state, withCard, 'processing', unplug, true) : advance(state, withCard, 'pin', unplug);
}

function onStepDue(state: DeviceState, rid: string, now: number): DeviceTransition {
  // A stale timer (sale finished meanwhile) is ignored.
  if (state.phase.kind !== 'running' || state.phase.sale.rid !== rid) return { state, effects: [] };
  const sale = state.phase.sale;
  switch (sale.stage) {
    case 'waiting_card':
      if (sale.behaviour === 'customer-cancel') {
        return finish(state, abortedResult(sale, 'CANCELLED', 'Cancelled by customer'), now, []);
      }
      return cardRead(state, sale, 'insert');
    case 'pin':
      return advance(state, sale, 'processing', [], true);
    case 'processing': {
      if (sale.behaviour === 'slow-answer' && sale.slowScheduled !== true) {
        const delayMs = state.config.slowAnswerDelayMs ?? DEFAULT_SLOW_ANSWER_DELAY_MS;
        return {
          state: { ...state, phase: { kind: 'running', sale: { ...sale, slowScheduled: true } } },
          effects: [{ type: 'start-timer', rid, delayMs }],
        };
      }
      const result = completedResult(state, sale, rowOf(state, sale));
      return finish({ ...state, nextNsu: state.nextNsu + 1 }, result, now, [], sale.behaviour !== 'lost-answer');
    }
    default: {
      const never: never = sale.stage;
      throw new TypeError(`unknown stage ${JSON.stringify(never)}`);
    }
  }
}

function onCustomer(state: DeviceState, event: CustomerAction, now: number): DeviceTransition {
  const ignored = (detail: string): DeviceTransition => ({
    state,
    effects: [{ type: 'input-rejected', reason: 'customer', detail }],
  });
  if (state.phase.kind !== 'running') return ignored(`${event.action}: no sale is running`);
  const sale = state.phase.sale;
  switch (event.action) {
    case 'present-card':
      if (sale.stage !== 'waiting_card') return ignored('present-card: the terminal is not waiting for a card');
      return cardRead(state, sale, event.entry, event.brand);
    case 'enter-pin':
      if (sale.stage !== 'pin') return ignored('enter-pin: the terminal is not asking for a PIN');
      return advance(state, sale, 'processing', [], true);
    case 'cancel':
      if (sale.stage === 'processing') return ignored('cancel: too late, the sale is being authorized');
      return finish(state, abortedResult(sale, 'CANCELLED', 'Cancelled by customer'), now, [{ type: 'cancel-timer', rid: sale.rid }]);
    default: {
      const never: never = event;
      throw new TypeError(`unknown customer action ${JSON.stringify(never)}`);
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
        case 'reverse':
          return onReverse(state, cmd, now);
        case 'status':
          return onStatus(state, cmd.rid);
        case 'abort':
          return onAbort(state, cmd.rid, now);
        case 'ident':
          return { state, effects: [reply({ kind: 'ident', rid: cmd.rid, identity: identityOf(state.config) })] };
        case 'totals': {
          const date = cmd.date ?? businessDayOf(now);
          return { state, effects: [reply({ kind: 'totals', rid: cmd.rid, date, entries: deviceTotals(state.finished, date) })] };
        }
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
    case 'customer':
      return onCustomer(state, event, now);
    case 'reboot': {
      if (state.phase.kind !== 'running') return { state, effects: [] };
      const sale = state.phase.sale;
      // Nothing was authorized: the terminal records the interrupted sale as aborted.
      return finish(state, abortedResult(sale, 'REBOOT', 'Interrupted by terminal restart'), now, [{ type: 'cancel-timer', rid: sale.rid }], false);
    }
    case 'configure':
      return { state: { ...state, config: event.config }, effects: [] };
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

/** Formats minor units for the screen (`3190` → `31.90`). */
function money(amountMinor: number): string {
  return `${Math.floor(amountMinor / 100)}.${String(amountMinor % 100).padStart(2, '0')}`;
}

/**
 * What the terminal's screen shows (two short lines, like a 16×2 display, a little wider).
 * Pure: used by interactive mode and the control interface.
 */
export function screenOf(state: DeviceState): [string, string] {
  if (state.phase.kind === 'running') {
    const s = state.phase.sale;
    const head = `${s.method === 'debit' ? 'DEBIT' : 'CREDIT'} ${money(s.amountMinor)}`;
    switch (s.stage) {
      case 'waiting_card':
        return [head, 'INSERT OR TAP CARD'];
      case 'pin':
        return [head, `${s.card?.brand ?? ''} ENTER PIN`.trim()];
      case 'processing':
        return [head, 'PROCESSING...'];
      default: {
        const never: never = s.stage;
        throw new TypeError(`unknown stage ${JSON.stringify(never)}`);
      }
    }
  }
  const last = state.last;
  if (last === undefined) return ['POSBRIDGE SIM', 'READY'];
  const verdict = last.status === 'approved' ? 'APPROVED' : last.status === 'declined' ? `DECLINED ${last.responseCode}` : 'CANCELLED';
  return [`${last.operation.toUpperCase()} ${money(last.amountMinor)}`, `${verdict} - READY`];
}
