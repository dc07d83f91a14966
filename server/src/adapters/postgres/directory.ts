/**
 * {@link DirectoryPort} on PostgreSQL: `merchants`, `stores`, `agents`, `terminals` and the
 * `terminal_events` ownership log. Uniqueness is the schema's (UNIQUE constraints, SQLSTATE
 * 23505, mapped to `CFG_INVALID` for merchants and stores); a terminal's first registration is
 * `INSERT … ON CONFLICT DO NOTHING` and a move a compare-and-set `UPDATE … WHERE agent_id = $from`,
 * each with its audit row in the same transaction, so concurrent instances never both win.
 *
 * @see ../sqlite/directory.ts
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
  type TestSuiteModeChange,
  type PaymentAppChange,
  type TerminalRecord,
} from '../../ports/directory.ts';
import { toTs, type PgDb } from './pg-db.ts';
import { isPgUniqueViolation, pgMerchant, pgOp, plain } from './rows.ts';

interface AgentRow {
  agent_id: string;
  name: string;
  created_at: number;
  store_id: string | null;
}

interface TerminalRow {
  serial_number: string;
  agent_id: string;
  last_seen_at: number;
}

const toAgent = (row: Record<string, unknown>): AgentRecord => {
  const r = plain<AgentRow>(row);
  return { agentId: r.agent_id, name: r.name, createdAt: r.created_at, storeId: r.store_id };
};

const toTerminal = (row: Record<string, unknown>): TerminalRecord => {
  const r = plain<TerminalRow>(row);
  return { serialNumber: r.serial_number, agentId: r.agent_id, lastSeenAt: r.last_seen_at };
};

/** The directory on the shared pool. */
export class PgDirectory implements DirectoryPort {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  createAgent(agent: AgentRecord, tokenSha256: string): Promise<void> {
    return pgOp('createAgent', async () => {
      await this.#db.run('INSERT INTO agents (agent_id, name, token_sha256, created_at, store_id) VALUES ($1, $2, $3, $4, $5)', [
        agent.agentId,
        agent.name,
        tokenSha256,
        toTs(agent.createdAt),
        agent.storeId ?? null,
      ]);
    });
  }

  findAgentByTokenHash(tokenSha256: string): Promise<AgentRecord | null> {
    return pgOp('findAgentByTokenHash', async () => {
      const row = await this.#db.one<Record<string, unknown>>(
        'SELECT agent_id, name, created_at, store_id FROM agents WHERE token_sha256 = $1',
        [tokenSha256],
      );
      return row ? toAgent(row) : null;
    });
  }

  getAgent(agentId: string): Promise<AgentRecord | null> {
    return pgOp('getAgent', async () => {
      const row = await this.#db.one<Record<string, unknown>>('SELECT agent_id, name, created_at, store_id FROM agents WHERE agent_id = $1', [
        agentId,
      ]);
      return row ? toAgent(row) : null;
    });
  }

  registerTerminal(terminal: TerminalRecord): Promise<{ terminal: TerminalRecord; created: boolean }> {
    return pgOp('registerTerminal', () =>
      this.#db.transaction(async (tx) => {
        const inserted = await tx.run(
          'INSERT INTO terminals (serial_number, agent_id, last_seen_at) VALUES ($1, $2, $3) ON CONFLICT (serial_number) DO NOTHING',
          [terminal.serialNumber, terminal.agentId, toTs(terminal.lastSeenAt)],
        );
        if (inserted === 1) {
          await tx.run(
            `INSERT INTO terminal_events (serial_number, type, from_agent_id, to_agent_id, actor, reason, at)
             VALUES ($1, 'registered', NULL, $2, 'hub', 'first announced by this agent', $3)`,
            [terminal.serialNumber, terminal.agentId, toTs(terminal.lastSeenAt)],
          );
          return { terminal: { ...terminal }, created: true };
        }
        const row = await tx.one<Record<string, unknown>>('SELECT * FROM terminals WHERE serial_number = $1', [terminal.serialNumber]);
        if (!row) throw new Error(`terminal ${terminal.serialNumber} vanished`);
        return { terminal: toTerminal(row), created: false };
      }),
    );
  }

  touchTerminal(serialNumber: string, agentId: string, at: number): Promise<boolean> {
    return pgOp('touchTerminal', async () => {
      const n = await this.#db.run('UPDATE terminals SET last_seen_at = $1 WHERE serial_number = $2 AND agent_id = $3', [
        toTs(at),
        serialNumber,
        agentId,
      ]);
      return n === 1;
    });
  }

  moveTerminal(move: TerminalMove): Promise<boolean> {
    return pgOp('moveTerminal', () =>
      this.#db.transaction(async (tx) => {
        const n = await tx.run('UPDATE terminals SET agent_id = $1 WHERE serial_number = $2 AND agent_id = $3', [
          move.toAgentId,
          move.serialNumber,
          move.fromAgentId,
        ]);
        if (n !== 1) return false;
        await tx.run(
          `INSERT INTO terminal_events (serial_number, type, from_agent_id, to_agent_id, actor, reason, at)
           VALUES ($1, 'moved', $2, $3, $4, $5, $6)`,
          [move.serialNumber, move.fromAgentId, move.toAgentId, move.actor.slice(0, 200), move.reason.slice(0, 500), toTs(move.at)],
        );
        return true;
      }),
    );
  }

  listTerminalEvents(serialNumber: string): Promise<TerminalEventRecord[]> {
    return pgOp('listTerminalEvents', async () => {
      const rows = await this.#db.rows<Record<string, unknown>>('SELECT * FROM terminal_events WHERE serial_number = $1 ORDER BY seq', [
        serialNumber,
      ]);
      return rows.map((row) => {
        const r = plain<{
          seq: number;
          serial_number: string;
          type: 'registered' | 'moved';
          from_agent_id: string | null;
          to_agent_id: string;
          actor: string;
          reason: string;
          at: number;
        }>(row);
        return {
          seq: r.seq,
          serialNumber: r.serial_number,
          type: r.type,
          fromAgentId: r.from_agent_id,
          toAgentId: r.to_agent_id,
          actor: r.actor,
          reason: r.reason,
          at: r.at,
        };
      });
    });
  }

  findTerminal(serialNumber: string): Promise<TerminalRecord | null> {
    return pgOp('findTerminal', async () => {
      const row = await this.#db.one<Record<string, unknown>>('SELECT * FROM terminals WHERE serial_number = $1', [serialNumber]);
      return row ? toTerminal(row) : null;
    });
  }

  upsertBootstrapMerchant(merchant: MerchantRecord): Promise<void> {
    return pgOp('upsertBootstrapMerchant', () =>
      this.#db.transaction(async (tx) => {
        // Another merchant may have been given the env appKey or name by the CLI: that is a
        // configuration error, reported by the UNIQUE constraint.
        await tx.run(
          `INSERT INTO merchants (merchant_id, name, app_key, app_token_sha256, callback_mode, created_at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (merchant_id) DO UPDATE SET name = excluded.name, app_key = excluded.app_key,
             app_token_sha256 = excluded.app_token_sha256, callback_mode = excluded.callback_mode`,
          [merchant.merchantId, merchant.name, merchant.appKey, merchant.appTokenSha256, merchant.callbackMode, toTs(merchant.createdAt)],
        );
        await tx.run(`INSERT INTO stores (store_id, merchant_id, name, created_at) VALUES ($1, $2, 'default', $3) ON CONFLICT DO NOTHING`, [
          BOOTSTRAP_STORE_ID,
          merchant.merchantId,
          toTs(merchant.createdAt),
        ]);
      }).catch((err: unknown) => {
        if (isPgUniqueViolation(err)) {
          throw new CodedError('CFG_INVALID', "the bootstrap merchant's appKey or name belongs to another merchant", { cause: err });
        }
        throw err;
      }),
    );
  }

  createMerchant(merchant: MerchantRecord): Promise<void> {
    return pgOp('createMerchant', async () => {
      try {
        await this.#db.run(
          'INSERT INTO merchants (merchant_id, name, app_key, app_token_sha256, callback_mode, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
          [merchant.merchantId, merchant.name, merchant.appKey, merchant.appTokenSha256, merchant.callbackMode, toTs(merchant.createdAt)],
        );
      } catch (err) {
        if (isPgUniqueViolation(err)) throw new CodedError('CFG_INVALID', `a merchant named ${JSON.stringify(merchant.name)} already exists`);
        throw err;
      }
    });
  }

  #merchantBy(column: 'app_key' | 'name' | 'merchant_id', value: string, operation: string): Promise<MerchantRecord | null> {
    return pgOp(operation, async () => {
      const row = await this.#db.one<Record<string, unknown>>(`SELECT * FROM merchants WHERE ${column} = $1`, [value]);
      return row ? pgMerchant(row) : null;
    });
  }

  findMerchantByAppKey(appKey: string): Promise<MerchantRecord | null> {
    return this.#merchantBy('app_key', appKey, 'findMerchantByAppKey');
  }

  findMerchantByName(name: string): Promise<MerchantRecord | null> {
    return this.#merchantBy('name', name, 'findMerchantByName');
  }

  getMerchant(merchantId: string): Promise<MerchantRecord | null> {
    return this.#merchantBy('merchant_id', merchantId, 'getMerchant');
  }

  setMerchantTestSuite(change: TestSuiteModeChange): Promise<boolean> {
    return pgOp('setMerchantTestSuite', async () => {
      const n = await this.#db.run(
        'UPDATE merchants SET test_suite = $1, test_suite_changed_by = $2, test_suite_changed_at = $3 WHERE merchant_id = $4',
        [change.on, change.actor.slice(0, 200), toTs(change.at), change.merchantId],
      );
      return n === 1;
    });
  }

  setMerchantPaymentApp(change: PaymentAppChange): Promise<boolean> {
    return pgOp('setMerchantPaymentApp', async () => {
      const n = await this.#db.run(
        'UPDATE merchants SET payment_app = $1, payment_app_changed_by = $2, payment_app_changed_at = $3 WHERE merchant_id = $4',
        [change.paymentApp, change.actor.slice(0, 200), toTs(change.at), change.merchantId],
      );
      return n === 1;
    });
  }

  listMerchants(): Promise<MerchantRecord[]> {
    return pgOp('listMerchants', async () => {
      const rows = await this.#db.rows<Record<string, unknown>>('SELECT * FROM merchants ORDER BY created_at, merchant_id COLLATE "C"');
      return rows.map(pgMerchant);
    });
  }

  createStore(store: StoreRecord): Promise<void> {
    return pgOp('createStore', async () => {
      try {
        await this.#db.run('INSERT INTO stores (store_id, merchant_id, name, created_at) VALUES ($1, $2, $3, $4)', [
          store.storeId,
          store.merchantId,
          store.name,
          toTs(store.createdAt),
        ]);
      } catch (err) {
        if (isPgUniqueViolation(err)) throw new CodedError('CFG_INVALID', `the merchant already has a store named ${JSON.stringify(store.name)}`);
        throw err;
      }
    });
  }

  findStore(merchantId: string, name: string): Promise<StoreRecord | null> {
    return pgOp('findStore', async () => {
      const row = await this.#db.one<Record<string, unknown>>('SELECT * FROM stores WHERE merchant_id = $1 AND name = $2', [merchantId, name]);
      if (!row) return null;
      const r = plain<{ store_id: string; merchant_id: string; name: string; created_at: number }>(row);
      return { storeId: r.store_id, merchantId: r.merchant_id, name: r.name, createdAt: r.created_at };
    });
  }

  agentOwner(agentId: string): Promise<{ merchantId: string; storeId: string } | null> {
    return pgOp('agentOwner', async () => {
      const row = await this.#db.one<{ store_id: string | null; merchant_id: string | null }>(
        'SELECT a.store_id AS store_id, s.merchant_id AS merchant_id FROM agents a LEFT JOIN stores s ON s.store_id = a.store_id WHERE a.agent_id = $1',
        [agentId],
      );
      if (!row) return null;
      if (row.store_id === null) return { merchantId: BOOTSTRAP_MERCHANT_ID, storeId: BOOTSTRAP_STORE_ID };
      return row.merchant_id === null ? null : { merchantId: row.merchant_id, storeId: row.store_id };
    });
  }

  listTerminals(merchantId?: string): Promise<TerminalListing[]> {
    return pgOp('listTerminals', async () => {
      const rows = await this.#db.rows<Record<string, unknown>>(
        `SELECT * FROM (
           SELECT t.serial_number, t.agent_id, t.last_seen_at, a.name AS agent_name,
                  COALESCE(a.store_id, $1) AS store_id, s.name AS store_name,
                  COALESCE(s.merchant_id, $2) AS merchant_id, m.name AS merchant_name
             FROM terminals t JOIN agents a ON a.agent_id = t.agent_id
             LEFT JOIN stores s ON s.store_id = COALESCE(a.store_id, $1)
             LEFT JOIN merchants m ON m.merchant_id = COALESCE(s.merchant_id, $2)
         ) listed
         WHERE $3::text IS NULL OR listed.merchant_id = $3
         ORDER BY listed.serial_number COLLATE "C"`,
        [BOOTSTRAP_STORE_ID, BOOTSTRAP_MERCHANT_ID, merchantId ?? null],
      );
      return rows.map((row) => {
        const r = plain<{
          serial_number: string;
          agent_id: string;
          last_seen_at: number;
          agent_name: string;
          store_id: string;
          store_name: string | null;
          merchant_id: string;
          merchant_name: string | null;
        }>(row);
        return {
          serialNumber: r.serial_number,
          agentId: r.agent_id,
          lastSeenAt: r.last_seen_at,
          agentName: r.agent_name,
          storeId: r.store_id,
          storeName: r.store_name ?? 'default',
          merchantId: r.merchant_id,
          merchantName: r.merchant_name,
        };
      });
    });
  }
}
