/**
 * {@link DirectoryPort} on SQLite: `merchants`, `stores`, `agents`, `terminals` and the
 * `terminal_events` ownership log. Uniqueness is the schema's (UNIQUE constraints, mapped to
 * `CFG_INVALID` for merchants and stores); ownership changes are compare-and-set updates with
 * their audit row in one `BEGIN IMMEDIATE` transaction.
 *
 * `findMerchantByAppKey` (every PPP call) is answered from a cache of found merchants, dropped
 * by every merchant write of this process and kept at most {@link MERCHANT_CACHE_MS} for writes
 * of another process on the same file (the CLI); an unknown key is never cached, so a merchant
 * the CLI just added authenticates at once. Misses read on the reader connection (./sqlite-db.ts).
 */
import { CodedError } from '@posbridge/protocol/errors';
import {
  BOOTSTRAP_MERCHANT_ID,
  BOOTSTRAP_STORE_ID,
  type AgentRecord,
  type DirectoryPort,
  type MerchantRecord,
  type StoreRecord,
  type TerminalEventRecord,
  type TerminalListing,
  type TerminalMove,
  type SandboxTerminalsChange,
  type TestSuiteModeChange,
  type PaymentAppChange,
  type TerminalRecord,
} from '../../ports/directory.ts';
import type { SqliteDb, SqlParam } from './sqlite-db.ts';
import { isUniqueViolation, readCommitted, rowToMerchant, runExclusive, type MerchantRow } from './rows.ts';
import { storeError } from '../store-error.ts';

/**
 * How long a cached merchant (by appKey) is answered without reading the database again, ms
 * (monotonic clock): the bound on how late another process's change of that merchant is seen.
 */
export const MERCHANT_CACHE_MS = 1000;

/** The directory over one connection. */
export class SqliteDirectory implements DirectoryPort {
  readonly #db: SqliteDb;
  /** Found merchants by appKey, with when they were read (performance.now()). Bounded by the merchants table. */
  readonly #byAppKey = new Map<string, { merchant: MerchantRecord; readAt: number }>();

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return runExclusive(this.#db, operation, fn);
  }

