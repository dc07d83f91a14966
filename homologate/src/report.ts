/**
 * The Test Report of a homologation run, laid out like VTEX's Payment Provider Test Suite report:
 * a table (case, expected, observed, result, duration), the failures and warnings, then the
 * request/response log of every case. Secrets never reach it: the client redacts the app token
 * (homologate/src/http.ts) and {@link renderText} redacts it again in any text it prints.
 */
import type { CaseResult } from './case-run.ts';
import { REDACTED, type Exchange } from './http.ts';

/** A whole run. */
export interface HomologationReport {
  /** The connector's base URL. */
  url: string;
  /** When the run started, ISO 8601. */
  startedAt: string;
  /** True when every case passed. */
  passed: boolean;
  cases: CaseResult[];
  /** Documented deviations the connector needed, over all cases (homologate/spec/README.md). */
  warnings: string[];
}

/** Builds the report of `cases`. */
export function buildReport(url: string, startedAt: string, cases: CaseResult[]): HomologationReport {
  const warnings = [...new Set(cases.flatMap((c) => c.warnings))];
  return { url, startedAt, passed: cases.length > 0 && cases.every((c) => c.passed), cases, warnings };
}

/** Longest body text printed per exchange in the text log, characters. */
const MAX_LOGGED_BODY_CHARS = 4_000;

function cell(text: string, width: number): string {
  const t = text.replace(/\s+/g, ' ');
  return t.length > width ? `${t.slice(0, width - 1)}…` : t.padEnd(width);
}

function bodyText(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text.length > MAX_LOGGED_BODY_CHARS ? `${text.slice(0, MAX_LOGGED_BODY_CHARS)}… (${text.length} chars)` : text;
}

function exchangeLines(e: Exchange): string[] {
  const lines = [`  → ${e.method} ${e.url}  [${e.label}]`, `    headers ${JSON.stringify(e.requestHeaders)}`];
  if (e.requestBody !== undefined) lines.push(`    body ${bodyText(e.requestBody)}`);
  if (e.status === undefined) lines.push(`  ← no answer after ${e.durationMs} ms: ${e.error ?? 'unknown error'}`);
  else lines.push(`  ← ${e.status} in ${e.durationMs} ms`, `    body ${bodyText(e.responseBody)}`);
  return lines;
}

/**
 * The report as text for a terminal. `secrets` (the app token) are replaced by
 * {@link REDACTED} in every value of the report ({@link redactDeep}), should a connector echo one back.
 */
export function renderText(whole: HomologationReport, secrets: readonly string[] = []): string {
  const report = redactDeep(whole, secrets);
  const passed = report.cases.filter((c) => c.passed).length;
  const out: string[] = [
    `posbridge-homologate Test Report`,
    `connector ${report.url}   started ${report.startedAt}`,
    '',
    `${cell('Case', 22)} ${cell('Expected', 52)} ${cell('Observed', 52)} ${cell('Result', 6)} Duration`,
    `${'-'.repeat(22)} ${'-'.repeat(52)} ${'-'.repeat(52)} ${'-'.repeat(6)} --------`,
  ];
  for (const c of report.cases) out.push(`${cell(c.name, 22)} ${cell(c.expected, 52)} ${cell(c.observed, 52)} ${cell(c.passed ? 'PASS' : 'FAIL', 6)} ${c.durationMs} ms`);
  out.push('');
  const failed = report.cases.filter((c) => !c.passed);
  if (failed.length > 0) {
    out.push('Failures:');
    for (const c of failed) for (const f of c.failures) out.push(`  ${c.name}: ${f}`);
    out.push('');
  }
  if (report.warnings.length > 0) {
    out.push('Warnings (documented deviations from the published OpenAPI, homologate/spec/README.md):');
    for (const w of report.warnings) out.push(`  ${w}`);
    out.push('');
  }
  out.push('Log:');
  for (const c of report.cases) {
    out.push(`== ${c.name} (${c.passed ? 'PASS' : 'FAIL'}): expected ${c.expected}; observed ${c.observed}`);
    for (const e of c.exchanges) out.push(...exchangeLines(e));
    for (const cb of c.callbacks) out.push(`  ⇐ callback POST ${cb.pathAndQuery}`, `    body ${bodyText(cb.body === '' ? '(empty)' : cb.body)}`);
  }
  out.push('', `${passed}/${report.cases.length} cases passed: ${report.passed ? 'PASS' : 'FAIL'}`, '');
  return out.join('\n');
}

/** The report as JSON (one document), secrets redacted like {@link renderText}. */
export function renderJson(report: HomologationReport, secrets: readonly string[] = []): string {
  return `${JSON.stringify(redactDeep(report, secrets), null, 2)}\n`;
}

/**
 * Secrets shorter than this are not searched for in bodies (a short token would match ordinary
 * text); the client still redacts them in the request headers, where they are sent.
 */
export const MIN_REDACTED_SECRET_CHARS = 8;

/**
 * Replaces every occurrence of each secret of at least {@link MIN_REDACTED_SECRET_CHARS}
 * characters in `text` by {@link REDACTED}, also in its JSON-escaped form.
 */
export function redact(text: string, secrets: readonly string[]): string {
  // The secret as written, and as it appears inside a JSON string (quotes, backslashes escaped);
  // one pass, longest first, so a replacement is never searched again.
  const forms = [...new Set(secrets.flatMap((x) => [x, JSON.stringify(x).slice(1, -1)]))].filter((x) => x.length >= MIN_REDACTED_SECRET_CHARS).sort((x, y) => y.length - x.length);
  if (forms.length === 0) return text;
  return text.replace(new RegExp(forms.map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g'), REDACTED);
}

/** A copy of `value` with {@link redact} applied to every string in it (keys included). */
export function redactDeep<T>(value: T, secrets: readonly string[]): T {
  if (typeof value === 'string') return redact(value, secrets) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v, secrets)) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k, secrets), redactDeep(v as unknown, secrets)])) as T;
  }
  return value;
}
