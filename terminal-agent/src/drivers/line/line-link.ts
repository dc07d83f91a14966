/**
 * The host side of a PBL/1 exchange as a pure machine:
 * `transitionLineLink(state, event, now, timings) → { state, effects }`, started with
 * {@link startLineLink}. Time comes in as `now` (epoch ms); the interpreter (./line-driver.ts)
 * writes the lines, feeds back what the terminal answered and calls `tick` at
 * {@link lineLinkDeadline}. One machine runs one exchange: IDENT, a sale (SALE / VOID / REFUND
 * with its STATUS recovery), or one STATUS. The rules are those of docs/protocol/terminal-line.md
 * ("The safety rule", "Host timers and retries"):
 *
 *   sale ─▶ write SALE ─▶ awaiting ACK ─ACK / PROGRESS─▶ awaiting RESULT ─RESULT (echo checked)─▶ result
 *     │  NAK / no ACK / link closed / write failed: resend the same SALE (≤ saleAttempts)
 *     │  ERR to the 1st SALE: rejected (nothing started) │ no RESULT / link closed / bad echo / ERR
 *     │  ERR to a resent SALE: confirm with STATUS       ▼
 *     │  never written: rejected                 recover: STATUS (≤ statusAttempts, backoff between)
 *     └─ no ACK after saleAttempts ──────────────▶   │ RESULT ──▶ result   │ PROGRESS / ACK ──▶ await RESULT again
 *                                                    │ NOT_FOUND, never ACKed ──▶ rejected (nothing charged)
 *                                                    │ NOT_FOUND after an ACK ──▶ unknown (contradiction)
 *                                                    └ no answer ──▶ unknown (never a guessed decline)
 *
 * Lines and link-closed notices that arrive while the host is not listening (its write is in
 * flight, or it pauses before a resend) are kept in order and read when it listens again, so an
 * answer that comes between two waits is never lost (one read is never taken for one answer).
 * A link-closed notice from before a (re)send is dropped when the port is open again for that
 * send. Garbage on the wire never reaches the machine: the interpreter drops lines that fail to
 * decode (CRC, grammar) and lines for other `rid`s.
 *
 * @see ../../../../docs/protocol/terminal-line.md
 */
import { backoff } from '@posbridge/kit/backoff';
import { currencyInfo } from '@posbridge/protocol/money';
import { LINE_DIALECT, type HostLine, type LineStage, type ResultLine, type ReverseLine, type SaleLine, type TerminalLine } from '@posbridge/protocol/terminal';
import type { SaleOutcome, SaleRequest, StatusCheck, TerminalIdentity, TerminalSaleResult } from '../terminal-driver.ts';

/** Timers and retry counts of the host side (all durations in milliseconds). */
export interface LineDriverTimings {
  /** Wait for the IDENT answer. */
  identTimeoutMs: number;
  /** Wait for ACK after each SALE. */
  ackTimeoutMs: number;
  /** SALE sends before falling back to STATUS. */
  saleAttempts: number;
  /** Wait for RESULT after the ACK (and after each PROGRESS answer to STATUS). */
  resultTimeoutMs: number;
  /** Wait for the answer to one STATUS. */
  statusTimeoutMs: number;
  /** STATUS attempts before giving up with `unknown`. */
  statusAttempts: number;
  /** Delay before the 2nd STATUS; doubles per attempt, capped at 10×. */
  statusBackoffMs: number;
}

/** Number of IDENT requests before giving up. */
export const IDENT_ATTEMPTS = 3;

/** The exchange one machine runs. */
export type LineLinkOp =
  /** Ask the terminal who it is; one fresh `rid` per attempt (at least {@link IDENT_ATTEMPTS}). */
  | { op: 'ident'; rids: readonly string[] }
  /** Run a sale, void or refund to its outcome. */
  | { op: 'sale'; req: SaleRequest }
  /** One STATUS exchange for an earlier request. */
  | { op: 'status'; req: SaleRequest };

