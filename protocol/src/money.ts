/**
 * Money inside posbridge: an integer count of the currency's minor unit plus an ISO 4217
 * alphabetic code. Never a float. PPP's decimal `value` is converted once, at the PPP edge,
 * with {@link moneyFromDecimal}; terminals speak minor units and ISO 4217 numeric codes.
 *
 * @see https://www.iso.org/iso-4217-currency-codes.html (exponents and numeric codes)
 * @see CONTRIBUTING.md "Money"
 */
import { CodedError } from './errors.ts';

/** An amount of money. */
export interface Money {
  /** Amount in the currency's minor unit (cents for BRL/USD/EUR; whole units for CLP/JPY). A safe, non-negative integer. */
  readonly amountMinor: number;
  /** ISO 4217 alphabetic code, upper case (`BRL`). */
  readonly currency: string;
}

/** ISO 4217 facts posbridge needs about a currency. */
export interface CurrencyInfo {
  /** Alphabetic code (`BRL`). */
  readonly alpha: string;
  /** Numeric code as three digits (`986`), as terminals expect it. */
  readonly numeric: string;
  /** Minor-unit exponent: digits after the decimal point (2 for BRL, 0 for CLP). */
  readonly exponent: number;
}

/**
 * The currencies of the markets VTEX serves in-store, plus the common majors. A currency
 * outside this table is rejected with `MONEY_UNKNOWN_CURRENCY` rather than guessed.
 */
const CURRENCIES: readonly CurrencyInfo[] = [
  { alpha: 'ARS', numeric: '032', exponent: 2 },
  { alpha: 'AUD', numeric: '036', exponent: 2 },
  { alpha: 'BOB', numeric: '068', exponent: 2 },
  { alpha: 'BRL', numeric: '986', exponent: 2 },
  { alpha: 'CAD', numeric: '124', exponent: 2 },
  { alpha: 'CHF', numeric: '756', exponent: 2 },
  { alpha: 'CLP', numeric: '152', exponent: 0 },
  { alpha: 'COP', numeric: '170', exponent: 2 },
  { alpha: 'CRC', numeric: '188', exponent: 2 },
  { alpha: 'DOP', numeric: '214', exponent: 2 },
  { alpha: 'EUR', numeric: '978', exponent: 2 },
  { alpha: 'GBP', numeric: '826', exponent: 2 },
  { alpha: 'GTQ', numeric: '320', exponent: 2 },
  { alpha: 'JPY', numeric: '392', exponent: 0 },
  { alpha: 'KWD', numeric: '414', exponent: 3 },
  { alpha: 'MXN', numeric: '484', exponent: 2 },
  { alpha: 'PEN', numeric: '604', exponent: 2 },
  { alpha: 'PYG', numeric: '600', exponent: 0 },
  { alpha: 'RON', numeric: '946', exponent: 2 },
  { alpha: 'USD', numeric: '840', exponent: 2 },
  { alpha: 'UYU', numeric: '858', exponent: 2 },
];

const BY_ALPHA = new Map(CURRENCIES.map((c) => [c.alpha, c]));
const BY_NUMERIC = new Map(CURRENCIES.map((c) => [c.numeric, c]));

/**
 * Looks up a currency by alphabetic (`BRL`) or numeric (`986`) ISO 4217 code.
 * @throws CodedError `MONEY_UNKNOWN_CURRENCY` when the code is not in the table.
 */
export function currencyInfo(code: string): CurrencyInfo {
  const info = BY_ALPHA.get(code.toUpperCase()) ?? BY_NUMERIC.get(code);
  if (!info) throw new CodedError('MONEY_UNKNOWN_CURRENCY', `unknown ISO 4217 currency: ${JSON.stringify(code)}`);
  return info;
}

/**
 * Builds a {@link Money} from integer minor units.
 * @throws CodedError `MONEY_INVALID_AMOUNT` unless `amountMinor` is a safe non-negative integer;
 *   `MONEY_UNKNOWN_CURRENCY` for an unknown currency.
 */
export function money(amountMinor: number, currency: string): Money {
  const info = currencyInfo(currency);
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 0) {
    throw new CodedError('MONEY_INVALID_AMOUNT', `amountMinor must be a non-negative safe integer, got ${amountMinor}`);
  }
  return Object.freeze({ amountMinor, currency: info.alpha });
}

