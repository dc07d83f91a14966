import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEFAULT_SPEC_URL, DEVIATIONS, PppContract } from './openapi.ts';

const contract = PppContract.load();
const approved = {
  paymentId: 'P1',
  status: 'approved',
  authorizationId: 'A1',
  tid: 'T1',
  nsu: 'N1',
  acquirer: 'acq',
  delayToAutoSettle: 1200,
  delayToAutoSettleAfterAntifraud: 1200,
  delayToCancel: 900,
};

describe('PppContract', () => {
  it('the vendored spec is VTEX’s file unchanged (homologate/spec/README.md)', () => {
    const readme = readFileSync(new URL('../spec/README.md', import.meta.url), 'utf8');
    const digest = createHash('sha256').update(readFileSync(DEFAULT_SPEC_URL)).digest('hex');
    expect(readme).toContain(digest);
    for (const d of DEVIATIONS) expect(readme).toContain(`\`${d.id}\``);
  });

  it('accepts a Create Payment answer that matches the published schema, with no warning', () => {
    expect(contract.validate('/payments', 'post', 200, approved)).toEqual({ ok: true, errors: [], warnings: [] });
  });

  it('accepts authorizationId null and a decimal maxValue only with a warning naming the deviation', () => {
    const r = contract.validate('/payments', 'POST', 200, { ...approved, status: 'undefined', authorizationId: null, maxValue: 16.6 });
    expect(r.ok).toBe(true);
    expect(r.warnings).toHaveLength(2);
    expect(r.warnings.join('\n')).toMatch(/authorizationId-null/);
    expect(r.warnings.join('\n')).toMatch(/maxValue-decimal/);
  });

  it('refuses a body that breaks the schema beyond the deviations, naming the field', () => {
    const r = contract.validate('/payments', 'post', 200, { ...approved, status: 7, authorizationId: null });
    expect(r.ok).toBe(false);
    expect(r.errors.join('\n')).toMatch(/\/status: must be string/);
    expect(r.warnings).toEqual([]);
  });

  it('refuses a settlement without settleId and a refund whose value is a string', () => {
    const settle = contract.validate('/payments/{paymentId}/settlements', 'post', 200, { paymentId: 'P1', value: 1, code: null, message: 'ok', requestId: 'R' });
    expect(settle.ok).toBe(false);
    expect(settle.errors.join()).toMatch(/settleId/);
    const refund = contract.validate('/payments/{paymentId}/refunds', 'post', 200, { paymentId: 'P1', refundId: 'X', value: '1', code: null, message: 'ok', requestId: 'R' });
    expect(refund.ok).toBe(false);
    expect(refund.errors.join()).toMatch(/\/value/);
  });

  it('refuses a status the OpenAPI does not document for the route', () => {
    const r = contract.validate('/payments', 'post', 503, { status: 'error', code: 'X', message: 'busy' });
    expect(r.ok).toBe(false);
    expect(r.errors[0]).toMatch(/documents no JSON answer 503 for POST \/payments/);
  });

  it('accepts the documented failure shapes (cancel 501 with cancellationId null)', () => {
    expect(contract.validate('/payments/{paymentId}/cancellations', 'post', 501, { paymentId: 'P1', cancellationId: null, code: 'cancel-manually', message: 'no', requestId: 'R' }).ok).toBe(true);
  });

  it('throws when a deviation names a property the spec does not have', () => {
    const spec = parse(readFileSync(DEFAULT_SPEC_URL, 'utf8')) as { components: { schemas: Record<string, { properties: Record<string, unknown> }> } };
    delete spec.components.schemas['Success-Approved']!.properties['maxValue'];
    expect(() => new PppContract(stringify(spec))).toThrow(/maxValue-decimal/);
  });
});
