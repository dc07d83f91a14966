/**
 * Agent enrolment (issue 14 item 4, docs/agent-enrolment.md): pairing codes that an operator
 * creates for a store and an agent exchanges once for its token, and the rotation and revocation
 * of agent tokens.
 *
 * Invariants every adapter keeps:
 * - A pairing code is stored only as the sha256 hex of its normalised text; it is redeemed at most
 *   once, before `expiresAt`, and its redemption creates the agent in the same transaction (of
 *   concurrent redemptions of one code, on any instance, exactly one gets an agent).
 * - A redeemed or expired code stays readable (as `used` / `expired`) until
 *   {@link PAIRING_KEEP_MS} after its expiry, so a second attempt is told why; each creation
 *   removes up to {@link PAIRING_PURGE_PER_CREATE} rows older than that.
 * - Rotating or revoking a token replaces the agent's `token_sha256` and stamps
 *   `credentials_changed_at`; the old token then matches no agent (the hub's upgrade refuses it,
 *   and its credential watch closes a session still open with it). A revoked agent keeps its row
 *   (terminals, events and payments refer to it) with a token hash nobody holds, and cannot be
 *   rotated back to life.
 *
 * Times are ms since epoch, passed in (no adapter reads a clock).
 */
import type { AgentRecord } from './directory.ts';
import type { NewAuditEntry } from './admin.ts';

/** Expired or used codes each creation removes. */
export const PAIRING_PURGE_PER_CREATE = 4;

/** How long after its expiry a code's row is kept, so a late attempt hears `used` or `expired` (ms). */
export const PAIRING_KEEP_MS = 24 * 60 * 60 * 1000;

/** Longest agent name, characters (as `agent add`). */
export const MAX_AGENT_NAME_LENGTH = 100;

/** Longest actor kept on a code, characters. */
export const MAX_PAIRING_ACTOR_LENGTH = 200;

/** A pairing code to store. */
export interface NewPairingCode {
  /** sha256 of the normalised code, lowercase hex (64 characters). */
  readonly codeSha256: string;
  /** The store the agent will serve (it must exist), and its merchant. */
  readonly merchantId: string;
  readonly storeId: string;
  /** Name the agent gets (1…{@link MAX_AGENT_NAME_LENGTH} characters). */
  readonly agentName: string;
  /** Who created it: `cli:<os user>` or `admin:<account>` (≤ {@link MAX_PAIRING_ACTOR_LENGTH}). */
  readonly createdBy: string;
  readonly createdAt: number;
  /** End of validity, ms since epoch (exclusive: at `expiresAt` it is expired). */
  readonly expiresAt: number;
}

/** Outcome of {@link AgentEnrolmentPort.createPairingCode}. */
export type PairingCreateResult = 'created' | 'full';

/** Outcome of {@link AgentEnrolmentPort.redeemPairingCode}. */
export type PairingRedeemResult =
  | { readonly kind: 'paired'; readonly agent: AgentRecord; readonly merchantId: string; readonly storeId: string; readonly createdBy: string }
  | { readonly kind: 'used'; readonly usedAt: number }
  | { readonly kind: 'expired'; readonly expiredAt: number }
  | { readonly kind: 'unknown' };

/** Outcome of {@link AgentEnrolmentPort.rotateAgentToken}. */
export type RotateResult = 'rotated' | 'revoked' | 'unknown';

/** Outcome of {@link AgentEnrolmentPort.revokeAgent}. */
export type RevokeResult = 'revoked' | 'already_revoked' | 'unknown';

/** An agent whose token changed (rotated or revoked) at `changedAt`. */
export interface AgentCredentialChange {
  readonly agentId: string;
  /** The hash a session must have been opened with to stay (a revoked agent's matches nobody). */
  readonly tokenSha256: string;
  readonly revoked: boolean;
  readonly changedAt: number;
}

/** Pairing codes and agent credentials. All methods may reject with `CodedError('STORE_FAILED')`, also for inputs out of bounds. */
export interface AgentEnrolmentPort {
  /**
   * Stores a code unless the store already has `maxPendingPerStore` codes pending at
   * `code.createdAt` (checked and inserted atomically). A digest already stored is refused
   * (`STORE_FAILED`); so is an unknown store. `audit` (the admin audit row, ./admin.ts) is
   * appended in the same transaction when the code is `created`; a refused row rolls it back.
   */
  createPairingCode(code: NewPairingCode, maxPendingPerStore: number, audit?: NewAuditEntry): Promise<PairingCreateResult>;
  /**
   * Redeems the code of digest `codeSha256` at `now`: marks it used and creates the agent
   * `agent.agentId` with `agent.tokenSha256`, the code's name and store, in one transaction.
   * `audit` (when given) is appended in that transaction when `paired`.
   * @returns `paired`, or why not (`used`, `expired`, `unknown`) with nothing written.
   */
  redeemPairingCode(
    codeSha256: string,
    agent: { readonly agentId: string; readonly tokenSha256: string },
    now: number,
    audit?: NewAuditEntry,
  ): Promise<PairingRedeemResult>;
  /**
   * Replaces the token hash of a live agent, with `audit` (when given) in the same transaction.
   * @returns `revoked` (nothing written) for a revoked agent.
   */
  rotateAgentToken(agentId: string, tokenSha256: string, now: number, audit?: NewAuditEntry): Promise<RotateResult>;
  /**
   * Revokes the agent: its token hash becomes `discardedTokenSha256` (the hash of a value
   * nobody keeps) and it is marked revoked, with `audit` (when given) in the same transaction;
   * nothing is written when it was revoked already.
   */
  revokeAgent(agentId: string, discardedTokenSha256: string, now: number, audit?: NewAuditEntry): Promise<RevokeResult>;
  /** The store `storeId` with its merchant (what a pairing code is made for), or null when there is none. */
  storeForPairing(storeId: string): Promise<{ readonly storeId: string; readonly merchantId: string; readonly name: string } | null>;
  /** Agents whose credentials changed at or after `since`, oldest change first, at most `limit`. */
  listAgentCredentialChanges(since: number, limit: number): Promise<AgentCredentialChange[]>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Why `code` is out of bounds, or undefined (the adapters refuse such calls with `STORE_FAILED`). */
export function pairingCodeProblem(code: NewPairingCode): string | undefined {
  if (!SHA256_HEX.test(code.codeSha256)) return 'code digest must be 64 lowercase hex characters';
  if (code.agentName.length === 0 || code.agentName.length > MAX_AGENT_NAME_LENGTH) return `agent name must be 1…${MAX_AGENT_NAME_LENGTH} characters`;
  if (code.createdBy.length === 0 || code.createdBy.length > MAX_PAIRING_ACTOR_LENGTH) return `createdBy must be 1…${MAX_PAIRING_ACTOR_LENGTH} characters`;
  if (!Number.isSafeInteger(code.createdAt) || !Number.isSafeInteger(code.expiresAt) || code.expiresAt <= code.createdAt) return 'expiresAt must be an integer after createdAt';
  return undefined;
}

/** Why a token digest is out of bounds, or undefined. */
export function tokenDigestProblem(tokenSha256: string): string | undefined {
  return SHA256_HEX.test(tokenSha256) ? undefined : 'token digest must be 64 lowercase hex characters';
}
