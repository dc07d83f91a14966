/**
 * The `--payment-app` setting of `posbridge-server merchant set`: `default` (VTEX's own Payment
 * Apps) or the `vendor.name` of the partner's installed VTEX IO Payment App, validated against
 * protocol's `PaymentAppIdSchema`. @see docs/payment-app-install.md, docs/ppp.md "Payment Apps"
 */
import { PaymentAppIdSchema } from '@posbridge/protocol/ppp';

/** A parsed setting: `value` null = VTEX's own apps; or why the text is not one. */
export type PaymentAppSetting = { readonly ok: true; readonly value: string | null } | { readonly ok: false; readonly error: string };

/** Parses `default` or `vendor.name` (surrounding blanks ignored; never throws). */
export function paymentAppSetting(text: string): PaymentAppSetting {
  const t = text.trim();
  if (t === 'default') return { ok: true, value: null };
  const parsed = PaymentAppIdSchema.safeParse(t);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: `${JSON.stringify(t.slice(0, 140))}: ${parsed.error.issues.map((i) => i.message).join('; ')} (or default)` };
}
