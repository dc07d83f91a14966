/**
 * Agent credentials: a random 32-byte base64url bearer token per agent, stored only as its
 * sha256 hex. The plain token is shown once, when issued.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { CodedError } from '@posbridge/protocol/errors';
import type { PaymentStore } from '../ports/index.ts';

/** An agent as issued: the token is not stored anywhere and cannot be shown again. */
export interface IssuedAgentToken {
  readonly agentId: string;
  readonly token: string;
}

/** sha256 hex of an agent token (the only form that is stored). */
export function hashAgentToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function parseBearer(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]{16,512})[ \t]*$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * Creates an agent named `agentName` with a fresh token, serving `storeId` (default: the
 * bootstrap merchant's default store).
 * @throws CodedError `CFG_INVALID` for an empty or over-long name; `STORE_FAILED`.
 */
export async function issueAgentToken(
  store: PaymentStore,
  agentName: string,
  now: number,
  storeId?: string,
): Promise<IssuedAgentToken> {
  const name = agentName.trim();
  if (name.length === 0 || name.length > 100) {
    throw new CodedError('CFG_INVALID', 'agent name must be 1–100 characters');
  }
  const agentId = `ag_${randomUUID().replaceAll('-', '')}`;
  const token = randomBytes(32).toString('base64url');
  await store.createAgent({ agentId, name, createdAt: now, storeId: storeId ?? null }, hashAgentToken(token));
  return { agentId, token };
}