/** How an exchange ended. */
export type LineLinkResult =
  | { op: 'ident'; ok: true; identity: TerminalIdentity }
  /** IDENT failed: `code` is `TERM_MISMATCH` (another dialect) or `TERM_TIMEOUT`. */
  | { op: 'ident'; ok: false; code: 'TERM_MISMATCH' | 'TERM_TIMEOUT'; message: string; details: Record<string, unknown> }
  | { op: 'sale'; outcome: SaleOutcome }
  | { op: 'status'; check: StatusCheck };

/** What the host is doing. */
export type LineLinkPhase =
  /** A line is being written; `listen` is what the host waits for once it is out. */
  | { kind: 'writing'; line: HostLine; listen: 'ack' | 'status' | 'ident' }
  /** Waiting for an answer until `deadline` (epoch ms). */
  | { kind: 'listening'; for: 'ack' | 'result' | 'status' | 'ident'; deadline: number }
  /** Waiting before the next send: a resend after a failed write, or the STATUS back-off. */
  | { kind: 'pause'; deadline: number; then: 'sale' | 'ident' | 'status' }
  | { kind: 'done'; result: LineLinkResult };

/** A line (or the link-closed notice) kept while the host was not listening. */
export type LineInboxItem = { type: 'line'; line: TerminalLine; raw: string } | { type: 'closed' };

/** State of one exchange. Plain data; treat as immutable. */
export interface LineLinkState {
  op: LineLinkOp;
  phase: LineLinkPhase;
  /** Kept lines and closes, oldest first. */
  inbox: readonly LineInboxItem[];
  /** The driver is closing: pauses end at once and no new round starts. */
  closing: boolean;
  /** SALE sends (or IDENT sends) so far, 1-based while running. */
  attempt: number;
  /** Why the last attempt (SALE, IDENT, or STATUS of the current recovery round) failed, for the outcome's reason. */
  lastProblem: string;
  /** Sale: the terminal acknowledged it (it may be charged from here on). */
  acked: boolean;
  /** Sale: a SALE line may have reached the terminal. */
  mayHaveReached: boolean;
  /** Sale: an ERR to a resent SALE, reported if STATUS confirms NOT_FOUND. */
  refusedWith: SaleOutcome | undefined;
  /** Sale: why the RESULT is being recovered. */
  reason: string;
  /** Sale: result waits after a `running` STATUS answer. */
  waits: number;
  /** Sale recovery: STATUS attempts made in this recovery round (0-based index of the next). */
  statusTry: number;
}

/** What happens to the exchange. */
export type LineLinkEvent =
  /** The port is open and the pending line is about to be written (stale link-closed notices go). */
  | { type: 'writing' }
  /** The pending line was written. */
  | { type: 'written' }
  /** The pending line could not be written. `mayHaveReached`: the write started (bytes may be out). */
  | { type: 'write_failed'; problem: string; mayHaveReached: boolean }
  /** A decoded line for this exchange's `rid`. */
  | { type: 'line'; line: TerminalLine; raw: string }
  /** The terminal link closed (cable, USB re-enumeration, driver closing). */
  | { type: 'link_closed' }
  /** Time passed; sent at or after {@link lineLinkDeadline}. */
  | { type: 'tick' }
  /** The driver is closing. */
  | { type: 'shutdown' };

/** Log levels the machine asks for. */
export type LineLinkLogLevel = 'debug' | 'warn';

/** Work for the interpreter, in order. */
export type LineLinkEffect =
  /** Open the port if needed and write `line`; answer with `writing`, then `written` or `write_failed`. */
  | { type: 'write'; line: HostLine }
  /** A SALE (VOID, REFUND) line went out (again): {@link SaleHooks.onSent}. */
  | { type: 'sent' }
  /** The terminal acknowledged the sale: {@link SaleHooks.onAcked}. */
  | { type: 'acked' }
  | { type: 'progress'; stage: LineStage }
  /** The RESULT was lost; STATUS starts: {@link SaleHooks.onRecovering}. */
  | { type: 'recovering'; reason: string }
  | { type: 'log'; level: LineLinkLogLevel; msg: string; fields: Record<string, unknown> }
  /** The exchange is over. */
  | { type: 'done'; result: LineLinkResult };