  /** A read of committed rows on the reader connection (./sqlite-db.ts `read`), not queued behind writes. */
  async #read<T>(operation: string, sql: string, params: readonly SqlParam[]): Promise<T | undefined> {
    return (await readCommitted<T>(this.#db, operation, sql, params))[0];
  }

  createAgent(agent: AgentRecord, tokenSha256: string): Promise<void> {
    return this.#op('createAgent', async () => {
      await this.#db.run('INSERT INTO agents (agent_id, name, token_sha256, created_at, store_id) VALUES (?, ?, ?, ?, ?)', [
        agent.agentId,
        agent.name,
        tokenSha256,
        agent.createdAt,
        agent.storeId ?? null,
      ]);
    });
  }

  async findAgentByTokenHash(tokenSha256: string): Promise<AgentRecord | null> {
    const row = await this.#read<{ agent_id: string; name: string; created_at: number; store_id: string | null }>(
      'findAgentByTokenHash',
      'SELECT agent_id, name, created_at, store_id FROM agents WHERE token_sha256 = ?',
      [tokenSha256],
    );
    return row ? { agentId: row.agent_id, name: row.name, createdAt: row.created_at, storeId: row.store_id } : null;
  }

  async getAgent(agentId: string): Promise<AgentRecord | null> {
    const row = await this.#read<{ agent_id: string; name: string; created_at: number; store_id: string | null }>(
      'getAgent',
      'SELECT agent_id, name, created_at, store_id FROM agents WHERE agent_id = ?',
      [agentId],
    );
    return row ? { agentId: row.agent_id, name: row.name, createdAt: row.created_at, storeId: row.store_id } : null;
  }

  registerTerminal(terminal: TerminalRecord): Promise<{ terminal: TerminalRecord; created: boolean }> {
    return this.#op('registerTerminal', () =>
      this.#db.transaction(async () => {
        const inserted = await this.#db.run(
          'INSERT INTO terminals (serial_number, agent_id, last_seen_at) VALUES (?, ?, ?) ON CONFLICT (serial_number) DO NOTHING',
          [terminal.serialNumber, terminal.agentId, terminal.lastSeenAt],
        );
        if (inserted.changes === 1) {
          await this.#db.run(
            `INSERT INTO terminal_events (serial_number, type, from_agent_id, to_agent_id, actor, reason, at)
             VALUES (?, 'registered', NULL, ?, 'hub', 'first announced by this agent', ?)`,
            [terminal.serialNumber, terminal.agentId, terminal.lastSeenAt],
          );
          return { terminal: { ...terminal }, created: true };
        }
        const row = await this.#db.get<{ serial_number: string; agent_id: string; last_seen_at: number }>(
          'SELECT * FROM terminals WHERE serial_number = ?',
          [terminal.serialNumber],
        );
        if (!row) throw new Error(`terminal ${terminal.serialNumber} vanished`);
        return { terminal: { serialNumber: row.serial_number, agentId: row.agent_id, lastSeenAt: row.last_seen_at }, created: false };
      }),
    );
  }

  touchTerminal(serialNumber: string, agentId: string, at: number): Promise<boolean> {
    return this.#op('touchTerminal', async () => {
      const r = await this.#db.run('UPDATE terminals SET last_seen_at = ? WHERE serial_number = ? AND agent_id = ?', [at, serialNumber, agentId]);
      return r.changes === 1;
    });
  }

  moveTerminal(move: TerminalMove): Promise<boolean> {
    return this.#op('moveTerminal', () =>
      this.#db.transaction(async () => {
        const r = await this.#db.run('UPDATE terminals SET agent_id = ? WHERE serial_number = ? AND agent_id = ?', [
          move.toAgentId,
          move.serialNumber,
          move.fromAgentId,
        ]);
        if (r.changes !== 1) return false;
        await this.#db.run(
          `INSERT INTO terminal_events (serial_number, type, from_agent_id, to_agent_id, actor, reason, at)
           VALUES (?, 'moved', ?, ?, ?, ?, ?)`,
          [move.serialNumber, move.fromAgentId, move.toAgentId, move.actor.slice(0, 200), move.reason.slice(0, 500), move.at],
        );
        return true;
      }),
    );
  }

  listTerminalEvents(serialNumber: string): Promise<TerminalEventRecord[]> {
    return this.#op('listTerminalEvents', async () => {
      const rows = await this.#db.all<{
        seq: number;
        serial_number: string;
        type: 'registered' | 'moved';
        from_agent_id: string | null;
        to_agent_id: string;
        actor: string;
        reason: string;
        at: number;
      }>('SELECT * FROM terminal_events WHERE serial_number = ? ORDER BY seq', [serialNumber]);
      return rows.map((r) => ({
        seq: r.seq,
        serialNumber: r.serial_number,
        type: r.type,
        fromAgentId: r.from_agent_id,
        toAgentId: r.to_agent_id,
        actor: r.actor,
        reason: r.reason,
        at: r.at,
      }));
    });
  }

  async findTerminal(serialNumber: string): Promise<TerminalRecord | null> {
    const row = await this.#read<{ serial_number: string; agent_id: string; last_seen_at: number }>(
      'findTerminal',
      'SELECT * FROM terminals WHERE serial_number = ?',
      [serialNumber],
    );
    return row ? { serialNumber: row.serial_number, agentId: row.agent_id, lastSeenAt: row.last_seen_at } : null;
  }

  upsertBootstrapMerchant(merchant: MerchantRecord): Promise<void> {
    this.#byAppKey.clear();
    return this.#op('upsertBootstrapMerchant', () =>
      this.#db.transaction(async () => {
        // Another merchant may have been given the env appKey or name by the CLI: that is a
        // configuration error, reported by the UNIQUE constraint.
        await this.#db.run(
          `INSERT INTO merchants (merchant_id, name, app_key, app_token_sha256, callback_mode, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (merchant_id) DO UPDATE SET name = excluded.name, app_key = excluded.app_key,
             app_token_sha256 = excluded.app_token_sha256, callback_mode = excluded.callback_mode`,
          [merchant.merchantId, merchant.name, merchant.appKey, merchant.appTokenSha256, merchant.callbackMode, merchant.createdAt],
        );
        await this.#db.run(
          `INSERT OR IGNORE INTO stores (store_id, merchant_id, name, created_at) VALUES (?, ?, 'default', ?)`,
          [BOOTSTRAP_STORE_ID, merchant.merchantId, merchant.createdAt],
        );
      }),
    ).catch((err: unknown) => {
      if (isUniqueViolation((err as { cause?: unknown }).cause ?? err)) {
        throw new CodedError('CFG_INVALID', 'the bootstrap merchant\'s appKey or name belongs to another merchant', { cause: err });
      }
      throw err;
    }).finally(() => this.#byAppKey.clear()); // also after: a read in flight may have cached the old row
  }

  createMerchant(merchant: MerchantRecord): Promise<void> {
    this.#byAppKey.clear();
    return this.#op('createMerchant', async () => {
      try {
        await this.#db.run(
          'INSERT INTO merchants (merchant_id, name, app_key, app_token_sha256, callback_mode, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          [merchant.merchantId, merchant.name, merchant.appKey, merchant.appTokenSha256, merchant.callbackMode, merchant.createdAt],
        );
      } catch (err) {
        if (isUniqueViolation(err)) throw new CodedError('CFG_INVALID', `a merchant named ${JSON.stringify(merchant.name)} already exists`);
        throw err;
      }
    });
  }

  async #merchantBy(column: 'app_key' | 'name' | 'merchant_id', value: string, operation: string): Promise<MerchantRecord | null> {
    const row = await this.#read<MerchantRow>(operation, `SELECT * FROM merchants WHERE ${column} = ?`, [value]);
    return row ? rowToMerchant(row) : null;
  }

  async findMerchantByAppKey(appKey: string): Promise<MerchantRecord | null> {
    const cached = this.#byAppKey.get(appKey);
    if (cached && performance.now() - cached.readAt < MERCHANT_CACHE_MS) return cached.merchant;
    const readAt = performance.now();
    let rows: MerchantRow[];
    try {
      rows = await this.#db.read<MerchantRow>('SELECT * FROM merchants WHERE app_key = ?', [appKey]);
    } catch (err) {
      throw storeError('findMerchantByAppKey', err);
    }
    const merchant = rows[0] ? rowToMerchant(rows[0]) : null;
    if (merchant) this.#byAppKey.set(appKey, { merchant, readAt });
    else this.#byAppKey.delete(appKey);
    return merchant;
  }

  findMerchantByName(name: string): Promise<MerchantRecord | null> {
    return this.#merchantBy('name', name, 'findMerchantByName');
  }

  getMerchant(merchantId: string): Promise<MerchantRecord | null> {
    return this.#merchantBy('merchant_id', merchantId, 'getMerchant');
  }

  setMerchantTestSuite(change: TestSuiteModeChange): Promise<boolean> {
    return this.#op('setMerchantTestSuite', async () => {
      const r = await this.#db.run(
        'UPDATE merchants SET test_suite = ?, test_suite_changed_by = ?, test_suite_changed_at = ? WHERE merchant_id = ?',
        [change.on ? 1 : 0, change.actor.slice(0, 200), change.at, change.merchantId],
      );
      return r.changes === 1;
    }).finally(() => this.#byAppKey.clear()); // a merchant write: the cached row is stale (module comment)
  }

  setMerchantPaymentApp(change: PaymentAppChange): Promise<boolean> {
    return this.#op('setMerchantPaymentApp', async () => {
      const r = await this.#db.run(
        'UPDATE merchants SET payment_app = ?, payment_app_changed_by = ?, payment_app_changed_at = ? WHERE merchant_id = ?',
        [change.paymentApp, change.actor.slice(0, 200), change.at, change.merchantId],
      );
      return r.changes === 1;
    }).finally(() => this.#byAppKey.clear()); // a merchant write: the cached row is stale (module comment)
  }

  setMerchantSandboxTerminals(change: SandboxTerminalsChange): Promise<boolean> {
    return this.#op('setMerchantSandboxTerminals', async () => {
      const r = await this.#db.run(
        'UPDATE merchants SET sandbox_terminals = ?, sandbox_terminals_changed_by = ?, sandbox_terminals_changed_at = ? WHERE merchant_id = ?',
        [change.allow ? 1 : 0, change.actor.slice(0, 200), change.at, change.merchantId],
      );
      return r.changes === 1;
    }).finally(() => this.#byAppKey.clear()); // a merchant write: the cached row is stale (module comment)
  }

  listMerchants(): Promise<MerchantRecord[]> {
    return this.#op('listMerchants', async () => {
      const rows = await this.#db.all<MerchantRow>('SELECT * FROM merchants ORDER BY created_at, merchant_id');
      return rows.map(rowToMerchant);
    });
  }

  createStore(store: StoreRecord): Promise<void> {
    return this.#op('createStore', async () => {
      try {
        await this.#db.run('INSERT INTO stores (store_id, merchant_id, name, created_at) VALUES (?, ?, ?, ?)', [
          store.storeId,
          store.merchantId,
          store.name,
          store.createdAt,
        ]);
      } catch (err) {
        if (isUniqueViolation(err)) throw new CodedError('CFG_INVALID', `the merchant already has a store named ${JSON.stringify(store.name)}`);
        throw err;
      }
    });
  }

  findStore(merchantId: string, name: string): Promise<StoreRecord | null> {
    return this.#op('findStore', async () => {
      const row = await this.#db.get<{ store_id: string; merchant_id: string; name: string; created_at: number }>(
        'SELECT * FROM stores WHERE merchant_id = ? AND name = ?',
        [merchantId, name],
      );
      return row ? { storeId: row.store_id, merchantId: row.merchant_id, name: row.name, createdAt: row.created_at } : null;
    });
  }

  async agentOwner(agentId: string): Promise<{ merchantId: string; storeId: string } | null> {
    const row = await this.#read<{ store_id: string | null; merchant_id: string | null }>(
      'agentOwner',
      'SELECT a.store_id AS store_id, s.merchant_id AS merchant_id FROM agents a LEFT JOIN stores s ON s.store_id = a.store_id WHERE a.agent_id = ?',
      [agentId],
    );
    if (!row) return null;
    if (row.store_id === null) return { merchantId: BOOTSTRAP_MERCHANT_ID, storeId: BOOTSTRAP_STORE_ID };
    return row.merchant_id === null ? null : { merchantId: row.merchant_id, storeId: row.store_id };
  }

  listTerminals(merchantId?: string): Promise<TerminalListing[]> {
    return this.#op('listTerminals', async () => {
      const rows = await this.#db.all<{
        serial_number: string;
        agent_id: string;
        last_seen_at: number;
        agent_name: string;
        store_id: string;
        store_name: string | null;
        merchant_id: string;
        merchant_name: string | null;
      }>(
        `SELECT t.serial_number, t.agent_id, t.last_seen_at, a.name AS agent_name,
                COALESCE(a.store_id, '${BOOTSTRAP_STORE_ID}') AS store_id, s.name AS store_name,
                COALESCE(s.merchant_id, '${BOOTSTRAP_MERCHANT_ID}') AS merchant_id, m.name AS merchant_name
           FROM terminals t JOIN agents a ON a.agent_id = t.agent_id
           LEFT JOIN stores s ON s.store_id = COALESCE(a.store_id, '${BOOTSTRAP_STORE_ID}')
           LEFT JOIN merchants m ON m.merchant_id = COALESCE(s.merchant_id, '${BOOTSTRAP_MERCHANT_ID}')
          ORDER BY t.serial_number`,
      );
      return rows
        .map((r) => ({
          serialNumber: r.serial_number,
          agentId: r.agent_id,
          lastSeenAt: r.last_seen_at,
          agentName: r.agent_name,
          storeId: r.store_id,
          storeName: r.store_name ?? 'default',
          merchantId: r.merchant_id,
          merchantName: r.merchant_name,
        }))
        .filter((t) => merchantId === undefined || t.merchantId === merchantId);
    });
  }
}
