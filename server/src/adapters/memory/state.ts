/**
 * The state of the memory adapter: every table of the store in one object, and the
 * "transaction" that makes a change and its effects one step.
 *
 * JavaScript runs one function at a time, so a write that does all its reads and writes
 * synchronously cannot interleave with another one: that is the lock (what `BEGIN IMMEDIATE`
 * is for SQLite). What the lock alone does not give is all-or-nothing: a write that fails half
 * way (a constraint, a missing row) must leave nothing behind. Every {@link Table} therefore
 * records an undo step in the state's journal while a {@link MemoryState.transaction} runs, and
 * a transaction that throws is rolled back. A new table (e.g. the agent-command log) is one more
 * field of {@link MemoryTables}, written inside the same transaction as the change causing it.
 *
 * Stored values are immutable snapshots: writers store new objects, readers copy what they hand out.
 */
import type { AdminCredential, AdminUser, AuditEntry } from '../../ports/admin.ts';
import type { AgentCommandRecord } from '../../ports/agent-commands.ts';
import type { CallbackStatus } from '../../ports/callback-outbox.ts';
import type { Lease } from '../../ports/leases.ts';
import type { TraceEventRecord } from '../../ports/events.ts';
import type { MerchantRecord, StoreRecord, TerminalEventRecord, TerminalRecord } from '../../ports/directory.ts';
import type { GiftCard, JournalEntry } from '../../ports/giftcards.ts';
import type { OperationRecord } from '../../ports/operations.ts';
import type { Payment } from '../../ports/payments.ts';
import type { PaymentStatus } from '../../domain/payment-machine.ts';
import { storeError } from '../store-error.ts';

/** A violated store invariant (the memory adapter's UNIQUE / FOREIGN KEY / CHECK constraint). */
export class ConstraintError extends Error {
  readonly constraint: 'unique' | 'foreign_key' | 'check';

  constructor(constraint: 'unique' | 'foreign_key' | 'check', message: string) {
    super(`${constraint} constraint failed: ${message}`);
    this.name = 'ConstraintError';
    this.constraint = constraint;
  }
}

/** Records undo steps while a transaction runs. */
class Journal {
  #undo: (() => void)[] | null = null;

  get active(): boolean {
    return this.#undo !== null;
  }

  record(step: () => void): void {
    this.#undo?.push(step);
  }

  run<T>(fn: () => T): T {
    if (this.#undo !== null) return fn(); // nested: part of the outer transaction
    const undo: (() => void)[] = [];
    this.#undo = undo;
    try {
      const value = fn();
      this.#undo = null;
      return value;
    } catch (err) {
      this.#undo = null;
      for (let i = undo.length - 1; i >= 0; i--) undo[i]?.();
      throw err;
    }
  }
}

/** One table: rows by primary key, every write undone if its transaction fails. */
export class Table<K, V> {
  readonly #rows = new Map<K, V>();
  readonly #journal: Journal;

  /** @internal tables are made by {@link createMemoryState}. */
  constructor(journal: Journal) {
    this.#journal = journal;
  }

  get(key: K): V | undefined {
    return this.#rows.get(key);
  }

  has(key: K): boolean {
    return this.#rows.has(key);
  }

  /** Rows in insertion order of their keys. */
  values(): IterableIterator<V> {
    return this.#rows.values();
  }

  /** Inserts or replaces the row under `key`. */
  set(key: K, value: V): void {
    this.#mustWrite();
    const had = this.#rows.has(key);
    const before = this.#rows.get(key);
    this.#rows.set(key, value);
    this.#journal.record(() => {
      if (had) this.#rows.set(key, before as V);
      else this.#rows.delete(key);
    });
  }

  /** Removes the row under `key`. @returns whether there was one. */
  delete(key: K): boolean {
    this.#mustWrite();
    if (!this.#rows.has(key)) return false;
    const before = this.#rows.get(key) as V;
    this.#rows.delete(key);
    this.#journal.record(() => this.#rows.set(key, before));
    return true;
  }

  #mustWrite(): void {
    if (!this.#journal.active) throw new Error('memory store: a write outside a transaction');
  }
}

