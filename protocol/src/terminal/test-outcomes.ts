/**
 * Which outcome the simulated terminal gives a sale: the "test amounts" table and the test cards.
 *
 * Pure data plus pure functions; hardware-sim/README.md's tables mirror {@link TEST_AMOUNTS} and
 * {@link TEST_CARDS} and a unit test keeps them in step. The codes are a stable contract for
 * testers: rows may be added, never changed or reused.
 *
 * The cents of the amount (`amountMinor % 100`) choose the behaviour; the method (credit/debit)
 * and the last digit of the whole units choose the card.
 */

/** A test card. Only brand, first 6 and last 4 ever exist: no PAN anywhere in the simulator. */
export interface TestCard {
  /** Card scheme shown on receipts. */
  brand: string;
  /** First 6 digits of the PAN. */
  bin: string;
  /** Last 4 digits of the PAN. */
  last4: string;
}

/** Card method of a sale. */
export type CardMethod = 'credit' | 'debit';

/** The default credit card (Mastercard test BIN 545454), kept from the first simulator. */
export const TEST_CARD: Readonly<TestCard> = Object.freeze({ brand: 'Mastercard', bin: '545454', last4: '5454' });

/** One row of the test-card table. */
export interface TestCardRow {
  method: CardMethod;
  /** Last digit of the whole units (`31.90` → `1`), or `*` for "any other". */
  unitsDigit: string;
  card: Readonly<TestCard>;
}

/**
 * Test cards by method and last digit of the whole units of the amount (`16.00` → `6`); digits
 * 0–5 keep the default card of the method (so `31.90` credit is always Mastercard 545454/5454).
 * First 6 are public test / brand-range BINs; last 4 are fixed so receipts are predictable.
 */
export const TEST_CARDS: readonly TestCardRow[] = Object.freeze([
  { method: 'credit', unitsDigit: '6', card: Object.freeze({ brand: 'Visa', bin: '411111', last4: '1111' }) },
  { method: 'credit', unitsDigit: '7', card: Object.freeze({ brand: 'Amex', bin: '378282', last4: '0005' }) },
  { method: 'credit', unitsDigit: '8', card: Object.freeze({ brand: 'Elo', bin: '636368', last4: '2013' }) },
  { method: 'credit', unitsDigit: '9', card: Object.freeze({ brand: 'Hipercard', bin: '606282', last4: '6688' }) },
  { method: 'credit', unitsDigit: '*', card: TEST_CARD },
  { method: 'debit', unitsDigit: '6', card: Object.freeze({ brand: 'Visa', bin: '400056', last4: '5556' }) },
  { method: 'debit', unitsDigit: '8', card: Object.freeze({ brand: 'Elo', bin: '504175', last4: '0010' }) },
  { method: 'debit', unitsDigit: '*', card: Object.freeze({ brand: 'Maestro', bin: '520082', last4: '8210' }) },
]);

/** What a sale does once started, chosen by the cents of its amount. */
export type SaleBehaviour =
  /** Runs normally and is approved. */
  | 'approve'
  /** Runs normally and is declined by the issuer (insufficient funds). */
  | 'decline-funds'
  /** Declined by the card itself (expired), no authorization. */
  | 'decline-expired'
  /** The customer presses Cancel on the terminal while it asks for the card. */
  | 'customer-cancel'
  /** Approved, but the RESULT comes after `slowAnswerDelayMs` (longer than the host's timers). */
  | 'slow-answer'
  /** Approved, but the RESULT line is lost on the wire; STATUS gets it. */
  | 'lost-answer'
  /** The cable is pulled while the card is read; the sale is approved meanwhile; the port comes back. */
  | 'disconnect'
  /** An ABORT from the host comes too late: answered ACK, then RESULT approved. */
  | 'approve-after-abort';

/** Every behaviour, for validation and help texts. */
export const SALE_BEHAVIOURS: readonly SaleBehaviour[] = Object.freeze([
  'approve',
  'decline-funds',
  'decline-expired',
  'customer-cancel',
  'slow-answer',
  'lost-answer',
  'disconnect',
  'approve-after-abort',
]);

/** One row of the test-amount table: keyed by the cents of the amount (`amountMinor % 100`). */
export interface TestAmountRow {
  /** Two-digit cents, e.g. `05` for 12.05; `*` for every amount not listed. */
  cents: string;
  behaviour: SaleBehaviour;
  /** Final status on the wire. */
  status: 'approved' | 'declined' | 'aborted';
  /** Response code in RESULT. */
  responseCode: string;
  /** RESULT `msg`. */
  message: string;
  /** What the host (and VTEX, through posbridge) ends with. */
  expected: string;
}

