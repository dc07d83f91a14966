/** The host side of PBL/1 as a pure machine: every transition, with `now` passed in (docs/protocol/terminal-line.md). */
import { describe, expect, it } from 'vitest';
import type { TerminalLine } from '@posbridge/protocol/terminal';
import type { SaleRequest } from '../terminal-driver.ts';
import {
  IDENT_ATTEMPTS,
  lineLinkDeadline,
  lineLinkRid,
  startLineLink,
  transitionLineLink,
  type LineDriverTimings,
  type LineLinkEffect,
  type LineLinkEvent,
  type LineLinkOp,
  type LineLinkResult,
  type LineLinkState,
} from './line-link.ts';

const T: LineDriverTimings = {
  identTimeoutMs: 100,
  ackTimeoutMs: 50,
  saleAttempts: 3,
  resultTimeoutMs: 1000,
  statusTimeoutMs: 40,
  statusAttempts: 3,
  statusBackoffMs: 10,
};

const REQ: SaleRequest = { paymentId: 'pay-1', rid: 'p1', amount: { amountMinor: 3190, currency: 'BRL' }, method: 'credit', installments: 1 };

const L = {
  ack: (rid = 'p1'): TerminalLine => ({ verb: 'ACK', rid }),
  nak: (rid = 'p1'): TerminalLine => ({ verb: 'NAK', rid, reason: 'checksum' }),
  err: (code: 'BUSY' | 'NOT_FOUND' | 'BAD_REQUEST', rid = 'p1'): TerminalLine => ({ verb: 'ERR', rid, code }),
  progress: (rid = 'p1'): TerminalLine => ({ verb: 'PROGRESS', rid, stage: 'pin' }),
  result: (over: Partial<Extract<TerminalLine, { verb: 'RESULT' }>> = {}): TerminalLine => ({
    verb: 'RESULT',
    rid: 'p1',
    status: 'approved',
    amountMinor: 3190,
    currency: '986',
    responseCode: '00',
    authCode: 'A1',
    ...over,
  }),
  ident: (rid: string, dialect?: string): TerminalLine => ({ verb: 'IDENT', rid, serial: 'SN-9', model: 'M', ...(dialect ? { dialect } : {}) }),
};

const line = (l: TerminalLine): LineLinkEvent => ({ type: 'line', line: l, raw: `${l.verb} ${l.rid}` });
const WRITTEN: LineLinkEvent[] = [{ type: 'writing' }, { type: 'written' }];
const TICK: LineLinkEvent = { type: 'tick' };

/** Compact form of the effects, for readable expectations. */
function summarise(e: LineLinkEffect): string {
  switch (e.type) {
    case 'write':
      return `write:${e.line.verb}${e.line.verb === 'IDENT' ? `:${e.line.rid}` : ''}`;
    case 'progress':
      return `progress:${e.stage}`;
    case 'recovering':
      return 'recovering';
    case 'log':
      return `${e.level}:${e.msg}`;
    case 'done':
      return 'done';
    default:
      return e.type;
  }
}

/** A machine driven by hand: `at(now, ...events)`. */
function machine(op: LineLinkOp, now = 0) {
  const start = startLineLink(op, now, T);
  let state: LineLinkState = start.state;
  const all: LineLinkEffect[] = [...start.effects];
  return {
    get state() {
      return state;
    },
    effects: () => all.map(summarise).filter((e) => !e.startsWith('debug:')),
    result(): LineLinkResult | undefined {
      return state.phase.kind === 'done' ? state.phase.result : undefined;
    },
    at(t: number, ...events: LineLinkEvent[]) {
      for (const event of events) {
        const r = transitionLineLink(state, event, t, T);
        state = r.state;
        all.push(...r.effects);
      }
      return this;
    },
  };
}

const sale = () => machine({ op: 'sale', req: REQ });
const outcome = (m: { result(): LineLinkResult | undefined }) => {
  const r = m.result();
  return r?.op === 'sale' ? r.outcome : r;
};

