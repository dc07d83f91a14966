/**
 * The simulator's root logger: pino with posbridge's one redaction list and token masking
 * (`@posbridge/protocol/redaction`, shared with the server and the agent).
 *
 * @see docs/ppp.md "Observability"
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { logRedaction } from '@posbridge/protocol/redaction';

/**
 * Creates the simulator process's root logger, bound to `{ app: "posbridge-sim" }`.
 * @param level - pino level.
 * @param destination - where lines go (stderr or the log file).
 */
export function createSimLogger(level: string, destination: DestinationStream): Logger {
  return pino({ level, base: { app: 'posbridge-sim' }, ...logRedaction() }, destination);
}
