/**
 * {@link AgentEnrolmentPort} on SQLite: the `pairing_codes` table and the token columns of
 * `agents` (./schema-enrolment.ts). Every write is one `BEGIN IMMEDIATE` transaction, so a
 * code is checked, marked used and its agent inserted as one step for every connection to the
 * file; rotation and revocation are compare-and-set updates on `revoked_at IS NULL`.
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
import { insertSqliteAudit } from './audit-row.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { runExclusive } from './rows.ts';

interface CodeRow {
  merchant_id: string;
  store_id: string;
  agent_name: string;
  created_by: string;
  expires_at: number;
  used_at: number | null;
}

const PURGE = 'DELETE FROM pairing_codes WHERE code_sha256 IN (SELECT code_sha256 FROM pairing_codes WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)';

/** Pairing codes and agent credentials over one connection. */
export class SqliteAgentEnrolment implements AgentEnrolmentPort {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return runExclusive(this.#db, operation, fn);
  }

  createPairingCode(code: NewPairingCode, maxPendingPerStore: number, audit?: NewAuditEntry): Promise<PairingCreateResult> {
    return this.#op('createPairingCode', () =>
      this.#db.transaction(async (): Promise<PairingCreateResult> => {
        const problem = pairingCodeProblem(code);
        if (problem !== undefined) throw new RangeError(problem);
        await this.#db.run(PURGE, [code.createdAt - PAIRING_KEEP_MS, PAIRING_PURGE_PER_CREATE]);
        const store = await this.#db.get<{ merchant_id: string }>('SELECT merchant_id FROM stores WHERE store_id = ?', [code.storeId]);
        if (store?.merchant_id !== code.merchantId) throw new RangeError(`no store ${code.storeId} of merchant ${code.merchantId}`);
        const pending = await this.#db.get<{ n: number }>(
          'SELECT COUNT(*) AS n FROM pairing_codes WHERE store_id = ? AND used_at IS NULL AND expires_at > ?',
          [code.storeId, code.createdAt],
        );
        if ((pending?.n ?? 0) >= maxPendingPerStore) return 'full';
        await this.#db.run(
          'INSERT INTO pairing_codes (code_sha256, merchant_id, store_id, agent_name, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [code.codeSha256, code.merchantId, code.storeId, code.agentName, code.createdBy, code.createdAt, code.expiresAt],
        );
        if (audit) await insertSqliteAudit(this.#db, audit);
        return 'created';
      }),
    );
  }

  redeemPairingCode(codeSha256: string, agent: { readonly agentId: string; readonly tokenSha256: string }, now: number, audit?: NewAuditEntry): Promise<PairingRedeemResult> {
    return this.#op('redeemPairingCode', () =>
      this.#db.transaction(async (): Promise<PairingRedeemResult> => {
        const problem = tokenDigestProblem(agent.tokenSha256);
        if (problem !== undefined) throw new RangeError(problem);
        const row = await this.#db.get<CodeRow>(
          'SELECT merchant_id, store_id, agent_name, created_by, expires_at, used_at FROM pairing_codes WHERE code_sha256 = ?',
          [codeSha256],
        );
        if (row === undefined) return { kind: 'unknown' };
        if (row.used_at !== null) return { kind: 'used', usedAt: row.used_at };
        if (row.expires_at <= now) return { kind: 'expired', expiredAt: row.expires_at };
        await this.#db.run('INSERT INTO agents (agent_id, name, token_sha256, created_at, store_id) VALUES (?, ?, ?, ?, ?)', [
          agent.agentId,
          row.agent_name,
          agent.tokenSha256,
          now,
          row.store_id,
        ]);
        await this.#db.run('UPDATE pairing_codes SET used_at = ?, agent_id = ? WHERE code_sha256 = ? AND used_at IS NULL', [now, agent.agentId, codeSha256]);
        if (audit) await insertSqliteAudit(this.#db, audit);
        return {
          kind: 'paired',
          agent: { agentId: agent.agentId, name: row.agent_name, createdAt: now, storeId: row.store_id },
          merchantId: row.merchant_id,
          storeId: row.store_id,
          createdBy: row.created_by,
        };
      }),
    );
  }

  rotateAgentToken(agentId: string, tokenSha256: string, now: number, audit?: NewAuditEntry): Promise<RotateResult> {
    return this.#op('rotateAgentToken', () =>
      this.#db.transaction(async (): Promise<RotateResult> => {
        const problem = tokenDigestProblem(tokenSha256);
        if (problem !== undefined) throw new RangeError(problem);
        const r = await this.#db.run('UPDATE agents SET token_sha256 = ?, credentials_changed_at = ? WHERE agent_id = ? AND revoked_at IS NULL', [
          tokenSha256,
          now,
          agentId,
        ]);
        if (r.changes === 1) {
          if (audit) await insertSqliteAudit(this.#db, audit);
          return 'rotated';
        }
        const row = await this.#db.get<{ revoked_at: number | null }>('SELECT revoked_at FROM agents WHERE agent_id = ?', [agentId]);
        return row === undefined ? 'unknown' : 'revoked';
      }),
    );
  }

  revokeAgent(agentId: string, discardedTokenSha256: string, now: number, audit?: NewAuditEntry): Promise<RevokeResult> {
    return this.#op('revokeAgent', () =>
      this.#db.transaction(async (): Promise<RevokeResult> => {
        const problem = tokenDigestProblem(discardedTokenSha256);
        if (problem !== undefined) throw new RangeError(problem);
        const r = await this.#db.run(
          'UPDATE agents SET token_sha256 = ?, revoked_at = ?, credentials_changed_at = ? WHERE agent_id = ? AND revoked_at IS NULL',
          [discardedTokenSha256, now, now, agentId],
        );
        if (r.changes === 1) {
          if (audit) await insertSqliteAudit(this.#db, audit);
          return 'revoked';
        }
        const row = await this.#db.get<{ revoked_at: number | null }>('SELECT revoked_at FROM agents WHERE agent_id = ?', [agentId]);
        return row === undefined ? 'unknown' : 'already_revoked';
      }),
    );
  }

  storeForPairing(storeId: string): Promise<{ storeId: string; merchantId: string; name: string } | null> {
    return this.#op('storeForPairing', async () => {
      const r = await this.#db.get<{ store_id: string; merchant_id: string; name: string }>('SELECT store_id, merchant_id, name FROM stores WHERE store_id = ?', [storeId]);
      return r === undefined ? null : { storeId: r.store_id, merchantId: r.merchant_id, name: r.name };
    });
  }

  listAgentCredentialChanges(since: number, limit: number): Promise<AgentCredentialChange[]> {
    return this.#op('listAgentCredentialChanges', async () => {
      const rows = await this.#db.all<{ agent_id: string; token_sha256: string; revoked_at: number | null; credentials_changed_at: number }>(
        `SELECT agent_id, token_sha256, revoked_at, credentials_changed_at FROM agents
          WHERE credentials_changed_at IS NOT NULL AND credentials_changed_at >= ? ORDER BY credentials_changed_at, agent_id LIMIT ?`,
        [since, Math.max(0, limit)],
      );
      return rows.map((r) => ({ agentId: r.agent_id, tokenSha256: r.token_sha256, revoked: r.revoked_at !== null, changedAt: r.credentials_changed_at }));
    });
  }
}
