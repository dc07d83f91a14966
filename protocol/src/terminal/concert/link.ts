/**
 * The POS side of the Concert link layer as a pure machine:
 * `transitionConcertLink(state, event, now, timings) → { state, effects }`.
 * Time comes in as `now` (epoch ms); the interpreter calls `tick` at {@link concertLinkDeadline}.
 *
 * Exchange A — we send the request (we are master):
 *
 *   idle ──send──▶ enq_sent ──ACK──▶ frame_sent ──ACK──▶ (EOT) awaiting_answer
 *                   │  ▲  no ACK in ackTimeoutMs:           │ NAK: resend frame (≤ frameAttempts)
 *                   │  │  EOT, enq_pause (enqRetryDelayMs)  │ no ACK in ackTimeoutMs: EOT, failed
 *                   │  └──────── enq_pause ◀──┘             │     (mayHaveReached: the frame went out)
 *                   └─ enqAttempts used: EOT, request_failed (not ready, nothing sent)
 *
 * Exchange B — the terminal returns the answer (terminal is master):
 *
 *   awaiting_answer / idle ──ENQ──▶ (ACK) receiving ──good frame──▶ (ACK, answer) answer_eot ──EOT──▶ idle
 *        │                                     │   (or back to awaiting_answer until `stop_waiting`:
 *        │                                     │    an answer that does not match keeps the wait alive)
 *        │ answerTimeoutMs: answer_timeout      │ bad frame: NAK (≤ answerNakLimit, then give up)
 *        │                                     │ no frame in frameTimeoutMs: back to waiting
 *        └─ an ENQ in `idle` is a late or duplicate answer: accepted the same way and reported
 *           as `answer`; the driver decides what it belongs to.
 *
 * Whatever arrives where it makes no sense is reported as `discarded` (the driver logs it
 * at warn with its hex) and never changes the outcome.
 *
 * @see docs/protocol/terminal-concert.md "Exchanges and timers"
 */
import { ACK, EOT, ENQ, NAK, type ConcertTimings } from './constants.ts';
import { encodeConcertFrame, type ConcertToken } from './frame.ts';

/** State of the POS side of the link. `deadline` fields are epoch ms. */
export type ConcertLinkState =
  | { kind: 'idle' }
  | { kind: 'enq_sent'; frame: Uint8Array; enqAttempt: number; deadline: number; answerTimeoutMs: number }
  | { kind: 'enq_pause'; frame: Uint8Array; enqAttempt: number; deadline: number; answerTimeoutMs: number }
  | { kind: 'frame_sent'; frame: Uint8Array; frameAttempt: number; deadline: number; answerTimeoutMs: number }
  | { kind: 'awaiting_answer'; deadline: number }
  /** We ACKed the terminal's ENQ and wait for its frame. `answerDeadline`: undefined when no answer was awaited. */
  | { kind: 'receiving'; naks: number; deadline: number; answerDeadline: number | undefined }
  | { kind: 'answer_eot'; deadline: number; answerDeadline: number | undefined };

/** What happens to the link. */
export type ConcertLinkEvent =
  /** Send a request payload and then wait up to `answerTimeoutMs` for the answer (Exchange B). */
  | { type: 'send'; payload: string; answerTimeoutMs: number }
  /** Wait for an answer without sending (after a restart: a late ENQ may still come). */
  | { type: 'await_answer'; answerTimeoutMs: number }
  /** A token from the frame parser. */
  | { type: 'rx'; token: ConcertToken }
  /** Time passed; sent at or after {@link concertLinkDeadline}. */
  | { type: 'tick' }
  /** The port closed or reopened: forget the exchange in progress. */
  | { type: 'reset' }
  /** The awaited answer arrived and matched: stop waiting (a frame that did not match keeps the wait alive). */
  | { type: 'stop_waiting' };

/** Why a request was not delivered. */
export type ConcertRequestFailure = 'not_ready' | 'nak_limit' | 'no_ack';

/** Work for the interpreter, in order. */
export type ConcertLinkEffect =
  /** Write bytes to the port (`what` names them for traces). */
  | { type: 'write'; bytes: Uint8Array; what: 'ENQ' | 'ACK' | 'NAK' | 'EOT' | 'frame' }
  /** The terminal ACKed our request frame: it owns the transaction now. */
  | { type: 'request_delivered' }
  /**
   * The request was not delivered. `mayHaveReached`: the frame went out and its ACK was lost, so
   * the terminal may be running it (the caller must treat the outcome as unknown).
   */
  | { type: 'request_failed'; reason: ConcertRequestFailure; mayHaveReached: boolean }
  /** A frame with a good LRC from the terminal (we ACKed it). */
  | { type: 'answer'; payload: string }
  /** No answer came within the answer time-out. */
  | { type: 'answer_timeout' }
  /** The terminal's answer could not be received (NAK limit or frame time-out) — it may resend it. */
  | { type: 'answer_garbled'; reason: string }
  /** A frame parser reset is due (inter-byte time-out). */
  | { type: 'reset_parser' }
  /** Something arrived that does not fit; logged by the interpreter. */
  | { type: 'discarded'; token: ConcertToken; why: string };