describe('PBL/1 host link: sale, phase 1 (SALE until ACK)', () => {
  it('writes the SALE, listens for the ACK from the moment it is out, then waits for the RESULT', () => {
    const m = sale();
    expect(m.effects()).toEqual(['write:SALE']);
    expect(m.state.phase).toMatchObject({ kind: 'writing' });
    expect(lineLinkDeadline(m.state)).toBeUndefined();
    m.at(5, ...WRITTEN);
    expect(m.state.phase).toEqual({ kind: 'listening', for: 'ack', deadline: 55 });
    m.at(10, line(L.ack()));
    expect(m.state.phase).toEqual({ kind: 'listening', for: 'result', deadline: 1010 });
    m.at(20, line(L.progress()), line(L.result()));
    expect(m.effects()).toEqual(['write:SALE', 'sent', 'acked', 'progress:pin', 'done']);
    expect(outcome(m)).toMatchObject({ kind: 'result', result: { outcome: 'approved', authorizationId: 'A1', amount: { amountMinor: 3190, currency: 'BRL' }, tid: 'p1' } });
  });

  it('maps declined and aborted RESULTs to denied, with the card summary', () => {
    const m = sale().at(0, ...WRITTEN, line(L.result({ status: 'declined', responseCode: '51', brand: 'Visa', bin: '411111', last4: '1111' })));
    expect(outcome(m)).toMatchObject({ kind: 'result', result: { outcome: 'denied', terminalStatus: 'declined', responseCode: '51', card: { brand: 'Visa', firstDigits: '411111', lastDigits: '1111' } } });
    expect(outcome(sale().at(0, ...WRITTEN, line(L.result({ status: 'aborted' }))))).toMatchObject({ kind: 'result', result: { outcome: 'denied' } });
  });

  it('a PROGRESS counts as the ACK', () => {
    const m = sale().at(0, ...WRITTEN, line(L.progress()));
    expect(m.effects()).toEqual(['write:SALE', 'sent', 'acked', 'progress:pin']);
    expect(m.state.phase).toMatchObject({ kind: 'listening', for: 'result' });
  });

  it('resends the same SALE after a NAK and after an ACK time-out, then takes the ACK', () => {
    const m = sale().at(0, ...WRITTEN, line(L.nak()));
    expect(m.effects()).toEqual(['write:SALE', 'sent', 'warn:SALE NAKed, resending', 'write:SALE']);
    m.at(1, ...WRITTEN).at(40, TICK);
    expect(m.state.phase).toMatchObject({ kind: 'listening', for: 'ack' }); // not due yet
    m.at(51, TICK);
    expect(m.effects().slice(4)).toEqual(['sent', 'warn:SALE not acknowledged', 'write:SALE']);
    expect(m.state.attempt).toBe(3);
    m.at(52, ...WRITTEN, line(L.ack()));
    expect(m.state.phase).toMatchObject({ kind: 'listening', for: 'result' });
  });

  it('a link closed while waiting for the ACK counts as a lost ACK', () => {
    const m = sale().at(0, ...WRITTEN, { type: 'link_closed' });
    expect(m.state).toMatchObject({ attempt: 2, lastProblem: 'link closed', phase: { kind: 'writing' } });
  });

  it('ERR BUSY to the first SALE: rejected TERM_BUSY (nothing started); other ERRs: TERM_UNKNOWN', () => {
    expect(outcome(sale().at(0, ...WRITTEN, line(L.err('BUSY'))))).toEqual({ kind: 'rejected', code: 'TERM_BUSY', message: 'terminal is busy with another transaction' });
    expect(outcome(sale().at(0, ...WRITTEN, line(L.err('BAD_REQUEST'))))).toMatchObject({ kind: 'rejected', code: 'TERM_UNKNOWN' });
  });

  it('ERR to a resent SALE is confirmed with STATUS: NOT_FOUND then reports that refusal', () => {
    const m = sale().at(0, ...WRITTEN, TICK).at(50, TICK).at(51, ...WRITTEN, line(L.err('BUSY')));
    expect(m.effects()).toContain('recovering');
    expect(m.state.phase).toMatchObject({ kind: 'writing', line: { verb: 'STATUS' } });
    m.at(60, ...WRITTEN, line(L.err('NOT_FOUND')));
    expect(outcome(m)).toMatchObject({ kind: 'rejected', code: 'TERM_BUSY' });
  });

  it('a write that fails before the port opened: pause ackTimeoutMs, resend; never written at all → rejected TERM_DISCONNECTED', () => {
    const m = sale().at(0, { type: 'write_failed', problem: 'port unavailable: ENOENT', mayHaveReached: false });
    expect(m.state.phase).toEqual({ kind: 'pause', deadline: 50, then: 'sale' });
    expect(lineLinkDeadline(m.state)).toBe(50);
    m.at(49, TICK);
    expect(m.state.phase.kind).toBe('pause');
    m.at(50, TICK, { type: 'write_failed', problem: 'port unavailable: ENOENT', mayHaveReached: false });
    m.at(100, TICK, { type: 'write_failed', problem: 'port unavailable: ENOENT', mayHaveReached: false }).at(150, TICK);
    expect(outcome(m)).toEqual({ kind: 'rejected', code: 'TERM_DISCONNECTED', message: 'could not send the sale to the terminal (port unavailable: ENOENT); nothing was charged' });
    expect(m.effects().filter((e) => e === 'write:SALE')).toHaveLength(3);
  });

  it('a write that failed half-way may have reached the terminal: recovered with STATUS, not rejected', () => {
    const m = sale()
      .at(0, { type: 'write_failed', problem: 'write failed: EIO', mayHaveReached: true })
      .at(50, TICK, { type: 'write_failed', problem: 'write failed: EIO', mayHaveReached: true })
      .at(100, TICK, { type: 'write_failed', problem: 'write failed: EIO', mayHaveReached: true })
      .at(150, TICK);
    expect(m.state.phase).toMatchObject({ kind: 'writing', line: { verb: 'STATUS' } });
    expect(m.state.reason).toBe('SALE not acknowledged after 3 attempts (write failed: EIO)');
  });

  it('an unknown currency is rejected before anything is written', () => {
    const m = machine({ op: 'sale', req: { ...REQ, amount: { amountMinor: 1, currency: 'XXZ' } } });
    expect(m.effects()).toEqual(['done']);
    expect(outcome(m)).toMatchObject({ kind: 'rejected', code: 'TERM_UNKNOWN' });
  });

  it('lines that arrive while the SALE is being written are kept and read once it is out', () => {
    const m = sale().at(0, { type: 'writing' }, line(L.ack()), line(L.progress()));
    expect(m.state.inbox).toHaveLength(2);
    m.at(1, { type: 'written' });
    expect(m.effects()).toEqual(['write:SALE', 'sent', 'acked', 'progress:pin']);
    expect(m.state.inbox).toEqual([]);
    expect(m.state.phase).toMatchObject({ kind: 'listening', for: 'result' });
  });

  it('a link-closed notice from before the port opened is dropped; one during the write is kept', () => {
    const before = sale().at(0, { type: 'link_closed' }, { type: 'writing' }, { type: 'written' });
    expect(before.state.phase).toMatchObject({ kind: 'listening', for: 'ack' });
    const during = sale().at(0, { type: 'writing' }, { type: 'link_closed' }, { type: 'written' });
    expect(during.state).toMatchObject({ attempt: 2, lastProblem: 'link closed' });
  });

  it('ignores an IDENT answer on the sale rid', () => {
    const m = sale().at(0, ...WRITTEN, line(L.ident('p1')));
    expect(m.state.phase).toMatchObject({ kind: 'listening', for: 'ack' });
  });
});

