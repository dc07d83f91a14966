/**
 * Card brand from the first digits (IIN ranges), for the card summary of dialects whose
 * answers carry no brand (Concert E+). Coarse on purpose: an unknown range is `unknown`.
 */

/** Brand name of a 6-digit BIN, as VTEX shows it. */
export function brandOfBin(bin: string): string {
  const n2 = Number(bin.slice(0, 2));
  const n4 = Number(bin.slice(0, 4));
  const n6 = Number(bin.slice(0, 6));
  if (bin.startsWith('4')) return 'Visa';
  if ((n2 >= 51 && n2 <= 55) || (n4 >= 2221 && n4 <= 2720)) return 'Mastercard';
  if (n2 === 34 || n2 === 37) return 'American Express';
  if (n4 >= 3528 && n4 <= 3589) return 'JCB';
  if (bin.startsWith('62')) return 'UnionPay';
  if (bin.startsWith('6011') || bin.startsWith('65') || (n6 >= 644000 && n6 <= 649999)) return 'Discover';
  if (n2 === 36 || (n4 >= 3000 && n4 <= 3059)) return 'Diners';
  return 'unknown';
}
