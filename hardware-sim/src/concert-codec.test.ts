/**
 * The simulator's Concert E+ codec against byte fixtures computed outside any codec: its own
 * (`fixtures/concert-eplus-golden.json`) and the shared golden frames of `test/fixtures/frames/`
 * (also asserted, separately, against the agent's codec). Plus the streaming reader across
 * arbitrary chunk boundaries and noise.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ACK,
  buildConcertAnswer,
  buildConcertRequest,
  concertLrc,
  ConcertReader,
  decodeConcertFrame,
  encodeConcertFrame,
  ENQ,
  EOT,
  NAK,
  parseConcertAnswer,
  parseConcertRequest,
} from './concert-codec.ts';
import { printableFrame } from './dialects/concert.ts';

const own = JSON.parse(readFileSync(new URL('./fixtures/concert-eplus-golden.json', import.meta.url), 'utf8')) as {
  frames: { kind: 'request' | 'answer'; note: string; payload: string; lrc: string; hex: string }[];
};
const bytesOf = (hex: string) => new Uint8Array(hex.trim().split(/\s+/).map((h) => parseInt(h, 16)));

describe('Concert E+ codec: own golden frames', () => {
  it.each(own.frames)('$kind: $note', ({ kind, payload, lrc, hex }) => {
    const wire = bytesOf(hex);
    expect(Array.from(encodeConcertFrame(payload))).toEqual(Array.from(wire));
    expect(concertLrc(new TextEncoder().encode(payload))).toBe(parseInt(lrc, 16));
    expect(decodeConcertFrame(wire)).toEqual({ ok: true, payload });
    if (kind === 'request') {
      const parsed = parseConcertRequest(payload);
      expect(parsed.ok).toBe(true);
      if (parsed.ok) expect(buildConcertRequest(parsed.value)).toBe(payload);
    } else {
      const parsed = parseConcertAnswer(payload);
      expect(parsed.ok).toBe(true);
      if (parsed.ok) expect(buildConcertAnswer(parsed.value)).toBe(payload);
    }
  });

  it('reads the fields at the reference offsets', () => {
    expect(parseConcertRequest(own.frames[0]!.payload)).toEqual({
      ok: true,
      value: {
        posNumber: '01',
        amountMinor: 1990,
        answer: 'full',
        paymentMode: '1',
        transactionType: '0',
        currency: '986',
        privateData: 'SIM-REF-01',
        answerDelay: 'A010',
        authorisation: 'B010',
      },
    });
    expect(parseConcertRequest(own.frames[2]!.payload)).toMatchObject({ ok: true, value: { posNumber: '02', currency: '978' } });
    expect(parseConcertAnswer(own.frames[3]!.payload)).toMatchObject({
      ok: true,
      value: { status: '0', amountMinor: 1990, report: expect.stringMatching(/^545454XXXXXX5454 +$/), currency: '986', privateData: 'SIM-REF-01' },
    });
  });

  it('checks STX, then ETX, then the LRC', () => {
    const wire = bytesOf(own.frames[0]!.hex);
    expect(decodeConcertFrame(wire.slice(1))).toMatchObject({ ok: false, reason: 'framing' });
    const noEtx = wire.slice();
    noEtx[noEtx.length - 2] = 0x30;
    expect(decodeConcertFrame(noEtx)).toMatchObject({ ok: false, reason: 'framing' });
    const badLrc = wire.slice();
    badLrc[badLrc.length - 1] = (badLrc[badLrc.length - 1] ?? 0) ^ 0xff;
    expect(decodeConcertFrame(badLrc)).toMatchObject({ ok: false, reason: 'lrc' });
  });

  it('refuses malformed requests', () => {
    expect(parseConcertRequest('01')).toMatchObject({ ok: false });
    expect(parseConcertRequest('0100001990110986SIM-REF-01A012B010')).toMatchObject({ ok: false, detail: expect.stringContaining('answer delay') });
    expect(parseConcertRequest('01000019X0110986SIM-REF-01A010B010')).toMatchObject({ ok: false, detail: expect.stringContaining('amount') });
  });
});

const SHARED = new URL('../../test/fixtures/frames/', import.meta.url);
const sharedFiles = existsSync(SHARED) ? readdirSync(SHARED).filter((f) => f.endsWith('.hex')) : [];

describe('Concert E+ codec: shared golden frames (test/fixtures/frames)', () => {
  // The shared frames are written by the agent's engineer; once the folder exists it must hold some.
  it.runIf(existsSync(SHARED))('finds the shared fixtures', () => {
    expect(sharedFiles.length).toBeGreaterThan(0);
  });
  const read = (name: string) =>
    bytesOf(
      readFileSync(new URL(name, SHARED), 'utf8')
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join(' '),
    );
  it.each(sharedFiles.filter((f) => f.startsWith('concert.')))('%s is one control byte', (name) => {
    const control = { 'concert.enq.hex': ENQ, 'concert.ack.hex': ACK, 'concert.nak.hex': NAK, 'concert.eot.hex': EOT } as Record<string, number>;
    expect(Array.from(read(name))).toEqual([control[name]]);
    expect(new ConcertReader().push(read(name))).toEqual([{ type: 'control', byte: control[name] }]);
  });
  it.each(sharedFiles.filter((f) => f.startsWith('concert-eplus.')))('%s decodes, parses and re-encodes byte for byte', (name) => {
    const wire = read(name);
    const frame = decodeConcertFrame(wire);
    expect(frame.ok).toBe(true);
    if (!frame.ok) return;
    expect(Array.from(encodeConcertFrame(frame.payload))).toEqual(Array.from(wire));
    if (name.includes('.pos-to-terminal.')) {
      const req = parseConcertRequest(frame.payload);
      expect(req.ok).toBe(true);
      if (req.ok) expect(buildConcertRequest(req.value)).toBe(frame.payload);
    } else {
      const ans = parseConcertAnswer(frame.payload);
      expect(ans.ok).toBe(true);
      if (ans.ok) expect(buildConcertAnswer(ans.value)).toBe(frame.payload);
    }
  });
});

describe('ConcertReader', () => {
  it('gives the same events whatever the chunking, with noise and bad frames between', () => {
    const good = encodeConcertFrame(own.frames[0]!.payload);
    const bad = good.slice();
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0x01;
    const stream = new Uint8Array([ENQ, 0x41, 0x42, ...good, EOT, ...bad, ACK]);
    const summarize = (events: ReturnType<ConcertReader['push']>) =>
      events.map((e) => (e.type === 'frame' ? `frame:${e.result.ok ? 'ok' : e.result.reason}` : e.type === 'control' ? `c${e.byte}` : 'noise'));
    const whole = summarize(new ConcertReader().push(stream));
    expect(whole).toEqual(['c5', 'noise', 'frame:ok', 'c4', 'frame:lrc', 'c6']);
    for (let seed = 1; seed < 40; seed++) {
      const reader = new ConcertReader();
      const events: ReturnType<ConcertReader['push']> = [];
      let i = 0;
      while (i < stream.length) {
        const n = 1 + ((seed * 7 + i * 13) % 9);
        events.push(...reader.push(stream.slice(i, i + n)));
        i += n;
      }
      // Noise may arrive in several pieces; frames and control bytes never change.
      expect(summarize(events).filter((e, k, a) => !(e === 'noise' && a[k - 1] === 'noise'))).toEqual(whole);
    }
  });
});

describe('frame log text of a Concert frame', () => {
  it('shows the last byte as the LRC in hex, even when it is a control byte (LRC 0x02 is not <STX>)', () => {
    const frame = encodeConcertFrame('A@'); // 0x41 ^ 0x40 ^ ETX = 0x02
    expect(frame.at(-1)).toBe(0x02);
    expect(printableFrame(frame)).toBe('<STX>A@<ETX><LRC 02>');
    expect(printableFrame(encodeConcertFrame('0'))).toBe('<STX>0<ETX><LRC 33>');
  });
});
