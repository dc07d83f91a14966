import { describe, expect, it } from 'vitest';
import { bucketOf, compareTotals, foldTotals, type TotalsRow } from './totals.ts';
import { dayWindow } from './totals-day.ts';

describe('dayWindow', () => {
  it('is the UTC day by default', () => {
    expect(dayWindow('2026-12-02')).toEqual({ from: Date.UTC(2026, 11, 2), to: Date.UTC(2026, 11, 3) });
  });
  it('is local midnight to local midnight in a named zone (São Paulo is UTC−3)', () => {
    expect(dayWindow('2026-12-02', 'America/Sao_Paulo')).toEqual({ from: Date.UTC(2026, 11, 2, 3), to: Date.UTC(2026, 11, 3, 3) });
  });
  it('has 23 and 25 hours across daylight-saving changes', () => {
    const spring = dayWindow('2026-03-08', 'America/New_York');
    expect(spring).toEqual({ from: Date.UTC(2026, 2, 8, 5), to: Date.UTC(2026, 2, 9, 4) });
    const fall = dayWindow('2026-11-01', 'America/New_York');
    expect(fall.to - fall.from).toBe(25 * 3_600_000);
  });
  it('refuses what is not a real day, and unknown zones', () => {
    expect(() => dayWindow('2026-02-30')).toThrow('no such day');
    expect(() => dayWindow('02/12/2026')).toThrow('YYYY-MM-DD');
    expect(() => dayWindow('2026-12-02', 'Mars/Olympus')).toThrow('unknown time zone');
  });
});

describe('totals buckets and comparison', () => {
  it('counts a cancellation only when the terminal had approved it (a void)', () => {
    expect(bucketOf('cancelled', true)).toBe('voided');
    expect(bucketOf('cancelled', false)).toBeNull();
    expect(bucketOf('expired', true)).toBe('voided');
    expect(bucketOf('reversal_unknown', true)).toBe('unknown');
    expect(bucketOf('reversing', true)).toBe('in_progress');
    expect(bucketOf('awaiting_terminal', false)).toBeNull();
  });

  it('never adds currencies, and refuses a sum beyond exact integers', () => {
    const g = (currency: string, amountMinor: number) => ({
      storeId: 's', serialNumber: 'SN', method: 'credit' as const, currency, status: 'approved' as const, approvedByTerminal: true, count: 1, amountMinor,
    });
    expect(foldTotals({ payments: [g('BRL', 1), g('USD', 2), g('BRL', 3)], refunds: [] }).map((r) => [r.currency, r.amountMinor])).toEqual([
      ['BRL', 4],
      ['USD', 2],
    ]);
    expect(() => foldTotals({ payments: [g('BRL', Number.MAX_SAFE_INTEGER), g('BRL', 1)], refunds: [] })).toThrow('overflow');
  });

  it('shows terminal − ours per line, and keeps unknown payments apart', () => {
    const ours: TotalsRow[] = [
      { storeId: 's', serialNumber: 'SN', currency: 'BRL', method: 'credit', bucket: 'approved', count: 2, amountMinor: 4000 },
      { storeId: 's', serialNumber: 'SN', currency: 'BRL', method: 'credit', bucket: 'unknown', count: 1, amountMinor: 500 },
    ];
    const cmp = compareTotals(ours, [
      { currency: 'BRL', method: 'credit', bucket: 'approved', count: 3, amountMinor: 4500 },
      { currency: 'BRL', method: 'debit', bucket: 'refunded', count: 1, amountMinor: 100 },
    ]);
    expect(cmp.matches).toBe(false);
    expect(cmp.lines).toEqual([
      { currency: 'BRL', method: 'credit', bucket: 'approved', ours: { count: 2, amountMinor: 4000 }, terminal: { count: 3, amountMinor: 4500 }, countDifference: 1, amountDifferenceMinor: 500 },
      { currency: 'BRL', method: 'debit', bucket: 'refunded', ours: { count: 0, amountMinor: 0 }, terminal: { count: 1, amountMinor: 100 }, countDifference: 1, amountDifferenceMinor: 100 },
    ]);
    expect(cmp.unresolved).toEqual([ours[1]]);
    expect(compareTotals(ours.slice(0, 1), [{ currency: 'BRL', method: 'credit', bucket: 'approved', count: 2, amountMinor: 4000 }]).matches).toBe(true);
  });
});