/** Result of {@link transitionConcertLink}. */
export interface ConcertLinkTransition {
  state: ConcertLinkState;
  effects: ConcertLinkEffect[];
}

const byte = (b: number) => Uint8Array.of(b);
const w = (what: 'ENQ' | 'ACK' | 'NAK' | 'EOT'): ConcertLinkEffect => ({
  type: 'write',
  bytes: byte(what === 'ENQ' ? ENQ : what === 'ACK' ? ACK : what === 'NAK' ? NAK : EOT),
  what,
});

/** The initial state. */
export const CONCERT_LINK_IDLE: ConcertLinkState = Object.freeze({ kind: 'idle' });

/** When the interpreter must send `tick`, or undefined when nothing is timed. */
export function concertLinkDeadline(state: ConcertLinkState): number | undefined {
  return state.kind === 'idle' ? undefined : state.deadline;
}

/** True while a request is being delivered (Exchange A in progress). */
export function isConcertLinkSending(state: ConcertLinkState): boolean {
  return state.kind === 'enq_sent' || state.kind === 'enq_pause' || state.kind === 'frame_sent';
}

/** Applies `event` at `now`. Pure. */
export function transitionConcertLink(
  state: ConcertLinkState,
  event: ConcertLinkEvent,
  now: number,
  t: ConcertTimings,
): ConcertLinkTransition {
  const stay = (effects: ConcertLinkEffect[] = []): ConcertLinkTransition => ({ state, effects });
  const discard = (token: ConcertToken, why: string) => stay([{ type: 'discarded', token, why }]);

  switch (event.type) {
    case 'send': {
      // A send while another exchange runs is a caller bug; the driver serialises requests.
      // (In answer_eot the terminal's EOT is only late: our ENQ may go; a late EOT is ignored.)
      if (isConcertLinkSending(state) || state.kind === 'receiving') {
        throw new TypeError(`concert link: send in state ${state.kind}`);
      }
      return {
        state: {
          kind: 'enq_sent',
          frame: encodeConcertFrame(event.payload),
          enqAttempt: 1,
          deadline: now + t.ackTimeoutMs,
          answerTimeoutMs: event.answerTimeoutMs,
        },
        effects: [w('ENQ')],
      };
    }
    case 'await_answer':
      if (state.kind !== 'idle' && state.kind !== 'awaiting_answer') return stay();
      return { state: { kind: 'awaiting_answer', deadline: now + event.answerTimeoutMs }, effects: [] };

    case 'reset':
      return { state: CONCERT_LINK_IDLE, effects: [{ type: 'reset_parser' }] };

    case 'stop_waiting':
      if (state.kind === 'awaiting_answer') return { state: CONCERT_LINK_IDLE, effects: [] };
      if (state.kind === 'receiving' || state.kind === 'answer_eot') return { state: { ...state, answerDeadline: undefined }, effects: [] };
      return stay();

    case 'tick':
      return onTick(state, now, t);

    case 'rx': {
      const token = event.token;
      switch (token.type) {
        case 'garbage':
          return discard(token, 'bytes outside a frame');
        case 'control':
          return onControl(state, token, now, t);
        case 'frame':
        case 'bad_frame':
          return onFrame(state, token, now, t);
        default: {
          const never: never = token;
          throw new TypeError(`unknown token ${JSON.stringify(never)}`);
        }
      }
    }
    default: {
      const never: never = event;
      throw new TypeError(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

/** Where the link goes once an answer exchange ends: back to waiting while an answer is still awaited. */
function afterAnswer(answerDeadline: number | undefined, now: number): ConcertLinkState {
  return answerDeadline === undefined ? CONCERT_LINK_IDLE : { kind: 'awaiting_answer', deadline: Math.max(answerDeadline, now) };
}

function onTick(state: ConcertLinkState, now: number, t: ConcertTimings): ConcertLinkTransition {
  if (state.kind === 'idle' || now < state.deadline) return { state, effects: [] };
  switch (state.kind) {
    case 'enq_sent':
      if (state.enqAttempt >= t.enqAttempts) {
        return {
          state: CONCERT_LINK_IDLE,
          effects: [w('EOT'), { type: 'request_failed', reason: 'not_ready', mayHaveReached: false }],
        };
      }
      return { state: { ...state, kind: 'enq_pause', deadline: now + t.enqRetryDelayMs }, effects: [w('EOT')] };
    case 'enq_pause':
      return {
        state: { ...state, kind: 'enq_sent', enqAttempt: state.enqAttempt + 1, deadline: now + t.ackTimeoutMs },
        effects: [w('ENQ')],
      };
    case 'frame_sent':
      // The frame went out and neither ACK nor NAK came back: it may have been taken.
      return {
        state: { kind: 'awaiting_answer', deadline: now + state.answerTimeoutMs },
        effects: [w('EOT'), { type: 'request_failed', reason: 'no_ack', mayHaveReached: true }],
      };
    case 'awaiting_answer':
      return { state: CONCERT_LINK_IDLE, effects: [{ type: 'answer_timeout' }] };
    case 'receiving': {
      const back: ConcertLinkState =
        state.answerDeadline === undefined ? CONCERT_LINK_IDLE : { kind: 'awaiting_answer', deadline: Math.max(state.answerDeadline, now) };
      return { state: back, effects: [{ type: 'reset_parser' }, { type: 'answer_garbled', reason: 'no frame after ENQ' }] };
    }
    case 'answer_eot':
      // The answer is in; a missing EOT changes nothing.
      return { state: afterAnswer(state.answerDeadline, now), effects: [] };
    default: {
      const never: never = state;
      throw new TypeError(`unknown state ${JSON.stringify(never)}`);
    }
  }
}

function onControl(
  state: ConcertLinkState,
  token: Extract<ConcertToken, { type: 'control' }>,
  now: number,
  t: ConcertTimings,
): ConcertLinkTransition {
  const discard = (why: string): ConcertLinkTransition => ({ state, effects: [{ type: 'discarded', token, why }] });
  switch (token.name) {
    case 'ACK':
      if (state.kind === 'enq_sent') {
        return {
          state: { kind: 'frame_sent', frame: state.frame, frameAttempt: 1, deadline: now + t.ackTimeoutMs, answerTimeoutMs: state.answerTimeoutMs },
          effects: [{ type: 'write', bytes: state.frame, what: 'frame' }],
        };
      }
      if (state.kind === 'frame_sent') {
        return {
          state: { kind: 'awaiting_answer', deadline: now + state.answerTimeoutMs },
          effects: [w('EOT'), { type: 'request_delivered' }],
        };
      }
      return discard('ACK outside our turn');
    case 'NAK':
      if (state.kind === 'frame_sent') {
        if (state.frameAttempt >= t.frameAttempts) {
          // Every copy was refused as unreadable: the terminal did not take the request.
          return { state: CONCERT_LINK_IDLE, effects: [w('EOT'), { type: 'request_failed', reason: 'nak_limit', mayHaveReached: false }] };
        }
        return {
          state: { ...state, frameAttempt: state.frameAttempt + 1, deadline: now + t.ackTimeoutMs },
          effects: [{ type: 'write', bytes: state.frame, what: 'frame' }],
        };
      }
      if (state.kind === 'enq_sent') return discard('NAK to our ENQ (terminal not ready); waiting for the time-out');
      return discard('NAK outside our turn');
    case 'ENQ':
      if (state.kind === 'awaiting_answer') {
        return { state: { kind: 'receiving', naks: 0, deadline: now + t.frameTimeoutMs, answerDeadline: state.deadline }, effects: [w('ACK')] };
      }
      if (state.kind === 'idle' || state.kind === 'answer_eot') {
        const answerDeadline = state.kind === 'answer_eot' ? state.answerDeadline : undefined;
        return { state: { kind: 'receiving', naks: 0, deadline: now + t.frameTimeoutMs, answerDeadline }, effects: [w('ACK')] };
      }
      if (state.kind === 'receiving') {
        // The terminal starts over (it missed our ACK): ACK again.
        return { state: { ...state, deadline: now + t.frameTimeoutMs }, effects: [w('ACK')] };
      }
      // Both sides want the line: the POS yields only after its own attempt fails.
      return discard('ENQ while we hold the line');
    case 'EOT':
      if (state.kind === 'answer_eot') return { state: afterAnswer(state.answerDeadline, now), effects: [] };
      if (state.kind === 'receiving') {
        const back: ConcertLinkState =
          state.answerDeadline === undefined ? CONCERT_LINK_IDLE : { kind: 'awaiting_answer', deadline: state.answerDeadline };
        return { state: back, effects: [{ type: 'reset_parser' }, { type: 'answer_garbled', reason: 'EOT before a good frame' }] };
      }
      return { state, effects: [] };
    default: {
      const never: never = token.name;
      throw new TypeError(`unknown control ${String(never)}`);
    }
  }
}

function onFrame(
  state: ConcertLinkState,
  token: Extract<ConcertToken, { type: 'frame' | 'bad_frame' }>,
  now: number,
  t: ConcertTimings,
): ConcertLinkTransition {
  if (state.kind !== 'receiving') {
    return { state, effects: [{ type: 'discarded', token, why: 'frame without ENQ/ACK' }] };
  }
  if (token.type === 'frame') {
    return {
      state: { kind: 'answer_eot', deadline: now + t.eotTimeoutMs, answerDeadline: state.answerDeadline },
      effects: [w('ACK'), { type: 'answer', payload: token.payload }],
    };
  }
  if (state.naks >= t.answerNakLimit) {
    const back: ConcertLinkState =
      state.answerDeadline === undefined ? CONCERT_LINK_IDLE : { kind: 'awaiting_answer', deadline: state.answerDeadline };
    return {
      state: back,
      effects: [{ type: 'discarded', token, why: `bad frame (${token.reason}), NAK limit reached` }, { type: 'answer_garbled', reason: 'NAK limit' }],
    };
  }
  return {
    state: { ...state, naks: state.naks + 1, deadline: now + t.frameTimeoutMs },
    effects: [{ type: 'discarded', token, why: `bad frame (${token.reason}), NAK sent` }, w('NAK')],
  };
}
