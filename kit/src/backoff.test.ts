import { describe, expect, it } from 'vitest';
import { backoff } from './backoff.ts';

describe('backoff', () => {
  it('full jitter: uniform in [0, min(cap, base·2^attempt)), whole ms', () => {
    const at = (r: number) => backoff({ baseMs: 500, capMs: 30_000, random: () => r });
    expect(at(0.999).delayFor(0)).toBe(499);
    expect(at(0.5).delayFor(3)).toBe(2000);
    expect(at(0.5).delayFor(20)).toBe(15_000);
    expect(at(0).delayFor(1000)).toBe(0);
    expect(at(0.999_999).delayFor(Number.POSITIVE_INFINITY)).toBe(29_999);
  });

  it('a floor: never below minFraction of the ceiling', () => {
    const at = (r: number) => backoff({ baseMs: 1000, capMs: 60_000, minFraction: 0.1, random: () => r });
    expect(at(1 - 1e-9).delayFor(0)).toBeCloseTo(1000, -1);
    expect(at(1 - 1e-9).delayFor(2)).toBeCloseTo(4000, -1);
    expect(at(1 - 1e-9).delayFor(19)).toBeCloseTo(60_000, -1);
    expect(at(0).delayFor(2)).toBe(400);
  });

  it('minFraction 1: deterministic exponential, random never read', () => {
    const b = backoff({
      baseMs: 100,
      capMs: 1000,
      minFraction: 1,
      random: () => {
        throw new Error('read');
      },
    });
    expect([0, 1, 2, 3, 4, 5].map((n) => b.delayFor(n))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('delayFor is a function of the attempt alone (one random read per call); negative and NaN attempts count as the first', () => {
    const draws = [0.25, 0.25, 0.25];
    const b = backoff({ baseMs: 800, capMs: 10_000, random: () => draws.shift() ?? 0.25 });
    expect(b.delayFor(1)).toBe(400);
    expect(b.delayFor(-3)).toBe(200);
    expect(b.delayFor(Number.NaN)).toBe(200);
  });

  it('stays within its bounds for any random draw and attempt', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      for (const r of [0, 1e-9, 0.1, 0.5, 0.9, 1 - 1e-12]) {
        const d = backoff({ baseMs: 250, capMs: 8000, minFraction: 0.2, random: () => r }).delayFor(attempt);
        const ceiling = Math.min(8000, 250 * 2 ** attempt);
        expect(d).toBeGreaterThanOrEqual(Math.floor(0.2 * ceiling));
        expect(d).toBeLessThan(ceiling);
      }
    }
  });

  it('rejects a policy it cannot honour', () => {
    expect(() => backoff({ baseMs: -1, capMs: 10 })).toThrow(RangeError);
    expect(() => backoff({ baseMs: 1, capMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => backoff({ baseMs: 1, capMs: 10, minFraction: 1.5 })).toThrow(RangeError);
  });
});