describe('PBL/1 host link: sale, phase 2 (RESULT, STATUS recovery)', () => {
  const acked = () => sale().at(0, ...WRITTEN, line(L.ack()));

  it('no RESULT in resultTimeoutMs: STATUS; its RESULT is the outcome', () => {
    const m = acked().at(1000, TICK);
    expect(m.effects().slice(-3)).toEqual(['warn:terminal answer lost, recovering with STATUS', 'recovering', 'write:STATUS']);
    expect(m.state.reason).toBe('no RESULT within 1000 ms');
    m.at(1001, ...WRITTEN, line(L.result()));
    expect(outcome(m)).toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
  });

  it('a RESULT whose amount, currency or rid differ is a lost answer, never a decline', () => {
    for (const bad of [{ amountMinor: 1 }, { currency: '840' }, { status: 'declined' as const, amountMinor: 9 }]) {
      const m = acked().at(5, line(L.result(bad)));
      expect(m.effects()).toContain('warn:terminal result does not match the request');
      expect(m.state.reason).toBe('RESULT does not match the request');
      expect(m.state.phase).toMatchObject({ kind: 'writing', line: { verb: 'STATUS' } });
    }
    // The same in place of the ACK: recovered too.
    expect(sale().at(0, ...WRITTEN, line(L.result({ amountMinor: 1 }))).state.reason).toBe('RESULT does not match the request');
  });

  it('the link closing or an ERR after the ACK: recovered with STATUS', () => {
    expect(acked().at(5, { type: 'link_closed' }).state.reason).toBe('terminal link closed while waiting for RESULT');
    expect(acked().at(5, line(L.err('BUSY'))).state.reason).toBe('unexpected ERR BUSY after the ACK');
  });

  it('late ACK and NAK while waiting for the RESULT are ignored', () => {
    const m = acked().at(5, line(L.ack()), line(L.nak()));
    expect(m.state.phase).toEqual({ kind: 'listening', for: 'result', deadline: 1000 });
  });

  it('STATUS answered PROGRESS or ACK: wait for the RESULT again, at most statusAttempts times', () => {
    const m = acked().at(1000, TICK).at(1001, ...WRITTEN, line(L.progress()));
    expect(m.state.phase).toEqual({ kind: 'listening', for: 'result', deadline: 2001 });
    m.at(2001, TICK).at(2002, ...WRITTEN, line(L.ack())).at(3002, TICK).at(3003, ...WRITTEN, line(L.ack()));
    expect(m.state.waits).toBe(3);
    m.at(4003, TICK).at(4004, ...WRITTEN, line(L.progress()));
    expect(outcome(m)).toEqual({ kind: 'unknown', reason: 'terminal still running the sale after 4 result waits' });
  });

  it('STATUS unanswered: back-off doubling from statusBackoffMs, then unknown (never denied)', () => {
    const m = acked().at(1000, TICK).at(1000, ...WRITTEN).at(1040, TICK);
    expect(m.state.phase).toEqual({ kind: 'pause', deadline: 1050, then: 'status' });
    m.at(1050, TICK, ...WRITTEN, line(L.nak()));
    expect(m.state.phase).toEqual({ kind: 'pause', deadline: 1070, then: 'status' });
    m.at(1070, TICK, { type: 'write_failed', problem: 'port unavailable: gone', mayHaveReached: false });
    expect(outcome(m)).toEqual({ kind: 'unknown', reason: 'no RESULT within 1000 ms; 3 STATUS requests failed (last: port unavailable: gone)' });
    expect(m.effects().filter((e) => e === 'warn:STATUS not answered')).toHaveLength(3);
  });

  it('STATUS answered NOT_FOUND after an ACK is a contradiction: unknown', () => {
    const m = acked().at(1000, TICK).at(1000, ...WRITTEN, line(L.err('NOT_FOUND')));
    expect(outcome(m)).toEqual({
      kind: 'unknown',
      reason: 'no RESULT within 1000 ms; terminal answered NOT_FOUND for a sale it had acknowledged (protocol contradiction)',
    });
  });

  it('never ACKed, STATUS NOT_FOUND: rejected, nothing charged', () => {
    const m = sale().at(0, ...WRITTEN).at(50, TICK, ...WRITTEN).at(100, TICK, ...WRITTEN).at(150, TICK);
    expect(m.state.reason).toBe('SALE not acknowledged after 3 attempts (no ACK within 50 ms)');
    m.at(150, ...WRITTEN, line(L.err('NOT_FOUND')));
    expect(outcome(m)).toMatchObject({ kind: 'rejected', code: 'TERM_DISCONNECTED' });
  });

  it('lines that arrive during the STATUS back-off are kept and read after the next STATUS goes out', () => {
    const m = acked().at(1000, TICK).at(1000, ...WRITTEN).at(1040, TICK).at(1045, line(L.result()));
    expect(m.state.inbox).toHaveLength(1);
    m.at(1050, TICK);
    expect(m.effects().at(-1)).toBe('write:STATUS');
    m.at(1051, ...WRITTEN);
    expect(outcome(m)).toMatchObject({ kind: 'result' });
  });
});

