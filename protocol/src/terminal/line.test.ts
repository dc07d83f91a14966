import { describe, expect, it } from 'vitest';
import { crc16Hex } from './crc16.ts';
import { decodeHostLine, decodeTerminalLine, encodeLine, type HostLine, type TerminalLine } from './line.ts';

/**
 * Golden lines. Checksums were computed outside this codebase with Python's
 * `binascii.crc_hqx(body, 0xFFFF)` (CRC-16/CCITT-FALSE), so a bug in crc16.ts cannot hide here.
 */
const GOLDEN: { line: string; value: HostLine | TerminalLine; direction: 'host' | 'terminal' }[] = [
  {
    direction: 'host',
    line: 'SALE p7Q2 amount=3190 currency=986 method=credit installments=1*2C4B\n',
    value: { verb: 'SALE', rid: 'p7Q2', amountMinor: 3190, currency: '986', method: 'credit', installments: 1 },
  },
  { direction: 'host', line: 'STATUS p7Q2*8A78\n', value: { verb: 'STATUS', rid: 'p7Q2' } },
  {
    direction: 'host',
    line: 'VOID v1 ref=p7Q2 amount=3190 currency=986*ADFD\n',
    value: { verb: 'VOID', rid: 'v1', ref: 'p7Q2', amountMinor: 3190, currency: '986' },
  },
  {
    direction: 'host',
    line: 'REFUND f1 ref=p7Q2 amount=1000 currency=986*0014\n',
    value: { verb: 'REFUND', rid: 'f1', ref: 'p7Q2', amountMinor: 1000, currency: '986' },
  },
  {
    direction: 'terminal',
    line:
      'RESULT p7Q2 status=approved amount=3190 currency=986 rc=00 brand=Mastercard bin=545454 last4=5454 auth=184520 nsu=000000042 tid=T0001 msg=Approved*1DF2\n',
    value: {
      verb: 'RESULT',
      rid: 'p7Q2',
      status: 'approved',
      amountMinor: 3190,
      currency: '986',
      responseCode: '00',
      brand: 'Mastercard',
      bin: '545454',
      last4: '5454',
      authCode: '184520',
      nsu: '000000042',
      tid: 'T0001',
      message: 'Approved',
    },
  },
  {
    direction: 'terminal',
    line: 'RESULT p7Q2 status=declined amount=3105 currency=986 rc=51 msg=Insufficient%20funds*B141\n',
    value: {
      verb: 'RESULT',
      rid: 'p7Q2',
      status: 'declined',
      amountMinor: 3105,
      currency: '986',
      responseCode: '51',
      message: 'Insufficient funds',
    },
  },
  {
    direction: 'terminal',
    line: 'IDENT i1 serial=SIM0001 model=POSBRIDGE-SIM vendor=posbridge firmware=0.1.0 dialect=PBL%2F1*04D5\n',
    value: {
      verb: 'IDENT',
      rid: 'i1',
      serial: 'SIM0001',
      model: 'POSBRIDGE-SIM',
      vendor: 'posbridge',
      firmware: '0.1.0',
      dialect: 'PBL/1',
    },
  },
  { direction: 'terminal', line: 'ERR p8 code=BUSY*55A8\n', value: { verb: 'ERR', rid: 'p8', code: 'BUSY' } },
  { direction: 'terminal', line: 'ACK p7Q2*0D8A\n', value: { verb: 'ACK', rid: 'p7Q2' } },
  { direction: 'terminal', line: 'PROGRESS p7Q2 stage=pin*27E2\n', value: { verb: 'PROGRESS', rid: 'p7Q2', stage: 'pin' } },
  { direction: 'host', line: 'TOTALS tt1 date=20261202*BDF1\n', value: { verb: 'TOTALS', rid: 'tt1', date: '20261202' } },
  {
    direction: 'terminal',
    line: 'TOTALS tt1 date=20261202 n=2 t1=986.credit.approved.2.6380 t2=986.debit.refunded.1.500*F186\n',
    value: {
      verb: 'TOTALS',
      rid: 'tt1',
      date: '20261202',
      entries: [
        { currency: '986', method: 'credit', bucket: 'approved', count: 2, amountMinor: 6380 },
        { currency: '986', method: 'debit', bucket: 'refunded', count: 1, amountMinor: 500 },
      ],
    },
  },
];

