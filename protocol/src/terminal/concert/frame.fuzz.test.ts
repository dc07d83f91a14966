/**
 * Property tests of the Concert E+ streaming parser (issue 7, fuzzing): random streams of
 * frames (random printable payloads), control bytes, line noise and frames with a bad LRC, cut
 * into random chunks. The parser never throws, gives the same tokens however the bytes are
 * chunked, finds every good frame exactly, never passes a damaged frame as good, and never
 * drops a byte silently (the tokens' bytes, plus the partial frame it holds, are the input).
 * The existing example-based properties (one fixed stream, noise before one frame) are in
 * concert.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACK, ENQ, EOT, MAX_PAYLOAD_LENGTH, NAK, STX } from './constants.ts';
import { ConcertFrameParser, encodeConcertFrame, type ConcertToken } from './frame.ts';

const CONTROLS = [ENQ, ACK, NAK, EOT] as const;
/** Bytes that are noise outside a frame: neither STX nor a control byte. */
const noiseByte = fc.integer({ min: 0, max: 255 }).filter((b) => b !== STX && !(CONTROLS as readonly number[]).includes(b));
const payload = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 120 });

type Item =
  | { kind: 'frame'; payload: string }
  | { kind: 'bad-lrc'; payload: string; flip: number }
  | { kind: 'control'; byte: number }
  | { kind: 'noise'; bytes: number[] };

const item: fc.Arbitrary<Item> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('frame' as const), payload }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('bad-lrc' as const), payload, flip: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('control' as const), byte: fc.constantFrom(...CONTROLS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('noise' as const), bytes: fc.array(noiseByte, { minLength: 1, maxLength: 16 }) }) },
);

function bytesOf(i: Item): number[] {
  switch (i.kind) {
    case 'frame':
      return [...encodeConcertFrame(i.payload)];
    case 'bad-lrc': {
      const f = [...encodeConcertFrame(i.payload)];
      f[f.length - 1]! ^= i.flip;
      return f;
    }
    case 'control':
      return [i.byte];
    case 'noise':
      return i.bytes;
  }
}

/** Feeds `stream` cut at `cuts`; returns every token. */
function parseChunked(stream: Uint8Array, cuts: number[]): { tokens: ConcertToken[]; parser: ConcertFrameParser } {
  const parser = new ConcertFrameParser();
  const tokens: ConcertToken[] = [];
  let from = 0;
  for (const p of [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b)) {
    tokens.push(...parser.push(stream.subarray(from, p)));
    from = p;
  }
  tokens.push(...parser.push(stream.subarray(from)));
  return { tokens, parser };
}

/** Tokens with adjacent garbage merged (a chunk boundary may split a garbage run). */
function normalise(tokens: ConcertToken[]): string[] {
  const out: string[] = [];
  for (const t of tokens) {
    const s =
      t.type === 'control' ? t.name : t.type === 'frame' ? `frame:${t.payload}` : t.type === 'bad_frame' ? `bad:${t.reason}:${Buffer.from(t.raw).toString('hex')}` : 'garbage';
    if (s === 'garbage' && out.at(-1) === 'garbage') continue;
    out.push(s);
  }
  return out;
}

/** Every byte the tokens account for, in order. */
function bytesOfTokens(tokens: ConcertToken[]): number[] {
  const names: Record<string, number> = { ENQ, ACK, NAK, EOT };
  return tokens.flatMap((t) => (t.type === 'control' ? [names[t.name]!] : [...t.raw]));
}

const cuts = fc.array(fc.nat(), { maxLength: 30 });

describe('Concert E+ stream parser properties', () => {
  it('frames, controls, noise and bad LRCs in random chunks: exact frames, same tokens however chunked', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 25 }), cuts, (items, cutPoints) => {
        const stream = Uint8Array.from(items.flatMap(bytesOf));
        const oneShot = new ConcertFrameParser().push(stream);
        const { tokens } = parseChunked(stream, cutPoints);
        expect(normalise(tokens)).toEqual(normalise(oneShot));

        const expected: string[] = [];
        for (const i of items) {
          if (i.kind === 'frame') expected.push(`frame:${i.payload}`);
          else if (i.kind === 'bad-lrc') expected.push('bad:lrc');
          else if (i.kind === 'control') expected.push(['ENQ', 'ACK', 'NAK', 'EOT'][(CONTROLS as readonly number[]).indexOf(i.byte)]!);
          else if (expected.at(-1) !== 'garbage') expected.push('garbage');
        }
        expect(normalise(tokens).map((s) => (s.startsWith('bad:lrc:') ? 'bad:lrc' : s))).toEqual(expected);
        // Nothing held back, nothing lost.
        expect(bytesOfTokens(tokens)).toEqual([...stream]);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary bytes in random chunks: never throws, every byte accounted for, every frame is genuine', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), cuts, (stream, cutPoints) => {
        const { tokens, parser } = parseChunked(stream, cutPoints);
        const held = parser.reset();
        expect([...bytesOfTokens(tokens), ...(held?.raw ?? [])]).toEqual([...stream]);
        for (const t of tokens) {
          if (t.type === 'frame') expect([...encodeConcertFrame(t.payload)]).toEqual([...t.raw]);
          if (t.type === 'bad_frame') expect(t.raw.length).toBeLessThanOrEqual(MAX_PAYLOAD_LENGTH + 3);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('any single damaged byte of a frame (payload within printable ASCII, or the LRC) is never passed as good', () => {
    fc.assert(
      fc.property(payload.filter((p) => p.length > 0), fc.nat(), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 1, max: 255 }), (p, at, printable, flip) => {
        const frame = encodeConcertFrame(p);
        const damaged = Uint8Array.from(frame);
        const index = 1 + (at % (p.length + 1)); // a payload byte, or (when = length + 1) …
        if (index <= p.length) {
          if (printable === damaged[index]) return; // not a change
          damaged[index] = printable;
        } else {
          damaged[damaged.length - 1]! ^= flip; // … the LRC
        }
        const { tokens } = parseChunked(Uint8Array.from([...damaged, ...frame]), [at, at * 7]);
        // The damaged frame is reported bad; the good one after it still comes through.
        expect(normalise(tokens).map((s) => s.replace(/^bad:lrc:.*/, 'bad:lrc'))).toEqual(['bad:lrc', `frame:${p}`]);
      }),
      { numRuns: 300 },
    );
  });

  it('an endless frame is cut at the payload limit and parsing goes on', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_PAYLOAD_LENGTH + 1, max: 3 * MAX_PAYLOAD_LENGTH }), payload, cuts, (length, p, cutPoints) => {
        const stream = Uint8Array.from([STX, ...new Array<number>(length).fill(0x41), ...encodeConcertFrame(p)]);
        const { tokens } = parseChunked(stream, cutPoints);
        expect(tokens.some((t) => t.type === 'bad_frame' && t.reason === 'too_long')).toBe(true);
        expect(tokens.at(-1)).toMatchObject({ type: 'frame', payload: p });
      }),
      { numRuns: 100 },
    );
  });
});
