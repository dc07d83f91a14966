/**
 * The day of the end-of-day totals (docs/totals.md "Which day"): a calendar date in an IANA time
 * zone (default `UTC`) as the window [local midnight, next local midnight) in ms since epoch.
 * A merchant has no time zone on record, so the caller names one (`--tz`, `?tz=`); days of a
 * daylight-saving change are 23 or 25 hours long. Pure: uses only `Intl` (no clock).
 */

/** A `YYYY-MM-DD` date. */
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The offset of `zone` at instant `t`: local wall time − UTC, ms. */
function offsetAt(zone: Intl.DateTimeFormat, t: number): number {
  const parts = Object.fromEntries(zone.formatToParts(new Date(t)).map((p) => [p.type, p.value]));
  const local = Date.UTC(Number(parts['year']), Number(parts['month']) - 1, Number(parts['day']), Number(parts['hour']), Number(parts['minute']), Number(parts['second']));
  return local - Math.floor(t / 1000) * 1000;
}

/** The instant of local midnight of (y, m, d) in `zone`. */
function midnight(zone: Intl.DateTimeFormat, y: number, m: number, d: number): number {
  const wall = Date.UTC(y, m - 1, d);
  // Two passes: the offset at the guess, then at the corrected instant (DST edges).
  const first = wall - offsetAt(zone, wall);
  return wall - offsetAt(zone, first);
}

/**
 * The window of `date` in `timeZone`.
 * @throws RangeError for a date that is not `YYYY-MM-DD` of a real day, or an unknown time zone.
 */
export function dayWindow(date: string, timeZone = 'UTC'): { from: number; to: number } {
  const m = DATE.exec(date);
  if (!m) throw new RangeError(`date must be YYYY-MM-DD, got ${JSON.stringify(date.slice(0, 40))}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) throw new RangeError(`no such day: ${date}`);
  let zone: Intl.DateTimeFormat;
  try {
    zone = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  } catch {
    throw new RangeError(`unknown time zone ${JSON.stringify(timeZone.slice(0, 64))} (an IANA name such as America/Sao_Paulo, or UTC)`);
  }
  const next = new Date(Date.UTC(y, mo - 1, d + 1));
  return { from: midnight(zone, y, mo, d), to: midnight(zone, next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate()) };
}
