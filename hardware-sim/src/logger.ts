/**
 * The simulator's root logger: the kit's one factory (`@posbridge/kit/logger`: pino with
 * posbridge's one redaction list and token masking from `@posbridge/protocol/redaction`, shared
 * with the server and the agent), bound to the simulator's name.
 *
 * @see docs/ppp.md "Observability"
 */
import type { DestinationStream, Logger } from 'pino';
import { createLogger } from '@posbridge/kit/logger';

/**
 * Creates the simulator process's root logger, bound to `{ app: "posbridge-sim" }`.
 * @param level - pino level.
 * @param destination - where lines go (stderr or the log file).
 */
export function createSimLogger(level: string, destination: DestinationStream): Logger {
  return createLogger({ level, base: { app: 'posbridge-sim' }, destination });
}
