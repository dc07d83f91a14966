/**
 * Golden PBL/1 fixtures asserted against BOTH codecs: the simulator's own (`line-codec.ts`) and the
 * agent-side one in `@posbridge/protocol/terminal`. The fixture CRCs were computed outside either
 * (see `_about` in the fixture), so a bug in one codec cannot hide behind the other.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  crc16Hex,
  decodeHostLine,
  decodeTerminalLine,
  encodeLine,
  type HostLine,
  type TerminalLine,
} from '@posbridge/protocol/terminal';
import { decodeWireLine, encodeWireLine, simCrcHex } from './line-codec.ts';

interface GoldenLine {
  direction: 'host' | 'terminal';
  line: string;
  verb: string;
  rid: string;
  fields: [string, string][];
  typed: Record<string, unknown>;
  note?: string;
}
interface Golden {
  crc: { ascii: string; crc: string }[];
  valid: GoldenLine[];
  decodeOnly: GoldenLine[];
  invalid: { line: string; reason: 'checksum' | 'syntax'; rid?: string; note: string }[];
}

const golden = JSON.parse(readFileSync(new URL('./fixtures/pbl1-golden.json', import.meta.url), 'utf8')) as Golden;

const decodeTyped = (g: GoldenLine) => (g.direction === 'host' ? decodeHostLine(g.line) : decodeTerminalLine(g.line));

describe('CRC-16/CCITT-FALSE golden values', () => {
  it.each(golden.crc)('crc($ascii) = $crc', ({ ascii, crc }) => {
    expect(simCrcHex(ascii)).toBe(crc);
    expect(crc16Hex(ascii)).toBe(crc);
  });
});

describe('golden lines: simulator codec', () => {
  it.each(golden.valid)('encodes $verb $rid byte-exact', (g) => {
    expect(encodeWireLine({ verb: g.verb, rid: g.rid, fields: g.fields })).toBe(g.line);
  });
  it.each([...golden.valid, ...golden.decodeOnly])('decodes $line', (g) => {
    expect(decodeWireLine(g.line)).toEqual({ ok: true, line: { verb: g.verb, rid: g.rid, fields: g.fields } });
  });
  it.each(golden.invalid)('rejects ($note) as $reason', (g) => {
    const res = decodeWireLine(g.line);
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.reason).toBe(g.reason);
    expect(res.rid).toBe(g.rid);
  });
});

describe('golden lines: @posbridge/protocol/terminal codec', () => {
  it.each(golden.valid)('encodeLine($verb $rid) is byte-exact', (g) => {
    expect(encodeLine(g.typed as unknown as HostLine | TerminalLine)).toBe(`${g.line}\n`);
  });
  it.each([...golden.valid, ...golden.decodeOnly])('decodes $line', (g) => {
    expect(decodeTyped(g)).toEqual({ ok: true, value: g.typed });
  });
  it.each(golden.invalid)('rejects ($note) as $reason', (g) => {
    // The agent's decoder has finer reasons for field errors; grammar errors must agree.
    const res = decodeHostLine(g.line);
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.reason).toBe(g.reason);
  });
});

describe('simulator codec edge cases', () => {
  it('round-trips arbitrary UTF-8 values', () => {
    const values = ['', 'a b', 'ç ã ü', '100%', 'x=y*z', 'emoji 💳', 'a:b/c'];
    for (const value of values) {
      const text = encodeWireLine({ verb: 'ERR', rid: 'r1', fields: [['msg', value]] });
      expect(decodeWireLine(text)).toEqual({ ok: true, line: { verb: 'ERR', rid: 'r1', fields: [['msg', value]] } });
    }
  });
  it('rejects lines over 1024 characters', () => {
    const res = decodeWireLine(encodeWireLine({ verb: 'ERR', rid: 'r1', fields: [['msg', 'x'.repeat(1100)]] }));
    expect(res).toMatchObject({ ok: false, reason: 'syntax' });
  });
  it('refuses to encode an invalid rid', () => {
    expect(() => encodeWireLine({ verb: 'ACK', rid: 'bad rid', fields: [] })).toThrow(TypeError);
  });
});
