/**
 * Agent enrolment as a product (issue 14 item 4, docs/agent-enrolment.md): an operator creates
 * a pairing code for a store (CLI `agent pair-code`, or the console through
 * ../admin-ext/pairing-routes.ts); the agent exchanges it once for its token
 * (`POST /agent/v1/pair`, ./pairing-router.ts); operators rotate and revoke tokens. Each action
 * writes its admin audit row in the store transaction of the change (./audit.ts `adminAuditRow`)
 * and, once committed, is told to the {@link AuditSink} (the log); rotation and revocation tell the hub at once
 * ({@link EnrolmentDeps.credentialsChanged}), and every instance's credential watch
 * (../hub/credential-watch.ts) closes sessions opened with a token that no longer holds.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { CodedError } from '@posbridge/protocol/errors';
import type { PaymentStore } from '../ports/index.ts';
import { MAX_AGENT_NAME_LENGTH } from '../ports/agent-enrolment.ts';
import { hashAgentToken } from '../hub/agent-tokens.ts';
import { adminAuditRow, type AuditEntry, type AuditSink } from './audit.ts';
import { formatPairingCode, newPairingCode, normalisePairingCode, pairingCodeDigest } from './pairing-code.ts';

/** How long a pairing code is valid, ms (15 minutes). */
export const PAIRING_CODE_TTL_MS = 15 * 60 * 1000;

/** Pending (unused, unexpired) codes a store may hold. */
export const MAX_PENDING_CODES_PER_STORE = 20;

/** What {@link AgentEnrolment} needs. */
export interface EnrolmentDeps {
  readonly store: PaymentStore;
  /** Told each committed action (its admin audit row is already stored with it): the audit log line. */
  readonly audit: AuditSink;
  /** Clock, ms since epoch. */
  readonly now: () => number;
  /** Called after an agent's token was rotated or revoked (the hub closes its sessions at once). */
  readonly credentialsChanged?: (agentId: string) => void;
}

/** A code as shown once to the operator. */
export interface IssuedPairingCode {
  /** `XXXXX-XXXXX`. Secret until used: shown once, stored only as a digest. */
  readonly code: string;
  readonly merchantId: string;
  readonly storeId: string;
  readonly agentName: string;
  /** ms since epoch. */
  readonly expiresAt: number;
}

/** What a successful pairing hands to the agent. */
export interface Pairing {
  readonly agentId: string;
  readonly agentName: string;
  /** The agent's bearer token; shown only in this answer. */
  readonly token: string;
  readonly merchantId: string;
  readonly storeId: string;
}

/** The enrolment use cases. */
export class AgentEnrolment {
  readonly #d: EnrolmentDeps;

  constructor(deps: EnrolmentDeps) {
    this.#d = deps;
  }

