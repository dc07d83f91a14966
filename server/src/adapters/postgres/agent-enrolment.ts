/**
 * {@link AgentEnrolmentPort} on PostgreSQL: the `pairing_codes` table and the token columns of
 * `agents` (./schema-enrolment.ts). A creation locks its store's row (`FOR UPDATE`), so the
 * pending count and the insert are one step per store on every instance; a redemption locks the
 * code's row, so of concurrent redemptions exactly one inserts the agent; rotation and
 * revocation are compare-and-set updates on `revoked_at IS NULL`.
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
import { insertPgAudit } from './audit-row.ts';
import { fromTs, toTs, type PgDb } from './pg-db.ts';
import { pgOp } from './rows.ts';

interface CodeRow {
  merchant_id: string;
  store_id: string;
  agent_name: string;
  created_by: string;
  expires_at: Date;
  used_at: Date | null;
}

const PURGE = `DELETE FROM pairing_codes WHERE code_sha256 IN (
  SELECT code_sha256 FROM pairing_codes WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`;

/** Pairing codes and agent credentials over a pool. */
export class PgAgentEnrolment implements AgentEnrolmentPort {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  createPairingCode(code: NewPairingCode, maxPendingPerStore: number, audit?: NewAuditEntry): Promise<PairingCreateResult> {
    return pgOp('createPairingCode', async () => {
      const problem = pairingCodeProblem(code);
      if (problem !== undefined) throw new RangeError(problem);
      return this.#db.transaction(async (tx): Promise<PairingCreateResult> => {
        await tx.run(PURGE, [toTs(code.createdAt - PAIRING_KEEP_MS), PAIRING_PURGE_PER_CREATE]);
        const store = await tx.one<{ merchant_id: string }>('SELECT merchant_id FROM stores WHERE store_id = $1 FOR UPDATE', [code.storeId]);
        if (store?.merchant_id !== code.merchantId) throw new RangeError(`no store ${code.storeId} of merchant ${code.merchantId}`);
        const pending = await tx.one<{ n: number }>(
          'SELECT COUNT(*)::int AS n FROM pairing_codes WHERE store_id = $1 AND used_at IS NULL AND expires_at > $2',
          [code.storeId, toTs(code.createdAt)],
        );
        if ((pending?.n ?? 0) >= maxPendingPerStore) return 'full';
        await tx.run(
          'INSERT INTO pairing_codes (code_sha256, merchant_id, store_id, agent_name, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [code.codeSha256, code.merchantId, code.storeId, code.agentName, code.createdBy, toTs(code.createdAt), toTs(code.expiresAt)],
        );
        if (audit) await insertPgAudit(tx, audit);
        return 'created';
      });
    });
  }

  redeemPairingCode(codeSha256: string, agent: { readonly agentId: string; readonly tokenSha256: string }, now: number, audit?: NewAuditEntry): Promise<PairingRedeemResult> {
    return pgOp('redeemPairingCode', async () => {
      const problem = tokenDigestProblem(agent.tokenSha256);
      if (problem !== undefined) throw new RangeError(problem);
      return this.#db.transaction(async (tx): Promise<PairingRedeemResult> => {
        const row = await tx.one<CodeRow>(
          'SELECT merchant_id, store_id, agent_name, created_by, expires_at, used_at FROM pairing_codes WHERE code_sha256 = $1 FOR UPDATE',
          [codeSha256],
        );
        if (row === undefined) return { kind: 'unknown' };
        if (row.used_at !== null) return { kind: 'used', usedAt: fromTs(row.used_at) };
        if (fromTs(row.expires_at) <= now) return { kind: 'expired', expiredAt: fromTs(row.expires_at) };
        await tx.run('INSERT INTO agents (agent_id, name, token_sha256, created_at, store_id) VALUES ($1, $2, $3, $4, $5)', [
          agent.agentId,
          row.agent_name,
          agent.tokenSha256,
          toTs(now),
          row.store_id,
        ]);
        await tx.run('UPDATE pairing_codes SET used_at = $1, agent_id = $2 WHERE code_sha256 = $3', [toTs(now), agent.agentId, codeSha256]);
        if (audit) await insertPgAudit(tx, audit);
        return {
          kind: 'paired',
          agent: { agentId: agent.agentId, name: row.agent_name, createdAt: now, storeId: row.store_id },
          merchantId: row.merchant_id,
          storeId: row.store_id,
          createdBy: row.created_by,
        };
      });
    });
  }

  rotateAgentToken(agentId: string, tokenSha256: string, now: number, audit?: NewAuditEntry): Promise<RotateResult> {
    return pgOp('rotateAgentToken', async () => {
      const problem = tokenDigestProblem(tokenSha256);
      if (problem !== undefined) throw new RangeError(problem);
      return this.#db.transaction(async (tx): Promise<RotateResult> => {
        const changed = await tx.run('UPDATE agents SET token_sha256 = $1, credentials_changed_at = $2 WHERE agent_id = $3 AND revoked_at IS NULL', [
          tokenSha256,
          toTs(now),
          agentId,
        ]);
        if (changed === 1) {
          if (audit) await insertPgAudit(tx, audit);
          return 'rotated';
        }
        const row = await tx.one<{ agent_id: string }>('SELECT agent_id FROM agents WHERE agent_id = $1', [agentId]);
        return row === undefined ? 'unknown' : 'revoked';
      });
    });
  }

  revokeAgent(agentId: string, discardedTokenSha256: string, now: number, audit?: NewAuditEntry): Promise<RevokeResult> {
    return pgOp('revokeAgent', async () => {
      const problem = tokenDigestProblem(discardedTokenSha256);
      if (problem !== undefined) throw new RangeError(problem);
      return this.#db.transaction(async (tx): Promise<RevokeResult> => {
        const changed = await tx.run(
          'UPDATE agents SET token_sha256 = $1, revoked_at = $2, credentials_changed_at = $2 WHERE agent_id = $3 AND revoked_at IS NULL',
          [discardedTokenSha256, toTs(now), agentId],
        );
        if (changed === 1) {
          if (audit) await insertPgAudit(tx, audit);
          return 'revoked';
        }
        const row = await tx.one<{ agent_id: string }>('SELECT agent_id FROM agents WHERE agent_id = $1', [agentId]);
        return row === undefined ? 'unknown' : 'already_revoked';
      });
    });
  }

  storeForPairing(storeId: string): Promise<{ storeId: string; merchantId: string; name: string } | null> {
    return pgOp('storeForPairing', async () => {
      const r = await this.#db.one<{ store_id: string; merchant_id: string; name: string }>('SELECT store_id, merchant_id, name FROM stores WHERE store_id = $1', [storeId]);
      return r === undefined ? null : { storeId: r.store_id, merchantId: r.merchant_id, name: r.name };
    });
  }

  listAgentCredentialChanges(since: number, limit: number): Promise<AgentCredentialChange[]> {
    return pgOp('listAgentCredentialChanges', async () => {
      const rows = await this.#db.rows<{ agent_id: string; token_sha256: string; revoked_at: Date | null; credentials_changed_at: Date }>(
        `SELECT agent_id, token_sha256, revoked_at, credentials_changed_at FROM agents
          WHERE credentials_changed_at IS NOT NULL AND credentials_changed_at >= $1 ORDER BY credentials_changed_at, agent_id LIMIT $2`,
        [toTs(since), Math.max(0, limit)],
      );
      return rows.map((r) => ({ agentId: r.agent_id, tokenSha256: r.token_sha256, revoked: r.revoked_at !== null, changedAt: fromTs(r.credentials_changed_at) }));
    });
  }
}
