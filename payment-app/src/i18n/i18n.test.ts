import { describe, expect, it } from 'vitest';
import { formatAmount, formatClock, MESSAGES, pickLanguage } from './index.ts';

describe('pickLanguage', () => {
  it.each([
    ['pt-BR', 'pt-BR'],
    ['pt', 'pt-BR'],
    ['PT_pt', 'pt-BR'],
    ['es', 'es'],
    ['es-419', 'es'],
    ['en-GB', 'en'],
    ['fr', 'en'],
    ['', 'en'],
    [undefined, 'en'],
    ['espanol', 'en'],
  ])('%s → %s', (locale, language) => expect(pickLanguage(locale)).toBe(language));
});

describe('messages', () => {
  it('has every text in every language, none left in English by mistake', () => {
    const flatten = (o: object, prefix = ''): [string, unknown][] =>
      Object.entries(o).flatMap(([k, v]) => (typeof v === 'object' && v !== null ? flatten(v as object, `${prefix}${k}.`) : [[`${prefix}${k}`, v]]));
    const en = new Map(flatten(MESSAGES.en));
    for (const language of ['pt-BR', 'es'] as const) {
      const other = new Map(flatten(MESSAGES[language]));
      expect([...other.keys()].sort()).toEqual([...en.keys()].sort());
      const same = [...other].filter(([k, v]) => typeof v === 'string' && v === en.get(k) && !/^(amountLine|card)$/.test(k));
      expect(same.filter(([k]) => !['wait.steps.pin'].includes(k)).map(([k]) => k)).toEqual([]);
    }
  });
});

describe('formatting', () => {
  it('formats money per language', () => {
    expect(formatAmount(1050, 'BRL', 'pt-BR').replace(/\s/g, ' ')).toBe('R$ 10,50');
    expect(formatAmount(1050, 'USD', 'en')).toBe('$10.50');
    expect(formatAmount(105000, 'CLP', 'es')).toMatch(/^105\.000\sCLP$/); // no minor unit
  });
  it('formats the clock', () => {
    expect([formatClock(0), formatClock(5), formatClock(65), formatClock(600), formatClock(-3)]).toEqual(['0:00', '0:05', '1:05', '10:00', '0:00']);
  });
});
