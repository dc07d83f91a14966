/**
 * Parse and serialise hub⇄agent WebSocket frames. Incoming frames are `unknown` until they
 * pass through here; nothing inside the server or agent ever sees a raw `JSON.parse` result.
 *
 * @see docs/protocol/ws.md
 */
import { z } from 'zod';
import type { WireError } from '../errors.ts';
import {
  AgentMessageSchema,
  PROTOCOL_VERSION,
  ServerMessageSchema,
  type AgentMessage,
  type ServerMessage,
} from './messages.ts';

/** Outcome of decoding one frame. On failure, `ref` is the frame's `id` when it had one. */
export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: WireError; ref?: string };

/** Longest message `id` (and `ref`) the schemas accept. */
const MAX_ID_LENGTH = 64;

/** Longest frame either side accepts, in bytes of UTF-8 text. */
export const MAX_FRAME_BYTES = 64 * 1024;

function decodeWith<T>(schema: z.ZodType<T>, text: string): DecodeResult<T> {
  if (text.length > MAX_FRAME_BYTES) {
    return { ok: false, error: { code: 'WS_BAD_MESSAGE', message: 'frame too large', retryable: false } };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: { code: 'WS_BAD_MESSAGE', message: 'frame is not JSON', retryable: false } };
  }
  // Echo the frame's id as `ref` only when it is a valid id: a refused frame's id may be the
  // very thing that is wrong (too long, empty), and `ref` must stay encodable in the error.
  const id = typeof json === 'object' && json !== null ? (json as { id?: unknown }).id : undefined;
  const ref = typeof id === 'string' && id.length >= 1 && id.length <= MAX_ID_LENGTH ? { ref: id } : {};
  const version = typeof json === 'object' && json !== null ? (json as { v?: unknown }).v : undefined;
  if (version !== PROTOCOL_VERSION) {
    return {
      ok: false,
      error: {
        code: 'WS_UNSUPPORTED_VERSION',
        message: `protocol version ${JSON.stringify(version)} not supported; this side speaks ${PROTOCOL_VERSION}`,
        retryable: false,
      },
      ...ref,
    };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { ok: false, error: { code: 'WS_BAD_MESSAGE', message: detail.slice(0, 480), retryable: false }, ...ref };
  }
  return { ok: true, value: parsed.data };
}

/** Decodes a frame an agent sent (used by the server's hub). Never throws. */
export function decodeAgentMessage(text: string): DecodeResult<AgentMessage> {
  return decodeWith(AgentMessageSchema, text);
}

/** Decodes a frame the server sent (used by the agent). Never throws. */
export function decodeServerMessage(text: string): DecodeResult<ServerMessage> {
  return decodeWith(ServerMessageSchema, text);
}

/**
 * Serialises a message after checking it against its schema, so a bug on the sending side
 * fails loudly here rather than as a refused frame on the other side.
 * @throws ZodError when `message` does not match the schema.
 */
export function encodeMessage(message: AgentMessage | ServerMessage): string {
  return JSON.stringify(AnyMessageSchema.parse(message));
}

const AnyMessageSchema = z.union([AgentMessageSchema, ServerMessageSchema]);
