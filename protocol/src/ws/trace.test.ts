import { describe, expect, it } from 'vitest';
import { maskCardNumbers } from '../redaction.ts';
import { decodeAgentMessage, decodeServerMessage, encodeMessage } from './codec.ts';
import type { PaymentEvents, PaymentStart } from './messages.ts';
import { formatTraceparent, isTraceId, newSpanId, newTraceId, parseLinkFeatures, parseTraceparent } from './trace.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const VALID = `00-${TRACE}-00f067aa0ba902b7-01`;

describe('W3C traceparent', () => {
  it('parses a valid version-00 value', () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: TRACE, parentId: '00f067aa0ba902b7', flags: '01' });
  });

  it.each([
    ['another version', `01-${TRACE}-00f067aa0ba902b7-01`],
    ['version ff', `ff-${TRACE}-00f067aa0ba902b7-01`],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-00f067aa0ba902b7-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['an all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['a short trace id', `00-${TRACE.slice(1)}-00f067aa0ba902b7-01`],
    ['extra fields', `${VALID}-00`],
    ['surrounding space', ` ${VALID}`],
    ['non-hex', `00-${TRACE.slice(0, 31)}g-00f067aa0ba902b7-01`],
  ])('refuses %s', (_name, value) => {
    expect(parseTraceparent(value)).toBeNull();
  });

  it('refuses non-strings (a repeated header arrives as an array)', () => {
    expect(parseTraceparent([VALID, VALID])).toBeNull();
    expect(parseTraceparent(undefined)).toBeNull();
  });

  it('makes random ids that are valid and distinct, and formats a sampled child', () => {
    const a = newTraceId();
    const b = newTraceId();
    expect(isTraceId(a)).toBe(true);
    expect(a).not.toBe(b);
    expect(newSpanId()).toMatch(/^[0-9a-f]{16}$/);
    const child = formatTraceparent(a);
    expect(parseTraceparent(child)).toMatchObject({ traceId: a, flags: '01' });
    expect(() => formatTraceparent('0'.repeat(32))).toThrow(RangeError);
  });

  it('reads the link features header, bounded', () => {
    expect([...parseLinkFeatures('trace, Other ,bad name!')]).toEqual(['trace', 'other']);
    expect(parseLinkFeatures(undefined).size).toBe(0);
    expect(parseLinkFeatures(Array.from({ length: 40 }, (_, i) => `f${i}`).join(',')).size).toBe(16);
  });
});

const start: PaymentStart = {
  v: 1,
  id: 's-1',
  type: 'payment.start',
  paymentId: 'P1',
  serialNumber: 'SIM0001',
  amount: { amountMinor: 3190, currency: 'BRL' },
  method: 'credit',
  installments: 1,
};

const events: PaymentEvents = {
  v: 1,
  id: 'e-1',
  type: 'payment.events',
  paymentId: 'P1',
  events: [
    { at: 1000, stage: 'command.received', detail: { messageId: 's-1' } },
    { at: 1001, stage: 'terminal.request', detail: { rid: 'r7Q2', serialNumber: 'SIM0001' } },
    { at: 1500, stage: 'terminal.answer', detail: { outcome: 'approved', responseCode: '00' } },
  ],
};

describe('codec: traceparent on commands', () => {
  it('round-trips a start with and without traceparent (old servers send none)', () => {
    const traced = { ...start, traceparent: VALID };
    expect(decodeServerMessage(encodeMessage(traced))).toEqual({ ok: true, value: traced });
    expect(decodeServerMessage(encodeMessage(start))).toEqual({ ok: true, value: start });
  });

  it.each([
    ['upper case', VALID.toUpperCase()],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['too long', `${VALID}x`],
    ['version 01', `01-${TRACE}-00f067aa0ba902b7-01`],
  ])('refuses a start whose traceparent is %s', (_name, traceparent) => {
    expect(decodeServerMessage(JSON.stringify({ ...start, traceparent }))).toMatchObject({ ok: false, error: { code: 'WS_BAD_MESSAGE' } });
  });

  it('carries traceparent on abort and operation.start too', () => {
    const abort = { v: 1, id: 'a-1', type: 'payment.abort', paymentId: 'P1', reason: 'cancelled', traceparent: VALID } as const;
    expect(decodeServerMessage(JSON.stringify(abort))).toEqual({ ok: true, value: abort });
    expect(decodeServerMessage(JSON.stringify({ ...abort, traceparent: 'nope' })).ok).toBe(false);
  });
});

describe('codec: payment.events', () => {
  it('round-trips agent events', () => {
    expect(decodeAgentMessage(encodeMessage(events))).toEqual({ ok: true, value: events });
  });

  it('refuses more events than a message may carry, and none', () => {
    const many = Array.from({ length: 17 }, (_, i) => ({ at: i, stage: 'terminal.progress' as const }));
    expect(decodeAgentMessage(JSON.stringify({ ...events, events: many })).ok).toBe(false);
    expect(decodeAgentMessage(JSON.stringify({ ...events, events: [] })).ok).toBe(false);
  });

  it.each([
    ['a detail key outside the allow-list (pan)', { at: 1, stage: 'terminal.answer', detail: { pan: '4111111111111111' } }],
    ['a card block', { at: 1, stage: 'terminal.answer', detail: { card: { brand: 'Visa' } } }],
    ['an unknown stage', { at: 1, stage: 'terminal.pan' }],
    ['a too long reason', { at: 1, stage: 'terminal.recovering', detail: { reason: 'x'.repeat(201) } }],
    ['a rid with spaces', { at: 1, stage: 'terminal.request', detail: { rid: 'a b' } }],
    ['a fractional time', { at: 1.5, stage: 'terminal.ack' }],
  ])('refuses %s', (_name, event) => {
    expect(decodeAgentMessage(JSON.stringify({ ...events, events: [event] }))).toMatchObject({ ok: false, error: { code: 'WS_BAD_MESSAGE' } });
  });

  it('is agent → server only', () => {
    expect(decodeServerMessage(JSON.stringify(events)).ok).toBe(false);
  });
});

describe('maskCardNumbers', () => {
  it.each([
    ['card 4111111111111111 declined', 'card [redacted] declined'],
    ['pan 4111 1111 1111 1111.', 'pan [redacted].'],
    ['5454-5454-5454-5454', '[redacted]'],
    ['track ;4111111111111111=25121010000000000000? end', 'track [redacted] end'],
    ['%B4111111111111111^DOE/JOHN^2512101?', '[redacted]'],
  ])('masks %j', (text, masked) => {
    expect(maskCardNumbers(text)).toBe(masked);
    expect(maskCardNumbers(masked)).toBe(masked);
  });

  it('keeps short numbers (NSU, amounts, rids)', () => {
    expect(maskCardNumbers('nsu 000000042 amount 3190 rid p7Q2')).toBe('nsu 000000042 amount 3190 rid p7Q2');
  });
});
