/**
 * The directory: who is who. Merchants (VTEX accounts) and their stores, the terminal agents of
 * each store, and the terminals each agent owns, with the ownership audit log
 * (docs/protocol/ws.md "Terminal ownership").
 *
 * Invariants every adapter keeps: merchant names and appKeys are unique, store names are unique
 * per merchant (`CFG_INVALID` otherwise); a serial's owner is set by its first registration and
 * changed only by a compare-and-set move, each change audited in the same transaction.
 *
 * Times are ms since epoch.
 */

/** Id of the merchant configured by environment variables (single-merchant deployments). */
export const BOOTSTRAP_MERCHANT_ID = 'mch_bootstrap';
/** Default store of the bootstrap merchant (agents created without `--store`). */
export const BOOTSTRAP_STORE_ID = 'sto_bootstrap';

/** How a merchant wants to be told that a payment became final (docs/ppp.md "Callbacks"). */
export type CallbackMode = 'notification' | 'retry';

/** A merchant (a VTEX account): its own credentials, stores and terminals. */
export interface MerchantRecord {
  readonly merchantId: string;
  /** VTEX `merchantName` the credentials belong to; null = any (bootstrap merchant without a name). */
  readonly name: string | null;
  readonly appKey: string;
  /** sha256 hex of the appToken (the token itself is never stored). */
  readonly appTokenSha256: string;
  readonly callbackMode: CallbackMode;
  readonly createdAt: number;
  /**
   * VTEX Test Suite mode (docs/homologation.md): requests carrying `X-VTEX-API-Is-TestSuite: true`
   * run on the merchant's virtual terminal. Absent = off (the default); set only by
   * {@link MerchantDirectory.setMerchantTestSuite}, an audited admin action.
   */
  readonly testSuiteMode?: boolean;
  /**
   * The partner's VTEX IO Payment App (`vendor.name`, protocol `PaymentAppIdSchema`) its payments
   * open instead of VTEX's own apps (docs/payment-app-install.md). Absent = VTEX's apps (the
   * default); set only by {@link MerchantDirectory.setMerchantPaymentApp}, an audited admin action.
   */
  readonly paymentApp?: string;
}

/** An admin's change of a merchant's Test Suite mode (who and when are kept on the merchant). */
export interface TestSuiteModeChange {
  readonly merchantId: string;
  readonly on: boolean;
  /** Who changed it, e.g. `cli:<os user>` (≤ 200 characters kept). */
  readonly actor: string;
  /** ms since epoch. */
  readonly at: number;
}

/** An admin's choice of a merchant's Payment App (who and when are kept on the merchant). */
export interface PaymentAppChange {
  readonly merchantId: string;
  /** `vendor.name` (validated by the caller against `PaymentAppIdSchema`, ≤ 129 characters); null = VTEX's own apps. */
  readonly paymentApp: string | null;
  /** Who changed it, e.g. `cli:<os user>` (≤ 200 characters kept). */
  readonly actor: string;
  /** ms since epoch. */
  readonly at: number;
}

/** A physical store of a merchant; agents (and so terminals) belong to one. */
export interface StoreRecord {
  readonly storeId: string;
  readonly merchantId: string;
  readonly name: string;
  readonly createdAt: number;
}

/** A terminal agent (tokens are stored only as sha256 hashes). */
export interface AgentRecord {
  readonly agentId: string;
  readonly name: string;
  readonly createdAt: number;
  /** Store the agent serves; null = the bootstrap merchant's default store. */
  readonly storeId?: string | null;
}

/**
 * A terminal serial and the agent that owns it. The owner's store and merchant own the serial:
 * it is set by the first registration and changed only by {@link TerminalDirectory.moveTerminal}.
 */
export interface TerminalRecord {
  readonly serialNumber: string;
  readonly agentId: string;
  /** Last `agent.hello` of the owner announcing it, ms since epoch. */
  readonly lastSeenAt: number;
}

/** A terminal with where it belongs, for listings. */
export interface TerminalListing extends TerminalRecord {
  readonly agentName: string;
  readonly storeId: string;
  readonly storeName: string;
  readonly merchantId: string;
  readonly merchantName: string | null;
}

/** A change of a terminal's owning agent (docs/protocol/ws.md "Terminal ownership"). */
export interface TerminalMove {
  readonly serialNumber: string;
  /** The owner the move was decided against (compare-and-set). */
  readonly fromAgentId: string;
  readonly toAgentId: string;
  /** Who moved it: `hub` (identity confirmed by the device, previous agent offline) or `cli:<os user>` (≤ 200 characters kept). */
  readonly actor: string;
  /** Why, as given by the actor (≤ 500 characters kept). */
  readonly reason: string;
  readonly at: number;
}