/** Result of {@link transitionLineLink}. */
export interface LineLinkTransition {
  state: LineLinkState;
  effects: LineLinkEffect[];
}

const MISMATCH = 'RESULT does not match the request';

/** What one transition works with: the time, the timings, and the effects so far. */
interface Ctx {
  now: number;
  t: LineDriverTimings;
  fx: LineLinkEffect[];
}

type Pause = Extract<LineLinkPhase, { kind: 'pause' }>;
type Writing = Extract<LineLinkPhase, { kind: 'writing' }>;
type Listening = Extract<LineLinkPhase, { kind: 'listening' }>;

/** The `rid` this exchange listens to now (IDENT uses a fresh one per attempt). */
export function lineLinkRid(state: LineLinkState): string {
  const op = state.op;
  if (op.op !== 'ident') return op.req.rid;
  return op.rids[Math.min(Math.max(state.attempt, 1), op.rids.length) - 1] ?? '';
}

/** When the interpreter must send `tick`, or undefined when nothing is timed. */
export function lineLinkDeadline(state: LineLinkState): number | undefined {
  const p = state.phase;
  return p.kind === 'listening' || p.kind === 'pause' ? p.deadline : undefined;
}

/**
 * Starts the exchange `op` at `now`. Pure.
 * @throws TypeError when an IDENT exchange has fewer than {@link IDENT_ATTEMPTS} rids.
 */
export function startLineLink(op: LineLinkOp, now: number, t: LineDriverTimings): LineLinkTransition {
  if (op.op === 'ident' && op.rids.length < IDENT_ATTEMPTS) throw new TypeError(`line link: IDENT needs ${IDENT_ATTEMPTS} rids`);
  const c: Ctx = { now, t, fx: [] };
  const s: LineLinkState = {
    op,
    phase: { kind: 'pause', deadline: now, then: op.op },
    inbox: [],
    closing: false,
    attempt: 1,
    lastProblem: op.op === 'ident' ? 'no answer' : 'no ACK',
    acked: false,
    mayHaveReached: false,
    refusedWith: undefined,
    reason: '',
    waits: 0,
    statusTry: 0,
  };
  switch (op.op) {
    case 'ident':
      return { state: identAttempt(s, c), effects: c.fx };
    case 'status':
      return { state: write(s, { verb: 'STATUS', rid: op.req.rid }, 'status', c), effects: c.fx };
    case 'sale': {
      const line = saleLine(op.req);
      if (typeof line === 'string') return { state: done(s, { op: 'sale', outcome: { kind: 'rejected', code: 'TERM_UNKNOWN', message: line } }, c), effects: c.fx };
      return { state: saleAttempt(s, c), effects: c.fx };
    }
    default: {
      const never: never = op;
      throw new TypeError(`unknown op ${JSON.stringify(never)}`);
    }
  }
}

