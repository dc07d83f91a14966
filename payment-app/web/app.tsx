/**
 * `app.html`: the Payment App as a page a web host embeds (iframe) or opens (window), driven by
 * the postMessage contract of ./messages.ts. Also exposes `window.posbridgePaymentApp.mount` for
 * hosts that load this bundle into their own page.
 */
import { mountPaymentApp } from './mount.tsx';
import { isHostOpenMessage, type AppCloseMessage, type AppReadyMessage } from './messages.ts';

declare global {
  interface Window {
    posbridgePaymentApp?: { mount: typeof mountPaymentApp };
  }
}
window.posbridgePaymentApp = { mount: mountPaymentApp };

const rootElement = document.getElementById('root');
const host: Window | null = window.parent !== window ? window.parent : window.opener;
let unmount: (() => void) | null = null;

window.addEventListener('message', (event: MessageEvent) => {
  if (event.source !== host || !isHostOpenMessage(event.data) || rootElement === null) return;
  const open = event.data;
  const hostOrigin = event.origin;
  unmount?.();
  document.documentElement.lang = open.locale ?? 'en';
  unmount = mountPaymentApp(rootElement, {
    appName: open.appName,
    payload: open.payload,
    locale: open.locale,
    onClose: (result) => {
      const message: AppCloseMessage = { source: 'posbridge-payment-app', type: 'close', appName: open.appName, result };
      host?.postMessage(message, hostOrigin === 'null' ? '*' : hostOrigin);
    },
  });
});

if (host !== null) {
  const ready: AppReadyMessage = { source: 'posbridge-payment-app', type: 'ready' };
  host.postMessage(ready, '*');
} else if (rootElement !== null) {
  rootElement.textContent = 'posbridge Payment App: open this page from a host (see index.html).';
}
