/**
 * Language choice from the host's locale, and locale-aware formatting of amounts and the countdown.
 * Uses only `Intl`, which React Native (Hermes) and browsers both provide.
 */
import { MESSAGES, type Language, type Messages } from './messages.ts';

export { MESSAGES, type Language, type Messages, type ConnectorProblem } from './messages.ts';

/**
 * Picks the app's language from a host locale (BCP 47, `_` tolerated): any Portuguese → `pt-BR`,
 * any Spanish → `es`, anything else (or nothing) → `en`.
 */
export function pickLanguage(locale: string | null | undefined): Language {
  const tag = (locale ?? '').trim().replace(/_/g, '-').toLowerCase();
  if (tag === 'pt' || tag.startsWith('pt-')) return 'pt-BR';
  if (tag === 'es' || tag.startsWith('es-')) return 'es';
  return 'en';
}

/** The messages for a host locale. */
export function messagesFor(locale: string | null | undefined): Messages {
  return MESSAGES[pickLanguage(locale)];
}

/**
 * Formats integer minor units as a currency amount in the language's conventions
 * (`R$ 10,50`, `$10.50`). Falls back to `10.50 BRL` if `Intl` does not know the currency.
 */
export function formatAmount(amountMinor: number, currency: string, language: Language): string {
  try {
    const format = new Intl.NumberFormat(language, { style: 'currency', currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(amountMinor / 10 ** digits);
  } catch {
    return `${(amountMinor / 100).toFixed(2)} ${currency}`;
  }
}

/** `m:ss` for a countdown of whole seconds (negative counts as 0). */
export function formatClock(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
