/**
 * The host contract: how VTEX inStore / Sales App (or any host: a React Native shell, a web page,
 * the demo host page) opens a posbridge Payment App and learns how it ended.
 *
 * Each screen receives the `paymentAppData.payload` **string** exactly as the connector returned
 * it to VTEX (docs/protocol/vtex-ppp.md §5.4), the host's locale, and one `onClose` callback it calls exactly once
 * with a {@link ConnectorResult} or {@link WaitResult}. The host then closes the screen; the app
 * never navigates by itself. See payment-app/README.md "Host contract".
 */
import {
  TerminalConnectorPayloadSchema,
  WaitForConfirmationPayloadSchema,
  type PosPaymentState,
} from '@posbridge/protocol/pos';
import type { FetchLike } from '../api/client.ts';
import type { DeviceMemory } from './device-memory.ts';
import type { TerminalScanner } from './scanner.ts';

/** `paymentAppData.appName` values the posbridge connector returns. */
export const TERMINAL_CONNECTOR_APP = 'vtex.terminal-connector-app';
/** @see TERMINAL_CONNECTOR_APP */
export const WAIT_FOR_CONFIRMATION_APP = 'vtex.challenge-wait-for-confirmation';
/** Either Payment App name. */
export type PaymentAppName = typeof TERMINAL_CONNECTOR_APP | typeof WAIT_FOR_CONFIRMATION_APP;

/** How the terminal connector ended. */
export type ConnectorResult =
  /** The payment was handed to terminal `serialNumber`: open the wait-for-confirmation step. */
  | { readonly outcome: 'submitted'; readonly paymentId: string; readonly serialNumber: string }
  /** The clerk closed the screen without sending the payment anywhere. */
  | { readonly outcome: 'cancelled' }
  /** The payment cannot go on from here (expired, finished, bound elsewhere, bad payload). */
  | { readonly outcome: 'failed'; readonly reason: string };

/** How the wait-for-confirmation screen ended. */
export type WaitResult =
  | { readonly outcome: 'approved'; readonly cardBrand: string | null; readonly lastDigits: string | null }
  | { readonly outcome: 'denied'; readonly message: string | null }
  /** `secondsWaiting` ran out before a final result. */
  | { readonly outcome: 'timeout' }
  /** The server reports the payment cancelled, expired or gone; `state` says which. */
  | { readonly outcome: 'ended'; readonly state: PosPaymentState | 'not_found' | 'invalid_payload' };

/** Props every Payment App screen takes from its host. */
export interface PaymentAppHostProps<Result> {
  /** `paymentAppData.payload`, the JSON string as received. */
  readonly payload: string;
  /** The host's locale (BCP 47, e.g. `pt-BR`); picks Portuguese, Spanish or English. */
  readonly locale?: string | undefined;
  /** Called once when the screen is done; the host closes it. */
  readonly onClose: (result: Result) => void;
  /** fetch to use; defaults to the platform's global fetch. */
  readonly fetch?: FetchLike | undefined;
}

/** Props of the terminal connector screen. */
export interface TerminalConnectorProps extends PaymentAppHostProps<ConnectorResult> {
  /** Camera scanner; without one the Scan button is hidden. */
  readonly scanner?: TerminalScanner | undefined;
  /** The device's storage: remembers the store it stands in and the terminal last used (./device-memory.ts). */
  readonly memory?: DeviceMemory | undefined;
  /** How long "sent to terminal" stays on screen before `onClose`. @default 1500 */
  readonly closeDelayMs?: number | undefined;
  /** How long to watch `statusUrl` for the terminal to accept (busy terminals refuse). @default 6000 */
  readonly confirmTimeoutMs?: number | undefined;
  /** Poll period while confirming. @default 500 */
  readonly pollIntervalMs?: number | undefined;
}

/** Props of the wait-for-confirmation screen. */
export interface WaitForConfirmationProps extends PaymentAppHostProps<WaitResult> {
  /** Poll period of `statusUrl`. @default 1000 */
  readonly pollIntervalMs?: number | undefined;
  /** Close by itself this long after an approval (null: only the Done button closes). @default null */
  readonly autoCloseMs?: number | null | undefined;
}

/** Parsed terminal-connector payload. */
export interface TerminalConnectorPayload {
  readonly submitUrl: string;
  readonly statusUrl: string | null;
  readonly terminalsUrl: string | null;
  /** *Cancel on terminal* (posbridge's addition; absent from other connectors). */
  readonly cancelUrl: string | null;
}

/** Parsed wait-for-confirmation payload. */
export interface WaitForConfirmationPayload {
  readonly secondsWaiting: number;
  readonly statusUrl: string | null;
  /** *Cancel on terminal* (posbridge's addition); without it the button is hidden. */
  readonly cancelUrl: string | null;
}

function parseJson(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return undefined;
  }
}

/** Reads the terminal-connector payload string; null if it is not usable. */
export function parseConnectorPayload(payload: string): TerminalConnectorPayload | null {
  const parsed = TerminalConnectorPayloadSchema.safeParse(parseJson(payload));
  if (!parsed.success) return null;
  return {
    submitUrl: parsed.data.submitUrl,
    statusUrl: parsed.data.statusUrl ?? null,
    terminalsUrl: parsed.data.terminalsUrl ?? null,
    cancelUrl: parsed.data.cancelUrl ?? null,
  };
}

/** Reads the wait-for-confirmation payload string; null if it is not usable. */
export function parseWaitPayload(payload: string): WaitForConfirmationPayload | null {
  const parsed = WaitForConfirmationPayloadSchema.safeParse(parseJson(payload));
  if (!parsed.success) return null;
  return { secondsWaiting: parsed.data.secondsWaiting, statusUrl: parsed.data.statusUrl ?? null, cancelUrl: parsed.data.cancelUrl ?? null };
}
