/**
 * {@link AdminPort} on PostgreSQL: the tables of ./schema-admin.ts (migration 8), the payment
 * search (../admin-search-sql.ts) and listings over the directory tables. Rows map through the
 * SQLite mappers (../sqlite/admin.ts) once {@link plain} has turned times into ms.
 *
 * @see ../sqlite/admin.ts (the same statements on SQLite)
 */
import {
  clip,
  type AdminCredential,
  type AdminPort,
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
import { paymentSearchSql } from '../admin-search-sql.ts';
import {
  AGENT_LISTING_SQL,
  operationListSql,
  rowToAgentListing,
  rowToAudit,
  rowToCredential,
  rowToUser,
  taken,
  type AgentListingRow,
  type CredentialRow,
  type UserRow,
} from '../sqlite/admin.ts';
import { insertPgAudit } from './audit-row.ts';
import { toTs, type PgDb } from './pg-db.ts';
import { isPgUniqueViolation, pgOp, pgOperation, pgPayment, plain } from './rows.ts';

type Row = Record<string, unknown>;

/** The admin port on the shared pool. */
export class PgAdmin implements AdminPort {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  searchPayments(search: PaymentSearch): Promise<PaymentSearchPage> {
    return pgOp('searchPayments', async () => {
      const { sql, params } = paymentSearchSql(search, (i) => `$${i}`, (ms) => new Date(ms), ' COLLATE "C"');
      const rows = (await this.#db.rows<Row>(sql, params)).map(pgPayment);
      const page = rows.slice(0, search.limit);
      const last = page[page.length - 1];
      return { payments: page, next: rows.length > search.limit && last ? { createdAt: last.createdAt, paymentId: last.paymentId } : null };
    });
  }

  listOperations(filter: OperationFilter): Promise<OperationListing[]> {
    return pgOp('listOperations', async () => {
      const { sql, params } = operationListSql(filter, (i) => `$${i}`, ' COLLATE "C"');
      const rows = await this.#db.rows<Row>(sql, params);
      return rows.map((r) => ({ ...pgOperation(r), merchantId: String(r['payment_merchant_id']) }));
    });
  }

  listStores(merchantId?: string): Promise<StoreListing[]> {
    return pgOp('listStores', async () => {
      const rows = await this.#db.rows<Row>(
        `SELECT store_id, merchant_id, name, created_at FROM stores${merchantId === undefined ? '' : ' WHERE merchant_id = $1'} ORDER BY merchant_id, name`,
        merchantId === undefined ? [] : [merchantId],
      );
      return rows.map((row) => {
        const r = plain<{ store_id: string; merchant_id: string; name: string; created_at: number }>(row);
        return { storeId: r.store_id, merchantId: r.merchant_id, name: r.name, createdAt: r.created_at };
      });
    });
  }

  listAgents(merchantId?: string): Promise<AgentListing[]> {
    return pgOp('listAgents', async () => {
      const sql = AGENT_LISTING_SQL(merchantId === undefined ? '' : 'WHERE s.merchant_id = $1', "string_agg(t.serial_number, ',')");
      const rows = await this.#db.rows<Row>(sql, merchantId === undefined ? [] : [merchantId]);
      return rows.map((r) => rowToAgentListing(plain<AgentListingRow>(r)));
    });
  }

  recordAgentHello(agentId: string, agentVersion: string, at: number): Promise<boolean> {
    return pgOp('recordAgentHello', async () =>
      (await this.#db.run('UPDATE agents SET agent_version = $1, last_hello_at = $2 WHERE agent_id = $3', [clip(agentVersion, 64), new Date(at), agentId])) === 1,
    );
  }

  createUser(user: AdminUser, audit?: NewAuditEntry): Promise<void> {
    return pgOp('createUser', () =>
      this.#db.transaction(async (tx) => {
        try {
          await tx.run(
            'INSERT INTO admin_users (user_id, name, role, merchant_id, password_hash, disabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
            [user.userId, user.name, user.role, user.merchantId, user.passwordHash, user.disabled, new Date(user.createdAt)],
          );
        } catch (err) {
          if (isPgUniqueViolation(err)) throw taken(`user ${JSON.stringify(user.name)}`, err);
          throw err;
        }
        if (audit) await insertPgAudit(tx, audit);
      }),
    );
  }

  findUserByName(name: string): Promise<AdminUser | null> {
    return pgOp('findUserByName', async () => {
      const row = await this.#db.one<Row>('SELECT * FROM admin_users WHERE name = $1', [name]);
      return row ? rowToUser(plain<UserRow>(row)) : null;
    });
  }

  getUser(userId: string): Promise<AdminUser | null> {
    return pgOp('getUser', async () => {
      const row = await this.#db.one<Row>('SELECT * FROM admin_users WHERE user_id = $1', [userId]);
      return row ? rowToUser(plain<UserRow>(row)) : null;
    });
  }

  listUsers(): Promise<AdminUser[]> {
    return pgOp('listUsers', async () => (await this.#db.rows<Row>('SELECT * FROM admin_users ORDER BY name')).map((r) => rowToUser(plain<UserRow>(r))));
  }

  disableUser(userId: string, at: number, audit?: NewAuditEntry): Promise<boolean> {
    return pgOp('disableUser', () =>
      this.#db.transaction(async (tx) => {
        if ((await tx.run('UPDATE admin_users SET disabled = true WHERE user_id = $1', [userId])) !== 1) return false;
        await tx.run('UPDATE admin_credentials SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL', [new Date(at), userId]);
        if (audit) await insertPgAudit(tx, audit);
        return true;
      }),
    );
  }

  createCredential(c: AdminCredential, audit?: NewAuditEntry): Promise<void> {
    return pgOp('createCredential', () =>
      this.#db.transaction(async (tx) => {
        try {
          await tx.run(
            `INSERT INTO admin_credentials (credential_id, kind, secret_sha256, label, user_id, role, merchant_id, created_at, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
            [c.credentialId, c.kind, c.secretSha256, clip(c.label, 100), c.userId, c.role, c.merchantId, new Date(c.createdAt), toTs(c.expiresAt), toTs(c.revokedAt)],
          );
        } catch (err) {
          if (isPgUniqueViolation(err)) throw taken(`credential ${c.credentialId}`, err);
          throw err;
        }
        if (audit) await insertPgAudit(tx, audit);
      }),
    );
  }

  findCredentialByHash(secretSha256: string): Promise<AdminCredential | null> {
    return pgOp('findCredentialByHash', async () => {
      const row = await this.#db.one<Row>('SELECT * FROM admin_credentials WHERE secret_sha256 = $1', [secretSha256]);
      return row ? rowToCredential(plain<CredentialRow>(row)) : null;
    });
  }

  listCredentials(kind: CredentialKind): Promise<AdminCredential[]> {
    return pgOp('listCredentials', async () =>
      (await this.#db.rows<Row>('SELECT * FROM admin_credentials WHERE kind = $1 ORDER BY created_at DESC, credential_id', [kind])).map((r) =>
        rowToCredential(plain<CredentialRow>(r)),
      ),
    );
  }

  revokeCredential(credentialId: string, at: number, audit?: NewAuditEntry): Promise<boolean> {
    return pgOp('revokeCredential', () =>
      this.#db.transaction(async (tx) => {
        const n = await tx.run('UPDATE admin_credentials SET revoked_at = $1 WHERE credential_id = $2 AND revoked_at IS NULL', [new Date(at), credentialId]);
        if (n !== 1) return false;
        if (audit) await insertPgAudit(tx, audit);
        return true;
      }),
    );
  }

  pruneSessions(before: number): Promise<number> {
    return pgOp('pruneSessions', () =>
      this.#db.run(
        "DELETE FROM admin_credentials WHERE kind = 'session' AND ((expires_at IS NOT NULL AND expires_at < $1) OR (revoked_at IS NOT NULL AND revoked_at < $1))",
        [new Date(before)],
      ),
    );
  }

  appendAudit(entry: NewAuditEntry): Promise<void> {
    return pgOp('appendAudit', () => insertPgAudit(this.#db, entry));
  }

  listAudit(limit: number, before?: number): Promise<AuditEntry[]> {
    return pgOp('listAudit', async () => {
      const rows = await this.#db.rows<Row>(
        `SELECT * FROM admin_audit${before === undefined ? '' : ' WHERE seq < $2'} ORDER BY seq DESC LIMIT $1`,
        before === undefined ? [limit] : [limit, before],
      );
      return rows.map((r) => rowToAudit(plain<AuditEntry>(r)));
    });
  }

  redeliverCallback(callbackId: number, at: number, audit?: NewAuditEntry): Promise<RedeliverResult> {
    return pgOp('redeliverCallback', () =>
      this.#db.transaction(async (tx): Promise<RedeliverResult> => {
        const ts = new Date(at);
        const changed = await tx.run(
          `UPDATE callback_outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, expires_at = NULL,
                  lease_owner = NULL, lease_until = NULL, updated_at = $1
            WHERE id = $2 AND NOT (status = 'pending' AND lease_until IS NOT NULL AND lease_until > $1)`,
          [ts, callbackId],
        );
        if (changed === 1) {
          if (audit) await insertPgAudit(tx, audit);
          return 'scheduled';
        }
        const row = await tx.one<Row>('SELECT id FROM callback_outbox WHERE id = $1', [callbackId]);
        return row ? 'in_flight' : 'not_found';
      }),
    );
  }
}
