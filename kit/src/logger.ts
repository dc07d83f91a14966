/**
 * The one root-logger factory of every posbridge program (server, terminal agent, simulator):
 * pino with posbridge's one redaction list and token masking (`@posbridge/protocol/redaction`)
 * and the standard `err` serializer. Each program names only its own base fields (its
 * `createRootLogger`, `createAgentLogger`, `createSimLogger`); everything else receives a logger
 * and makes children bound to `{ component }`.
 *
 * @see docs/ppp.md "Observability"
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { REDACT_PATHS as SHARED_REDACT_PATHS, logRedaction } from '@posbridge/protocol/redaction';

/**
 * The paths pino redacts on every line: the one list of `@posbridge/protocol/redaction` (the
 * same array, re-exported for the programs' own exports).
 */
export const REDACT_PATHS: readonly string[] = SHARED_REDACT_PATHS;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** pino level (`trace` … `fatal`, `silent`). */
  readonly level: string;
  /** Fields bound to every line, naming the program (e.g. `{ app: "posbridge-server" }`). */
  readonly base: Readonly<Record<string, unknown>>;
  /** Where lines go (newline-delimited JSON). @default stdout */
  readonly destination?: DestinationStream;
}

/**
 * Creates a process's root logger: `options.base` on every line, the shared paths redacted
 * (`[redacted]`), token-bearing paths masked in the whole serialized line (`[token]`), errors
 * under `err` serialized with message and stack.
 */
export function createLogger(options: LoggerOptions): Logger {
  const opts = {
    level: options.level,
    base: { ...options.base },
    ...logRedaction(),
    serializers: { err: pino.stdSerializers.err },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}
