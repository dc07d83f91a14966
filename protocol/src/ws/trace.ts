/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) as posbridge uses it: one trace id per
 * payment, carried from the PPP request (`traceparent` header) through the agent commands
 * (`traceparent` field), the agent's logs and per-payment events, to the callback POST. Also the
 * per-payment trace events an agent reports (`payment.events`, ./messages.ts) and the one
 * feature header agent and hub use to agree that both speak them. I/O-free: randomness comes from
 * the Web Crypto API (`globalThis.crypto`), present in Node ≥ 20 and browsers.
 *
 * @see docs/tracing.md
 */
import { z } from 'zod';

/** `version-traceid-parentid-flags`, version 00 only, lower-case hex (W3C Trace Context §3.2). */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** Length of a version-00 `traceparent` value. */
export const TRACEPARENT_LENGTH = 55;

/** The parts of a valid `traceparent`. */
export interface TraceContext {
  /** 32 lower-case hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lower-case hex digits, not all zero (the caller's span). */
  readonly parentId: string;
  /** 2 hex digits (`01` = sampled). */
  readonly flags: string;
}

/**
 * Parses a `traceparent` strictly: version `00`, a 32-hex trace id and a 16-hex parent id, both
 * lower case and not all zero, 2-hex flags, nothing more (55 characters). Anything else —
 * another version, upper case, extra fields, an array of headers — is `null` (the caller then
 * starts a fresh trace; docs/tracing.md "Incoming traceparent").
 */
export function parseTraceparent(value: unknown): TraceContext | null {
  if (typeof value !== 'string' || value.length !== TRACEPARENT_LENGTH) return null;
  const m = TRACEPARENT.exec(value);
  if (!m) return null;
  const [, traceId, parentId, flags] = m as unknown as [string, string, string, string];
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return null;
  return { traceId, parentId, flags };
}

/** True when `traceId` is 32 lower-case hex digits, not all zero. */
export function isTraceId(traceId: unknown): traceId is string {
  return typeof traceId === 'string' && /^[0-9a-f]{32}$/.test(traceId) && traceId !== ZERO_TRACE;
}

function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  // Typed structurally: the Payment App's type check has neither DOM nor Node types.
  (globalThis as unknown as { crypto: { getRandomValues(array: Uint8Array): Uint8Array } }).crypto.getRandomValues(buf);
  return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A random trace id (16 random bytes as 32 hex digits; never all zero). */
export function newTraceId(): string {
  for (;;) {
    const id = randomHex(16);
    if (id !== ZERO_TRACE) return id;
  }
}

/** A random span id (8 random bytes as 16 hex digits; never all zero). */
export function newSpanId(): string {
  for (;;) {
    const id = randomHex(8);
    if (id !== ZERO_SPAN) return id;
  }
}

/**
 * The `traceparent` of a new span in trace `traceId`: `00-<traceId>-<spanId>-01` (sampled).
 * @param spanId - default a new random one.
 * @throws RangeError when `traceId` or `spanId` is not valid.
 */
export function formatTraceparent(traceId: string, spanId: string = newSpanId()): string {
  const value = `00-${traceId}-${spanId}-01`;
  if (parseTraceparent(value) === null) throw new RangeError('formatTraceparent: invalid trace or span id');
  return value;
}

/** Schema of a `traceparent` field on the agent link: strictly valid (see {@link parseTraceparent}). */
export const TraceparentSchema = z
  .string()
  .length(TRACEPARENT_LENGTH)
  .refine((v) => parseTraceparent(v) !== null, { message: 'not a valid W3C traceparent (version 00)' });

/**
 * Upgrade header (request and 101 answer) naming the optional link features a side speaks,
 * comma-separated. The agent sends it on its upgrade; the hub answers it on the 101. Only when
 * both name {@link LINK_FEATURE_TRACE} does the hub put `traceparent` on commands and the agent
 * send `payment.events` (strict schemas: a peer that does not know a field refuses the frame).
 */
export const LINK_FEATURES_HEADER = 'x-posbridge-link-features';

/** Feature: `traceparent` on commands and `payment.events` reports. */
export const LINK_FEATURE_TRACE = 'trace';

/** The features named in a {@link LINK_FEATURES_HEADER} value (bounded: 16 names of ≤ 32 characters). */
export function parseLinkFeatures(value: string | string[] | undefined): Set<string> {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  const out = new Set<string>();
  for (const part of text.slice(0, 600).split(',').slice(0, 16)) {
    const name = part.trim().toLowerCase();
    if (/^[a-z0-9-]{1,32}$/.test(name)) out.add(name);
  }
  return out;
}
