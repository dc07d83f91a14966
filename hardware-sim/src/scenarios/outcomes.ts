/**
 * Which outcome the simulated terminal gives a sale: the "test amounts" table and the test cards.
 * The pure table lives in protocol/src/terminal/test-outcomes.ts so the server's virtual terminal
 * (VTEX Test Suite mode, docs/homologation.md) decides exactly as this simulator does.
 */
export {
  DEFAULT_OUTCOME,
  SALE_BEHAVIOURS,
  TEST_AMOUNTS,
  TEST_CARD,
  TEST_CARDS,
  cardByBrand,
  cardFor,
  centsOf,
  rowForAmount,
  rowForBehaviour,
  unitsDigitOf,
  type CardMethod,
  type SaleBehaviour,
  type ScenarioOutcome,
  type ScenarioSale,
  type TestAmountRow,
  type TestCard,
  type TestCardRow,
} from '@posbridge/protocol/terminal';
