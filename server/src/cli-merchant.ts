/**
 * `posbridge-server merchant list` lines and `merchant set NAME …`: a merchant's per-merchant
 * switches — VTEX Test Suite mode (docs/homologation.md), the sandbox rule (docs/homologation.md
 * "Sandbox mode") and the Payment App its payments open (docs/payment-app-install.md) — each an
 * explicit admin action kept on the merchant (who, when) and in the audit log. Started by ./cli.ts.
 */
import type { MerchantRecord, PaymentStore } from './ports/index.ts';
import { paymentAppSetting } from './ppp/payment-app-setting.ts';

/** Usage line of `merchant set`. */
export const MERCHANT_SET_USAGE =
  'merchant set: usage: merchant set NAME [--test-suite on|off] [--sandbox-terminals allow|deny] [--payment-app vendor.name|default] [--operator NAME]';

/** What one `merchant set` asks for (at least one switch). */
export interface MerchantSetRequest {
  readonly name: string;
  readonly testSuite?: 'on' | 'off';
  readonly sandboxTerminals?: 'allow' | 'deny';
  /** `vendor.name`, or null for VTEX's own apps. */
  readonly paymentApp?: string | null;
}

/** One `merchant list` line (tab-separated; no secrets): id, name, appKey, callback mode, Payment App, switches on. */
export function merchantListLine(m: MerchantRecord): string {
  return (
    `${m.merchantId}\t${m.name ?? '(any name)'}\t${m.appKey}\t${m.callbackMode}\tapp:${m.paymentApp ?? 'default'}` +
    `${m.testSuiteMode === true ? '\ttest-suite' : ''}${m.sandboxTerminals === 'allow' ? '\tsandbox-terminals' : ''}\n`
  );
}

/**
 * Parses `merchant set`'s positional arguments and options.
 * @returns the request, or the message to print (usage error, exit code 2).
 */
export function parseMerchantSet(
  rest: readonly string[],
  values: { 'test-suite'?: string; 'sandbox-terminals'?: string; 'payment-app'?: string },
): MerchantSetRequest | { readonly error: string } {
  const [name, ...extra] = rest;
  const mode = values['test-suite'];
  const sandbox = values['sandbox-terminals'];
  const app = values['payment-app'] === undefined ? undefined : paymentAppSetting(values['payment-app']);
  const modeOk = mode === undefined || mode === 'on' || mode === 'off';
  const sandboxOk = sandbox === undefined || sandbox === 'allow' || sandbox === 'deny';
  if (name === undefined || extra.length > 0 || !modeOk || !sandboxOk || (mode === undefined && sandbox === undefined && app === undefined)) {
    return { error: MERCHANT_SET_USAGE };
  }
  if (app !== undefined && !app.ok) return { error: `merchant set: --payment-app: ${app.error}` };
  return {
    name,
    ...(mode === undefined ? {} : { testSuite: mode }),
    ...(sandbox === undefined ? {} : { sandboxTerminals: sandbox }),
    ...(app === undefined ? {} : { paymentApp: app.value }),
  };
}

/**
 * Applies `req` to the merchant as `cli:<operator>` at `at` (ms since epoch), each switch
 * recorded on the merchant and through `audited`; returns the lines to print.
 * @throws Error when there is no merchant of that name; CodedError `STORE_FAILED`.
 */
export async function applyMerchantSet(
  store: PaymentStore,
  req: MerchantSetRequest,
  operator: string,
  at: number,
  audited: (action: string, target: string, reason: string) => Promise<void>,
): Promise<string> {
  const merchant = await store.findMerchantByName(req.name);
  if (!merchant) throw new Error(`no merchant named ${JSON.stringify(req.name)}`);
  const actor = `cli:${operator}`;
  const said = `merchant ${req.name} (${merchant.merchantId})`;
  const by = `by ${actor} at ${new Date(at).toISOString()}`;
  let out = '';
  if (req.testSuite !== undefined) {
    await store.setMerchantTestSuite({ merchantId: merchant.merchantId, on: req.testSuite === 'on', actor, at });
    await audited('merchant.test-suite', merchant.merchantId, `test suite ${req.testSuite}`);
    out += `${said}: Test Suite mode ${req.testSuite}, ${by}\n`;
  }
  if (req.sandboxTerminals !== undefined) {
    await store.setMerchantSandboxTerminals({ merchantId: merchant.merchantId, allow: req.sandboxTerminals === 'allow', actor, at });
    await audited('merchant.sandbox-terminals', merchant.merchantId, `sandbox terminals ${req.sandboxTerminals}`);
    out += `${said}: sandbox payments on real terminals ${req.sandboxTerminals}, ${by}\n`;
  }
  if (req.paymentApp !== undefined) {
    await store.setMerchantPaymentApp({ merchantId: merchant.merchantId, paymentApp: req.paymentApp, actor, at });
    await audited('merchant.payment-app', merchant.merchantId, `payment app ${req.paymentApp ?? 'default'}`);
    const shown = req.paymentApp ?? "default (VTEX's vtex.terminal-connector-app, vtex.challenge-wait-for-confirmation)";
    out += `${said}: Payment App ${shown}, ${by}\n`;
  }
  return out;
}
