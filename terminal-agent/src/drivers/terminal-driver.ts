/**
 * The driver contract: what the agent's session layer needs from a terminal, whatever its
 * dialect. A driver is framing + codec + link retries + mapping of the terminal's answers to
 * outcomes. It never touches the WebSocket link, the journal or config files: it gets a way
 * to open its byte stream and its timing knobs, and returns values.
 *
 * Outcomes are values, never thrown errors, and an ambiguous outcome is `unknown`, never
 * folded into "denied" (CONTRIBUTING.md "Errors").
 *
 * @see CONTRIBUTING.md "Drivers and transports"
 */
import type { CardSummary, PaymentMethodKind, PaymentRejected, ProgressStage } from '@posbridge/protocol/ws';
import type { Money } from '@posbridge/protocol/money';

/** Who a terminal says it is. */
export interface TerminalIdentity {
  serialNumber: string;
  /**
   * `device`: the terminal itself answered `serialNumber` (PBL/1 IDENT); `config`: it comes from
   * the agent's configuration (Concert E+ cannot tell it). Announced in `agent.hello`; only a
   * device-read serial may move to this agent from another of its store without an administrator
   * (docs/protocol/ws.md "Terminal ownership"). @default 'config'
   */
  serialSource?: 'device' | 'config';
  /** Wire dialect the driver speaks to it (`PBL/1`). */
  dialect: string;
  model?: string;
  vendor?: string;
  firmware?: string;
}

/** One transaction to run on the terminal: a sale, or the void/refund of an earlier sale. */
export interface SaleRequest {
  paymentId: string;
  /**
   * The transaction reference on the terminal wire (PBL/1 `rid`, Concert private field),
   * unique per transaction; minted by {@link TerminalDriver.newReference}.
   */
  rid: string;
  /** @default 'sale' */
  kind?: 'sale' | 'void' | 'refund';
  /** Void/refund: the original sale's reference on the terminal wire. */
  originalRef?: string;
  amount: Money;
  method: PaymentMethodKind;
  /** Number of installments, 1 for a single payment. */
  installments: number;
}

/** A final answer of the terminal, already checked against the request. Card data is summary only. */
export interface TerminalSaleResult {
  outcome: 'approved' | 'denied';
  /** The terminal's own status word (`approved`, `declined`, `aborted`). */
  terminalStatus: string;
  amount: Money;
  responseCode?: string;
  authorizationId?: string;
  nsu?: string;
  tid?: string;
  message?: string;
  card?: CardSummary;
}

/** Codes of a refused sale (nothing was charged). */
export type SaleRejectionCode = PaymentRejected['code'];

/** How a sale ended, from the agent's point of view. */
export type SaleOutcome =
  /** The terminal gave a final answer. */
  | { kind: 'result'; result: TerminalSaleResult }
  /** The terminal certainly did not start the sale: nothing was charged. */
  | { kind: 'rejected'; code: SaleRejectionCode; message: string }
  /** The outcome could not be learned; the sale may or may not have been charged. */
  | { kind: 'unknown'; reason: string };

/** Answer of one background status check of a sale whose outcome is unknown. */
export type StatusCheck =
  | { kind: 'result'; result: TerminalSaleResult }
  /** The terminal is still working on it. */
  | { kind: 'running' }
  /** The terminal has no record of it (only conclusive when it never acknowledged the sale). */
  | { kind: 'not_found' }
  /** No usable answer this time (timeout, link down, mismatching answer). */
  | { kind: 'no_answer'; reason: string };

/** Callbacks a sale reports its progress through; all optional and synchronous. */
export interface SaleHooks {
  /** The sale request was written to the terminal (called again on each resend). */
  onSent?(): void;
  /** The terminal acknowledged the sale: from here on it may be charged. */
  onAcked?(): void;
  /** Customer-facing progress. */
  onProgress?(stage: ProgressStage): void;
  /** The answer was lost; the driver is asking the terminal for the outcome. */
  onRecovering?(reason: string): void;
}

/** What {@link TerminalDriver.abort} achieved. */
export type AbortAttempt =
  /** The abort request reached the terminal; the sale's outcome follows as usual. */
  | 'sent'
  /** The dialect has no abort from the POS side (Concert E+): the sale runs to its end. */
  | 'unsupported'
  /** The abort could not be written (link down). */
  | 'failed';

/** Events a driver emits for tracing and the clerk's display. */
export interface DriverEvents {
  /** Bytes written/read, as hex (card data redacted), for `trace` logs. */
  wire?(direction: 'sent' | 'received', hex: string): void;
  /** Text the terminal shows (when the dialect reports it). */
  display?(text: string): void;
}

/** A terminal driver. One instance drives one terminal; its operations run one at a time. */
export interface TerminalDriver {
  /** Wire dialect (`PBL/1`, `concert-e+`). */
  readonly dialect: string;
  /**
   * True when the dialect can ask the terminal for the outcome of an earlier transaction
   * (PBL/1 STATUS). Without it (Concert E+), a lost answer after a restart stays `unknown`
   * for the server to resolve.
   */
  readonly hasStatusQuery: boolean;
  /** A fresh wire reference for a new transaction, within the dialect's limits. */
  newReference(): string;
  /**
   * Asks the terminal to abort the running transaction `request.rid`. Does not wait for the
   * outcome: `sale()` still returns it (denied if aborted, approved if it was too late).
   */
  abort(request: SaleRequest): Promise<AbortAttempt>;
  /**
   * Opens the link if needed and asks the terminal who it is.
   * @throws CodedError `TERM_TIMEOUT`, `TERM_PORT_OPEN_FAILED` or `TERM_MISMATCH`.
   */
  identify(): Promise<TerminalIdentity>;
  /** Runs a sale to its end. Never throws for terminal or link failures: see {@link SaleOutcome}. */
  sale(request: SaleRequest, hooks?: SaleHooks): Promise<SaleOutcome>;
  /** Asks once for the outcome of an earlier sale (background resolution of `unknown`). */
  checkStatus(request: SaleRequest): Promise<StatusCheck>;
  /** Closes the link; pending operations end with `unknown`/`no_answer`. */
  close(): Promise<void>;
}