  /**
   * Creates a pairing code for `storeId` of `merchantId`; the agent it pairs is named `agentName`
   * (default: `agent <date>`).
   * @throws CodedError `CFG_INVALID` (name out of bounds), `AGENT_PAIRING_LIMIT`, `STORE_FAILED` (also: no such store of that merchant).
   */
  async createPairingCode(input: { merchantId: string; storeId: string; agentName?: string; actor: string }): Promise<IssuedPairingCode> {
    const now = this.#d.now();
    const agentName = (input.agentName ?? `agent ${new Date(now).toISOString().slice(0, 10)}`).trim();
    if (agentName.length === 0 || agentName.length > MAX_AGENT_NAME_LENGTH) {
      throw new CodedError('CFG_INVALID', `agent name must be 1–${MAX_AGENT_NAME_LENGTH} characters`);
    }
    const code = newPairingCode();
    const expiresAt = now + PAIRING_CODE_TTL_MS;
    const entry: AuditEntry = {
      action: 'agent.pair_code.created',
      actor: input.actor,
      target: `store:${input.storeId}`,
      at: now,
      merchantId: input.merchantId,
      details: { agentName, expiresAt: new Date(expiresAt).toISOString() },
    };
    const created = await this.#d.store.createPairingCode(
      { codeSha256: pairingCodeDigest(code), merchantId: input.merchantId, storeId: input.storeId, agentName, createdBy: input.actor, createdAt: now, expiresAt },
      MAX_PENDING_CODES_PER_STORE,
      adminAuditRow(entry),
    );
    if (created === 'full') throw new CodedError('AGENT_PAIRING_LIMIT', `store ${input.storeId} has ${MAX_PENDING_CODES_PER_STORE} pending pairing codes`);
    await this.#d.audit.record(entry);
    return { code: formatPairingCode(code), merchantId: input.merchantId, storeId: input.storeId, agentName, expiresAt };
  }

  /**
   * Exchanges a typed code for a new agent and its token.
   * @param source - who asked (address), for the audit entry.
   * @throws CodedError `AGENT_PAIRING_CODE_UNKNOWN` (also for text that cannot be a code),
   *   `AGENT_PAIRING_CODE_USED`, `AGENT_PAIRING_CODE_EXPIRED`, `STORE_FAILED`.
   */
  async pair(typed: string, source: string): Promise<Pairing> {
    const code = normalisePairingCode(typed);
    if (code === null) throw new CodedError('AGENT_PAIRING_CODE_UNKNOWN', 'not a pairing code: 10 characters of 0-9 and A-Z without I, L, O, U');
    const now = this.#d.now();
    const agentId = `ag_${randomUUID().replaceAll('-', '')}`;
    const token = randomBytes(32).toString('base64url');
    const row = adminAuditRow({ action: 'agent.paired', actor: `agent:${agentId}`, target: `agent:${agentId}`, at: now });
    const result = await this.#d.store.redeemPairingCode(pairingCodeDigest(code), { agentId, tokenSha256: hashAgentToken(token) }, now, row);
    switch (result.kind) {
      case 'unknown':
        throw new CodedError('AGENT_PAIRING_CODE_UNKNOWN');
      case 'used':
        throw new CodedError('AGENT_PAIRING_CODE_USED', `this pairing code was used at ${new Date(result.usedAt).toISOString()}; each code pairs one agent: ask for a new code`);
      case 'expired':
        throw new CodedError('AGENT_PAIRING_CODE_EXPIRED', `this pairing code expired at ${new Date(result.expiredAt).toISOString()}; ask for a new code`);
      case 'paired':
        await this.#d.audit.record({
          action: 'agent.paired',
          actor: `agent:${agentId}`,
          target: `agent:${agentId}`,
          at: now,
          merchantId: result.merchantId,
          details: { storeId: result.storeId, agentName: result.agent.name, codeCreatedBy: result.createdBy, source },
        });
        return { agentId, agentName: result.agent.name, token, merchantId: result.merchantId, storeId: result.storeId };
      default: {
        const never: never = result;
        throw new Error(`unexpected redemption ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * Gives the agent a new token (returned, shown once); the old one is refused from now on and
   * a session still open with it is closed.
   * @throws CodedError `ADMIN_AGENT_UNKNOWN`, `ADMIN_AGENT_REVOKED`, `STORE_FAILED`.
   */
  async rotateToken(agentId: string, actor: string): Promise<{ agentId: string; token: string }> {
    const now = this.#d.now();
    const token = randomBytes(32).toString('base64url');
    const entry: AuditEntry = { action: 'agent.token.rotated', actor, target: `agent:${agentId}`, at: now };
    const result = await this.#d.store.rotateAgentToken(agentId, hashAgentToken(token), now, adminAuditRow(entry));
    if (result === 'unknown') throw new CodedError('ADMIN_AGENT_UNKNOWN', `no agent with id ${agentId}`);
    if (result === 'revoked') throw new CodedError('ADMIN_AGENT_REVOKED', `agent ${agentId} is revoked: pair a new agent instead`);
    const owner = await this.#d.store.agentOwner(agentId);
    await this.#d.audit.record({ ...entry, ...(owner ? { merchantId: owner.merchantId } : {}) });
    this.#d.credentialsChanged?.(agentId);
    return { agentId, token };
  }

  /**
   * Revokes the agent for good: its token is refused and its open sessions are closed.
   * @returns false when it was revoked already (nothing changed, nothing recorded).
   * @throws CodedError `ADMIN_AGENT_UNKNOWN`, `STORE_FAILED`.
   */
  async revoke(agentId: string, actor: string, reason?: string): Promise<boolean> {
    const now = this.#d.now();
    // The hash of 32 random bytes nobody keeps: no token can match it.
    const discarded = hashAgentToken(randomBytes(32).toString('base64url'));
    const entry: AuditEntry = {
      action: 'agent.revoked',
      actor,
      target: `agent:${agentId}`,
      at: now,
      ...(reason === undefined ? {} : { details: { reason: reason.slice(0, 500) } }),
    };
    const result = await this.#d.store.revokeAgent(agentId, discarded, now, adminAuditRow(entry));
    if (result === 'unknown') throw new CodedError('ADMIN_AGENT_UNKNOWN', `no agent with id ${agentId}`);
    if (result === 'already_revoked') return false;
    const owner = await this.#d.store.agentOwner(agentId);
    await this.#d.audit.record({ ...entry, ...(owner ? { merchantId: owner.merchantId } : {}) });
    this.#d.credentialsChanged?.(agentId);
    return true;
  }
}