/** Applies `event` at `now`. Pure; events after `done` change nothing. */
export function transitionLineLink(state: LineLinkState, event: LineLinkEvent, now: number, t: LineDriverTimings): LineLinkTransition {
  const c: Ctx = { now, t, fx: [] };
  const p = state.phase;
  const out = (next: LineLinkState): LineLinkTransition => ({ state: next, effects: c.fx });
  if (p.kind === 'done') return out(state);
  switch (event.type) {
    case 'writing':
      return out({ ...state, inbox: state.inbox.filter((i) => i.type !== 'closed') });
    case 'written':
      return out(p.kind === 'writing' ? onWritten(state, p, c) : state);
    case 'write_failed':
      return out(p.kind === 'writing' ? onWriteFailed(state, p, event, c) : state);
    case 'line':
    case 'link_closed': {
      const item: LineInboxItem = event.type === 'line' ? { type: 'line', line: event.line, raw: event.raw } : { type: 'closed' };
      if (p.kind !== 'listening') return out({ ...state, inbox: [...state.inbox, item] });
      return out(drain(onItem(state, p, item, c), c));
    }
    case 'tick':
      if (p.kind === 'listening' && now >= p.deadline) return out(drain(onTimeout(state, p, c), c));
      if (p.kind === 'pause' && now >= p.deadline) return out(afterPause(state, p, c));
      return out(state);
    case 'shutdown': {
      const closing = { ...state, closing: true };
      // A pause ends at once; whatever waited for it sees `closing`.
      return out(p.kind === 'pause' ? afterPause(closing, p, c) : closing);
    }
    default: {
      const never: never = event;
      throw new TypeError(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

// ─── building blocks ──────────────────────────────────────────────────────────────────────

function done(s: LineLinkState, result: LineLinkResult, c: Ctx): LineLinkState {
  c.fx.push({ type: 'done', result });
  return { ...s, phase: { kind: 'done', result } };
}

function write(s: LineLinkState, line: HostLine, listenFor: Writing['listen'], c: Ctx): LineLinkState {
  c.fx.push({ type: 'write', line });
  return { ...s, phase: { kind: 'writing', line, listen: listenFor } };
}

function listen(s: LineLinkState, what: Listening['for'], ms: number, c: Ctx): LineLinkState {
  return { ...s, phase: { kind: 'listening', for: what, deadline: c.now + ms } };
}

/** Waits `ms` before `then`; not while closing (closing cuts every wait short). */
function pause(s: LineLinkState, ms: number, then: Pause['then'], c: Ctx): LineLinkState {
  const p: Pause = { kind: 'pause', deadline: c.now + ms, then };
  return s.closing ? afterPause(s, p, c) : { ...s, phase: p };
}

function afterPause(s: LineLinkState, p: Pause, c: Ctx): LineLinkState {
  switch (p.then) {
    case 'sale':
      return saleAttempt({ ...s, attempt: s.attempt + 1 }, c);
    case 'ident':
      return identAttempt({ ...s, attempt: s.attempt + 1 }, c);
    case 'status':
      return statusCheck(s, c);
    default: {
      const never: never = p.then;
      throw new TypeError(`unknown pause ${String(never)}`);
    }
  }
}

/** Reads the kept items while the host listens. */
function drain(s: LineLinkState, c: Ctx): LineLinkState {
  let state = s;
  while (state.phase.kind === 'listening' && state.inbox.length > 0) {
    const [item, ...rest] = state.inbox as [LineInboxItem, ...LineInboxItem[]];
    state = onItem({ ...state, inbox: rest }, state.phase, item, c);
  }
  return state;
}

function log(c: Ctx, level: LineLinkLogLevel, msg: string, fields: Record<string, unknown>): void {
  c.fx.push({ type: 'log', level, msg, fields });
}

function reqOf(s: LineLinkState): SaleRequest {
  if (s.op.op === 'ident') throw new TypeError('line link: no request in an IDENT exchange');
  return s.op.req;
}

function markAcked(s: LineLinkState, c: Ctx): LineLinkState {
  if (s.acked) return s;
  c.fx.push({ type: 'acked' });
  return { ...s, acked: true };
}

// ─── writes and waits ─────────────────────────────────────────────────────────────────────

function onWritten(s: LineLinkState, p: Writing, c: Ctx): LineLinkState {
  switch (p.listen) {
    case 'ack':
      c.fx.push({ type: 'sent' });
      return drain(listen({ ...s, mayHaveReached: true }, 'ack', c.t.ackTimeoutMs, c), c);
    case 'status':
      return drain(listen(s, 'status', c.t.statusTimeoutMs, c), c);
    case 'ident':
      return drain(listen(s, 'ident', c.t.identTimeoutMs, c), c);
    default: {
      const never: never = p.listen;
      throw new TypeError(`unknown listen ${String(never)}`);
    }
  }
}

function onWriteFailed(s: LineLinkState, p: Writing, e: Extract<LineLinkEvent, { type: 'write_failed' }>, c: Ctx): LineLinkState {
  switch (p.listen) {
    case 'ack': {
      const req = reqOf(s);
      log(c, 'warn', 'could not send SALE', { paymentId: req.paymentId, rid: req.rid, attempt: s.attempt, problem: e.problem });
      return pause({ ...s, lastProblem: e.problem, mayHaveReached: s.mayHaveReached || e.mayHaveReached }, c.t.ackTimeoutMs, 'sale', c);
    }
    case 'status':
      return onStatusCheck(s, { kind: 'no_answer', reason: e.problem }, c);
    case 'ident': {
      const failed = { ...s, lastProblem: e.problem };
      return s.closing ? identFailed(failed, c) : pause(failed, c.t.identTimeoutMs, 'ident', c);
    }
    default: {
      const never: never = p.listen;
      throw new TypeError(`unknown listen ${String(never)}`);
    }
  }
}

function onItem(s: LineLinkState, p: Listening, item: LineInboxItem, c: Ctx): LineLinkState {
  switch (p.for) {
    case 'ack':
      return onAckItem(s, item, c);
    case 'result':
      return onResultItem(s, item, c);
    case 'status':
      return onStatusItem(s, item, c);
    case 'ident':
      return onIdentItem(s, item, c);
    default: {
      const never: never = p.for;
      throw new TypeError(`unknown wait ${String(never)}`);
    }
  }
}

function onTimeout(s: LineLinkState, p: Listening, c: Ctx): LineLinkState {
  switch (p.for) {
    case 'ack':
      return ackLost(s, `no ACK within ${c.t.ackTimeoutMs} ms`, c);
    case 'result':
      return resultLost(s, `no RESULT within ${c.t.resultTimeoutMs} ms`, c);
    case 'status':
      return onStatusCheck(s, { kind: 'no_answer', reason: `no answer to STATUS within ${c.t.statusTimeoutMs} ms` }, c);
    case 'ident':
      return identAttempt({ ...s, attempt: s.attempt + 1, lastProblem: `no answer within ${c.t.identTimeoutMs} ms` }, c);
    default: {
      const never: never = p.for;
      throw new TypeError(`unknown wait ${String(never)}`);
    }
  }
}

// ─── IDENT ────────────────────────────────────────────────────────────────────────────────

function identAttempt(s: LineLinkState, c: Ctx): LineLinkState {
  if (s.attempt > IDENT_ATTEMPTS) return identFailed(s, c);
  return write(s, { verb: 'IDENT', rid: lineLinkRid(s) }, 'ident', c);
}

function identFailed(s: LineLinkState, c: Ctx): LineLinkState {
  return done(
    s,
    { op: 'ident', ok: false, code: 'TERM_TIMEOUT', message: `terminal did not answer IDENT (${s.lastProblem})`, details: { attempts: IDENT_ATTEMPTS } },
    c,
  );
}

function onIdentItem(s: LineLinkState, item: LineInboxItem, c: Ctx): LineLinkState {
  if (item.type === 'closed') return identAttempt({ ...s, attempt: s.attempt + 1, lastProblem: 'link closed' }, c);
  const { line } = item;
  if (line.verb === 'IDENT' && 'serial' in line) {
    if (line.dialect !== undefined && line.dialect !== LINE_DIALECT) {
      return done(
        s,
        { op: 'ident', ok: false, code: 'TERM_MISMATCH', message: `terminal speaks ${line.dialect}, not ${LINE_DIALECT}`, details: { serialNumber: line.serial } },
        c,
      );
    }
    const identity: TerminalIdentity = {
      serialNumber: line.serial,
      serialSource: 'device',
      dialect: LINE_DIALECT,
      ...(line.model !== undefined ? { model: line.model } : {}),
      ...(line.vendor !== undefined ? { vendor: line.vendor } : {}),
      ...(line.firmware !== undefined ? { firmware: line.firmware } : {}),
    };
    return done(s, { op: 'ident', ok: true, identity }, c);
  }
  return identAttempt({ ...s, attempt: s.attempt + 1, lastProblem: `unexpected answer: ${item.raw}` }, c);
}

// ─── the sale, phase 1: get the SALE acknowledged (resending is safe by the rid rule) ─────

/** The request line, or why it cannot be built (unknown currency). */
function saleLine(req: SaleRequest): SaleLine | ReverseLine | string {
  let currency: string;
  try {
    currency = currencyInfo(req.amount.currency).numeric;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  const kind = req.kind ?? 'sale';
  return kind === 'sale'
    ? { verb: 'SALE', rid: req.rid, amountMinor: req.amount.amountMinor, currency, method: req.method, installments: req.installments }
    : { verb: kind === 'void' ? 'VOID' : 'REFUND', rid: req.rid, ref: req.originalRef ?? '', amountMinor: req.amount.amountMinor, currency };
}

function saleAttempt(s: LineLinkState, c: Ctx): LineLinkState {
  if (s.attempt > c.t.saleAttempts || s.acked || s.closing) return endPhase1(s, c);
  const line = saleLine(reqOf(s));
  // startLineLink checked the currency, so the line builds.
  if (typeof line === 'string') throw new TypeError(`line link: ${line}`);
  return write(s, line, 'ack', c);
}

function ackLost(s: LineLinkState, problem: string, c: Ctx): LineLinkState {
  const req = reqOf(s);
  log(c, 'warn', 'SALE not acknowledged', { paymentId: req.paymentId, rid: req.rid, attempt: s.attempt, problem });
  return saleAttempt({ ...s, attempt: s.attempt + 1, lastProblem: problem }, c);
}

function onAckItem(s: LineLinkState, item: LineInboxItem, c: Ctx): LineLinkState {
  if (item.type === 'closed') return ackLost(s, 'link closed', c);
  const req = reqOf(s);
  const { line } = item;
  switch (line.verb) {
    case 'ACK':
      return saleAttempt({ ...markAcked(s, c), attempt: s.attempt + 1 }, c);
    case 'PROGRESS': {
      const acked = markAcked(s, c);
      c.fx.push({ type: 'progress', stage: line.stage });
      return saleAttempt({ ...acked, attempt: s.attempt + 1 }, c);
    }
    case 'RESULT': {
      const acked = markAcked(s, c);
      const result = checkResult(req, line, item.raw, c);
      if (result) return done(acked, { op: 'sale', outcome: { kind: 'result', result } }, c);
      return endPhase1({ ...acked, lastProblem: MISMATCH }, c);
    }
    case 'NAK':
      log(c, 'warn', 'SALE NAKed, resending', { paymentId: req.paymentId, rid: req.rid, attempt: s.attempt, reason: line.reason });
      return saleAttempt({ ...s, attempt: s.attempt + 1, lastProblem: `NAK (${line.reason})` }, c);
    case 'ERR': {
      // ERR means the terminal refused this rid: nothing was started for it.
      const refusal: SaleOutcome =
        line.code === 'BUSY'
          ? { kind: 'rejected', code: 'TERM_BUSY', message: 'terminal is busy with another transaction' }
          : { kind: 'rejected', code: 'TERM_UNKNOWN', message: `terminal refused the sale: ERR ${line.code}${line.message ? ` ${line.message}` : ''}` };
      if (s.attempt === 1) return done(s, { op: 'sale', outcome: refusal }, c);
      // An earlier SALE may have reached the terminal: confirm with STATUS before concluding
      // that nothing was charged (a compliant terminal would have answered ACK).
      return endPhase1({ ...s, refusedWith: refusal, lastProblem: `ERR ${line.code} to a resent SALE` }, c);
    }
    case 'IDENT':
    case 'TOTALS':
      return s;
    default: {
      const never: never = line;
      throw new TypeError(`unhandled line ${JSON.stringify(never)}`);
    }
  }
}

// ─── the sale, phase 2: wait for the RESULT, recover a lost one with STATUS ───────────────

function endPhase1(s: LineLinkState, c: Ctx): LineLinkState {
  if (!s.mayHaveReached) {
    return done(
      s,
      { op: 'sale', outcome: { kind: 'rejected', code: 'TERM_DISCONNECTED', message: `could not send the sale to the terminal (${s.lastProblem}); nothing was charged` } },
      c,
    );
  }
  if (s.lastProblem === MISMATCH) return phase2({ ...s, reason: MISMATCH, waits: 0 }, 'recover', c);
  if (s.acked) return phase2({ ...s, reason: '', waits: 0 }, 'wait', c);
  return phase2({ ...s, reason: `SALE not acknowledged after ${c.t.saleAttempts} attempts (${s.lastProblem})`, waits: 0 }, 'recover', c);
}

function phase2(s: LineLinkState, mode: 'wait' | 'recover', c: Ctx): LineLinkState {
  if (s.closing) return done(s, { op: 'sale', outcome: { kind: 'unknown', reason: 'agent closed during the sale' } }, c);
  if (mode === 'wait') return listen(s, 'result', c.t.resultTimeoutMs, c);
  const req = reqOf(s);
  log(c, 'warn', 'terminal answer lost, recovering with STATUS', { paymentId: req.paymentId, rid: req.rid, reason: s.reason, acked: s.acked });
  c.fx.push({ type: 'recovering', reason: s.reason });
  return recoverStep({ ...s, statusTry: 0, lastProblem: 'no answer' }, c);
}

function resultLost(s: LineLinkState, reason: string, c: Ctx): LineLinkState {
  return phase2({ ...s, reason }, 'recover', c);
}

function onResultItem(s: LineLinkState, item: LineInboxItem, c: Ctx): LineLinkState {
  if (item.type === 'closed') return resultLost(s, 'terminal link closed while waiting for RESULT', c);
  const req = reqOf(s);
  const { line } = item;
  switch (line.verb) {
    case 'PROGRESS':
      c.fx.push({ type: 'progress', stage: line.stage });
      return s;
    case 'RESULT': {
      const result = checkResult(req, line, item.raw, c);
      if (result) return done(s, { op: 'sale', outcome: { kind: 'result', result } }, c);
      return resultLost(s, MISMATCH, c);
    }
    case 'ERR':
      return resultLost(s, `unexpected ERR ${line.code} after the ACK`, c);
    case 'ACK':
    case 'NAK':
    case 'IDENT':
    case 'TOTALS':
      // Late answers to a resent SALE; the transaction is running.
      log(c, 'debug', 'late answer ignored', { paymentId: req.paymentId, rid: req.rid, line: item.raw });
      return s;
    default: {
      const never: never = line;
      throw new TypeError(`unhandled line ${JSON.stringify(never)}`);
    }
  }
}

/** The next STATUS of a recovery round, after its back-off. */
function recoverStep(s: LineLinkState, c: Ctx): LineLinkState {
  const i = s.statusTry;
  if (i >= c.t.statusAttempts) return recoverFailed(s, `${c.t.statusAttempts} STATUS requests failed (last: ${s.lastProblem})`, c);
  if (i > 0) return pause(s, backoff({ baseMs: c.t.statusBackoffMs, capMs: c.t.statusBackoffMs * 10, minFraction: 1 }).delayFor(i - 1), 'status', c);
  return statusCheck(s, c);
}

function recoverFailed(s: LineLinkState, why: string, c: Ctx): LineLinkState {
  return done(s, { op: 'sale', outcome: { kind: 'unknown', reason: `${s.reason}; ${why}` } }, c);
}

function statusCheck(s: LineLinkState, c: Ctx): LineLinkState {
  if (s.closing) return recoverFailed(s, 'agent closed during recovery', c);
  return write(s, { verb: 'STATUS', rid: reqOf(s).rid }, 'status', c);
}

// ─── STATUS ───────────────────────────────────────────────────────────────────────────────

function onStatusItem(s: LineLinkState, item: LineInboxItem, c: Ctx): LineLinkState {
  if (item.type === 'closed') return onStatusCheck(s, { kind: 'no_answer', reason: 'link closed' }, c);
  const req = reqOf(s);
  const { line } = item;
  switch (line.verb) {
    case 'RESULT': {
      const result = checkResult(req, line, item.raw, c);
      return onStatusCheck(s, result ? { kind: 'result', result } : { kind: 'no_answer', reason: MISMATCH }, c);
    }
    case 'PROGRESS':
      c.fx.push({ type: 'progress', stage: line.stage });
      return onStatusCheck(s, { kind: 'running' }, c);
    case 'ACK':
      return onStatusCheck(s, { kind: 'running' }, c);
    case 'ERR':
      return onStatusCheck(s, line.code === 'NOT_FOUND' ? { kind: 'not_found' } : { kind: 'no_answer', reason: `ERR ${line.code}` }, c);
    case 'NAK':
      return onStatusCheck(s, { kind: 'no_answer', reason: `NAK (${line.reason})` }, c);
    case 'IDENT':
    case 'TOTALS':
      return s;
    default: {
      const never: never = line;
      throw new TypeError(`unhandled line ${JSON.stringify(never)}`);
    }
  }
}

/** One STATUS answered (or not): the end of a `status` exchange, or the next step of a sale's recovery. */
function onStatusCheck(s: LineLinkState, check: StatusCheck, c: Ctx): LineLinkState {
  if (s.op.op === 'status') return done(s, { op: 'status', check }, c);
  const req = reqOf(s);
  switch (check.kind) {
    case 'result':
      return done(s, { op: 'sale', outcome: check }, c);
    case 'running': {
      const acked = markAcked(s, c);
      const waits = s.waits + 1;
      if (waits > c.t.statusAttempts) {
        return done(acked, { op: 'sale', outcome: { kind: 'unknown', reason: `terminal still running the sale after ${waits} result waits` } }, c);
      }
      return phase2({ ...acked, waits }, 'wait', c);
    }
    case 'not_found':
      if (s.acked) {
        log(c, 'warn', 'terminal says NOT_FOUND for a sale it acknowledged', { paymentId: req.paymentId, rid: req.rid });
        return recoverFailed(s, 'terminal answered NOT_FOUND for a sale it had acknowledged (protocol contradiction)', c);
      }
      return done(
        s,
        {
          op: 'sale',
          outcome: s.refusedWith ?? {
            kind: 'rejected',
            code: 'TERM_DISCONNECTED',
            message: 'terminal never accepted the sale (STATUS answered NOT_FOUND); nothing was charged',
          },
        },
        c,
      );
    case 'no_answer':
      log(c, 'warn', 'STATUS not answered', { paymentId: req.paymentId, rid: req.rid, attempt: s.statusTry + 1, problem: check.reason });
      return recoverStep({ ...s, statusTry: s.statusTry + 1, lastProblem: check.reason }, c);
    default: {
      const never: never = check;
      throw new TypeError(`unhandled check ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Checks a RESULT's echoes (`rid`, amount, currency) against the request and maps it. Returns
 * undefined (and logs at warn) when they differ: such a RESULT is handled as a lost answer,
 * never as a decline.
 */
function checkResult(req: SaleRequest, line: ResultLine, raw: string, c: Ctx): TerminalSaleResult | undefined {
  const numeric = currencyInfo(req.amount.currency).numeric;
  if (line.rid !== req.rid || line.amountMinor !== req.amount.amountMinor || line.currency !== numeric) {
    log(c, 'warn', 'terminal result does not match the request', {
      paymentId: req.paymentId,
      rid: req.rid,
      line: raw,
      expected: { amountMinor: req.amount.amountMinor, currency: numeric },
    });
    return undefined;
  }
  const card =
    line.brand !== undefined && line.bin !== undefined && line.last4 !== undefined
      ? { brand: line.brand, firstDigits: line.bin, lastDigits: line.last4 }
      : undefined;
  return {
    outcome: line.status === 'approved' ? 'approved' : 'denied',
    terminalStatus: line.status,
    amount: { amountMinor: line.amountMinor, currency: req.amount.currency },
    responseCode: line.responseCode,
    tid: line.tid ?? req.rid,
    ...(line.authCode !== undefined ? { authorizationId: line.authCode } : {}),
    ...(line.nsu !== undefined ? { nsu: line.nsu } : {}),
    ...(line.message !== undefined ? { message: line.message } : {}),
    ...(card ? { card } : {}),
  };
}
