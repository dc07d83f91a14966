/**
 * Languages of the console (pt-BR, es, en): one catalogue per language (./en.ts is the reference),
 * the choice remembered in localStorage, and money and times formatted with Intl in the chosen
 * locale. Money comes as integer minor units with its ISO 4217 currency (docs/admin-api.md
 * "Routes"); the currency's own number of decimals comes from Intl.
 */
import { createContext, useContext } from 'react';
import type { Status } from '../api.ts';
import { en, type Catalogue, type MessageKey } from './en.ts';
import { es } from './es.ts';
import { ptBR } from './pt-BR.ts';

/** The languages offered, with their own names for the switch. */
export const LANGUAGES = [
  { tag: 'pt-BR', name: 'Português (Brasil)' },
  { tag: 'es', name: 'Español' },
  { tag: 'en', name: 'English' },
] as const;
/** A language tag of {@link LANGUAGES}. */
export type Lang = (typeof LANGUAGES)[number]['tag'];

const CATALOGUES: Record<Lang, Catalogue> = { 'pt-BR': ptBR, es, en };
/** localStorage key of the chosen language. */
export const LANG_KEY = 'posbridge.console.lang';

/** True when `tag` is one of the offered languages. */
export function isLang(tag: string | null | undefined): tag is Lang {
  return LANGUAGES.some((l) => l.tag === tag);
}

/** The remembered language, else the browser's first preference we offer (by primary subtag), else pt-BR. */
export function initialLang(stored: string | null, preferred: readonly string[]): Lang {
  if (isLang(stored)) return stored;
  for (const p of preferred) {
    if (isLang(p)) return p;
    const primary = p.split('-')[0]?.toLowerCase();
    if (primary === 'pt') return 'pt-BR';
    if (primary === 'es') return 'es';
    if (primary === 'en') return 'en';
  }
  return 'pt-BR';
}

/** Message `key` of `lang` with `{name}` placeholders filled from `vars`. */
export function translate(lang: Lang, key: MessageKey, vars: Record<string, string | number> = {}): string {
  return CATALOGUES[lang][key].replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/**
 * `amountMinor` (integer minor units) of ISO 4217 `currency` in `lang`, e.g. 1999 BRL in pt-BR →
 * "R$ 19,99". The exponent is the currency's (Intl's `maximumFractionDigits`: 2 for BRL, 0 for
 * CLP, 3 for KWD).
 */
export function formatMoney(lang: Lang, amountMinor: number, currency: string): string {
  const format = new Intl.NumberFormat(lang, { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amountMinor / 10 ** digits);
}

/** An ISO time as a short date and time of `lang` in the browser's time zone; `—` for null. */
export function formatTime(lang: Lang, iso: string | null, timeOnly = false): string {
  if (iso === null) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(lang, timeOnly ? { timeStyle: 'medium' } : { dateStyle: 'short', timeStyle: 'medium' }).format(date);
}

const STATUS_KEYS: Record<Status, MessageKey> = {
  awaiting_terminal: 'statusAwaitingTerminal',
  dispatched: 'statusDispatched',
  accepted: 'statusAccepted',
  approved: 'statusApproved',
  denied: 'statusDenied',
  unknown: 'statusUnknown',
  aborting: 'statusAborting',
  reversing: 'statusReversing',
  reversal_unknown: 'statusReversalUnknown',
  cancelled: 'statusCancelled',
  expired: 'statusExpired',
};

/** The message key naming a payment status. */
export function statusKey(status: Status): MessageKey {
  return STATUS_KEYS[status];
}

/** What the screens use: the language, its messages and formats. */
export interface I18n {
  lang: Lang;
  t(key: MessageKey, vars?: Record<string, string | number>): string;
  money(amountMinor: number, currency: string): string;
  time(iso: string | null): string;
  status(status: Status): string;
}

/** An {@link I18n} of `lang`. */
export function i18nOf(lang: Lang): I18n {
  return {
    lang,
    t: (key, vars) => translate(lang, key, vars),
    money: (amountMinor, currency) => formatMoney(lang, amountMinor, currency),
    time: (iso) => formatTime(lang, iso),
    status: (status) => translate(lang, statusKey(status)),
  };
}

/** The console's language, provided by the app shell. */
export const I18nContext = createContext<I18n>(i18nOf('en'));

/** The current {@link I18n}. */
export function useI18n(): I18n {
  return useContext(I18nContext);
}

export { en, type Catalogue, type MessageKey };
