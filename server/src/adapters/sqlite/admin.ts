/**
 * {@link AdminPort} on SQLite: the tables of migration 11 (./migrations.ts) — `admin_users`,
 * `admin_credentials`, `admin_audit` (append-only by trigger) — the payment search
 * (../admin-search-sql.ts) and listings over the directory tables. The row mappers are pure and
 * shared with ../postgres/admin.ts.
 */
import {
  clip,
  type AdminCredential,
  type AdminPort,
  type AdminRole,
  type AdminUser,
  type AgentListing,
  type AuditEntry,
  type CredentialKind,
  type NewAuditEntry,
  type OperationFilter,
  type OperationListing,
  type PaymentSearch,
  type PaymentSearchPage,
  type RedeliverResult,
  type StoreListing,
} from '../../ports/admin.ts';
import { CodedError } from '@posbridge/protocol/errors';
import { BOOTSTRAP_STORE_ID } from '../../ports/directory.ts';
import { paymentSearchSql } from '../admin-search-sql.ts';
import { insertSqliteAudit } from './audit-row.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { isUniqueViolation, rowToOperation, rowToPayment, runExclusive, type OperationRow, type PaymentRow } from './rows.ts';

/** An `admin_users` row. */
export interface UserRow {
  user_id: string;
  name: string;
  role: string;
  merchant_id: string | null;
  password_hash: string;
  disabled: number;
  created_at: number;
}

/** An `admin_credentials` row. */
export interface CredentialRow {
  credential_id: string;
  kind: string;
  secret_sha256: string;
  label: string;
  user_id: string | null;
  role: string;
  merchant_id: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

/** An agent joined with its store and its serials (`serials`: comma-joined, or null). */
export interface AgentListingRow {
  agent_id: string;
  name: string;
  store_id: string;
  merchant_id: string;
  created_at: number;
  agent_version: string | null;
  last_hello_at: number | null;
  serials: string | null;
}

/** The user of a row. */
export function rowToUser(r: UserRow): AdminUser {
  return {
    userId: r.user_id,
    name: r.name,
    role: r.role as AdminRole,
    merchantId: r.merchant_id,
    passwordHash: r.password_hash,
    disabled: r.disabled === 1,
    createdAt: r.created_at,
  };
}

/** The credential of a row. */
export function rowToCredential(r: CredentialRow): AdminCredential {
  return {
    credentialId: r.credential_id,
    kind: r.kind as CredentialKind,
    secretSha256: r.secret_sha256,
    label: r.label,
    userId: r.user_id,
    role: r.role as AdminRole,
    merchantId: r.merchant_id,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

/** The listing of an agent row. */
export function rowToAgentListing(r: AgentListingRow): AgentListing {
  return {
    agentId: r.agent_id,
    name: r.name,
    storeId: r.store_id,
    merchantId: r.merchant_id,
    createdAt: r.created_at,
    agentVersion: r.agent_version,
    lastHelloAt: r.last_hello_at,
    serialNumbers: r.serials === null || r.serials === '' ? [] : r.serials.split(',').sort(),
  };
}

/** The audit entry of a row (columns named as the fields). */
export function rowToAudit(r: AuditEntry): AuditEntry {
  return { seq: Number(r.seq), actor: r.actor, action: r.action, target: r.target, reason: r.reason, outcome: r.outcome, at: r.at };
}

/** Bounded audit text, as every adapter keeps it. */
export function auditValues(e: NewAuditEntry): [string, string, string, string, string] {
  return [clip(e.actor, 200), clip(e.action, 64), clip(e.target, 200), clip(e.reason, 500), clip(e.outcome, 64)];
}

/** The `CFG_INVALID` of a taken unique key. */
export function taken(what: string, cause: unknown): CodedError {
  return new CodedError('CFG_INVALID', `${what} is taken`, cause === undefined ? {} : { cause });
}

/** SQL of the agent listing (`?`/`$1` filled by the caller); `serials` is each agent's serials, comma-joined. */
export const AGENT_LISTING_SQL = (merchantFilter: string, join: string): string =>
  `SELECT a.agent_id, a.name, COALESCE(a.store_id, '${BOOTSTRAP_STORE_ID}') AS store_id, s.merchant_id, a.created_at,
          a.agent_version, a.last_hello_at,
          (SELECT ${join} FROM terminals t WHERE t.agent_id = a.agent_id) AS serials
     FROM agents a JOIN stores s ON s.store_id = COALESCE(a.store_id, '${BOOTSTRAP_STORE_ID}')
    ${merchantFilter}
    ORDER BY a.name, a.agent_id`;

/**
 * SQL of {@link AdminPort.listOperations} (`placeholder(i)` names parameter i, 1-based) and its
 * parameters, in the order of the text; `collate` as in ../admin-search-sql.ts.
 */
export function operationListSql(f: OperationFilter, placeholder: (i: number) => string, collate = ''): { sql: string; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const param = (v: string | number): string => {
    params.push(v);
    return placeholder(params.length);
  };
  if (f.paymentId !== undefined) where.push(`o.payment_id = ${param(f.paymentId)}`);
  if (f.merchantId !== undefined) where.push(`p.merchant_id = ${param(f.merchantId)}`);
  if (f.statuses !== undefined) where.push(`o.status IN (${f.statuses.map((st) => param(st)).join(', ')})`);
  const limit = param(f.limit);
  return {
    sql: `SELECT o.*, p.merchant_id AS payment_merchant_id FROM operations o JOIN payments p ON p.payment_id = o.payment_id
          ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY o.created_at DESC, o.operation_id${collate} LIMIT ${limit}`,
    params,
  };
}

/** The admin port over one connection. */
export class SqliteAdmin implements AdminPort {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return runExclusive(this.#db, operation, fn);
  }

  searchPayments(search: PaymentSearch): Promise<PaymentSearchPage> {
    return this.#op('searchPayments', async () => {
      const { sql, params } = paymentSearchSql(search, () => '?', (ms) => ms);
      const rows = (await this.#db.all<PaymentRow>(sql, params)).map(rowToPayment);
      const page = rows.slice(0, search.limit);
      const last = page[page.length - 1];
      return { payments: page, next: rows.length > search.limit && last ? { createdAt: last.createdAt, paymentId: last.paymentId } : null };
    });
  }

  listOperations(filter: OperationFilter): Promise<OperationListing[]> {
    return this.#op('listOperations', async () => {
      const { sql, params } = operationListSql(filter, () => '?');
      const rows = await this.#db.all<OperationRow & { payment_merchant_id: string }>(sql, params);
      return rows.map((r) => ({ ...rowToOperation(r), merchantId: r.payment_merchant_id }));
    });
  }

