/**
 * {@link AdminPort} in memory, with the semantics of the SQLite adapter (../sqlite/admin.ts):
 * the same filters and order of the payment search, unique user names and credential hashes,
 * an append-only audit log. Both pass ../../ports/admin.contract.ts.
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
import { BOOTSTRAP_STORE_ID } from '../../ports/directory.ts';
import type { Payment } from '../../ports/payments.ts';
import { taken } from '../sqlite/admin.ts';
import { insertMemoryAudit } from './audit-row.ts';
import { toRecord } from './operations.ts';
import { byKeys, ConstraintError, copy, type MemoryConnection } from './state.ts';

/** True when `p` matches every field of `s` (cursor and limit aside). */
function matches(p: Payment, s: PaymentSearch, storeOfAgent: (agentId: string) => string | null): boolean {
  if (s.paymentId !== undefined && p.paymentId !== s.paymentId) return false;
  if (s.orderId !== undefined && p.orderId !== s.orderId) return false;
  if (s.transactionId !== undefined && p.transactionId !== s.transactionId) return false;
  if (s.tid !== undefined && p.id !== s.tid && (p.outcome?.tid ?? null) !== s.tid) return false;
  if (s.nsu !== undefined && (p.outcome?.nsu ?? null) !== s.nsu) return false;
  if (s.authorizationId !== undefined && (p.outcome?.authorizationId ?? null) !== s.authorizationId) return false;
  if (s.serialNumber !== undefined && (p.binding?.serialNumber ?? null) !== s.serialNumber) return false;
  if (s.storeId !== undefined && (p.binding === null || storeOfAgent(p.binding.agentId) !== s.storeId)) return false;
  if (s.merchantId !== undefined && p.merchantId !== s.merchantId) return false;
  if (s.statuses !== undefined && !s.statuses.includes(p.status)) return false;
  if (s.createdFrom !== undefined && p.createdAt < s.createdFrom) return false;
  if (s.createdTo !== undefined && p.createdAt >= s.createdTo) return false;
  if (s.after !== undefined) {
    const { createdAt, paymentId } = s.after;
    if (p.createdAt > createdAt || (p.createdAt === createdAt && p.paymentId >= paymentId)) return false;
  }
  return true;
}

/** The admin port over a memory connection. */
export class MemoryAdmin implements AdminPort {
  readonly #conn: MemoryConnection;

  constructor(conn: MemoryConnection) {
    this.#conn = conn;
  }

