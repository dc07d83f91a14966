/**
 * The simulated terminal's delayed writes (issue 11 item 4: one serial queue): they go out in
 * order, and one write the host side fails does not stop the ones after it (the hand-written
 * chain it replaced stayed rejected for good, and every later line queued behind it was lost).
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeWireLine, type WireLine } from './line-codec.ts';
import { SimTerminal } from './sim-terminal.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A PBL/1 request line, checksummed and newline-terminated. */
function request(verb: WireLine['verb'], rid: string, fields: [string, string][]): Uint8Array {
  return encoder.encode(`${encodeWireLine({ verb, rid, fields })}\n`);
}

const sale = (rid: string) => request('SALE', rid, [['amount', '1000'], ['currency', '986'], ['method', 'credit'], ['installments', '1']]);

describe('SimTerminal delayed writes', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a write the host fails does not stop the lines queued after it', async () => {
    const t = new SimTerminal({
      serialNumber: 'SIM0001',
      logger: pino({ level: 'silent' }),
      firmware: '0.1.0',
      stepDelayMs: 1,
      scenario: { faults: { delayAckMs: 20 } },
    });
    const written: string[] = [];
    let failures = 0;
    t.attach((bytes) => {
      const line = decoder.decode(bytes);
      if (failures === 0) {
        failures += 1;
        throw new Error('host port write failed');
      }
      written.push(line);
    });
    // The first sale's ACK is delayed (queued) and its write fails; what follows must still go out.
    t.receiveBytes(sale('r1'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(written.some((l) => l.startsWith('RESULT r1'))).toBe(true);
    t.receiveBytes(sale('r2'));
    await vi.advanceTimersByTimeAsync(1000);
    expect(written.some((l) => l.startsWith('RESULT r2'))).toBe(true);
    expect(failures).toBe(1);
    expect(written.find((l) => l.startsWith('ACK r1'))).toBeUndefined();
    const r2 = written.filter((l) => / r2[ *]/.test(l)).map((l) => l.split(' ')[0]);
    expect(r2[0]).toBe('ACK');
    expect(r2.at(-1)).toBe('RESULT');
    t.close();
  });
});