/** A stored agent (the token only as its sha256). */
export interface AgentRow {
  readonly agentId: string;
  readonly name: string;
  readonly createdAt: number;
  readonly storeId: string | null;
  readonly tokenSha256: string;
  /** When the agent was revoked (ports/agent-enrolment.ts); absent or null: live. */
  readonly revokedAt?: number | null;
  /** Last rotation or revocation of its token; absent or null: never. */
  readonly credentialsChangedAt?: number | null;
}

/** A pairing code (its digest only; ports/agent-enrolment.ts). */
export interface PairingCodeRow {
  readonly codeSha256: string;
  readonly merchantId: string;
  readonly storeId: string;
  readonly agentName: string;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly usedAt: number | null;
  readonly agentId: string | null;
}

/** A stored payment event; `data` is JSON text, as written. */
export interface PaymentEventRow {
  readonly seq: number;
  readonly paymentId: string;
  readonly type: string;
  readonly fromStatus: PaymentStatus | null;
  readonly toStatus: PaymentStatus;
  readonly data: string;
  readonly at: number;
}

/** A stored callback (its merchant is its payment's). */
export interface CallbackRow {
  readonly id: number;
  readonly paymentId: string;
  /** `final:<status>`: one entry per payment and kind. */
  readonly kind: string;
  readonly url: string;
  readonly body: string;
  readonly status: CallbackStatus;
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
  readonly lastHttpStatus: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly expiresAt: number | null;
  /** Holder of the row's lease (ports/leases.ts), null when none. */
  readonly leaseOwner: string | null;
  /** When that lease runs out; null with `leaseOwner`. */
  readonly leaseUntil: number | null;
}

/** A stored operation; its answer's body is JSON text, as written. */
export interface OperationRow extends Omit<OperationRecord, 'answer'> {
  readonly answerStatus: number | null;
  readonly answerBody: string | null;
}

/** A counter's window, with its key. */
export interface CounterRow {
  readonly key: string;
  readonly count: number;
  readonly resetAt: number;
}

/** A pending configuration flow (digests only). */
export interface OnboardingTokenRow {
  readonly tokenSha256: string;
  readonly source: string;
  readonly returnUrl: string;
  readonly expiresAt: number;
  readonly codeSha256: string | null;
  readonly merchantName: string | null;
}

/** Every table of the memory store. */
export interface MemoryTables {
  readonly payments: Table<string, Payment>;
  readonly paymentEvents: Table<number, PaymentEventRow>;
  /** Agents' trace events by seq (./events.ts). */
  readonly traceEvents: Table<number, TraceEventRecord>;
  readonly callbacks: Table<number, CallbackRow>;
  readonly operations: Table<string, OperationRow>;
  readonly merchants: Table<string, MerchantRecord>;
  readonly stores: Table<string, StoreRecord>;
  readonly agents: Table<string, AgentRow>;
  readonly terminals: Table<string, TerminalRecord>;
  readonly terminalEvents: Table<number, TerminalEventRecord>;
  readonly meta: Table<string, string>;
  /** The agent-command log, by commandId (./agent-commands.ts). */
  readonly agentCommands: Table<string, AgentCommandRecord>;
  /** Deadline leases by paymentId (ports/payments.ts `claimDuePayments`; SQLite keeps them on the payment row). */
  readonly deadlineLeases: Table<string, Lease>;
  /** Shared counters, by key (./counters.ts). */
  readonly counters: Table<string, CounterRow>;
  /** Pending configuration flows, by token digest (./onboarding-tokens.ts). */
  readonly onboardingTokens: Table<string, OnboardingTokenRow>;
  /** Token digest of each issued code digest. */
  readonly onboardingCodes: Table<string, string>;
  /** Gift cards by id (./giftcards.ts). */
  readonly giftCards: Table<string, GiftCard>;
  /** Card id of each `merchantName` + redemption-code digest (the UNIQUE index of the SQL stores). */
  readonly giftCardCodes: Table<string, string>;
  /** Each card's journal, by card id, in `seq` order (replaced by a longer array on every append). */
  readonly giftCardJournals: Table<string, readonly JournalEntry[]>;
  /** Card id of each journal entry id (entry ids are unique in the store). */
  readonly giftCardEntryIds: Table<string, string>;
  /** Pairing codes by digest (./agent-enrolment.ts). */
  readonly pairingCodes: Table<string, PairingCodeRow>;
  /** Console users by userId (./admin.ts). */
  readonly adminUsers: Table<string, AdminUser>;
  /** API tokens and sessions by credentialId. */
  readonly adminCredentials: Table<string, AdminCredential>;
  /** The admin audit log by seq. */
  readonly adminAudit: Table<number, AuditEntry>;
  /** Each agent's last `agent.hello`: version and time. */
  readonly agentHellos: Table<string, { readonly agentVersion: string; readonly at: number }>;
  /** Last value of each sequence (`payment_events`, `callbacks`, `terminal_events`), rolled back with its transaction. */
  readonly sequences: Table<string, number>;
}