/**
 * Converts a PPP decimal amount (`value: 16.6`, currency `BRL`) to minor units (`1660`).
 * Works on the number's shortest round-trip decimal text, so no float arithmetic touches the
 * amount: `4.35` becomes 435, not 434.99999.
 *
 * @throws CodedError `MONEY_INVALID_AMOUNT` for negatives, NaN/Infinity, more fractional digits
 *   than the currency has (`1.005` BRL), or amounts past `Number.MAX_SAFE_INTEGER` minor units;
 *   `MONEY_UNKNOWN_CURRENCY` for an unknown currency.
 * @see docs/protocol/vtex-ppp.md §4.2 (`value`, `currency`)
 */
export function moneyFromDecimal(value: number, currency: string): Money {
  const info = currencyInfo(currency);
  const invalid = (why: string) =>
    new CodedError('MONEY_INVALID_AMOUNT', `${why}: ${String(value)} ${info.alpha}`, { details: { currency: info.alpha } });
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid('amount is not a finite number');
  if (value < 0 || Object.is(value, -0)) throw invalid('amount is negative');
  const text = String(value);
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) throw invalid('amount has too many decimal places'); // exponent notation: 1e-7, 1e+21
  const whole = match[1] ?? '0';
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > info.exponent) throw invalid(`amount has more than ${info.exponent} decimal places`);
  const minorText = whole + fraction.padEnd(info.exponent, '0');
  const amountMinor = Number(minorText);
  if (!Number.isSafeInteger(amountMinor)) throw invalid('amount is too large');
  return Object.freeze({ amountMinor, currency: info.alpha });
}

/** Least a payment charges: one minor unit (a terminal refuses an amount of 0). */
export const MIN_CHARGE_MINOR = 1;

/**
 * Most a payment charges, in minor units of any currency: 99,999,999 (BRL 999,999.99,
 * CLP 99,999,999, KWD 99,999.999). It is the tighter of the terminal dialects' amount fields:
 * Concert E+ carries 8 digits of minor units (docs/protocol/terminal-concert.md), PBL/1 12
 * (docs/protocol/terminal-line.md). Documented in docs/ppp.md "Amounts".
 */
export const MAX_CHARGE_MINOR = 99_999_999;

/**
 * Checks that a payment amount can be charged on a terminal: between {@link MIN_CHARGE_MINOR}
 * and {@link MAX_CHARGE_MINOR} minor units.
 * @param field - the request field to name in the message (`value` at Create Payment).
 * @returns `m` unchanged.
 * @throws CodedError `MONEY_AMOUNT_OUT_OF_RANGE` naming `field`, the bounds and the amount.
 */
export function assertChargeable(m: Money, field: string): Money {
  if (m.amountMinor < MIN_CHARGE_MINOR || m.amountMinor > MAX_CHARGE_MINOR) {
    const low = formatMoney({ amountMinor: MIN_CHARGE_MINOR, currency: m.currency });
    const high = formatMoney({ amountMinor: MAX_CHARGE_MINOR, currency: m.currency });
    throw new CodedError(
      'MONEY_AMOUNT_OUT_OF_RANGE',
      `${field}: must be between ${low} and ${high} (${MIN_CHARGE_MINOR} to ${MAX_CHARGE_MINOR} minor units), got ${formatMoney(m)}`,
      { details: { field, amountMinor: m.amountMinor, currency: m.currency } },
    );
  }
  return m;
}

/**
 * Converts minor units back to the PPP decimal number (`1660` BRL → `16.6`), for PPP answers
 * and callbacks that must carry a `value`/`maxValue`. Built from text, so it is exactly the
 * decimal a person would write.
 */
export function moneyToDecimal(m: Money): number {
  const { exponent } = currencyInfo(m.currency);
  if (exponent === 0) return m.amountMinor;
  const digits = String(m.amountMinor).padStart(exponent + 1, '0');
  return Number(`${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`);
}

/** Formats for people and logs: `BRL 16.60`. */
export function formatMoney(m: Money): string {
  const { exponent } = currencyInfo(m.currency);
  if (exponent === 0) return `${m.currency} ${m.amountMinor}`;
  const digits = String(m.amountMinor).padStart(exponent + 1, '0');
  return `${m.currency} ${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}
