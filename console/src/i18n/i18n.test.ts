/** The console's languages: same keys everywhere, placeholders filled, money from minor units by the currency's exponent. */
import { describe, expect, it } from 'vitest';
import { STATUSES } from '../api.ts';
import { en } from './en.ts';
import { es } from './es.ts';
import { formatMoney, formatTime, initialLang, statusKey, translate } from './index.ts';
import { ptBR } from './pt-BR.ts';

const nbsp = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

describe('console i18n', () => {
  it('has every English key, non-empty, in pt-BR and es, and a name for every status', () => {
    for (const catalogue of [ptBR, es]) {
      expect(Object.keys(catalogue).sort()).toEqual(Object.keys(en).sort());
      for (const value of Object.values(catalogue)) expect(value.trim()).not.toBe('');
    }
    for (const lang of ['pt-BR', 'es', 'en'] as const) expect(new Set(STATUSES.map((s) => translate(lang, statusKey(s)))).size).toBe(STATUSES.length);
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(translate('en', 'detailTitle', { id: 'P1' })).toBe('Payment P1');
    expect(translate('pt-BR', 'onlineCount', { online: 1, total: 2 })).toBe('1 de 2 terminais conectados.');
    expect(translate('es', 'detailTitle')).toBe('Pago {id}');
  });

  it('formats integer minor units with the currency exponent, in the chosen locale', () => {
    expect(nbsp(formatMoney('pt-BR', 1999, 'BRL'))).toBe('R$ 19,99');
    expect(nbsp(formatMoney('en', 1999, 'BRL'))).toBe('R$19.99');
    // CLP has no minor unit: 1500 is 1500 pesos (Spanish groups only from five digits).
    expect(nbsp(formatMoney('es', 1500, 'CLP'))).toBe('1500 CLP');
    expect(nbsp(formatMoney('es', 150000, 'CLP'))).toBe('150.000 CLP');
    expect(nbsp(formatMoney('en', 1234, 'KWD'))).toBe('KWD 1.234');
    expect(nbsp(formatMoney('pt-BR', 0, 'BRL'))).toBe('R$ 0,00');
  });

  it('formats times, and a missing one as a dash', () => {
    expect(formatTime('en', null)).toBe('—');
    expect(formatTime('pt-BR', '2026-12-02T15:04:05.000Z')).toMatch(/02\/12\/2026|12\/2026/);
    expect(formatTime('en', 'not a time')).toBe('not a time');
  });

  it('remembers the stored language, else follows the browser, else pt-BR', () => {
    expect(initialLang('es', ['en-US'])).toBe('es');
    expect(initialLang(null, ['fr-FR', 'en-GB'])).toBe('en');
    expect(initialLang('xx', ['pt-PT'])).toBe('pt-BR');
    expect(initialLang(null, ['es-AR'])).toBe('es');
    expect(initialLang(null, [])).toBe('pt-BR');
  });
});
