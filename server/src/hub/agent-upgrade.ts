/**
 * The HTTP `upgrade` of an agent connection: path, bearer token (sha256 → `agents` table) and
 * the plain HTTP refusals sent before any WebSocket handshake.
 *
 * @see docs/protocol/ws.md "Connecting"
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { LINK_FEATURE_TRACE, parseLinkFeatures } from '@posbridge/protocol/ws';
import type { AgentRecord, PaymentStore } from '../ports/index.ts';
import { hashAgentToken, parseBearer } from './agent-tokens.ts';

/** The hub's WebSocket path. */
export const AGENT_WS_PATH = '/agent/v1';

/** Optional link features this hub speaks, answered on the 101 (docs/tracing.md "Link features"). */
export const HUB_LINK_FEATURES: readonly string[] = [LINK_FEATURE_TRACE];

/** The features of an agent's upgrade header (`x-posbridge-link-features`) this hub also speaks. */
export function agreedFeatures(header: string | string[] | undefined): ReadonlySet<string> {
  const offered = parseLinkFeatures(header);
  return new Set(HUB_LINK_FEATURES.filter((f) => offered.has(f)));
}

/** What {@link authenticateUpgrade} needs. */
export interface UpgradeDeps {
  readonly store: PaymentStore;
  readonly logger: Logger;
  /** True once the hub is closing (answered 503). */
  readonly closing: () => boolean;
  /** Completes the handshake for an authenticated agent. */
  readonly accept: (req: IncomingMessage, socket: Duplex, head: Buffer, agent: AgentRecord, tokenSha256: string) => void;
}

/**
 * Answers 404 for other paths, 401 without a valid agent token, 503 while closing, 500 when the
 * store fails; otherwise calls `accept` with the agent.
 */
export function authenticateUpgrade(deps: UpgradeDeps, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const log = deps.logger;
  socket.on('error', (err) => log.debug({ err }, 'upgrade socket error'));
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path !== AGENT_WS_PATH) return rejectUpgrade(socket, 404, 'WS_BAD_MESSAGE', 'no such WebSocket endpoint');
  if (deps.closing()) return rejectUpgrade(socket, 503, 'WS_UNAUTHORIZED', 'server is shutting down');
  const token = parseBearer(req.headers.authorization);
  if (!token) {
    log.warn({ remoteAddress: req.socket.remoteAddress }, 'agent upgrade without bearer token');
    return rejectUpgrade(socket, 401, 'WS_UNAUTHORIZED', 'agent token missing or not recognised');
  }
  const tokenSha256 = hashAgentToken(token);
  deps.store
    .findAgentByTokenHash(tokenSha256)
    .then((agent) => {
      if (!agent) {
        log.warn({ remoteAddress: req.socket.remoteAddress }, 'agent upgrade with unknown token');
        rejectUpgrade(socket, 401, 'WS_UNAUTHORIZED', 'agent token missing or not recognised');
        return;
      }
      if (deps.closing() || socket.destroyed) {
        rejectUpgrade(socket, 503, 'WS_UNAUTHORIZED', 'server is shutting down');
        return;
      }
      deps.accept(req, socket, head, agent, tokenSha256);
    })
    .catch((err: unknown) => {
      log.error({ err }, 'agent authentication failed');
      rejectUpgrade(socket, 500, 'WS_UNAUTHORIZED', 'internal error');
    });
}

const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  404: 'Not Found',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
function rejectUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ code, message, retryable: status >= 500 });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
  );
}