describe('PBL/1 golden lines', () => {
  it.each(GOLDEN)('encodes $value.verb byte-exactly', ({ line, value }) => {
    expect(encodeLine(value)).toBe(line);
  });

  it.each(GOLDEN)('decodes $value.verb from the golden line', ({ line, value, direction }) => {
    const decoded = direction === 'host' ? decodeHostLine(line) : decodeTerminalLine(line);
    expect(decoded).toEqual({ ok: true, value });
  });

  it('decodes with or without the delimiter, and with CRLF', () => {
    const { line, value } = GOLDEN[0]!;
    expect(decodeHostLine(line.trimEnd())).toEqual({ ok: true, value });
    expect(decodeHostLine(line.replace('\n', '\r\n'))).toEqual({ ok: true, value });
  });
});

describe('PBL/1 decoding errors', () => {
  it('reports a checksum mismatch with the rid so the receiver can NAK it', () => {
    expect(decodeHostLine('SALE p7Q2 amount=3190 currency=986 method=credit installments=1*2C4C')).toMatchObject({
      ok: false,
      reason: 'checksum',
      rid: 'p7Q2',
    });
  });

  it('reports a flipped payload byte as a checksum error', () => {
    expect(decodeHostLine('SALE p7Q2 amount=3191 currency=986 method=credit installments=1*2C4B')).toMatchObject({
      ok: false,
      reason: 'checksum',
    });
  });

  it.each([
    ['no trailer', 'ACK p1'],
    ['short trailer', 'ACK p1*0D8'],
    ['lower-case verb', withCrc('ack p1')],
    ['missing rid', withCrc('ACK')],
    ['rid too long', withCrc(`ACK ${'x'.repeat(37)}`)],
    ['field without =', withCrc('PROGRESS p1 stage')],
    ['duplicate field', withCrc('PROGRESS p1 stage=pin stage=pin')],
    ['raw space in value', withCrc('ERR p1 code=BUSY msg=a  b')],
    ['bad percent escape', withCrc('ERR p1 code=BUSY msg=%ZZ')],
    ['non-ASCII', 'ACK p1 é*0000'],
  ])('rejects %s as a syntax error', (_name, line) => {
    expect(decodeTerminalLine(line)).toMatchObject({ ok: false, reason: 'syntax' });
  });

  it('rejects an over-long line without parsing it', () => {
    expect(decodeTerminalLine(`ACK p1 msg=${'a'.repeat(2000)}*0000`)).toMatchObject({ ok: false, reason: 'too_long' });
  });

  it.each([
    ['SALE without amount', withCrc('SALE p1 currency=986 method=credit installments=1')],
    ['SALE with a zero amount', withCrc('SALE p1 amount=0 currency=986 method=credit installments=1')],
    ['SALE with a decimal amount', withCrc('SALE p1 amount=31.90 currency=986 method=credit installments=1')],
    ['SALE with an alphabetic currency', withCrc('SALE p1 amount=100 currency=BRL method=credit installments=1')],
    ['SALE with an unknown method', withCrc('SALE p1 amount=100 currency=986 method=pix installments=1')],
  ])('rejects %s as a bad field', (_name, line) => {
    expect(decodeHostLine(line)).toMatchObject({ ok: false, reason: 'bad_field', rid: 'p1' });
  });

  it('rejects a RESULT carrying more than the BIN (never a PAN)', () => {
    const line = withCrc('RESULT p1 status=approved amount=1 currency=986 rc=00 bin=5454545454545454');
    expect(decodeTerminalLine(line)).toMatchObject({ ok: false, reason: 'bad_field' });
  });

  it('refuses verbs from the other direction', () => {
    expect(decodeHostLine(GOLDEN.find((g) => g.value.verb === 'ERR')!.line)).toMatchObject({ ok: false, reason: 'unknown_verb', rid: 'p8' });
    expect(decodeTerminalLine(GOLDEN[0]!.line)).toMatchObject({ ok: false, reason: 'unknown_verb' });
  });

  it('ignores unknown keys for forward compatibility', () => {
    expect(decodeTerminalLine(withCrc('PROGRESS p1 stage=pin screen=ENTER%20PIN'))).toEqual({
      ok: true,
      value: { verb: 'PROGRESS', rid: 'p1', stage: 'pin' },
    });
  });
});