describe('PBL/1 host link: closing', () => {
  it('closing during a pause ends it at once: a sale that never got out is rejected', () => {
    const m = sale().at(0, { type: 'write_failed', problem: 'port unavailable: x', mayHaveReached: false }).at(1, { type: 'shutdown' });
    expect(outcome(m)).toMatchObject({ kind: 'rejected', code: 'TERM_DISCONNECTED' });
  });

  it('closing while waiting for the RESULT: unknown', () => {
    const m = sale().at(0, ...WRITTEN, line(L.ack())).at(5, { type: 'shutdown' }, { type: 'link_closed' });
    expect(outcome(m)).toEqual({ kind: 'unknown', reason: 'agent closed during the sale' });
  });

  it('closing during the STATUS back-off: unknown', () => {
    const m = sale().at(0, ...WRITTEN, line(L.ack())).at(1000, TICK, ...WRITTEN).at(1040, TICK).at(1041, { type: 'shutdown' });
    expect(outcome(m)).toEqual({ kind: 'unknown', reason: 'no RESULT within 1000 ms; agent closed during recovery' });
  });

  it('events after the end change nothing', () => {
    const m = sale().at(0, ...WRITTEN, line(L.result()));
    const before = m.state;
    m.at(1, line(L.ack()), TICK, { type: 'shutdown' });
    expect(m.state).toBe(before);
  });
});

