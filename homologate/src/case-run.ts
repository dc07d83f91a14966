/**
 * One case of the homologation run: its calls (each timed against VTEX's 5 s Test Suite budget
 * and validated against the PPP OpenAPI), its checks, what it observed, and the verdict.
 * Source of the budget: homologate/spec/ppp-openapi.yml "Endpoint requirements" (< 5 s when
 * running the tests, < 20 s in production).
 */
import type { CallbackListener } from './callback-listener.ts';
import type { ConnectorClient, Exchange, RequestOptions } from './http.ts';
import type { PppContract } from './openapi.ts';

/** Every answer must arrive within this long while VTEX's Test Suite runs, ms. */
export const TEST_SUITE_BUDGET_MS = 5_000;

/** What a finished case reports. */
export interface CaseResult {
  /** Case name as VTEX's Test Report names it, e.g. `Authorize`. */
  name: string;
  /** What a conforming connector does, one line. */
  expected: string;
  /** What this connector did, one line. */
  observed: string;
  passed: boolean;
  /** Each failed check, one line each (empty when passed). */
  failures: string[];
  /** Documented deviations the connector's bodies needed (homologate/spec/README.md). */
  warnings: string[];
  /** Wall time of the whole case, ms. */
  durationMs: number;
  /** Every request and answer of the case, in order. */
  exchanges: Exchange[];
  /** Callbacks the case received (path and body). */
  callbacks: { pathAndQuery: string; body: string }[];
}

/** What every case gets. */
export interface CaseContext {
  client: ConnectorClient;
  contract: PppContract;
  callbacks: CallbackListener;
  /** Payment method name of the suite cases (e.g. `Venda Direta Credito`), from the manifest or `--payment-method`. */
  paymentMethod: string;
  /** `merchantName` of every Create Payment (`--merchant-name`). */
  merchantName: string;
  /** The terminal serial of the POS flows (`--serial`), if any. */
  serial?: string;
  /** How long a POS flow waits for the terminal's answer, ms. */
  posTimeoutMs: number;
  /** Monotonic clock, ms. */
  now: () => number;
  /** Waits, ms (injected so tests need no real sleeps beyond the connector's own). */
  sleep: (ms: number) => Promise<void>;
}

/** Options of {@link CaseRun.call}. */
export interface CallOptions extends RequestOptions {
  /** OpenAPI path template whose response schema the answer must match, e.g. `/payments/{paymentId}/refunds`. */
  schemaPath: string;
}

/** The record of one running case; cases call {@link call} and {@link check}. */
export class CaseRun {
  readonly exchanges: Exchange[] = [];
  readonly failures: string[] = [];
  readonly warnings: string[] = [];
  readonly callbacks: { pathAndQuery: string; body: string }[] = [];
  readonly #observed: string[] = [];
  readonly ctx: CaseContext;

  constructor(ctx: CaseContext) {
    this.ctx = ctx;
  }

  /**
   * Sends one request; fails the case when no answer came, when it took ≥ {@link TEST_SUITE_BUDGET_MS},
   * or when its body is not JSON matching the OpenAPI response of its status.
   * Returns the exchange and its body as an object (empty when it was not a JSON object).
   */
  async call(label: string, method: 'GET' | 'POST', path: string, body: unknown, options: CallOptions): Promise<{ exchange: Exchange; json: Record<string, unknown> }> {
    const exchange = await this.ctx.client.request(label, method, path, body, options);
    this.exchanges.push(exchange);
    const json = exchange.responseIsJson && isObject(exchange.responseBody) ? exchange.responseBody : {};
    if (exchange.status === undefined) {
      this.failures.push(`${label}: ${exchange.error ?? 'no answer'}`);
      return { exchange, json };
    }
    if (exchange.durationMs >= TEST_SUITE_BUDGET_MS) this.failures.push(`${label}: answered in ${exchange.durationMs} ms, the Test Suite budget is < ${TEST_SUITE_BUDGET_MS} ms`);
    if (!exchange.responseIsJson) {
      this.failures.push(`${label}: ${exchange.status} answer is not JSON`);
      return { exchange, json };
    }
    const verdict = this.ctx.contract.validate(options.schemaPath, method, exchange.status, exchange.responseBody);
    for (const w of verdict.warnings) if (!this.warnings.includes(w)) this.warnings.push(w);
    if (!verdict.ok) this.failures.push(`${label}: ${exchange.status} body violates the PPP OpenAPI: ${verdict.errors.join('; ')}`);
    return { exchange, json };
  }

  /** Records a failed check when `ok` is false. Returns `ok`. */
  check(ok: boolean, failure: string): boolean {
    if (!ok) this.failures.push(failure);
    return ok;
  }

  /** Adds a fragment to the case's "observed" line. */
  observe(text: string): void {
    this.#observed.push(text);
  }

  /** The "observed" line so far. */
  get observed(): string {
    return this.#observed.join(', ');
  }
}

/** A case: its name, its expectation, and how to run it. */
export interface HomologationCase {
  name: string;
  expected: string;
  run(run: CaseRun): Promise<void>;
}

/**
 * Runs a case and returns its result; an exception inside the case fails it (with the message),
 * it never stops the run.
 */
export async function runCase(c: HomologationCase, ctx: CaseContext): Promise<CaseResult> {
  const run = new CaseRun(ctx);
  const started = ctx.now();
  try {
    await c.run(run);
  } catch (err) {
    run.failures.push(`stopped: ${(err as Error).message}`);
  }
  return {
    name: c.name,
    expected: c.expected,
    observed: run.observed === '' ? '—' : run.observed,
    passed: run.failures.length === 0,
    failures: run.failures,
    warnings: run.warnings,
    durationMs: Math.round(ctx.now() - started),
    exchanges: run.exchanges,
    callbacks: run.callbacks,
  };
}

/** True for a plain JSON object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A non-empty string. */
export function filled(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}
