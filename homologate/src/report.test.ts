import { describe, expect, it } from 'vitest';
import type { CaseResult } from './case-run.ts';
import { REDACTED } from './http.ts';
import { buildReport, redact, renderJson, renderText } from './report.ts';

const TOKEN = 'tok-"secret\\value';

function result(name: string, passed: boolean, extra: Partial<CaseResult> = {}): CaseResult {
  return {
    name,
    expected: 'approved',
    observed: passed ? 'create approved' : 'create denied',
    passed,
    failures: passed ? [] : ['create: status "denied", expected "approved"'],
    warnings: [],
    durationMs: 12,
    exchanges: [
      {
        label: 'Create Payment',
        method: 'POST',
        url: 'http://connector/payments',
        requestHeaders: { 'X-VTEX-API-AppToken': REDACTED },
        requestBody: { paymentId: 'P1' },
        status: 200,
        // A connector that echoes the token back must not leak it through the report.
        responseBody: { status: passed ? 'approved' : 'denied', echo: TOKEN },
        responseIsJson: true,
        durationMs: 9,
      },
    ],
    callbacks: [],
    ...extra,
  };
}

describe('report', () => {
  it('passes only when there are cases and every one passed', () => {
    expect(buildReport('u', 't', []).passed).toBe(false);
    expect(buildReport('u', 't', [result('A', true)]).passed).toBe(true);
    expect(buildReport('u', 't', [result('A', true), result('Denied', false)]).passed).toBe(false);
  });

  it('collects the warnings of every case once', () => {
    const w = 'POST /payments 200: /maxValue … accepted under maxValue-decimal';
    const report = buildReport('u', 't', [result('A', true, { warnings: [w] }), result('B', true, { warnings: [w] })]);
    expect(report.warnings).toEqual([w]);
    expect(renderText(report)).toContain(`Warnings (documented deviations`);
    expect(renderText(report)).toContain(w);
  });

  it('prints the table row, the failing case by name, the log and the summary', () => {
    const text = renderText(buildReport('http://connector', '2026-01-01T00:00:00.000Z', [result('Authorize', true), result('Denied', false)]), [TOKEN]);
    expect(text).toMatch(/^Authorize\s+approved\s+create approved\s+PASS\s+12 ms$/m);
    expect(text).toMatch(/^Denied\s+approved\s+create denied\s+FAIL\s+12 ms$/m);
    expect(text).toContain('Failures:\n  Denied: create: status "denied", expected "approved"');
    expect(text).toContain('→ POST http://connector/payments  [Create Payment]');
    expect(text).toContain('← 200 in 9 ms');
    expect(text).toContain('1/2 cases passed: FAIL');
    expect(text).not.toContain('secret');
  });

  it('redacts the token in JSON output too, also where JSON escapes it', () => {
    const json = renderJson(buildReport('u', 't', [result('A', true)]), [TOKEN]);
    expect(json).not.toContain('secret');
    expect(JSON.parse(json).cases[0].exchanges[0].responseBody.echo).toBe(REDACTED);
    expect(redact('abcdefgh b abcdefgh', ['abcdefgh', ''])).toBe(`${REDACTED} b ${REDACTED}`);
    // A short token is not searched in text (it would match ordinary words); headers still hide it.
    expect(renderText(buildReport('u', 't', [result('Authorize', true)]), ['t'])).toContain('Test Report');
  });
});
