/**
 * The agent's root logger: the kit's one factory (`@posbridge/kit/logger`: pino with posbridge's
 * one redaction list and token masking from `@posbridge/protocol/redaction`, shared with the
 * server and the simulator), bound to the agent's name.
 *
 * @see docs/ppp.md "Observability"
 */
import type { DestinationStream, Logger } from 'pino';
import { REDACT_PATHS as SHARED_REDACT_PATHS, createLogger } from '@posbridge/kit/logger';

/** Paths pino redacts in every log line: the list shared by server, agent and simulator. */
export const REDACT_PATHS: readonly string[] = SHARED_REDACT_PATHS;

/**
 * Creates the agent process's root logger, bound to `{ service: "posbridge-agent", pid }`.
 * @param level - pino level.
 * @param destination - where lines go; default stdout.
 */
export function createAgentLogger(level: string, destination?: DestinationStream): Logger {
  return createLogger({ level, base: { service: 'posbridge-agent', pid: process.pid }, ...(destination ? { destination } : {}) });
}
