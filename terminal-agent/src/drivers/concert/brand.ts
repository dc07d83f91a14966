/**
 * Card brand from the first digits (IIN ranges), for the card summary of dialects whose
 * answers carry no brand (Concert E+). Coarse on purpose: an unknown range is `unknown`.
 * The Brazilian brands come first: Elo's ranges sit inside Visa's (4…), Maestro's (50…) and
 * Discover's (65…). Ranges as published in braintree/credit-card-type.
 */

/** Elo BINs: single values or inclusive [from, to] ranges of the first 6 digits. */
const ELO_BINS: readonly (number | readonly [number, number])[] = [
  401178, 401179, 431274, 438935, 451416, 457393, 457631, 457632, 504175, [506699, 506778], [509000, 509999],
  627780, 636297, 636368, [650031, 650033], [650035, 650051], [650405, 650439], [650485, 650538], [650541, 650598],
  [650700, 650718], [650720, 650727], [650901, 650978], [651652, 651679], [655000, 655019], [655021, 655058],
];

/** Hipercard BINs (first 6 digits). */
const HIPERCARD_BINS: readonly number[] = [606282, 384100, 384140, 384160];

/** Brand name of a 6-digit BIN, as VTEX shows it. */
export function brandOfBin(bin: string): string {
  const n2 = Number(bin.slice(0, 2));
  const n4 = Number(bin.slice(0, 4));
  const n6 = Number(bin.slice(0, 6));
  if (bin.length >= 6 && ELO_BINS.some((b) => (typeof b === 'number' ? n6 === b : n6 >= b[0] && n6 <= b[1]))) return 'Elo';
  if (bin.length >= 6 && HIPERCARD_BINS.includes(n6)) return 'Hipercard';
  if (bin.startsWith('4')) return 'Visa';
  if ((n2 >= 51 && n2 <= 55) || (n4 >= 2221 && n4 <= 2720)) return 'Mastercard';
  if (n2 === 34 || n2 === 37) return 'American Express';
  if (n4 >= 3528 && n4 <= 3589) return 'JCB';
  if (bin.startsWith('62')) return 'UnionPay';
  if (bin.startsWith('6011') || bin.startsWith('65') || (n6 >= 644000 && n6 <= 649999)) return 'Discover';
  if (n2 === 36 || (n4 >= 3000 && n4 <= 3059)) return 'Diners';
  return 'unknown';
}
