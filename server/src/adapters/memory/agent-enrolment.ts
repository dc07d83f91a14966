/**
 * {@link AgentEnrolmentPort} in memory: pairing codes by digest, and the token columns of the
 * agents table. Each method is one transaction of the state, so a redemption marks its code and
 * creates the agent as one step.
 */
import {
  PAIRING_KEEP_MS,
  PAIRING_PURGE_PER_CREATE,
  pairingCodeProblem,
  tokenDigestProblem,
  type AgentCredentialChange,
  type AgentEnrolmentPort,
  type NewPairingCode,
  type PairingCreateResult,
  type PairingRedeemResult,
  type RevokeResult,
  type RotateResult,
} from '../../ports/agent-enrolment.ts';
import type { NewAuditEntry } from '../../ports/admin.ts';
import { insertMemoryAudit } from './audit-row.ts';
import { byKeys, ConstraintError, type MemoryConnection, type PairingCodeRow } from './state.ts';

/** Pairing codes and agent credentials over a memory connection. */
export class MemoryAgentEnrolment implements AgentEnrolmentPort {
  readonly #conn: MemoryConnection;

  constructor(conn: MemoryConnection) {
    this.#conn = conn;
  }

  createPairingCode(code: NewPairingCode, maxPendingPerStore: number, audit?: NewAuditEntry): Promise<PairingCreateResult> {
    return this.#conn.run('createPairingCode', (): PairingCreateResult => {
      const problem = pairingCodeProblem(code);
      if (problem !== undefined) throw new RangeError(problem);
      const { pairingCodes, stores } = this.#conn.tables;
      if (pairingCodes.has(code.codeSha256)) throw new ConstraintError('unique', 'pairing_codes.code_sha256');
      const store = stores.get(code.storeId);
      if (store?.merchantId !== code.merchantId) throw new ConstraintError('foreign_key', `pairing_codes.store_id ${code.storeId}`);
      const stale: PairingCodeRow[] = [];
      let pending = 0;
      for (const row of pairingCodes.values()) {
        if (row.expiresAt + PAIRING_KEEP_MS <= code.createdAt && stale.length < PAIRING_PURGE_PER_CREATE) stale.push(row);
        if (row.storeId === code.storeId && row.usedAt === null && row.expiresAt > code.createdAt) pending++;
      }
      for (const row of stale) pairingCodes.delete(row.codeSha256);
      if (pending >= maxPendingPerStore) return 'full';
      pairingCodes.set(code.codeSha256, { ...code, usedAt: null, agentId: null });
      if (audit) insertMemoryAudit(this.#conn.state, audit);
      return 'created';
    });
  }

  redeemPairingCode(codeSha256: string, agent: { readonly agentId: string; readonly tokenSha256: string }, now: number, audit?: NewAuditEntry): Promise<PairingRedeemResult> {
    return this.#conn.run('redeemPairingCode', (): PairingRedeemResult => {
      const problem = tokenDigestProblem(agent.tokenSha256);
      if (problem !== undefined) throw new RangeError(problem);
      const { pairingCodes, agents } = this.#conn.tables;
      const row = pairingCodes.get(codeSha256);
      if (row === undefined) return { kind: 'unknown' };
      if (row.usedAt !== null) return { kind: 'used', usedAt: row.usedAt };
      if (row.expiresAt <= now) return { kind: 'expired', expiredAt: row.expiresAt };
      if (agents.has(agent.agentId)) throw new ConstraintError('unique', 'agents.agent_id');
      for (const other of agents.values()) if (other.tokenSha256 === agent.tokenSha256) throw new ConstraintError('unique', 'agents.token_sha256');
      pairingCodes.set(codeSha256, { ...row, usedAt: now, agentId: agent.agentId });
      agents.set(agent.agentId, { agentId: agent.agentId, name: row.agentName, createdAt: now, storeId: row.storeId, tokenSha256: agent.tokenSha256 });
      if (audit) insertMemoryAudit(this.#conn.state, audit);
      return {
        kind: 'paired',
        agent: { agentId: agent.agentId, name: row.agentName, createdAt: now, storeId: row.storeId },
        merchantId: row.merchantId,
        storeId: row.storeId,
        createdBy: row.createdBy,
      };
    });
  }

  rotateAgentToken(agentId: string, tokenSha256: string, now: number, audit?: NewAuditEntry): Promise<RotateResult> {
    return this.#conn.run('rotateAgentToken', (): RotateResult => {
      const problem = tokenDigestProblem(tokenSha256);
      if (problem !== undefined) throw new RangeError(problem);
      const { agents } = this.#conn.tables;
      const row = agents.get(agentId);
      if (row === undefined) return 'unknown';
      if (row.revokedAt != null) return 'revoked';
      for (const other of agents.values()) if (other.tokenSha256 === tokenSha256) throw new ConstraintError('unique', 'agents.token_sha256');
      agents.set(agentId, { ...row, tokenSha256, credentialsChangedAt: now });
      if (audit) insertMemoryAudit(this.#conn.state, audit);
      return 'rotated';
    });
  }

  revokeAgent(agentId: string, discardedTokenSha256: string, now: number, audit?: NewAuditEntry): Promise<RevokeResult> {
    return this.#conn.run('revokeAgent', (): RevokeResult => {
      const problem = tokenDigestProblem(discardedTokenSha256);
      if (problem !== undefined) throw new RangeError(problem);
      const { agents } = this.#conn.tables;
      const row = agents.get(agentId);
      if (row === undefined) return 'unknown';
      if (row.revokedAt != null) return 'already_revoked';
      for (const other of agents.values()) if (other.tokenSha256 === discardedTokenSha256) throw new ConstraintError('unique', 'agents.token_sha256');
      agents.set(agentId, { ...row, tokenSha256: discardedTokenSha256, revokedAt: now, credentialsChangedAt: now });
      if (audit) insertMemoryAudit(this.#conn.state, audit);
      return 'revoked';
    });
  }

  storeForPairing(storeId: string): Promise<{ storeId: string; merchantId: string; name: string } | null> {
    return this.#conn.run('storeForPairing', () => {
      const s = this.#conn.tables.stores.get(storeId);
      return s === undefined ? null : { storeId: s.storeId, merchantId: s.merchantId, name: s.name };
    });
  }

  listAgentCredentialChanges(since: number, limit: number): Promise<AgentCredentialChange[]> {
    return this.#conn.run('listAgentCredentialChanges', () =>
      [...this.#conn.tables.agents.values()]
        .filter((a) => a.credentialsChangedAt != null && a.credentialsChangedAt >= since)
        .sort(byKeys((a) => a.credentialsChangedAt ?? 0, (a) => a.agentId))
        .slice(0, Math.max(0, limit))
        .map((a) => ({ agentId: a.agentId, tokenSha256: a.tokenSha256, revoked: a.revokedAt != null, changedAt: a.credentialsChangedAt ?? 0 })),
    );
  }
}
