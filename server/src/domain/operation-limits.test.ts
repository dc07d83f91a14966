import { describe, expect, it } from 'vitest';
import { authorizedMinor, checkOperationLimit, operationTotals, type CountedOperation, type OperationTotals } from './operation-limits.ts';

const approved = { status: 'approved' as const, authorizedMinor: 1000 };
const none: OperationTotals = { settledMinor: 0, refundedMinor: 0, refundingMinor: 0 };

describe('operationTotals', () => {
  it('sums approved settlements, approved refunds, and reserves pending/unknown refunds', () => {
    const ops: CountedOperation[] = [
      { kind: 'settle', status: 'approved', amountMinor: 600 },
      { kind: 'settle', status: 'approved', amountMinor: 400 },
      { kind: 'settle', status: 'denied', amountMinor: 50 },
      { kind: 'settle', status: 'pending', amountMinor: 70 },
      { kind: 'refund', status: 'approved', amountMinor: 100 },
      { kind: 'refund', status: 'pending', amountMinor: 20 },
      { kind: 'refund', status: 'unknown', amountMinor: 30 },
      { kind: 'refund', status: 'denied', amountMinor: 900 },
      { kind: 'cancel', status: 'approved', amountMinor: 0 },
    ];
    expect(operationTotals(ops)).toEqual({ settledMinor: 1000, refundedMinor: 100, refundingMinor: 50 });
  });

  it('is all zero without operations', () => {
    expect(operationTotals([])).toEqual(none);
  });
});

describe('authorizedMinor', () => {
  it('is the terminal amount when there is one, else the requested amount', () => {
    expect(authorizedMinor({ amount: { amountMinor: 1000 }, outcome: { amountMinor: 900 } })).toBe(900);
    expect(authorizedMinor({ amount: { amountMinor: 1000 }, outcome: null })).toBe(1000);
  });
});

describe('checkOperationLimit', () => {
  it('refuses a settlement or refund of a missing or not approved payment, with limit 0', () => {
    for (const kind of ['settle', 'refund'] as const) {
      expect(checkOperationLimit({ kind, amountMinor: 1 }, null, none)).toEqual({ allowed: false, reason: 'not_approved', limitMinor: 0 });
      for (const status of ['awaiting_terminal', 'dispatched', 'denied', 'reversing', 'cancelled', 'unknown'] as const) {
        expect(checkOperationLimit({ kind, amountMinor: 0 }, { status, authorizedMinor: 1000 }, none)).toEqual({
          allowed: false,
          reason: 'not_approved',
          limitMinor: 0,
        });
      }
    }
  });

  it('allows a settlement exactly at the authorized remainder, refuses one over', () => {
    const totals = { ...none, settledMinor: 400 };
    expect(checkOperationLimit({ kind: 'settle', amountMinor: 600 }, approved, totals)).toEqual({ allowed: true });
    expect(checkOperationLimit({ kind: 'settle', amountMinor: 601 }, approved, totals)).toEqual({ allowed: false, reason: 'exceeds', limitMinor: 600 });
  });

  it('allows a zero settlement while approved, even when fully settled; refuses 1 then with limit 0', () => {
    const full = { ...none, settledMinor: 1000 };
    expect(checkOperationLimit({ kind: 'settle', amountMinor: 0 }, approved, full)).toEqual({ allowed: true });
    expect(checkOperationLimit({ kind: 'settle', amountMinor: 1 }, approved, full)).toEqual({ allowed: false, reason: 'exceeds', limitMinor: 0 });
  });

  it('bounds refunds by what was settled, not by what was authorized', () => {
    expect(checkOperationLimit({ kind: 'refund', amountMinor: 1 }, approved, none)).toEqual({ allowed: false, reason: 'exceeds', limitMinor: 0 });
    expect(checkOperationLimit({ kind: 'refund', amountMinor: 0 }, approved, none)).toEqual({ allowed: true });
    const settled = { ...none, settledMinor: 700 };
    expect(checkOperationLimit({ kind: 'refund', amountMinor: 700 }, approved, settled)).toEqual({ allowed: true });
    expect(checkOperationLimit({ kind: 'refund', amountMinor: 701 }, approved, settled)).toEqual({ allowed: false, reason: 'exceeds', limitMinor: 700 });
  });

  it('reserves pending and unknown refunds against the settled amount', () => {
    const totals = { settledMinor: 1000, refundedMinor: 300, refundingMinor: 200 };
    expect(checkOperationLimit({ kind: 'refund', amountMinor: 500 }, approved, totals)).toEqual({ allowed: true });
    expect(checkOperationLimit({ kind: 'refund', amountMinor: 501 }, approved, totals)).toEqual({ allowed: false, reason: 'exceeds', limitMinor: 500 });
  });

  it('never answers a negative limit (totals over the bound, e.g. a late approved refund)', () => {
    const over = { settledMinor: 100, refundedMinor: 100, refundingMinor: 50 };
    expect(checkOperationLimit({ kind: 'refund', amountMinor: 1 }, approved, over)).toEqual({ allowed: false, reason: 'exceeds', limitMinor: 0 });
    expect(checkOperationLimit({ kind: 'settle', amountMinor: 1 }, { status: 'approved', authorizedMinor: 10 }, { ...none, settledMinor: 20 })).toEqual({
      allowed: false,
      reason: 'exceeds',
      limitMinor: 0,
    });
  });
});
