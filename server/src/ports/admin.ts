/**
 * The admin port: what the operations console and its API (server/src/admin/, docs/admin-api.md)
 * read and write beyond the other ports — payment search, listings of stores and agents, console
 * users, their credentials (API tokens and sessions, kept only as sha256 hex), the admin audit
 * log, and an operator's redelivery of a callback.
 *
 * Invariants every adapter keeps: user names are unique; a credential's secret hash is unique;
 * a revoked credential stays revoked; audit rows are append-only. Times are ms since epoch.
 */
import type { PaymentStatus } from '../domain/payment-machine.ts';
import type { OperationRecord, OperationStatus } from './operations.ts';
import type { Payment } from './payments.ts';

/** Console roles, weakest first: `viewer` reads; `operator` also resolves and redelivers; `admin` also manages users and tokens. */
export type AdminRole = 'viewer' | 'operator' | 'admin';

/** Every role, weakest first. */
export const ADMIN_ROLES: readonly AdminRole[] = ['viewer', 'operator', 'admin'];

/** Largest page of {@link AdminPort.searchPayments}. */
export const MAX_SEARCH_PAGE = 100;

/** Where a page of a search ends: the last row's creation time and paymentId (keyset pagination, newest first). */
export interface PaymentCursor {
  readonly createdAt: number;
  readonly paymentId: string;
}

/**
 * A payment search: every given field must match (exact match, AND). Newest first by
 * (`createdAt`, `paymentId`), descending.
 */
export interface PaymentSearch {
  readonly paymentId?: string;
  readonly orderId?: string;
  readonly transactionId?: string;
  /** posbridge's own id (`Payment.id`, reported to VTEX as `tid`) or the terminal's tid of the outcome. */
  readonly tid?: string;
  readonly nsu?: string;
  readonly authorizationId?: string;
  /** Terminal serial the payment is bound to. */
  readonly serialNumber?: string;
  /** Store of the agent the payment is bound to (an agent without a store serves `sto_bootstrap`). */
  readonly storeId?: string;
  readonly merchantId?: string;
  /** Any of these statuses (non-empty when given). */
  readonly statuses?: readonly PaymentStatus[];
  /** Created at or after, ms since epoch. */
  readonly createdFrom?: number;
  /** Created before, ms since epoch. */
  readonly createdTo?: number;
  /** Rows strictly after this cursor (in the newest-first order). */
  readonly after?: PaymentCursor;
  /** 1–{@link MAX_SEARCH_PAGE}. */
  readonly limit: number;
}

/** A page of a search. */
export interface PaymentSearchPage {
  readonly payments: Payment[];
  /** Cursor of the next page; null when this page is the last. */
  readonly next: PaymentCursor | null;
}

/** Which operations (cancellations, settlements, refunds) {@link AdminPort.listOperations} answers. */
export interface OperationFilter {
  /** Only this payment's. */
  readonly paymentId?: string;
  /** Only these statuses (non-empty when given). */
  readonly statuses?: readonly OperationStatus[];
  /** Only operations of this merchant's payments. */
  readonly merchantId?: string;
  /** 1–{@link MAX_SEARCH_PAGE}. */
  readonly limit: number;
}

/** An operation with the merchant of its payment. */
export interface OperationListing extends OperationRecord {
  readonly merchantId: string;
}

/** A store with its merchant, for listings. */
export interface StoreListing {
  readonly storeId: string;
  readonly merchantId: string;
  readonly name: string;
  readonly createdAt: number;
}

/** A terminal agent with where it belongs and what it last said of itself (no token hash). */
export interface AgentListing {
  readonly agentId: string;
  readonly name: string;
  readonly storeId: string;
  readonly merchantId: string;
  readonly createdAt: number;
  /** `agentVersion` of its last `agent.hello`, or null before its first. */
  readonly agentVersion: string | null;
  /** Its last `agent.hello`, ms since epoch, or null. */
  readonly lastHelloAt: number | null;
  /** Serials it owns. */
  readonly serialNumbers: readonly string[];
}

/** A console user (the password only as its scrypt hash string, server/src/admin/passwords.ts). */
export interface AdminUser {
  readonly userId: string;
  /** Login name, 1–59 characters of `A-Z a-z 0-9 . _ @ -` (the API and CLI check it), unique. */
  readonly name: string;
  readonly role: AdminRole;
  /** Only this merchant's data; null: every merchant. */
  readonly merchantId: string | null;
  readonly passwordHash: string;
  readonly disabled: boolean;
  readonly createdAt: number;
}

/** `api`: an automation token (`Authorization: Bearer`); `session`: a console login (cookie). */
export type CredentialKind = 'api' | 'session';

/** An API token or a session; the secret itself is never stored. */
export interface AdminCredential {
  /** Public id (`tok_…`, `ses_…`), safe to list and log. */
  readonly credentialId: string;
  readonly kind: CredentialKind;
  /** sha256 hex of the secret, unique. */
  readonly secretSha256: string;
  /** What it was made for (a token's label; a session: the user name). ≤ 100 characters. */
  readonly label: string;
  /** The user it belongs to (sessions always; API tokens when made by a user), or null. */
  readonly userId: string | null;
  readonly role: AdminRole;
  readonly merchantId: string | null;
  readonly createdAt: number;
  /** null: never expires. */
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
}