describe('PBL/1 host link: STATUS alone', () => {
  const status = () => machine({ op: 'status', req: REQ });
  const check = (m: ReturnType<typeof status>) => {
    const r = m.result();
    return r?.op === 'status' ? r.check : r;
  };

  it('answers result, running, not_found and no_answer', () => {
    expect(status().effects()).toEqual(['write:STATUS']);
    expect(check(status().at(0, ...WRITTEN, line(L.result())))).toMatchObject({ kind: 'result' });
    expect(check(status().at(0, ...WRITTEN, line(L.progress())))).toEqual({ kind: 'running' });
    expect(check(status().at(0, ...WRITTEN, line(L.ack())))).toEqual({ kind: 'running' });
    expect(check(status().at(0, ...WRITTEN, line(L.err('NOT_FOUND'))))).toEqual({ kind: 'not_found' });
    expect(check(status().at(0, ...WRITTEN, line(L.err('BUSY'))))).toEqual({ kind: 'no_answer', reason: 'ERR BUSY' });
    expect(check(status().at(0, ...WRITTEN, line(L.nak())))).toEqual({ kind: 'no_answer', reason: 'NAK (checksum)' });
    expect(check(status().at(0, ...WRITTEN, line(L.result({ amountMinor: 2 }))))).toEqual({ kind: 'no_answer', reason: 'RESULT does not match the request' });
    expect(check(status().at(0, ...WRITTEN).at(40, TICK))).toEqual({ kind: 'no_answer', reason: 'no answer to STATUS within 40 ms' });
    expect(check(status().at(0, ...WRITTEN, { type: 'link_closed' }))).toEqual({ kind: 'no_answer', reason: 'link closed' });
    expect(check(status().at(0, { type: 'write_failed', problem: 'port unavailable: x', mayHaveReached: false }))).toEqual({
      kind: 'no_answer',
      reason: 'port unavailable: x',
    });
  });
});

describe('PBL/1 host link: IDENT', () => {
  const rids = ['i1', 'i2', 'i3'];
  const ident = () => machine({ op: 'ident', rids });
  const res = (m: ReturnType<typeof ident>) => m.result();

  it('takes the identity, on the rid of the current attempt', () => {
    const m = ident();
    expect(lineLinkRid(m.state)).toBe('i1');
    m.at(0, ...WRITTEN, line(L.ident('i1', 'PBL/1')));
    expect(res(m)).toEqual({ op: 'ident', ok: true, identity: { serialNumber: 'SN-9', serialSource: 'device', dialect: 'PBL/1', model: 'M' } });
  });

  it('a time-out, a closed link or an unexpected answer each use one attempt, with a fresh rid', () => {
    const m = ident().at(0, ...WRITTEN).at(100, TICK);
    expect(lineLinkRid(m.state)).toBe('i2');
    m.at(100, ...WRITTEN, { type: 'link_closed' });
    expect(lineLinkRid(m.state)).toBe('i3');
    m.at(101, ...WRITTEN, line(L.ack('i3')));
    expect(m.effects()).toEqual(['write:IDENT:i1', 'write:IDENT:i2', 'write:IDENT:i3', 'done']);
    expect(res(m)).toEqual({ op: 'ident', ok: false, code: 'TERM_TIMEOUT', message: 'terminal did not answer IDENT (unexpected answer: ACK i3)', details: { attempts: IDENT_ATTEMPTS } });
  });

  it('another dialect: TERM_MISMATCH', () => {
    expect(res(ident().at(0, ...WRITTEN, line(L.ident('i1', 'PBL/2'))))).toMatchObject({ ok: false, code: 'TERM_MISMATCH', details: { serialNumber: 'SN-9' } });
  });

  it('a failed write pauses identTimeoutMs; while closing it ends at once', () => {
    const m = ident().at(0, { type: 'write_failed', problem: 'port unavailable: x', mayHaveReached: false });
    expect(m.state.phase).toEqual({ kind: 'pause', deadline: 100, then: 'ident' });
    m.at(100, TICK);
    expect(lineLinkRid(m.state)).toBe('i2');
    m.at(100, { type: 'shutdown' }, { type: 'write_failed', problem: 'port unavailable: closed', mayHaveReached: false });
    expect(res(m)).toMatchObject({ ok: false, code: 'TERM_TIMEOUT', message: 'terminal did not answer IDENT (port unavailable: closed)' });
  });

  it('needs a rid per attempt', () => {
    expect(() => startLineLink({ op: 'ident', rids: ['i1'] }, 0, T)).toThrow(TypeError);
  });
});
