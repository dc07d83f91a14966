/**
 * `@posbridge/homologate`: VTEX's Payment Provider Test Suite known cases and the Venda Direta
 * POS flows, run against any PPP connector (homologate/README.md, docs/homologation.md).
 */
export { runHomologation, type HomologationOptions } from './run.ts';
export { buildReport, renderJson, renderText, type HomologationReport } from './report.ts';
export { PppContract, DEVIATIONS, type Deviation, type ValidationResult } from './openapi.ts';
export { TEST_SUITE_BUDGET_MS, type CaseResult } from './case-run.ts';
export { SUITE_CARDS } from './payloads.ts';
