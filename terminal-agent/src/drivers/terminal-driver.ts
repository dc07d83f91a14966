/**
 * The driver contract: what the agent's session layer needs from a terminal, whatever its
 * dialect. A driver is framing + codec + link retries + mapping of the terminal's answers to
 * outcomes. It never touches the WebSocket link, the journal or config files: it gets a way
 * to open its byte stream and its timing knobs, and returns values.
 *
 * Outcomes are values, never thrown errors, and an ambiguous outcome is `unknown`, never
 * folded into "denied" (STYLE b.5).
 *
 * @see ../../../shared/STYLE.md b.4
 */
import type { CardSummary, PaymentMethodKind, PaymentRejected, ProgressStage } from '@posbridge/protocol/ws';
import type { Money } from '@posbridge/protocol/money';

/** Who a terminal says it is. */
export interface TerminalIdentity {
  serialNumber: string;
  /** Wire dialect the driver speaks to it (`PBL/1`). */
  dialect: string;
  model?: string;
  vendor?: string;
  firmware?: string;
}

/** One sale to run on the terminal. */
export interface SaleRequest {
  paymentId: string;
  /** The transaction reference on the terminal wire (PBL/1 `rid`), unique per payment. */
  rid: string;
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

/** A terminal driver. One instance drives one terminal; its operations run one at a time. */
export interface TerminalDriver {
  /** Wire dialect (`PBL/1`). */
  readonly dialect: string;
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
