/**
 * Property tests for the hub⇄agent codec (issue 7, fuzzing): no frame — random text, random
 * JSON, a valid message with a field replaced by anything — makes a decoder throw; a refused
 * frame always carries a coded error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAgentMessage, decodeServerMessage } from './codec.ts';

const validResult = {
  v: 1,
  id: 'm-1',
  type: 'payment.result',
  paymentId: 'P1',
  outcome: 'approved',
  amount: { amountMinor: 3190, currency: 'BRL' },
  terminalRef: 'p1',
};

function assertDecodesCleanly(text: string): void {
  for (const decode of [decodeAgentMessage, decodeServerMessage]) {
    const decoded = decode(text);
    if (!decoded.ok) expect(['WS_BAD_MESSAGE', 'WS_UNSUPPORTED_VERSION']).toContain(decoded.error.code);
  }
}

describe('hub⇄agent codec properties', () => {
  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 2000, unit: 'binary' }), assertDecodesCleanly));
  });

  it('never throws on arbitrary JSON', () => {
    fc.assert(fc.property(fc.json({ maxDepth: 4 }), assertDecodesCleanly));
  });

  it('a valid message with one field replaced by any JSON value is refused or still valid', () => {
    const keys = Object.keys(validResult);
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 3 }), (key, value) => {
        const text = JSON.stringify({ ...validResult, [key]: value });
        assertDecodesCleanly(text);
        const decoded = decodeAgentMessage(text);
        if (decoded.ok) expect(decoded.value.type).toBe('payment.result');
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses oversized frames without parsing them', () => {
    const huge = JSON.stringify({ ...validResult, message: 'x'.repeat(70_000) });
    expect(decodeAgentMessage(huge)).toMatchObject({ ok: false, error: { code: 'WS_BAD_MESSAGE', message: 'frame too large' } });
  });
});
