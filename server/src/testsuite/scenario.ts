/**
 * VTEX Test Suite scenarios of the virtual terminal (docs/homologation.md): which answer a suite
 * request gets, decided from `card.number` when the suite sends one, else from the simulator's
 * test-amount table (protocol/src/terminal/test-outcomes.ts, the same table hardware-sim uses).
 *
 * Pure: the card number is read here and dropped; only the {@link SuiteScenario} derived from it
 * may be stored or logged.
 *
 * @see docs/protocol/vtex-ppp.md §3 (`X-VTEX-API-Is-TestSuite`), issue 16 (the suite's card table)
 */
import { rowForAmount } from '@posbridge/protocol/terminal';

/**
 * What the virtual terminal does with a suite payment:
 * - `approved` / `denied`: Create Payment answers the final status at once;
 * - `async_approved` / `async_denied`: Create Payment answers `undefined`, the final status
 *   follows as a callback (the suite expects it within ~15 s).
 */
export type SuiteScenario = 'approved' | 'denied' | 'async_approved' | 'async_denied';

/** Every scenario, for validation of stored values and metrics labels. */
export const SUITE_SCENARIOS: readonly SuiteScenario[] = Object.freeze(['approved', 'denied', 'async_approved', 'async_denied']);

/** The Test Suite's card numbers and the scenario each selects (VTEX's PPP test cases). */
const SUITE_CARDS: ReadonlyMap<string, SuiteScenario> = new Map([
  ['4444333322221111', 'approved'],
  ['4444333322221112', 'denied'],
  ['4222222222222224', 'async_approved'],
  ['4222222222222225', 'async_denied'],
]);

/**
 * The scenario of a suite payment.
 * @param cardNumber `card.number` as sent (spaces and dashes ignored), or null/undefined when absent.
 * @param amountMinor the amount in minor units; its cents pick the simulator's test-amount row when
 *   the card number is absent or not one of the suite's: a declined or aborted row is `denied`, a
 *   late-answering row (`slow-answer`) is `async_approved`, any other approved row `approved`.
 */
export function suiteScenarioOf(cardNumber: string | null | undefined, amountMinor: number): SuiteScenario {
  const digits = typeof cardNumber === 'string' ? cardNumber.replace(/[\s-]/g, '') : '';
  const byCard = SUITE_CARDS.get(digits);
  if (byCard !== undefined) return byCard;
  const row = rowForAmount(amountMinor);
  if (row.status !== 'approved') return 'denied';
  return row.behaviour === 'slow-answer' ? 'async_approved' : 'approved';
}

/** True for the scenarios whose Create Payment answers `undefined` and whose outcome is a callback. */
export function isAsyncScenario(s: SuiteScenario): boolean {
  return s === 'async_approved' || s === 'async_denied';
}