/** One row of a terminal's ownership audit log. */
export interface TerminalEventRecord {
  readonly seq: number;
  readonly serialNumber: string;
  readonly type: 'registered' | 'moved';
  readonly fromAgentId: string | null;
  readonly toAgentId: string;
  readonly actor: string;
  readonly reason: string;
  readonly at: number;
}

/** Merchants and their stores. All methods may reject with `CodedError('STORE_FAILED')`. */
export interface MerchantDirectory {
  /**
   * Creates or updates the bootstrap merchant (env credentials) and its default store.
   * @throws CodedError `CFG_INVALID` when its appKey or name belongs to another merchant.
   */
  upsertBootstrapMerchant(merchant: MerchantRecord): Promise<void>;
  /** Creates a merchant. @throws CodedError `CFG_INVALID` when the id, name or appKey is taken. */
  createMerchant(merchant: MerchantRecord): Promise<void>;
  /** The merchant with this appKey, or null. */
  findMerchantByAppKey(appKey: string): Promise<MerchantRecord | null>;
  /** The merchant with this name, or null. */
  findMerchantByName(name: string): Promise<MerchantRecord | null>;
  /** The merchant, or null. */
  getMerchant(merchantId: string): Promise<MerchantRecord | null>;
  /** Every merchant, oldest first. */
  listMerchants(): Promise<MerchantRecord[]>;
  /**
   * Turns the merchant's Test Suite mode on or off, keeping who did it and when on the merchant.
   * @returns false when there is no such merchant.
   */
  setMerchantTestSuite(change: TestSuiteModeChange): Promise<boolean>;
  /**
   * Sets (or, with null, clears) the merchant's Payment App, keeping who did it and when.
   * @returns false when there is no such merchant.
   */
  setMerchantPaymentApp(change: PaymentAppChange): Promise<boolean>;
  /**
   * Creates a store of an existing merchant.
   * @throws CodedError `CFG_INVALID` when the merchant already has one of that name (or the id is taken).
   */
  createStore(store: StoreRecord): Promise<void>;
  /** The store of a merchant by name, or null. */
  findStore(merchantId: string, name: string): Promise<StoreRecord | null>;
}

/** Terminal agents. All methods may reject with `CodedError('STORE_FAILED')`. */
export interface AgentDirectory {
  /** Creates an agent with the sha256 hex of its token (id and token hash unique; its store must exist). */
  createAgent(agent: AgentRecord, tokenSha256: string): Promise<void>;
  /** The agent whose token hashes to `tokenSha256`, or null. */
  findAgentByTokenHash(tokenSha256: string): Promise<AgentRecord | null>;
  /** The agent, or null. */
  getAgent(agentId: string): Promise<AgentRecord | null>;
  /** The merchant and store an agent serves, or null for an unknown agent. */
  agentOwner(agentId: string): Promise<{ merchantId: string; storeId: string } | null>;
}

/** Terminals and their ownership. All methods may reject with `CodedError('STORE_FAILED')`. */
export interface TerminalDirectory {
  /**
   * First registration: stores `terminal` unless the serial is already registered (safe under
   * concurrency), with a `registered` audit event by `hub`. Never changes an existing owner.
   * The agent must exist.
   * @returns the stored record (`terminal` when inserted, else the existing owner's) and whether this call inserted it.
   */
  registerTerminal(terminal: TerminalRecord): Promise<{ terminal: TerminalRecord; created: boolean }>;
  /** Sets `lastSeenAt` when `agentId` owns the serial. @returns false when it does not. */
  touchTerminal(serialNumber: string, agentId: string, at: number): Promise<boolean>;
  /**
   * Moves the serial to `toAgentId` (an existing agent) if `fromAgentId` still owns it, with a
   * `moved` audit event, in one transaction. @returns false (nothing written) when the owner changed meanwhile.
   */
  moveTerminal(move: TerminalMove): Promise<boolean>;
  /** The ownership audit log of a serial, oldest first. */
  listTerminalEvents(serialNumber: string): Promise<TerminalEventRecord[]>;
  /** The agent that owns `serialNumber`, or null. */
  findTerminal(serialNumber: string): Promise<TerminalRecord | null>;
  /** Terminals with their agent, store and merchant, by serial; only `merchantId`'s when given. */
  listTerminals(merchantId?: string): Promise<TerminalListing[]>;
}

/** The whole directory. */
export interface DirectoryPort extends MerchantDirectory, AgentDirectory, TerminalDirectory {}