  listStores(merchantId?: string): Promise<StoreListing[]> {
    return this.#op('listStores', async () => {
      const rows = await this.#db.all<{ store_id: string; merchant_id: string; name: string; created_at: number }>(
        `SELECT store_id, merchant_id, name, created_at FROM stores${merchantId === undefined ? '' : ' WHERE merchant_id = ?'} ORDER BY merchant_id, name`,
        merchantId === undefined ? [] : [merchantId],
      );
      return rows.map((r) => ({ storeId: r.store_id, merchantId: r.merchant_id, name: r.name, createdAt: r.created_at }));
    });
  }

  listAgents(merchantId?: string): Promise<AgentListing[]> {
    return this.#op('listAgents', async () => {
      const sql = AGENT_LISTING_SQL(merchantId === undefined ? '' : 'WHERE s.merchant_id = ?', "group_concat(t.serial_number, ',')");
      const rows = await this.#db.all<AgentListingRow>(sql, merchantId === undefined ? [] : [merchantId]);
      return rows.map(rowToAgentListing);
    });
  }

  recordAgentHello(agentId: string, agentVersion: string, at: number): Promise<boolean> {
    return this.#op('recordAgentHello', async () => {
      const r = await this.#db.run('UPDATE agents SET agent_version = ?, last_hello_at = ? WHERE agent_id = ?', [clip(agentVersion, 64), at, agentId]);
      return r.changes === 1;
    });
  }

  createUser(user: AdminUser, audit?: NewAuditEntry): Promise<void> {
    return this.#op('createUser', () =>
      this.#db.transaction(async () => {
        try {
          await this.#db.run(
            'INSERT INTO admin_users (user_id, name, role, merchant_id, password_hash, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
            [user.userId, user.name, user.role, user.merchantId, user.passwordHash, user.disabled ? 1 : 0, user.createdAt],
          );
        } catch (err) {
          if (isUniqueViolation(err)) throw taken(`user ${JSON.stringify(user.name)}`, err);
          throw err;
        }
        if (audit) await insertSqliteAudit(this.#db, audit);
      }),
    );
  }

  findUserByName(name: string): Promise<AdminUser | null> {
    return this.#op('findUserByName', async () => {
      const row = await this.#db.get<UserRow>('SELECT * FROM admin_users WHERE name = ?', [name]);
      return row ? rowToUser(row) : null;
    });
  }

  getUser(userId: string): Promise<AdminUser | null> {
    return this.#op('getUser', async () => {
      const row = await this.#db.get<UserRow>('SELECT * FROM admin_users WHERE user_id = ?', [userId]);
      return row ? rowToUser(row) : null;
    });
  }

  listUsers(): Promise<AdminUser[]> {
    return this.#op('listUsers', async () => (await this.#db.all<UserRow>('SELECT * FROM admin_users ORDER BY name')).map(rowToUser));
  }

  disableUser(userId: string, at: number, audit?: NewAuditEntry): Promise<boolean> {
    return this.#op('disableUser', () =>
      this.#db.transaction(async () => {
        const r = await this.#db.run('UPDATE admin_users SET disabled = 1 WHERE user_id = ?', [userId]);
        if (r.changes !== 1) return false;
        await this.#db.run('UPDATE admin_credentials SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL', [at, userId]);
        if (audit) await insertSqliteAudit(this.#db, audit);
        return true;
      }),
    );
  }

  createCredential(c: AdminCredential, audit?: NewAuditEntry): Promise<void> {
    return this.#op('createCredential', () =>
      this.#db.transaction(async () => {
        try {
          await this.#db.run(
            `INSERT INTO admin_credentials (credential_id, kind, secret_sha256, label, user_id, role, merchant_id, created_at, expires_at, revoked_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            [c.credentialId, c.kind, c.secretSha256, clip(c.label, 100), c.userId, c.role, c.merchantId, c.createdAt, c.expiresAt, c.revokedAt],
          );
        } catch (err) {
          if (isUniqueViolation(err)) throw taken(`credential ${c.credentialId}`, err);
          throw err;
        }
        if (audit) await insertSqliteAudit(this.#db, audit);
      }),
    );
  }

  findCredentialByHash(secretSha256: string): Promise<AdminCredential | null> {
    return this.#op('findCredentialByHash', async () => {
      const row = await this.#db.get<CredentialRow>('SELECT * FROM admin_credentials WHERE secret_sha256 = ?', [secretSha256]);
      return row ? rowToCredential(row) : null;
    });
  }

  listCredentials(kind: CredentialKind): Promise<AdminCredential[]> {
    return this.#op('listCredentials', async () =>
      (await this.#db.all<CredentialRow>('SELECT * FROM admin_credentials WHERE kind = ? ORDER BY created_at DESC, credential_id', [kind])).map(
        rowToCredential,
      ),
    );
  }

  revokeCredential(credentialId: string, at: number, audit?: NewAuditEntry): Promise<boolean> {
    return this.#op('revokeCredential', () =>
      this.#db.transaction(async () => {
        const r = await this.#db.run('UPDATE admin_credentials SET revoked_at = ? WHERE credential_id = ? AND revoked_at IS NULL', [at, credentialId]);
        if (r.changes !== 1) return false;
        if (audit) await insertSqliteAudit(this.#db, audit);
        return true;
      }),
    );
  }

  pruneSessions(before: number): Promise<number> {
    return this.#op('pruneSessions', async () => {
      const r = await this.#db.run(
        "DELETE FROM admin_credentials WHERE kind = 'session' AND ((expires_at IS NOT NULL AND expires_at < ?) OR (revoked_at IS NOT NULL AND revoked_at < ?))",
        [before, before],
      );
      return r.changes;
    });
  }

  appendAudit(entry: NewAuditEntry): Promise<void> {
    return this.#op('appendAudit', () => insertSqliteAudit(this.#db, entry));
  }

  listAudit(limit: number, before?: number): Promise<AuditEntry[]> {
    return this.#op('listAudit', async () => {
      const rows = await this.#db.all<AuditEntry>(
        `SELECT * FROM admin_audit${before === undefined ? '' : ' WHERE seq < ?'} ORDER BY seq DESC LIMIT ?`,
        before === undefined ? [limit] : [before, limit],
      );
      return rows.map(rowToAudit);
    });
  }

  redeliverCallback(callbackId: number, at: number, audit?: NewAuditEntry): Promise<RedeliverResult> {
    return this.#op('redeliverCallback', () =>
      this.#db.transaction(async (): Promise<RedeliverResult> => {
        const r = await this.#db.run(
          `UPDATE callback_outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, expires_at = NULL,
                  lease_owner = NULL, lease_until = NULL, updated_at = ?
            WHERE id = ? AND NOT (status = 'pending' AND lease_until IS NOT NULL AND lease_until > ?)`,
          [at, at, callbackId, at],
        );
        if (r.changes === 1) {
          if (audit) await insertSqliteAudit(this.#db, audit);
          return 'scheduled';
        }
        const row = await this.#db.get<{ id: number }>('SELECT id FROM callback_outbox WHERE id = ?', [callbackId]);
        return row ? 'in_flight' : 'not_found';
      }),
    );
  }
}