/** The state a memory store works on; several stores may share one (like connections to one file). */
export interface MemoryState {
  readonly tables: MemoryTables;
  /** Runs `fn` as one all-or-nothing step (nested calls join the outer one). */
  transaction<T>(fn: () => T): T;
  /** The next value of a sequence (1, 2, …), inside a transaction. */
  nextSeq(name: string): number;
}

/** An empty state. */
export function createMemoryState(): MemoryState {
  const journal = new Journal();
  const table = <K, V>(): Table<K, V> => new Table<K, V>(journal);
  const tables: MemoryTables = {
    payments: table(),
    paymentEvents: table(),
    traceEvents: table(),
    callbacks: table(),
    operations: table(),
    merchants: table(),
    stores: table(),
    agents: table(),
    terminals: table(),
    terminalEvents: table(),
    meta: table(),
    agentCommands: table(),
    deadlineLeases: table(),
    counters: table(),
    onboardingTokens: table(),
    onboardingCodes: table(),
    giftCards: table(),
    giftCardCodes: table(),
    giftCardJournals: table(),
    giftCardEntryIds: table(),
    pairingCodes: table(),
    adminUsers: table(),
    adminCredentials: table(),
    adminAudit: table(),
    agentHellos: table(),
    sequences: table(),
  };
  return {
    tables,
    transaction: (fn) => journal.run(fn),
    nextSeq(name) {
      const next = (tables.sequences.get(name) ?? 0) + 1;
      tables.sequences.set(name, next);
      return next;
    },
  };
}

/** Orders rows by the given keys, ascending (numbers numerically, strings by code unit). */
export function byKeys<T>(...keys: ((row: T) => number | string | null)[]): (a: T, b: T) => number {
  return (a, b) => {
    for (const key of keys) {
      const x = key(a);
      const y = key(b);
      if (x === y) continue;
      if (x === null) return -1; // SQL sorts NULL first
      if (y === null) return 1;
      return x < y ? -1 : 1;
    }
    return 0;
  };
}

/**
 * One store's handle on a state (what a connection is to a database file): runs each port
 * method as one transaction, wraps failures in `STORE_FAILED`, and refuses calls once closed.
 */
export class MemoryConnection {
  readonly state: MemoryState;
  #closed = false;

  constructor(state: MemoryState) {
    this.state = state;
  }

  get tables(): MemoryTables {
    return this.state.tables;
  }

  /** Runs `fn` as one transaction of the state; a throw rolls it back and rejects with `STORE_FAILED` (coded errors as they are). */
  run<T>(operation: string, fn: () => T): Promise<T> {
    try {
      if (this.#closed) throw new Error('the memory store is closed');
      return Promise.resolve(this.state.transaction(fn));
    } catch (err) {
      return Promise.reject(storeError(operation, err));
    }
  }

  /** Refuses every later call (the state stays, for other connections). */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}

/** A deep copy of a stored value, so a caller never holds (or mutates) the stored snapshot. */
export function copy<T>(value: T): T {
  return structuredClone(value);
}
