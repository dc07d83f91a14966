import { describe, expect, it } from 'vitest';
import { decodeAgentMessage, decodeServerMessage, encodeMessage } from './codec.ts';
import type { PaymentResult, PaymentStart } from './messages.ts';

const result: PaymentResult = {
  v: 1,
  id: 'm-1',
  type: 'payment.result',
  paymentId: '01693EB95BE443AC85874E395CD91565',
  outcome: 'approved',
  amount: { amountMinor: 3190, currency: 'BRL' },
  terminalRef: 'p7Q2',
  authorizationId: '184520',
  nsu: '000000042',
  tid: 'T0001',
  responseCode: '00',
  card: { brand: 'Mastercard', firstDigits: '545454', lastDigits: '5454' },
};

const start: PaymentStart = {
  v: 1,
  id: 's-1',
  type: 'payment.start',
  paymentId: '01693EB95BE443AC85874E395CD91565',
  serialNumber: 'SIM0001',
  amount: { amountMinor: 3190, currency: 'BRL' },
  method: 'credit',
  installments: 1,
};

describe('hub⇄agent codec', () => {
  it('round-trips an agent result and a server start', () => {
    expect(decodeAgentMessage(encodeMessage(result))).toEqual({ ok: true, value: result });
    expect(decodeServerMessage(encodeMessage(start))).toEqual({ ok: true, value: start });
  });

  it('accepts ack and error from either side', () => {
    const ack = { v: 1, id: 'a-1', type: 'ack', ackOf: 'm-1' } as const;
    expect(decodeAgentMessage(JSON.stringify(ack))).toEqual({ ok: true, value: ack });
    expect(decodeServerMessage(JSON.stringify(ack))).toEqual({ ok: true, value: ack });
  });

  it('refuses a server-only message from an agent, naming the frame id', () => {
    expect(decodeAgentMessage(JSON.stringify(start))).toMatchObject({ ok: false, error: { code: 'WS_BAD_MESSAGE' }, ref: 's-1' });
  });

  it('refuses another protocol version with WS_UNSUPPORTED_VERSION', () => {
    expect(decodeAgentMessage(JSON.stringify({ ...result, v: 2 }))).toMatchObject({
      ok: false,
      error: { code: 'WS_UNSUPPORTED_VERSION' },
      ref: 'm-1',
    });
  });

  it.each([
    ['not JSON', '{'],
    ['a JSON array', '[]'],
    ['a float amount', JSON.stringify({ ...result, amount: { amountMinor: 31.9, currency: 'BRL' } })],
    ['a PAN-length firstDigits', JSON.stringify({ ...result, card: { ...result.card, firstDigits: '5454545454545454' } })],
    ['an unknown extra key (strict objects)', JSON.stringify({ ...result, pan: '5454545454545454' })],
    ['an unknown outcome', JSON.stringify({ ...result, outcome: 'maybe' })],
  ])('refuses %s without throwing', (_name, text) => {
    const decoded = decodeAgentMessage(text);
    expect(decoded.ok).toBe(false);
  });

  it('does not echo an invalid id as ref, so the error stays encodable (found by the hub fuzzer)', () => {
    const decoded = decodeAgentMessage(JSON.stringify({ ...result, id: 'x'.repeat(65) }));
    expect(decoded).toMatchObject({ ok: false, error: { code: 'WS_BAD_MESSAGE' } });
    expect(decoded).not.toHaveProperty('ref');
    if (decoded.ok) throw new Error('unreachable');
    expect(() => encodeMessage({ v: 1, id: 'e1', type: 'error', ...decoded.error })).not.toThrow();
  });

  it('refuses to encode an invalid message (sender bugs fail on the sending side)', () => {
    expect(() => encodeMessage({ ...result, amount: { amountMinor: -1, currency: 'BRL' } })).toThrow();
  });
});
