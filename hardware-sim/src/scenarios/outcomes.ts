/**
 * Which outcome the simulated terminal gives a sale: the "test amounts" table.
 *
 * Outcome selection lives here, apart from the device machine, so later issues can add rows
 * (more decline codes, timeouts, faults, a control interface) without touching the machine.
 * Pure data plus one pure function; the README's table mirrors {@link TEST_AMOUNTS}.
 */

/** The fixed test card every simulated sale is paid with. Only brand, BIN and last 4 ever exist. */
export interface TestCard {
  /** Card scheme shown on receipts. */
  brand: string;
  /** First 6 digits of the PAN. */
  bin: string;
  /** Last 4 digits of the PAN. */
  last4: string;
}

/** The card used for every simulated sale (Mastercard test BIN 545454). */
export const TEST_CARD: Readonly<TestCard> = Object.freeze({ brand: 'Mastercard', bin: '545454', last4: '5454' });

/** What the scenarios need to know about a sale. */
export interface ScenarioSale {
  /** Integer minor units. */
  amountMinor: number;
  /** ISO 4217 numeric code. */
  currency: string;
}

/** Final outcome chosen for a sale that ran to the end (aborts are decided by the host, not here). */
export interface ScenarioOutcome {
  status: 'approved' | 'declined';
  /** Issuer response code, e.g. `00`, `51`. */
  responseCode: string;
  /** Short message for the RESULT `msg` field. */
  message: string;
  /** Card that was read. */
  card: Readonly<TestCard>;
  /** True when the issuer returns an authorization code (approved sales only). */
  authorized: boolean;
}

/** One row of the test-amount table: keyed by the cents of the amount (`amountMinor % 100`). */
export interface TestAmountRow {
  /** Two-digit cents, e.g. `05` for 12.05. */
  cents: string;
  status: 'approved' | 'declined';
  responseCode: string;
  message: string;
}

/** Amounts whose cents are listed here get a fixed outcome; every other amount is approved. */
export const TEST_AMOUNTS: readonly TestAmountRow[] = Object.freeze([
  { cents: '05', status: 'declined', responseCode: '51', message: 'Insufficient funds' },
]);

/** The outcome for amounts not in {@link TEST_AMOUNTS}. */
export const DEFAULT_OUTCOME: Readonly<Omit<TestAmountRow, 'cents'>> = Object.freeze({
  status: 'approved',
  responseCode: '00',
  message: 'Approved',
});

/** Two-digit cents of an amount in minor units (`1305` → `05`). */
export function centsOf(amountMinor: number): string {
  return String(amountMinor % 100).padStart(2, '0');
}

/** Chooses the outcome of a sale from its amount. */
export function selectOutcome(sale: ScenarioSale): ScenarioOutcome {
  const cents = centsOf(sale.amountMinor);
  const row = TEST_AMOUNTS.find((r) => r.cents === cents) ?? DEFAULT_OUTCOME;
  return {
    status: row.status,
    responseCode: row.responseCode,
    message: row.message,
    card: TEST_CARD,
    authorized: row.status === 'approved',
  };
}
