/**
 * A page that plays VTEX checkout for the Payment App contract test (../checkout-contract.test.ts):
 * jQuery from npm as `window.$`, a payment created through the host helper (the gateway's
 * `POST /payments` to a real `npm run stack`), the VTEX IO app's component (payment-app/vtex-io/react/index.tsx
 * of the assembled folder, alias `@posbridge-vtex-io`) mounted with `appPayload`, and listeners for
 * `removePaymentLoading.vtex` and `transactionValidation.vtex`. After the answer it repeats
 * Create Payment like the gateway until the payment is final. Query: `amount`, `locale`.
 */
import $ from 'jquery';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import PosbridgePaymentApp from '@posbridge-vtex-io/react/index.tsx';

interface Recorded {
  readonly events: string[];
  appName: string | null;
  paymentId: string | null;
}
declare global {
  interface Window {
    $: typeof $;
    jQuery: typeof $;
    posbridgeCheckout: Recorded;
  }
}

window.$ = $;
window.jQuery = $;
const query = new URLSearchParams(location.search);
const locale = query.get('locale') ?? 'en';
document.documentElement.lang = locale;
const recorded: Recorded = { events: [], appName: null, paymentId: null };
window.posbridgeCheckout = recorded;

const byTestId = (id: string) => document.querySelector(`[data-testid="${id}"]`)!;
const log = (line: string) => {
  byTestId('checkout-log').textContent += `${new Date().toISOString().slice(11, 23)} ${line}\n`;
};

async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as Record<string, unknown>;
}

$(window).on('removePaymentLoading.vtex', () => {
  recorded.events.push('removePaymentLoading');
  byTestId('checkout-loading').textContent = 'payment loading removed';
  log('removePaymentLoading.vtex');
});

$(window).on('transactionValidation.vtex', (_event: unknown, approved: unknown) => {
  recorded.events.push(`transactionValidation:${String(approved)}`);
  byTestId('checkout-answer').textContent = `transactionValidation.vtex [${String(approved)}]`;
  log(`transactionValidation.vtex [${String(approved)}]`);
  void followUntilFinal();
});

/** The gateway's repeats of Create Payment after the app answered. */
async function followUntilFinal(): Promise<void> {
  for (let i = 0; i < 60 && recorded.paymentId !== null; i++) {
    const { answer } = (await post(`./__host/payments/${recorded.paymentId}/poll`, {})) as { answer: { status: string } };
    if (answer.status !== 'undefined') {
      byTestId('checkout-final').textContent = `gateway: ${answer.status}`;
      log(`gateway sees ${answer.status}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

const created = (await post('./__host/payments', { amount: Number(query.get('amount') ?? '10.5') })) as {
  paymentId: string;
  answer: { status: string; paymentAppData?: { appName: string; payload: string } };
};
recorded.paymentId = created.paymentId;
const appData = created.answer.paymentAppData;
if (appData === undefined) {
  log(`no paymentAppData: ${JSON.stringify(created.answer)}`);
} else {
  recorded.appName = appData.appName;
  log(`Create Payment → ${created.answer.status}, open ${appData.appName}`);
  createRoot(document.getElementById('transaction')!).render(createElement(PosbridgePaymentApp, { appPayload: appData.payload }));
}