  #storeOfAgent(agentId: string): string | null {
    const agent = this.#conn.tables.agents.get(agentId);
    return agent === undefined ? null : (agent.storeId ?? BOOTSTRAP_STORE_ID);
  }

  searchPayments(search: PaymentSearch): Promise<PaymentSearchPage> {
    return this.#conn.run('searchPayments', () => {
      const found = [...this.#conn.tables.payments.values()]
        .filter((p) => matches(p, search, (a) => this.#storeOfAgent(a)))
        .sort((a, b) => (a.createdAt !== b.createdAt ? b.createdAt - a.createdAt : a.paymentId < b.paymentId ? 1 : a.paymentId > b.paymentId ? -1 : 0));
      const page = found.slice(0, search.limit);
      const last = page[page.length - 1];
      return {
        payments: page.map((p) => copy(p)),
        next: found.length > search.limit && last ? { createdAt: last.createdAt, paymentId: last.paymentId } : null,
      };
    });
  }

  listOperations(filter: OperationFilter): Promise<OperationListing[]> {
    return this.#conn.run('listOperations', () => {
      const { operations, payments } = this.#conn.tables;
      const out: OperationListing[] = [];
      for (const row of operations.values()) {
        const payment = payments.get(row.paymentId);
        if (payment === undefined) continue;
        if (filter.paymentId !== undefined && row.paymentId !== filter.paymentId) continue;
        if (filter.merchantId !== undefined && payment.merchantId !== filter.merchantId) continue;
        if (filter.statuses !== undefined && !filter.statuses.includes(row.status)) continue;
        out.push({ ...toRecord(row), merchantId: payment.merchantId });
      }
      return out.sort(byKeys((o) => -o.createdAt, (o) => o.operationId)).slice(0, filter.limit);
    });
  }

  listStores(merchantId?: string): Promise<StoreListing[]> {
    return this.#conn.run('listStores', () =>
      [...this.#conn.tables.stores.values()]
        .filter((s) => merchantId === undefined || s.merchantId === merchantId)
        .sort(byKeys((s) => s.merchantId, (s) => s.name))
        .map((s) => ({ storeId: s.storeId, merchantId: s.merchantId, name: s.name, createdAt: s.createdAt })),
    );
  }

  listAgents(merchantId?: string): Promise<AgentListing[]> {
    return this.#conn.run('listAgents', () => {
      const { agents, stores, terminals, agentHellos } = this.#conn.tables;
      const out: AgentListing[] = [];
      for (const a of agents.values()) {
        const storeId = a.storeId ?? BOOTSTRAP_STORE_ID;
        const store = stores.get(storeId);
        if (store === undefined) continue;
        if (merchantId !== undefined && store.merchantId !== merchantId) continue;
        const hello = agentHellos.get(a.agentId);
        out.push({
          agentId: a.agentId,
          name: a.name,
          storeId,
          merchantId: store.merchantId,
          createdAt: a.createdAt,
          agentVersion: hello?.agentVersion ?? null,
          lastHelloAt: hello?.at ?? null,
          serialNumbers: [...terminals.values()].filter((t) => t.agentId === a.agentId).map((t) => t.serialNumber).sort(),
        });
      }
      return out.sort(byKeys((a) => a.name, (a) => a.agentId));
    });
  }

  recordAgentHello(agentId: string, agentVersion: string, at: number): Promise<boolean> {
    return this.#conn.run('recordAgentHello', () => {
      if (!this.#conn.tables.agents.has(agentId)) return false;
      this.#conn.tables.agentHellos.set(agentId, { agentVersion: clip(agentVersion, 64), at });
      return true;
    });
  }

  createUser(user: AdminUser, audit?: NewAuditEntry): Promise<void> {
    return this.#conn.run('createUser', () => {
      const { adminUsers } = this.#conn.tables;
      if (adminUsers.has(user.userId)) throw taken(`user id ${user.userId}`, undefined);
      for (const u of adminUsers.values()) if (u.name === user.name) throw taken(`user ${JSON.stringify(user.name)}`, undefined);
      adminUsers.set(user.userId, copy(user));
      if (audit) insertMemoryAudit(this.#conn.state, audit);
    });
  }

  findUserByName(name: string): Promise<AdminUser | null> {
    return this.#conn.run('findUserByName', () => {
      for (const u of this.#conn.tables.adminUsers.values()) if (u.name === name) return copy(u);
      return null;
    });
  }

  getUser(userId: string): Promise<AdminUser | null> {
    return this.#conn.run('getUser', () => {
      const u = this.#conn.tables.adminUsers.get(userId);
      return u === undefined ? null : copy(u);
    });
  }

  listUsers(): Promise<AdminUser[]> {
    return this.#conn.run('listUsers', () => [...this.#conn.tables.adminUsers.values()].sort(byKeys((u) => u.name)).map((u) => copy(u)));
  }

  disableUser(userId: string, at: number, audit?: NewAuditEntry): Promise<boolean> {
    return this.#conn.run('disableUser', () => {
      const { adminUsers, adminCredentials } = this.#conn.tables;
      const u = adminUsers.get(userId);
      if (u === undefined) return false;
      adminUsers.set(userId, { ...u, disabled: true });
      for (const c of adminCredentials.values()) {
        if (c.userId === userId && c.revokedAt === null) adminCredentials.set(c.credentialId, { ...c, revokedAt: at });
      }
      if (audit) insertMemoryAudit(this.#conn.state, audit);
      return true;
    });
  }

  createCredential(credential: AdminCredential, audit?: NewAuditEntry): Promise<void> {
    return this.#conn.run('createCredential', () => {
      const { adminCredentials, adminUsers } = this.#conn.tables;
      if (adminCredentials.has(credential.credentialId)) throw taken(`credential ${credential.credentialId}`, undefined);
      for (const c of adminCredentials.values()) {
        if (c.secretSha256 === credential.secretSha256) throw taken(`credential ${credential.credentialId}`, undefined);
      }
      if (credential.userId !== null && !adminUsers.has(credential.userId)) {
        throw new ConstraintError('foreign_key', `admin_credentials.user_id ${credential.userId}`);
      }
      adminCredentials.set(credential.credentialId, { ...credential, label: clip(credential.label, 100) });
      if (audit) insertMemoryAudit(this.#conn.state, audit);
    });
  }

  findCredentialByHash(secretSha256: string): Promise<AdminCredential | null> {
    return this.#conn.run('findCredentialByHash', () => {
      for (const c of this.#conn.tables.adminCredentials.values()) if (c.secretSha256 === secretSha256) return copy(c);
      return null;
    });
  }

  listCredentials(kind: CredentialKind): Promise<AdminCredential[]> {
    return this.#conn.run('listCredentials', () =>
      [...this.#conn.tables.adminCredentials.values()]
        .filter((c) => c.kind === kind)
        .sort(byKeys((c) => -c.createdAt, (c) => c.credentialId))
        .map((c) => copy(c)),
    );
  }

  revokeCredential(credentialId: string, at: number, audit?: NewAuditEntry): Promise<boolean> {
    return this.#conn.run('revokeCredential', () => {
      const c = this.#conn.tables.adminCredentials.get(credentialId);
      if (c === undefined || c.revokedAt !== null) return false;
      this.#conn.tables.adminCredentials.set(credentialId, { ...c, revokedAt: at });
      if (audit) insertMemoryAudit(this.#conn.state, audit);
      return true;
    });
  }

  pruneSessions(before: number): Promise<number> {
    return this.#conn.run('pruneSessions', () => {
      const { adminCredentials } = this.#conn.tables;
      let n = 0;
      for (const c of [...adminCredentials.values()]) {
        if (c.kind !== 'session') continue;
        if ((c.expiresAt !== null && c.expiresAt < before) || (c.revokedAt !== null && c.revokedAt < before)) {
          adminCredentials.delete(c.credentialId);
          n++;
        }
      }
      return n;
    });
  }

  appendAudit(entry: NewAuditEntry): Promise<void> {
    return this.#conn.run('appendAudit', () => insertMemoryAudit(this.#conn.state, entry));
  }

  listAudit(limit: number, before?: number): Promise<AuditEntry[]> {
    return this.#conn.run('listAudit', () =>
      [...this.#conn.tables.adminAudit.values()]
        .filter((e) => before === undefined || e.seq < before)
        .sort((a, b) => b.seq - a.seq)
        .slice(0, limit)
        .map((e) => copy(e)),
    );
  }

  redeliverCallback(callbackId: number, at: number, audit?: NewAuditEntry): Promise<RedeliverResult> {
    return this.#conn.run('redeliverCallback', () => {
      const row = this.#conn.tables.callbacks.get(callbackId);
      if (row === undefined) return 'not_found';
      if (row.status === 'pending' && row.leaseUntil !== null && row.leaseUntil > at) return 'in_flight';
      this.#conn.tables.callbacks.set(callbackId, {
        ...row,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: at,
        expiresAt: null,
        leaseOwner: null,
        leaseUntil: null,
        updatedAt: at,
      });
      if (audit) insertMemoryAudit(this.#conn.state, audit);
      return 'scheduled';
    });
  }
}
