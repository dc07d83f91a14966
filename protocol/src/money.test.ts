import { describe, expect, it } from 'vitest';
import { MAX_CHARGE_MINOR, assertChargeable, currencyInfo, formatMoney, money, moneyFromDecimal, moneyToDecimal } from './money.ts';

describe('moneyFromDecimal (the PPP edge)', () => {
  it.each([
    [31.9, 'BRL', 3190],
    [16.6, 'BRL', 1660],
    [4.35, 'BRL', 435], // 4.35 * 100 === 434.99999999999994 in float arithmetic
    [1.1, 'USD', 110],
    [0.05, 'BRL', 5],
    [0, 'BRL', 0],
    [1234, 'CLP', 1234],
    [1.234, 'KWD', 1234],
    [9007199254740.99, 'BRL', 900719925474099],
  ])('%s %s → %s minor units', (value, currency, expected) => {
    expect(moneyFromDecimal(value, currency)).toEqual({ amountMinor: expected, currency });
  });

  it('accepts a lower-case currency and normalises it', () => {
    expect(moneyFromDecimal(10, 'brl')).toEqual({ amountMinor: 1000, currency: 'BRL' });
  });

  it.each([
    [1.005, 'BRL'],
    [12.5, 'CLP'],
    [-1, 'BRL'],
    [Number.NaN, 'BRL'],
    [Number.POSITIVE_INFINITY, 'BRL'],
    [1e-7, 'BRL'],
    [1e21, 'BRL'],
    // Past Number.MAX_SAFE_INTEGER minor units on purpose: the literal itself is imprecise.
    // eslint-disable-next-line no-loss-of-precision
    [90071992547409.93, 'BRL'],
  ])('rejects %s %s with MONEY_INVALID_AMOUNT', (value, currency) => {
    expect(() => moneyFromDecimal(value, currency)).toThrow(expect.objectContaining({ code: 'MONEY_INVALID_AMOUNT' }));
  });

  it('rejects an unknown currency instead of guessing one', () => {
    expect(() => moneyFromDecimal(1, 'XYZ')).toThrow(expect.objectContaining({ code: 'MONEY_UNKNOWN_CURRENCY' }));
  });
});

describe('moneyToDecimal and formatting', () => {
  it.each([
    [3190, 'BRL', 31.9, 'BRL 31.90'],
    [5, 'BRL', 0.05, 'BRL 0.05'],
    [0, 'USD', 0, 'USD 0.00'],
    [1234, 'CLP', 1234, 'CLP 1234'],
    [1234, 'KWD', 1.234, 'KWD 1.234'],
  ])('%s %s ⇄ %s', (minor, currency, decimal, text) => {
    const m = money(minor, currency);
    expect(moneyToDecimal(m)).toBe(decimal);
    expect(formatMoney(m)).toBe(text);
    expect(moneyFromDecimal(decimal, currency)).toEqual(m);
  });

  it('money() refuses fractional or negative minor units', () => {
    expect(() => money(1.5, 'BRL')).toThrow(expect.objectContaining({ code: 'MONEY_INVALID_AMOUNT' }));
    expect(() => money(-1, 'BRL')).toThrow(expect.objectContaining({ code: 'MONEY_INVALID_AMOUNT' }));
  });

  it('maps alphabetic and numeric ISO 4217 codes both ways', () => {
    expect(currencyInfo('BRL')).toEqual({ alpha: 'BRL', numeric: '986', exponent: 2 });
    expect(currencyInfo('840').alpha).toBe('USD');
  });
});

describe('assertChargeable (what a terminal can charge)', () => {
  it('the maximum is the Concert E+ amount field, 8 digits of minor units (tighter than PBL/1\'s 12)', () => {
    expect(MAX_CHARGE_MINOR).toBe(99_999_999);
  });

  it.each([
    [1, 'BRL'],
    [99_999_999, 'BRL'],
    [99_999_999, 'CLP'],
    [99_999_999, 'KWD'],
  ])('accepts %s minor units of %s', (minor, currency) => {
    expect(assertChargeable(money(minor, currency), 'value')).toEqual(money(minor, currency));
  });

  it.each([
    [0, 'BRL', /^value: must be between BRL 0\.01 and BRL 999999\.99 \(1 to 99999999 minor units\), got BRL 0\.00$/],
    [100_000_000, 'BRL', /got BRL 1000000\.00$/],
    [900_719_925_474_099, 'BRL', /got BRL 9007199254740\.99$/],
    [100_000_000, 'CLP', /between CLP 1 and CLP 99999999/],
  ])('refuses %s minor units of %s naming the field', (minor, currency, message) => {
    expect(() => assertChargeable(money(minor, currency), 'value')).toThrow(
      expect.objectContaining({ code: 'MONEY_AMOUNT_OUT_OF_RANGE', message: expect.stringMatching(message) }),
    );
  });
});
