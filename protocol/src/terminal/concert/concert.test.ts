/**
 * Concert E+ codec against the golden frames of test/fixtures/frames (written by hand from
 * the reference tables, see its README): the encoder and the decoder are checked separately.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACK,
  ConcertFrameParser,
  EOT,
  ENQ,
  NAK,
  decodeConcertAnswer,
  decodeConcertFrame,
  decodeConcertRequest,
  encodeConcertAnswer,
  encodeConcertFrame,
  encodeConcertRequest,
  fromHex,
  redactConcertPayload,
  type ConcertRequest,
  type ConcertToken,
} from './index.ts';

const fixture = (name: string): Uint8Array =>
  fromHex(readFileSync(new URL(`../../../../test/fixtures/frames/${name}.hex`, import.meta.url), 'utf8'));

const SALE_12_50: ConcertRequest = {
  posNumber: 1,
  amountMinor: 1250,
  answer: 'full',
  paymentMode: '1',
  transactionType: 'debit',
  currencyNumeric: '978',
  privateData: 'PB00000001',
  answerDelay: 'end',
  authorisation: 'terminal',
};

const payloadOf = (frame: Uint8Array): string => {
  const d = decodeConcertFrame(frame);
  if (!d.ok) throw new Error(`fixture does not decode: ${d.reason}`);
  return d.payload;
};

describe('Concert control bytes', () => {
  it('match the golden single-byte fixtures', () => {
    expect(fixture('concert.enq')).toEqual(Uint8Array.of(ENQ));
    expect(fixture('concert.ack')).toEqual(Uint8Array.of(ACK));
    expect(fixture('concert.nak')).toEqual(Uint8Array.of(NAK));
    expect(fixture('concert.eot')).toEqual(Uint8Array.of(EOT));
  });
});

describe('Concert E+ encoder (golden frames)', () => {
  it('encodes the 34-char request for 12.50 EUR byte for byte', () => {
    const payload = encodeConcertRequest(SALE_12_50);
    expect(payload).toHaveLength(34);
    expect(encodeConcertFrame(payload)).toEqual(fixture('concert-eplus.sale-request.pos-to-terminal'));
  });

  it('encodes a refund request (transaction type 1)', () => {
    const payload = encodeConcertRequest({ ...SALE_12_50, amountMinor: 500, transactionType: 'credit', privateData: 'PB00000002' });
    expect(encodeConcertFrame(payload)).toEqual(fixture('concert-eplus.refund-request.pos-to-terminal'));
  });

  it('encodes the full approved, short approved and full refused answers', () => {
    const base = { posNumber: 1, amountMinor: 1250, paymentMode: '1', currencyNumeric: '978', privateData: 'PB00000001' };
    expect(encodeConcertFrame(encodeConcertAnswer({ ...base, statusChar: '0', report: '497010XXXXXX1234' }))).toEqual(
      fixture('concert-eplus.answer-full-approved.terminal-to-pos'),
    );
    expect(encodeConcertFrame(encodeConcertAnswer({ ...base, statusChar: '0' }))).toEqual(
      fixture('concert-eplus.answer-short-approved.terminal-to-pos'),
    );
    expect(encodeConcertFrame(encodeConcertAnswer({ ...base, statusChar: '7', report: '' }))).toEqual(
      fixture('concert-eplus.answer-full-refused.terminal-to-pos'),
    );
  });

  it('refuses fields out of range', () => {
    expect(() => encodeConcertRequest({ ...SALE_12_50, posNumber: 0 })).toThrow(RangeError);
    expect(() => encodeConcertRequest({ ...SALE_12_50, amountMinor: 100_000_000 })).toThrow(RangeError);
    expect(() => encodeConcertRequest({ ...SALE_12_50, privateData: 'ELEVENCHARS' })).toThrow(RangeError);
    expect(() => encodeConcertFrame('é')).toThrow(RangeError);
  });

  it('encodes the older protocol E request as its first 26 chars', () => {
    const eplus = encodeConcertRequest(SALE_12_50);
    expect(encodeConcertRequest({ ...SALE_12_50, protocol: 'E' })).toBe(eplus.slice(0, 26));
  });
});

describe('Concert E+ decoder (golden frames)', () => {
  it('decodes the request fixture field by field', () => {
    const d = decodeConcertRequest(payloadOf(fixture('concert-eplus.sale-request.pos-to-terminal')));
    expect(d).toEqual({ ok: true, value: { ...SALE_12_50, protocol: 'E+' } });
  });

  it('decodes the full approved answer, keeping only first 6 / last 4 of the report', () => {
    const d = decodeConcertAnswer(payloadOf(fixture('concert-eplus.answer-full-approved.terminal-to-pos')));
    expect(d).toEqual({
      ok: true,
      value: {
        posNumber: 1,
        status: 'accepted',
        amountMinor: 1250,
        paymentMode: '1',
        currencyNumeric: '978',
        privateData: 'PB00000001',
        form: 'full',
        card: { firstDigits: '497010', lastDigits: '1234' },
      },
    });
  });

  it('decodes the short approved and the refused answers', () => {
    expect(decodeConcertAnswer(payloadOf(fixture('concert-eplus.answer-short-approved.terminal-to-pos')))).toEqual({
      ok: true,
      value: { posNumber: 1, status: 'accepted', amountMinor: 1250, paymentMode: '1', currencyNumeric: '978', privateData: 'PB00000001', form: 'short' },
    });
    const refused = decodeConcertAnswer(payloadOf(fixture('concert-eplus.answer-full-refused.terminal-to-pos')));
    expect(refused).toMatchObject({ ok: true, value: { status: 'refused', form: 'full' } });
    expect(refused.ok && refused.value.card).toBeUndefined();
  });

  it('checks STX, then ETX, then the LRC', () => {
    const good = fixture('concert-eplus.answer-short-approved.terminal-to-pos');
    const noStx = good.slice();
    noStx[0] = 0x41;
    expect(decodeConcertFrame(noStx)).toEqual({ ok: false, reason: 'no_stx' });
    const noEtx = good.slice();
    noEtx[noEtx.length - 2] = 0x41;
    expect(decodeConcertFrame(noEtx)).toEqual({ ok: false, reason: 'no_etx' });
    const badLrc = good.slice();
    badLrc[badLrc.length - 1]! ^= 0xff;
    expect(decodeConcertFrame(badLrc)).toEqual({ ok: false, reason: 'lrc' });
  });

  it('reads status 9 as unverified, never as refused', () => {
    const p = encodeConcertAnswer({ posNumber: 1, statusChar: '9', amountMinor: 1250, paymentMode: '1', currencyNumeric: '978', privateData: 'X' });
    expect(decodeConcertAnswer(p)).toMatchObject({ ok: true, value: { status: 'unverified' } });
    expect(decodeConcertAnswer(`015${p.slice(3)}`)).toMatchObject({ ok: false });
  });

  it('redacts the report of a full answer for logs', () => {
    const p = payloadOf(fixture('concert-eplus.answer-full-approved.terminal-to-pos'));
    const r = redactConcertPayload(p);
    expect(r).toHaveLength(80);
    expect(r).not.toContain('497010');
    expect(r.endsWith('978PB00000001')).toBe(true);
  });
});

describe('ConcertFrameParser', () => {
  const answer = fixture('concert-eplus.answer-full-approved.terminal-to-pos');
  const short = fixture('concert-eplus.answer-short-approved.terminal-to-pos');
  const stream = Uint8Array.from([ENQ, ...answer, EOT, ACK, ...short, NAK]);
  const summary = (tokens: ConcertToken[]) =>
    tokens.map((t) => (t.type === 'control' ? t.name : t.type === 'frame' ? `frame:${t.payload.length}` : `${t.type}`));

  it('is indifferent to how the bytes are chunked (property)', () => {
    const expected = summary(new ConcertFrameParser().push(stream));
    expect(expected).toEqual(['ENQ', 'frame:80', 'EOT', 'ACK', 'frame:25', 'NAK']);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 20 }), (cuts) => {
        const parser = new ConcertFrameParser();
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const tokens: ConcertToken[] = [];
        let from = 0;
        for (const p of [...points, stream.length]) {
          tokens.push(...parser.push(stream.subarray(from, p)));
          from = p;
        }
        expect(summary(tokens)).toEqual(expected);
      }),
    );
  });

  it('reports a bad LRC, garbage between frames and an interrupted frame, and recovers', () => {
    const bad = short.slice();
    bad[bad.length - 1]! ^= 0x01;
    const parser = new ConcertFrameParser();
    const tokens = parser.push(Uint8Array.from([0x41, 0x42, ...bad, 0xff, ...short.subarray(0, 10), ENQ, ...short]));
    expect(summary(tokens)).toEqual(['garbage', 'bad_frame', 'garbage', 'bad_frame', 'ENQ', 'frame:25']);
    expect(tokens[1]).toMatchObject({ type: 'bad_frame', reason: 'lrc' });
    expect(tokens[3]).toMatchObject({ type: 'bad_frame', reason: 'interrupted' });
  });

  it('survives random garbage and still finds the frames after it (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (noise) => {
        const parser = new ConcertFrameParser();
        parser.push(noise);
        parser.reset();
        const tokens = parser.push(short);
        expect(summary(tokens)).toEqual(['frame:25']);
      }),
    );
  });

  it('refuses an over-long frame', () => {
    const parser = new ConcertFrameParser();
    const tokens = parser.push(Uint8Array.from([0x02, ...new Array<number>(600).fill(0x41)]));
    expect(tokens[0]).toMatchObject({ type: 'bad_frame', reason: 'too_long' });
  });
});
