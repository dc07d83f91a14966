import { describe, expect, it } from 'vitest';
import { brandOfBin } from './brand.ts';

describe('brandOfBin', () => {
  it.each([
    ['411111', 'Visa'],
    ['545454', 'Mastercard'],
    ['222100', 'Mastercard'],
    ['378282', 'American Express'],
    ['636368', 'Elo'],
    ['504175', 'Elo'],
    ['401178', 'Elo'], // inside Visa's 4…
    ['650040', 'Elo'], // inside Discover's 65…
    ['606282', 'Hipercard'],
    ['384100', 'Hipercard'],
    ['650034', 'Discover'],
    ['601100', 'Discover'],
    ['999999', 'unknown'],
  ])('%s → %s', (bin, brand) => {
    expect(brandOfBin(bin)).toBe(brand);
  });
});
