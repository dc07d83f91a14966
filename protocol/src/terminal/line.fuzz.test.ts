/**
 * Property tests for the PBL/1 codec (issue 7, fuzzing): every well-formed line round-trips,
 * and no input — random text, mutated lines, garbage — makes a decoder throw; bad input always
 * comes back as `{ ok: false, reason }`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeHostLine,
  decodeTerminalLine,
  encodeLine,
  type HostLine,
  type TerminalLine,
} from './line.ts';

const rid = fc.stringMatching(/^[A-Za-z0-9_-]{1,36}$/);
const currency = fc.stringMatching(/^\d{3}$/);
const amount = fc.integer({ min: 1, max: 999_999_999_999 });
const text = fc.string({ maxLength: 40, unit: 'grapheme' });
const digits = (n: number) => fc.stringMatching(new RegExp(`^\\d{${n}}$`));

const hostLine: fc.Arbitrary<HostLine> = fc.oneof(
  fc.record({
    verb: fc.constant('SALE' as const),
    rid,
    amountMinor: amount,
    currency,
    method: fc.constantFrom('credit' as const, 'debit' as const),
    installments: fc.integer({ min: 1, max: 99 }),
  }),
  fc.record({ verb: fc.constantFrom('STATUS' as const, 'ABORT' as const, 'IDENT' as const), rid }),
  fc.record({ verb: fc.constantFrom('VOID' as const, 'REFUND' as const), rid, ref: rid, amountMinor: amount, currency }),
);

const terminalLine: fc.Arbitrary<TerminalLine> = fc.oneof(
  fc.record({ verb: fc.constant('ACK' as const), rid }),
  fc.record({ verb: fc.constant('NAK' as const), rid, reason: fc.stringMatching(/^[a-z]{1,12}$/) }),
  fc.record(
    { verb: fc.constant('ERR' as const), rid, code: fc.constantFrom('BUSY' as const, 'NOT_FOUND' as const), message: text.filter((t) => t !== '') },
    { requiredKeys: ['verb', 'rid', 'code'] },
  ),
  fc.record({
    verb: fc.constant('PROGRESS' as const),
    rid,
    stage: fc.constantFrom('waiting_card' as const, 'reading_card' as const, 'pin' as const, 'processing' as const, 'printing' as const),
  }),
  fc.record(
    {
      verb: fc.constant('RESULT' as const),
      rid,
      status: fc.constantFrom('approved' as const, 'declined' as const, 'aborted' as const),
      amountMinor: fc.integer({ min: 0, max: 999_999_999_999 }),
      currency,
      responseCode: fc.stringMatching(/^[0-9A-Z]{2,6}$/),
      brand: text.filter((t) => t !== ''),
      bin: digits(6),
      last4: digits(4),
      authCode: fc.stringMatching(/^[0-9A-Z]{6}$/),
      nsu: digits(9),
      tid: rid,
      message: text.filter((t) => t !== ''),
    },
    { requiredKeys: ['verb', 'rid', 'status', 'amountMinor', 'currency', 'responseCode'] },
  ),
);

describe('PBL/1 properties', () => {
  it('host lines round-trip through encode and decode', () => {
    fc.assert(fc.property(hostLine, (line) => {
        expect(decodeHostLine(encodeLine(line))).toEqual({ ok: true, value: line });
      }));
  });

  it('terminal lines round-trip, any UTF-8 text in free-text fields included', () => {
    fc.assert(
      fc.property(terminalLine, (line) => {
        expect(decodeTerminalLine(encodeLine(line))).toEqual({ ok: true, value: line });
      }),
    );
  });

  it('every encoded line is one ASCII line', () => {
    fc.assert(
      fc.property(fc.oneof(hostLine, terminalLine), (line) => {
        const wire = encodeLine(line);
        expect(wire).toMatch(/^[\x20-\x7e]+\n$/);
      }),
    );
  });

  it('decoders never throw on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 1500, unit: 'binary' }), (input) => {
        expect(typeof decodeHostLine(input).ok).toBe('boolean');
        expect(typeof decodeTerminalLine(input).ok).toBe('boolean');
      }),
    );
  });

  it('a single changed character is caught (checksum or grammar), never decoded as another valid line', () => {
    fc.assert(
      fc.property(hostLine, fc.nat(), fc.integer({ min: 0x20, max: 0x7e }), (line, at, code) => {
        const wire = encodeLine(line).slice(0, -1);
        const index = at % wire.length;
        fc.pre(wire.charCodeAt(index) !== code);
        const mutated = wire.slice(0, index) + String.fromCharCode(code) + wire.slice(index + 1);
        const decoded = decodeHostLine(mutated);
        if (decoded.ok) expect(decoded.value).toEqual(line); // only possible when the mutation is a no-op encoding change
        else expect(['checksum', 'syntax', 'bad_field', 'unknown_verb', 'too_long']).toContain(decoded.reason);
      }),
      { numRuns: 2000 },
    );
  });
});
