/**
 * Root logger factory and the central list of redaction paths.
 *
 * Only `main.ts` (and the CLI) create a root logger; everything else receives one and makes
 * children bound to `{ component }`. Redaction lives on the root, so callers that build their
 * own pino instance should pass {@link REDACT_PATHS} too.
 *
 * @see ../../../shared/STYLE.md b.7
 */
import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * pino redaction paths: credentials in request headers (both PPP spellings), agent bearer
 * tokens, any `card` block and any `token` field. Card data never reaches posbridge for POS
 * payments, but a stray log of a raw body must still not carry it.
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
  'card',
  '*.card',
  'body.card',
  'req.body.card',
  'token',
  '*.token',
  'appToken',
  '*.appToken',
  'submitSecret',
];

/** Options of {@link createRootLogger}. */
export interface RootLoggerOptions {
  /** pino level. */
  level: string;
  /** Where lines go; default stdout. */
  destination?: DestinationStream;
}

/**
 * Creates the process's root logger with posbridge's redaction and `err` serializer.
 * @returns a pino logger bound to `{ app: "posbridge-server" }`.
 */
export function createRootLogger(options: RootLoggerOptions): Logger {
  const opts = {
    level: options.level,
    base: { app: 'posbridge-server' },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}
