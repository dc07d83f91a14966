/** The POS side of the Concert link layer: Exchange A and B, caps and timers, with `now` passed in. */
import { describe, expect, it } from 'vitest';
import {
  CONCERT_DEFAULT_TIMINGS as T,
  CONCERT_LINK_IDLE,
  ConcertFrameParser,
  concertLinkDeadline,
  encodeConcertAnswer,
  encodeConcertFrame,
  transitionConcertLink,
  type ConcertLinkEffect,
  type ConcertLinkEvent,
  type ConcertLinkState,
  type ConcertToken,
} from './index.ts';

const ctl = (name: 'ENQ' | 'ACK' | 'NAK' | 'EOT'): ConcertLinkEvent => ({ type: 'rx', token: { type: 'control', name } });
const frameEvent = (payload: string): ConcertLinkEvent => ({ type: 'rx', token: new ConcertFrameParser().push(encodeConcertFrame(payload))[0] as ConcertToken });
const ANSWER = encodeConcertAnswer({ posNumber: 1, statusChar: '0', amountMinor: 1250, paymentMode: '1', currencyNumeric: '978', privateData: 'PB1' });
const REQ = '0100001250110978PB00000001A010B010';

/** Runs events in order; returns the final state and every effect summarised. */
function run(events: [ConcertLinkEvent, number][], start: ConcertLinkState = CONCERT_LINK_IDLE) {
  let state = start;
  const out: string[] = [];
  for (const [event, now] of events) {
    const r = transitionConcertLink(state, event, now, T);
    state = r.state;
    out.push(...r.effects.map(summarise));
  }
  return { state, out };
}
function summarise(e: ConcertLinkEffect): string {
  switch (e.type) {
    case 'write':
      return e.what;
    case 'request_failed':
      return `failed:${e.reason}:${e.mayHaveReached}`;
    case 'answer':
      return `answer:${e.payload.length}`;
    case 'discarded':
      return 'discarded';
    case 'answer_garbled':
      return 'garbled';
    default:
      return e.type;
  }
}
describe('Concert link, Exchange A', () => {
  it('ENQ → ACK → frame → ACK → EOT, then waits for the answer', () => {
    const r = run([
      [{ type: 'send', payload: REQ, answerTimeoutMs: 120_000 }, 0],
      [ctl('ACK'), 10],
      [ctl('ACK'), 20],
    ]);
    expect(r.out).toEqual(['ENQ', 'frame', 'EOT', 'request_delivered']);
    expect(r.state).toEqual({ kind: 'awaiting_answer', deadline: 120_020 });
  });

  it('retries ENQ 3 times with EOT and a 1 s pause, then reports not ready (nothing sent)', () => {
    const r = run([
      [{ type: 'send', payload: REQ, answerTimeoutMs: 1 }, 0],
      [{ type: 'tick' }, 2_999],
      [{ type: 'tick' }, 3_000],
      [{ type: 'tick' }, 4_000],
      [{ type: 'tick' }, 7_000],
      [{ type: 'tick' }, 8_000],
      [{ type: 'tick' }, 11_000],
    ]);
    expect(r.out).toEqual(['ENQ', 'EOT', 'ENQ', 'EOT', 'ENQ', 'EOT', 'failed:not_ready:false']);
    expect(r.state).toEqual(CONCERT_LINK_IDLE);
  });

  it('resends the frame on NAK, at most 3 sends, then gives up (not delivered)', () => {
    const r = run([
      [{ type: 'send', payload: REQ, answerTimeoutMs: 1 }, 0],
      [ctl('ACK'), 1],
      [ctl('NAK'), 2],
      [ctl('NAK'), 3],
      [ctl('NAK'), 4],
    ]);
    expect(r.out).toEqual(['ENQ', 'frame', 'frame', 'frame', 'EOT', 'failed:nak_limit:false']);
  });

  it('a lost frame ACK means the request may have been taken: keeps waiting for the answer', () => {
    const r = run([
      [{ type: 'send', payload: REQ, answerTimeoutMs: 50_000 }, 0],
      [ctl('ACK'), 1],
      [{ type: 'tick' }, 3_001],
    ]);
    expect(r.out).toEqual(['ENQ', 'frame', 'EOT', 'failed:no_ack:true']);
    expect(r.state).toEqual({ kind: 'awaiting_answer', deadline: 53_001 });
  });
});

describe('Concert link, Exchange B', () => {
  const waiting: ConcertLinkState = { kind: 'awaiting_answer', deadline: 100_000 };

  it('ENQ → ACK, frame → ACK + answer, stop_waiting, EOT → idle', () => {
    const r = run([[ctl('ENQ'), 1], [frameEvent(ANSWER), 2], [{ type: 'stop_waiting' }, 2], [ctl('EOT'), 3]], waiting);
    expect(r.out).toEqual(['ACK', 'ACK', 'answer:25']);
    expect(r.state).toEqual(CONCERT_LINK_IDLE);
  });

  it('keeps waiting after an answer the driver did not accept (wrong private), until the deadline', () => {
    const r = run([[ctl('ENQ'), 1], [frameEvent(ANSWER), 2], [ctl('EOT'), 3]], waiting);
    expect(r.state).toEqual(waiting);
    expect(run([[{ type: 'tick' }, 100_000]], r.state).out).toEqual(['answer_timeout']);
  });

  it('NAKs a bad LRC and accepts the resent frame', () => {
    const bytes = encodeConcertFrame(ANSWER);
    bytes[bytes.length - 1]! ^= 1;
    const bad: ConcertLinkEvent = { type: 'rx', token: new ConcertFrameParser().push(bytes)[0] as ConcertToken };
    const r = run([[ctl('ENQ'), 1], [bad, 2], [frameEvent(ANSWER), 3]], waiting);
    expect(r.out).toEqual(['ACK', 'discarded', 'NAK', 'ACK', 'answer:25']);
  });

  it('gives up after 3 NAKs and keeps waiting for a resend within the answer deadline', () => {
    const bytes = encodeConcertFrame(ANSWER);
    bytes[bytes.length - 1]! ^= 1;
    const bad: ConcertLinkEvent = { type: 'rx', token: new ConcertFrameParser().push(bytes)[0] as ConcertToken };
    const r = run([[ctl('ENQ'), 1], [bad, 2], [bad, 3], [bad, 4], [bad, 5]], waiting);
    expect(r.out).toEqual(['ACK', 'discarded', 'NAK', 'discarded', 'NAK', 'discarded', 'NAK', 'discarded', 'garbled']);
    expect(r.state).toEqual(waiting);
  });

  it('reports answer_timeout at the deadline, never a decline', () => {
    const r = run([[{ type: 'tick' }, 99_999], [{ type: 'tick' }, 100_000]], waiting);
    expect(r.out).toEqual(['answer_timeout']);
    expect(concertLinkDeadline(r.state)).toBeUndefined();
  });

  it('accepts a late or duplicate answer while idle (the driver decides what it belongs to)', () => {
    const r = run([[ctl('ENQ'), 1], [frameEvent(ANSWER), 2], [ctl('EOT'), 3]]);
    expect(r.out).toEqual(['ACK', 'ACK', 'answer:25']);
  });

  it('discards frames without ENQ and stray bytes', () => {
    const r = run([[frameEvent(ANSWER), 1], [{ type: 'rx', token: { type: 'garbage', raw: Uint8Array.of(0x41) } }, 2]], waiting);
    expect(r.out).toEqual(['discarded', 'discarded']);
    expect(r.state).toEqual(waiting);
  });
});