/** The test-amount table. Stable: never change or reuse a row. */
export const TEST_AMOUNTS: readonly TestAmountRow[] = Object.freeze([
  { cents: '05', behaviour: 'decline-funds', status: 'declined', responseCode: '51', message: 'Insufficient funds', expected: 'denied' },
  { cents: '54', behaviour: 'decline-expired', status: 'declined', responseCode: '54', message: 'Expired card', expected: 'denied' },
  { cents: '10', behaviour: 'customer-cancel', status: 'aborted', responseCode: 'CANCELLED', message: 'Cancelled by customer', expected: 'denied' },
  { cents: '20', behaviour: 'slow-answer', status: 'approved', responseCode: '00', message: 'Approved', expected: 'approved, late (host recovers with STATUS)' },
  { cents: '30', behaviour: 'lost-answer', status: 'approved', responseCode: '00', message: 'Approved', expected: 'approved (host recovers with STATUS)' },
  { cents: '40', behaviour: 'disconnect', status: 'approved', responseCode: '00', message: 'Approved', expected: 'approved once the port is back (unknown meanwhile)' },
  { cents: '60', behaviour: 'approve-after-abort', status: 'approved', responseCode: '00', message: 'Approved', expected: 'approved even when aborted (the host voids it: VTEX sees the cancellation)' },
].map((r) => Object.freeze(r as TestAmountRow)));

/** The row for amounts not in {@link TEST_AMOUNTS}. */
export const DEFAULT_OUTCOME: Readonly<TestAmountRow> = Object.freeze({
  cents: '*',
  behaviour: 'approve',
  status: 'approved',
  responseCode: '00',
  message: 'Approved',
  expected: 'approved',
});

/** Two-digit cents of an amount in minor units (`1305` → `05`). */
export function centsOf(amountMinor: number): string {
  return String(amountMinor % 100).padStart(2, '0');
}

/** Last digit of the whole units (`3190` → `1`). */
export function unitsDigitOf(amountMinor: number): string {
  return String(Math.floor(amountMinor / 100) % 10);
}

/** The test-amount row of an amount (the default row when its cents are not listed). */
export function rowForAmount(amountMinor: number): Readonly<TestAmountRow> {
  const cents = centsOf(amountMinor);
  return TEST_AMOUNTS.find((r) => r.cents === cents) ?? DEFAULT_OUTCOME;
}

/** The row of a behaviour (for scenarios that force one). */
export function rowForBehaviour(behaviour: SaleBehaviour): Readonly<TestAmountRow> {
  return TEST_AMOUNTS.find((r) => r.behaviour === behaviour) ?? DEFAULT_OUTCOME;
}

/** The test card of a sale, from its method and the last digit of its whole units. */
export function cardFor(method: CardMethod, amountMinor: number): Readonly<TestCard> {
  const digit = unitsDigitOf(amountMinor);
  const rows = TEST_CARDS.filter((r) => r.method === method);
  return (rows.find((r) => r.unitsDigit === digit) ?? rows.find((r) => r.unitsDigit === '*') ?? { card: TEST_CARD }).card;
}

/** A card of the table by brand name (case-insensitive), preferring the given method. */
export function cardByBrand(brand: string, method: CardMethod): Readonly<TestCard> | undefined {
  const b = brand.toLowerCase();
  const hit = (m: CardMethod) => TEST_CARDS.find((r) => r.method === m && r.card.brand.toLowerCase() === b)?.card;
  return hit(method) ?? hit(method === 'credit' ? 'debit' : 'credit');
}

/** What the scenarios need to know about a sale. */
export interface ScenarioSale {
  /** Integer minor units. */
  amountMinor: number;
  /** ISO 4217 numeric code. */
  currency: string;
  method?: CardMethod;
}

/** Final outcome chosen for a sale that ran to the end. */
export interface ScenarioOutcome {
  status: 'approved' | 'declined' | 'aborted';
  /** Issuer response code, e.g. `00`, `51`. */
  responseCode: string;
  /** Short message for the RESULT `msg` field. */
  message: string;
  /** Card that was read. */
  card: Readonly<TestCard>;
  /** True when the issuer returns an authorization code (approved sales only). */
  authorized: boolean;
}

