/**
 * {@link DirectoryPort} in memory, with the semantics of the SQLite adapter: unique merchant
 * ids, names and appKeys and unique store names per merchant (`CFG_INVALID`), agents with
 * unique token hashes, terminals whose owner is set by the first registration and changed only
 * by a compare-and-set move, each with its audit row in the same transaction.
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
import { byKeys, ConstraintError, copy, type AgentRow, type MemoryConnection } from './state.ts';

/** The public record of an agent row (no token hash). */
function toAgent(row: AgentRow): AgentRecord {
  return { agentId: row.agentId, name: row.name, createdAt: row.createdAt, storeId: row.storeId };
}

/** The directory over a memory connection. */
export class MemoryDirectory implements DirectoryPort {
  readonly #conn: MemoryConnection;

  constructor(conn: MemoryConnection) {
    this.#conn = conn;
  }

  /** Throws a unique violation when another merchant than `merchantId` has its name or appKey. */
  #checkMerchantUnique(merchant: MerchantRecord): void {
    for (const other of this.#conn.tables.merchants.values()) {
      if (other.merchantId === merchant.merchantId) continue;
      if (other.appKey === merchant.appKey) throw new ConstraintError('unique', 'merchants.app_key');
      if (merchant.name !== null && other.name === merchant.name) throw new ConstraintError('unique', 'merchants.name');
    }
  }

  /** Inserts a store (unique id, unique name per merchant, existing merchant). */
  #insertStore(store: StoreRecord): void {
    const { stores, merchants } = this.#conn.tables;
    if (stores.has(store.storeId)) throw new ConstraintError('unique', 'stores.store_id');
    for (const other of stores.values()) {
      if (other.merchantId === store.merchantId && other.name === store.name) throw new ConstraintError('unique', 'stores.merchant_id, stores.name');
    }
    if (!merchants.has(store.merchantId)) throw new ConstraintError('foreign_key', `stores.merchant_id ${store.merchantId}`);
    stores.set(store.storeId, { storeId: store.storeId, merchantId: store.merchantId, name: store.name, createdAt: store.createdAt });
  }

  #agentMustExist(agentId: string, column: string): void {
    if (!this.#conn.tables.agents.has(agentId)) throw new ConstraintError('foreign_key', `${column} ${agentId}`);
  }

  #appendTerminalEvent(event: Omit<TerminalEventRecord, 'seq'>): void {
    const seq = this.#conn.state.nextSeq('terminal_events');
    this.#conn.tables.terminalEvents.set(seq, { seq, ...event });
  }

  createAgent(agent: AgentRecord, tokenSha256: string): Promise<void> {
    return this.#conn.run('createAgent', () => {
      const { agents, stores } = this.#conn.tables;
      if (agents.has(agent.agentId)) throw new ConstraintError('unique', 'agents.agent_id');
      for (const other of agents.values()) if (other.tokenSha256 === tokenSha256) throw new ConstraintError('unique', 'agents.token_sha256');
      const storeId = agent.storeId ?? null;
      if (storeId !== null && !stores.has(storeId)) throw new ConstraintError('foreign_key', `agents.store_id ${storeId}`);
      agents.set(agent.agentId, { agentId: agent.agentId, name: agent.name, createdAt: agent.createdAt, storeId, tokenSha256 });
    });
  }

  findAgentByTokenHash(tokenSha256: string): Promise<AgentRecord | null> {
    return this.#conn.run('findAgentByTokenHash', () => {
      for (const row of this.#conn.tables.agents.values()) if (row.tokenSha256 === tokenSha256) return toAgent(row);
      return null;
    });
  }

  getAgent(agentId: string): Promise<AgentRecord | null> {
    return this.#conn.run('getAgent', () => {
      const row = this.#conn.tables.agents.get(agentId);
      return row ? toAgent(row) : null;
    });
  }

  registerTerminal(terminal: TerminalRecord): Promise<{ terminal: TerminalRecord; created: boolean }> {
    return this.#conn.run('registerTerminal', () => {
      const { terminals } = this.#conn.tables;
      const existing = terminals.get(terminal.serialNumber);
      if (existing) return { terminal: copy(existing), created: false };
      this.#agentMustExist(terminal.agentId, 'terminals.agent_id');
      terminals.set(terminal.serialNumber, { serialNumber: terminal.serialNumber, agentId: terminal.agentId, lastSeenAt: terminal.lastSeenAt });
      this.#appendTerminalEvent({
        serialNumber: terminal.serialNumber,
        type: 'registered',
        fromAgentId: null,
        toAgentId: terminal.agentId,
        actor: 'hub',
        reason: 'first announced by this agent',
        at: terminal.lastSeenAt,
      });
      return { terminal: { ...terminal }, created: true };
    });
  }

  touchTerminal(serialNumber: string, agentId: string, at: number): Promise<boolean> {
    return this.#conn.run('touchTerminal', () => {
      const { terminals } = this.#conn.tables;
      const row = terminals.get(serialNumber);
      if (row?.agentId !== agentId) return false;
      terminals.set(serialNumber, { ...row, lastSeenAt: at });
      return true;
    });
  }

  moveTerminal(move: TerminalMove): Promise<boolean> {
    return this.#conn.run('moveTerminal', () => {
      const { terminals } = this.#conn.tables;
      const row = terminals.get(move.serialNumber);
      if (row?.agentId !== move.fromAgentId) return false;
      this.#agentMustExist(move.toAgentId, 'terminals.agent_id');
      terminals.set(move.serialNumber, { ...row, agentId: move.toAgentId });
      this.#appendTerminalEvent({
        serialNumber: move.serialNumber,
        type: 'moved',
        fromAgentId: move.fromAgentId,
        toAgentId: move.toAgentId,
        actor: move.actor.slice(0, 200),
        reason: move.reason.slice(0, 500),
        at: move.at,
      });
      return true;
    });
  }

  listTerminalEvents(serialNumber: string): Promise<TerminalEventRecord[]> {
    return this.#conn.run('listTerminalEvents', () =>
      [...this.#conn.tables.terminalEvents.values()]
        .filter((e) => e.serialNumber === serialNumber)
        .sort((a, b) => a.seq - b.seq)
        .map(copy),
    );
  }

  findTerminal(serialNumber: string): Promise<TerminalRecord | null> {
    return this.#conn.run('findTerminal', () => {
      const row = this.#conn.tables.terminals.get(serialNumber);
      return row ? copy(row) : null;
    });
  }

  upsertBootstrapMerchant(merchant: MerchantRecord): Promise<void> {
    return this.#conn.run('upsertBootstrapMerchant', () => {
      const { merchants, stores } = this.#conn.tables;
      try {
        // Another merchant may have been given the env appKey or name by the CLI: a configuration error.
        this.#checkMerchantUnique(merchant);
        const existing = merchants.get(merchant.merchantId);
        merchants.set(merchant.merchantId, {
          merchantId: merchant.merchantId,
          name: merchant.name,
          appKey: merchant.appKey,
          appTokenSha256: merchant.appTokenSha256,
          callbackMode: merchant.callbackMode,
          createdAt: existing?.createdAt ?? merchant.createdAt,
          // The Test Suite mode is an admin setting, not the environment's: kept as it was.
          ...(existing?.testSuiteMode === true ? { testSuiteMode: true } : {}),
          // So is the Payment App.
          ...(existing?.paymentApp !== undefined ? { paymentApp: existing.paymentApp } : {}),
        });
        const taken = [...stores.values()].some((s) => s.merchantId === merchant.merchantId && s.name === 'default');
        if (!stores.has(BOOTSTRAP_STORE_ID) && !taken) {
          this.#insertStore({ storeId: BOOTSTRAP_STORE_ID, merchantId: merchant.merchantId, name: 'default', createdAt: merchant.createdAt });
        }
      } catch (err) {
        if (err instanceof ConstraintError && err.constraint === 'unique') {
          throw new CodedError('CFG_INVALID', 'the bootstrap merchant\'s appKey or name belongs to another merchant', { cause: err });
        }
        throw err;
      }
    });
  }

  createMerchant(merchant: MerchantRecord): Promise<void> {
    return this.#conn.run('createMerchant', () => {
      const { merchants } = this.#conn.tables;
      try {
        if (merchants.has(merchant.merchantId)) throw new ConstraintError('unique', 'merchants.merchant_id');
        this.#checkMerchantUnique(merchant);
      } catch (err) {
        if (err instanceof ConstraintError) throw new CodedError('CFG_INVALID', `a merchant named ${JSON.stringify(merchant.name)} already exists`);
        throw err;
      }
      merchants.set(merchant.merchantId, { ...merchant });
    });
  }

  #merchantBy(operation: string, match: (m: MerchantRecord) => boolean): Promise<MerchantRecord | null> {
    return this.#conn.run(operation, () => {
      for (const m of this.#conn.tables.merchants.values()) if (match(m)) return copy(m);
      return null;
    });
  }

  findMerchantByAppKey(appKey: string): Promise<MerchantRecord | null> {
    return this.#merchantBy('findMerchantByAppKey', (m) => m.appKey === appKey);
  }

  findMerchantByName(name: string): Promise<MerchantRecord | null> {
    return this.#merchantBy('findMerchantByName', (m) => m.name !== null && m.name === name);
  }

  getMerchant(merchantId: string): Promise<MerchantRecord | null> {
    return this.#merchantBy('getMerchant', (m) => m.merchantId === merchantId);
  }

  setMerchantTestSuite(change: TestSuiteModeChange): Promise<boolean> {
    return this.#conn.run('setMerchantTestSuite', () => {
      const { merchants } = this.#conn.tables;
      const m = merchants.get(change.merchantId);
      if (!m) return false;
      const { testSuiteMode: _was, ...rest } = m;
      merchants.set(change.merchantId, change.on ? { ...rest, testSuiteMode: true } : rest);
      return true;
    });
  }

  setMerchantPaymentApp(change: PaymentAppChange): Promise<boolean> {
    return this.#conn.run('setMerchantPaymentApp', () => {
      const { merchants } = this.#conn.tables;
      const m = merchants.get(change.merchantId);
      if (!m) return false;
      const { paymentApp: _was, ...rest } = m;
      merchants.set(change.merchantId, change.paymentApp === null ? rest : { ...rest, paymentApp: change.paymentApp });
      return true;
    });
  }

  listMerchants(): Promise<MerchantRecord[]> {
    return this.#conn.run('listMerchants', () =>
      [...this.#conn.tables.merchants.values()].sort(byKeys<MerchantRecord>((m) => m.createdAt, (m) => m.merchantId)).map(copy),
    );
  }

  createStore(store: StoreRecord): Promise<void> {
    return this.#conn.run('createStore', () => {
      try {
        this.#insertStore(store);
      } catch (err) {
        if (err instanceof ConstraintError && err.constraint === 'unique') {
          throw new CodedError('CFG_INVALID', `the merchant already has a store named ${JSON.stringify(store.name)}`);
        }
        throw err;
      }
    });
  }

  findStore(merchantId: string, name: string): Promise<StoreRecord | null> {
    return this.#conn.run('findStore', () => {
      for (const s of this.#conn.tables.stores.values()) if (s.merchantId === merchantId && s.name === name) return copy(s);
      return null;
    });
  }

  agentOwner(agentId: string): Promise<{ merchantId: string; storeId: string } | null> {
    return this.#conn.run('agentOwner', () => {
      const agent = this.#conn.tables.agents.get(agentId);
      if (!agent) return null;
      if (agent.storeId === null) return { merchantId: BOOTSTRAP_MERCHANT_ID, storeId: BOOTSTRAP_STORE_ID };
      const store = this.#conn.tables.stores.get(agent.storeId);
      return store ? { merchantId: store.merchantId, storeId: store.storeId } : null;
    });
  }

  listTerminals(merchantId?: string): Promise<TerminalListing[]> {
    return this.#conn.run('listTerminals', () => {
      const { terminals, agents, stores, merchants } = this.#conn.tables;
      const listing: TerminalListing[] = [];
      for (const t of terminals.values()) {
        const agent = agents.get(t.agentId);
        if (!agent) continue;
        const storeId = agent.storeId ?? BOOTSTRAP_STORE_ID;
        const store = stores.get(storeId);
        const ownerId = store?.merchantId ?? BOOTSTRAP_MERCHANT_ID;
        if (merchantId !== undefined && ownerId !== merchantId) continue;
        listing.push({
          serialNumber: t.serialNumber,
          agentId: t.agentId,
          lastSeenAt: t.lastSeenAt,
          agentName: agent.name,
          storeId,
          storeName: store?.name ?? 'default',
          merchantId: ownerId,
          merchantName: merchants.get(ownerId)?.name ?? null,
        });
      }
      return listing.sort(byKeys<TerminalListing>((t) => t.serialNumber));
    });
  }
}
