/**
 * The server's root logger: the kit's one factory (`@posbridge/kit/logger`: pino with the one
 * redaction list of `@posbridge/protocol/redaction`, token masking, `err` serializer), bound to
 * the server's name.
 *
 * Only `main.ts` (and the CLI) create a root logger; everything else receives one and makes
 * children bound to `{ component }`. Redaction lives on the root, so callers that build their
 * own pino instance should spread `logRedaction()` of `@posbridge/protocol/redaction` too.
 *
 * @see CONTRIBUTING.md "Logging"
 */
import type { DestinationStream, Logger } from 'pino';
import { REDACT_PATHS as SHARED_REDACT_PATHS, createLogger } from '@posbridge/kit/logger';

/**
 * pino redaction paths: the one list shared by server, agent and simulator
 * (`@posbridge/protocol/redaction`): credentials in request headers (both PPP spellings), agent
 * bearer tokens, any `card` block, any `token`/`appToken` field, card data. Card data never
 * reaches posbridge for POS payments, but a stray log of a raw body must still not carry it.
 */
export const REDACT_PATHS: readonly string[] = SHARED_REDACT_PATHS;

/** Options of {@link createRootLogger}. */
export interface RootLoggerOptions {
  /** pino level. */
  level: string;
  /** Where lines go; default stdout. */
  destination?: DestinationStream;
  /** This server instance's id (ServerConfig `instanceId`), bound to every line when given. */
  instanceId?: string;
}

/**
 * Creates the process's root logger with posbridge's redaction (the shared paths, and every
 * token-bearing path masked on every line: `maskTokenPaths`) and `err` serializer.
 * @returns a pino logger bound to `{ app: "posbridge-server" }` (and `instanceId` when given).
 */
export function createRootLogger(options: RootLoggerOptions): Logger {
  const base = { app: 'posbridge-server', ...(options.instanceId === undefined ? {} : { instanceId: options.instanceId }) };
  return createLogger({ level: options.level, base, ...(options.destination ? { destination: options.destination } : {}) });
}
