/**
 * The `traceId` log field of a payment (docs/tracing.md "Logs"): every server log line about a
 * payment that has one carries it, so one search finds the payment across server, agent and
 * callback lines.
 */

/** `{ traceId }` of a payment that has a trace id, else nothing (payments stored before trace ids). */
export function traceField(p: { readonly traceId?: string } | null | undefined): { traceId?: string } {
  return p?.traceId === undefined ? {} : { traceId: p.traceId };
}
