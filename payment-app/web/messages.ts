/**
 * The web host contract over `postMessage`, for hosts that embed `app.html` in an iframe (or open
 * it in a window):
 *
 * 1. the app page posts {@link AppReadyMessage} to its parent (or opener);
 * 2. the host answers {@link HostOpenMessage} with the app name, the payload string and its locale;
 * 3. when done the app posts {@link AppCloseMessage} with the screen's result, to the host's origin only.
 */
import type { ConnectorResult, WaitResult } from '../src/host/contract.ts';

/** App → host: loaded, send me what to open. */
export interface AppReadyMessage {
  readonly source: 'posbridge-payment-app';
  readonly type: 'ready';
}

/** Host → app: open this Payment App. */
export interface HostOpenMessage {
  readonly source: 'posbridge-host';
  readonly type: 'open';
  readonly appName: string;
  readonly payload: string;
  readonly locale?: string;
}

/** App → host: the screen finished. */
export interface AppCloseMessage {
  readonly source: 'posbridge-payment-app';
  readonly type: 'close';
  readonly appName: string;
  readonly result: ConnectorResult | WaitResult;
}

/** Narrowing for messages received by the app page. */
export function isHostOpenMessage(data: unknown): data is HostOpenMessage {
  const d = data as Partial<HostOpenMessage> | null;
  return typeof d === 'object' && d !== null && d.source === 'posbridge-host' && d.type === 'open' && typeof d.appName === 'string' && typeof d.payload === 'string';
}

/** Narrowing for messages received by a host page. */
export function isAppMessage(data: unknown): data is AppReadyMessage | AppCloseMessage {
  const d = data as Partial<AppReadyMessage | AppCloseMessage> | null;
  return typeof d === 'object' && d !== null && d.source === 'posbridge-payment-app' && (d.type === 'ready' || d.type === 'close');
}
