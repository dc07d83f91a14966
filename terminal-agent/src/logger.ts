/**
 * The agent's root logger: pino with posbridge's one redaction list and token masking
 * (`@posbridge/protocol/redaction`, shared with the server and the simulator).
 *
 * @see docs/ppp.md "Observability"
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { REDACT_PATHS as SHARED_REDACT_PATHS, logRedaction } from '@posbridge/protocol/redaction';

/** Paths pino redacts in every log line: the list shared by server, agent and simulator. */
export const REDACT_PATHS: readonly string[] = SHARED_REDACT_PATHS;

/**
 * Creates the agent process's root logger, bound to `{ service: "posbridge-agent", pid }`.
 * @param level - pino level.
 * @param destination - where lines go; default stdout.
 */
export function createAgentLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: { service: 'posbridge-agent', pid: process.pid }, ...logRedaction() };
  return destination ? pino(options, destination) : pino(options);
}
