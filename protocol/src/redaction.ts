/**
 * The one redaction list of every posbridge log (server, terminal agent, simulator), and the
 * masking of token-bearing URL parts. I/O-free: each program passes {@link logRedaction} to its
 * own pino root logger, so one list decides what never reaches a log line.
 *
 * Two mechanisms, both needed:
 * - {@link REDACT_PATHS}: pino `redact` paths, for secrets that travel as object fields
 *   (credential headers, bearer tokens, `card` blocks, any `token`/`appToken`, PAN and track
 *   data). A field is censored whatever its value, so field names that are not secrets must not
 *   use these names (e.g. a frame's token *type* is logged as `tokenType`, not `token`).
 * - {@link maskTokenPaths}: secrets that travel inside strings (a Payment App token is the last
 *   segment of `/pos/v1/submit|status|terminals|cancel/<token>`; onboarding tokens and codes are query
 *   parameters). Applied to the whole serialized line (pino `hooks.streamWrite`), so a path in
 *   any field, in the message or in an error's stack is masked too. The password of a URL
 *   (`postgres://user:password@host/db`, {@link redactUrlPasswords}) is masked the same way.
 *
 * @see docs/ppp.md "Observability"
 */

/** What a redacted field reads. */
export const REDACT_CENSOR = '[redacted]';

/** What a masked token inside a path or query string reads. */
export const MASKED_TOKEN = '[token]';

/**
 * pino redaction paths (https://getpino.io/#/docs/redaction): PPP credentials in request
 * headers (both header spellings), bearer tokens and cookies, any `card` block, any `token` or
 * `appToken` field, server secrets, and card data (`pan`, `track2`) at the top level or one
 * level down.
 */
export const REDACT_PATHS: readonly string[] = [
  'req.headers["x-vtex-api-appkey"]',
  'req.headers["x-vtex-api-apptoken"]',
  'req.headers["x-provider-api-appkey"]',
  'req.headers["x-provider-api-apptoken"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers["x-vtex-api-appkey"]',
  'headers["x-vtex-api-apptoken"]',
  'headers.authorization',
  '*.headers.authorization',
  'card',
  '*.card',
  'body.card',
  'req.body.card',
  'token',
  '*.token',
  'config.token',
  'appToken',
  '*.appToken',
  'submitSecret',
  'pan',
  '*.pan',
  'track2',
  '*.track2',
];

/**
 * `/pos/v1/<route>/<token>`, plain or percent-encoded (a URL inside a query string), in any
 * letter case: express matches routes case-insensitively, so `/POS/V1/STATUS/<token>` is served.
 */
const TOKEN_PATH = /(\/pos\/v1\/(?:submit|status|terminals|cancel)\/)[^/?#&"'\s\\<>]+/gi;
const TOKEN_PATH_ENCODED = /(%2Fpos%2Fv1%2F(?:submit|status|terminals|cancel)%2F)[^%&?#"'\s\\<>]+/gi;
/** Query parameters that carry a secret: onboarding tokens and authorization codes. */
const TOKEN_QUERY = /([?&](?:token|authorizationCode)=)[^&#"'\s\\<>]+/g;

/**
 * Replaces every token in `text` by {@link MASKED_TOKEN}: the last segment of
 * `/pos/v1/submit|status|terminals|cancel/<token>` (also percent-encoded, any letter case) and the value of `token=` /
 * `authorizationCode=` query parameters. Idempotent; text without tokens is returned unchanged.
 * @param text - a path, URL, message or a whole serialized log line.
 */
export function maskTokenPaths(text: string): string {
  if (!/\/pos\/v1\/|%2Fpos%2Fv1%2F/i.test(text) && !/[?&](?:token|authorizationCode)=/.test(text)) return text;
  return text
    .replace(TOKEN_PATH, `$1${MASKED_TOKEN}`)
    .replace(TOKEN_PATH_ENCODED, `$1${MASKED_TOKEN}`)
    .replace(TOKEN_QUERY, `$1${MASKED_TOKEN}`);
}

/** `scheme://user:password@`: the password of a URL's user information. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s"'<>]*:)[^@/?#\s"'<>]+@/gi;

/**
 * Replaces the password of every URL in `text` (`postgres://user:password@host/db`,
 * `nats://user:password@host`) by {@link REDACT_CENSOR}, keeping scheme, user and host.
 * Idempotent; text without such URLs is returned unchanged.
 * @param text - a URL, message or a whole serialized log line.
 */
export function redactUrlPasswords(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_PASSWORD, `$1${REDACT_CENSOR}@`);
}

/** The pino options of {@link logRedaction} (structurally typed: protocol does not depend on pino). */
export interface LogRedactionOptions {
  readonly redact: { paths: string[]; censor: string };
  readonly hooks: { streamWrite: (line: string) => string };
}

/**
 * pino options every posbridge root logger spreads into its own:
 * `pino({ level, ...logRedaction() })`. Redacts {@link REDACT_PATHS} and masks tokens in every
 * serialized line ({@link maskTokenPaths}), and URL passwords ({@link redactUrlPasswords}).
 */
export function logRedaction(): LogRedactionOptions {
  return { redact: { paths: [...REDACT_PATHS], censor: REDACT_CENSOR }, hooks: { streamWrite: (line) => maskTokenPaths(redactUrlPasswords(line)) } };
}

/** A run of 12–19 digits, possibly split by single spaces or dashes (a PAN as typed or printed). */
const CARD_NUMBER = /(?<![0-9])[0-9](?:[ -]?[0-9]){11,18}(?![0-9])/g;
/** Track data sentinels: `%B…^…^…?` (track 1) and `;…=…?` (track 2). */
const TRACK_DATA = /%B[0-9]{12,19}\^[^?]*\?|;[0-9]{12,19}=[0-9]*\??/g;

/**
 * Replaces card numbers (runs of 12–19 digits, spaces or dashes allowed between them) and
 * magnetic-track data in `text` by {@link REDACT_CENSOR}. For free text that crosses a trust
 * boundary and is stored (an agent's trace event `reason`): card data never reaches a row or a
 * log even when a terminal or driver puts it in a message. Idempotent.
 * @see docs/tracing.md "Bounds and redaction"
 */
export function maskCardNumbers(text: string): string {
  return text.replace(TRACK_DATA, REDACT_CENSOR).replace(CARD_NUMBER, REDACT_CENSOR);
}