describe('PBL/1 encoding', () => {
  it('percent-encodes spaces, *, = and non-ASCII text so the line stays one ASCII token per field', () => {
    const line = encodeLine({ verb: 'ERR', rid: 'p1', code: 'BUSY', message: 'busy * = ação' });
    expect(line).toMatch(/^ERR p1 code=BUSY msg=busy%20%2A%20%3D%20a%C3%A7%C3%A3o\*[0-9A-F]{4}\n$/);
    expect(decodeTerminalLine(line)).toEqual({ ok: true, value: { verb: 'ERR', rid: 'p1', code: 'BUSY', message: 'busy * = ação' } });
  });

  it('refuses an invalid rid', () => {
    expect(() => encodeLine({ verb: 'STATUS', rid: 'has space' })).toThrow(TypeError);
  });
});

function withCrc(body: string): string {
  // A bit-by-bit CRC-16/CCITT-FALSE, independent of crc16.ts's table: these cases test grammar, not the CRC.
  let crc = 0xffff;
  for (const ch of body) {
    crc ^= ch.charCodeAt(0) << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return `${body}*${crc.toString(16).toUpperCase().padStart(4, '0')}`;
}

describe('PBL/1 TOTALS', () => {
  it('refuses an answer whose entries do not match n, or a malformed entry or date', () => {
    const bad = (body: string) => decodeTerminalLine(encodeRaw(body));
    expect(bad('TOTALS r1 date=20261202 n=2 t1=986.credit.approved.2.6380')).toMatchObject({ ok: false, reason: 'bad_field', detail: 'missing t2' });
    expect(bad('TOTALS r1 date=20261202 n=1 t1=986.credit.pending.2.6380')).toMatchObject({ ok: false, reason: 'bad_field' });
    expect(bad('TOTALS r1 date=2026-12-02 n=0')).toMatchObject({ ok: false, reason: 'bad_field' });
    expect(bad('TOTALS r1 date=20261202 n=17')).toMatchObject({ ok: false, reason: 'bad_field', detail: 'n out of range' });
    expect(bad('TOTALS r1 date=20261202 n=0')).toEqual({ ok: true, value: { verb: 'TOTALS', rid: 'r1', date: '20261202', entries: [] } });
    expect(decodeHostLine(encodeRaw('TOTALS r2'))).toEqual({ ok: true, value: { verb: 'TOTALS', rid: 'r2' } });
  });

  it('fits the longest answer in one line', () => {
    const entries = Array.from({ length: 16 }, () => ({ currency: '986', method: 'credit' as const, bucket: 'refunded' as const, count: 999_999_999, amountMinor: 999_999_999_999_999 }));
    const line = encodeLine({ verb: 'TOTALS', rid: 'r'.repeat(36), date: '20261202', entries });
    expect(line.length - 1).toBeLessThanOrEqual(1024);
    expect(decodeTerminalLine(line)).toMatchObject({ ok: true, value: { entries } });
  });
});

/** `body*CRC\n` with the codec's own CRC (the golden lines above pin the CRC itself). */
function encodeRaw(body: string): string {
  return `${body}*${crc16Hex(body)}\n`;
}
