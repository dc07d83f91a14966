import { describe, expect, it } from 'vitest';
import { crc16ccitt, crc16Hex } from './crc16.ts';

describe('CRC-16/CCITT-FALSE', () => {
  it('matches the catalogue check value for "123456789"', () => {
    expect(crc16Hex('123456789')).toBe('29B1');
    expect(crc16ccitt([...'123456789'].map((c) => c.charCodeAt(0)))).toBe(0x29b1);
  });

  it('is 0xFFFF (the initial value) for no bytes', () => {
    expect(crc16Hex('')).toBe('FFFF');
  });

  it('detects a transposition that an XOR checksum would miss', () => {
    expect(crc16Hex('SALE r1 amount=12')).not.toBe(crc16Hex('SALE r1 amount=21'));
  });

  it('refuses non-ASCII text', () => {
    expect(() => crc16Hex('café')).toThrow(RangeError);
  });
});