/** One admin action (docs/admin-api.md "Audit log"). */
export interface NewAuditEntry {
  /** Who: `user:<name>`, `token:<credentialId>`, `cli:<os user>`; ≤ 200 characters kept. */
  readonly actor: string;
  /** What, e.g. `payment.resolve`, `callback.redeliver`, `user.add`, `session.login`. */
  readonly action: string;
  /** Its object, e.g. a paymentId or a user name; ≤ 200 characters kept. */
  readonly target: string;
  /** Why, as given (≤ 500 characters kept); empty when the action takes none. */
  readonly reason: string;
  /** `ok` or the refusal code. */
  readonly outcome: string;
  readonly at: number;
}

/** A stored audit row. */
export interface AuditEntry extends NewAuditEntry {
  readonly seq: number;
}

/** Answer of {@link AdminPort.redeliverCallback}. */
export type RedeliverResult = 'scheduled' | 'not_found' | 'in_flight';

/** The admin port. All methods may reject with `CodedError('STORE_FAILED')`. */
export interface AdminPort {
  /** A page of payments matching `search` (see {@link PaymentSearch}). */
  searchPayments(search: PaymentSearch): Promise<PaymentSearchPage>;
  /** Operations matching `filter`, newest first (by `createdAt`, then `operationId`). */
  listOperations(filter: OperationFilter): Promise<OperationListing[]>;
  /** Stores, by merchant then name; only `merchantId`'s when given. */
  listStores(merchantId?: string): Promise<StoreListing[]>;
  /** Agents with their store and serials, by name then id; only `merchantId`'s when given. */
  listAgents(merchantId?: string): Promise<AgentListing[]>;
  /** Records an agent's `agent.hello` (version ≤ 64 characters kept). @returns false for an unknown agent. */
  recordAgentHello(agentId: string, agentVersion: string, at: number): Promise<boolean>;

  /**
   * Creates a user, and appends `audit` (when given) in the same transaction.
   * @throws CodedError `CFG_INVALID` when the name or id is taken; `STORE_FAILED` (nothing written) when `audit` cannot be stored.
   */
  createUser(user: AdminUser, audit?: NewAuditEntry): Promise<void>;
  /** The user by login name, or null. */
  findUserByName(name: string): Promise<AdminUser | null>;
  /** The user, or null. */
  getUser(userId: string): Promise<AdminUser | null>;
  /** Every user, by name. */
  listUsers(): Promise<AdminUser[]>;
  /**
   * Disables a user and revokes every credential of theirs at `at`, and appends `audit` (when
   * given and the user exists), in one transaction.
   * @returns false when there is no such user (no audit row written).
   */
  disableUser(userId: string, at: number, audit?: NewAuditEntry): Promise<boolean>;

  /**
   * Stores a credential, and appends `audit` (when given) in the same transaction.
   * @throws CodedError `CFG_INVALID` when its id or hash is taken.
   */
  createCredential(credential: AdminCredential, audit?: NewAuditEntry): Promise<void>;
  /** The credential whose secret hashes to `secretSha256` (revoked or expired ones too), or null. */
  findCredentialByHash(secretSha256: string): Promise<AdminCredential | null>;
  /** Credentials of a kind, newest first (revoked ones too). */
  listCredentials(kind: CredentialKind): Promise<AdminCredential[]>;
  /**
   * Revokes a credential at `at`, and appends `audit` (when given) in the same transaction.
   * @returns false when unknown or already revoked (nothing written, `audit` neither).
   */
  revokeCredential(credentialId: string, at: number, audit?: NewAuditEntry): Promise<boolean>;
  /**
   * Deletes the sessions (never API tokens) that expired or were revoked before `before`, so
   * the table stays bounded by the logins of one session lifetime. @returns how many.
   */
  pruneSessions(before: number): Promise<number>;

  /**
   * Appends an audit row on its own: for attempts that changed nothing (a refusal, a failed
   * login). A change carries its row in the call that makes it (`audit` of the methods above,
   * `PaymentChange.audit`, `OperationResolution.audit`), so both commit together.
   * @throws CodedError `STORE_FAILED` when {@link auditRowProblem} finds one.
   */
  appendAudit(entry: NewAuditEntry): Promise<void>;
  /** Audit rows newest first, at most `limit` (1–500), only those with `seq < before` when given. */
  listAudit(limit: number, before?: number): Promise<AuditEntry[]>;

  /**
   * An operator asks for a callback to be delivered again: a delivered or failed (or pending)
   * row becomes `pending`, due at `at`, its attempt count restarted at 0 and its window
   * (`expiresAt`) cleared, so the worker makes a new round of attempts (the caller audits the
   * attempts made before), with `audit` (when given) appended in the same transaction.
   * @returns `in_flight` (nothing written, `audit` neither) while a worker holds its lease; `not_found`.
   */
  redeliverCallback(callbackId: number, at: number, audit?: NewAuditEntry): Promise<RedeliverResult>;
}

/** The first `n` characters of `s` (what the adapters keep of bounded text). */
export function clip(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n);
}

/**
 * Why `e` cannot be stored as an audit row, or null. Every adapter checks it where it inserts the
 * row — inside the transaction of the change the row records, which a refusal rolls back — and
 * rejects with `STORE_FAILED`: `at` must be a safe integer ≥ 0 (ms since epoch), `actor`,
 * `action` and `outcome` non-empty.
 * @see docs/admin-api.md "Audit log"
 */
export function auditRowProblem(e: NewAuditEntry): string | null {
  if (!Number.isSafeInteger(e.at) || e.at < 0) return `admin_audit.at must be ms since epoch, not ${String(e.at)}`;
  if (e.actor === '') return 'admin_audit.actor is empty';
  if (e.action === '') return 'admin_audit.action is empty';
  if (e.outcome === '') return 'admin_audit.outcome is empty';
  return null;
}
