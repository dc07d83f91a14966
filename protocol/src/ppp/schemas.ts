/**
 * VTEX Payment Provider Protocol (PPP) bodies used by posbridge's POS connector: runtime
 * schemas for what VTEX sends, and types for what posbridge answers.
 *
 * Request schemas accept unknown keys (VTEX adds fields over time) but check the type of every
 * field posbridge reads and every field the OpenAPI marks required.
 *
 * @see docs/protocol/vtex-ppp.md §4 (endpoints), §5 (POS rules), §6 (callbacks)
 * @see server/test-fixtures/ppp-openapi.yml (`/payments` requestBody, `Success-Approved`)
 */
import { z } from 'zod';

/** PPP method names of in-store card payments (exact ASCII spelling required by VTEX). @see docs/protocol/vtex-ppp.md §4.1, §5.1 */
export const POS_PAYMENT_METHODS = {
  credit: 'Venda Direta Credito',
  debit: 'Venda Direta Debito',
} as const;

/** Payment App that identifies the terminal. @see docs/protocol/vtex-ppp.md §5.4 */
export const TERMINAL_CONNECTOR_APP = 'vtex.terminal-connector-app';
/** Payment App that waits for the terminal's result. @see docs/protocol/vtex-ppp.md §5.4 */
export const WAIT_FOR_CONFIRMATION_APP = 'vtex.challenge-wait-for-confirmation';

/**
 * A partner's installed VTEX IO Payment App, `{vendor}.{name}` (docs/protocol/vtex-ppp.md §5.4
 * "Custom Payment Apps"): the vendor is a VTEX account name (a lowercase letter, then lowercase
 * letters or digits, ≤ 64), the name kebab-case (a lowercase letter, then lowercase letters,
 * digits, single hyphens, ≤ 64). The vendor `vtex` is refused: VTEX's own apps are the default,
 * not a setting. No version: the checkout resolves the installed major. @see docs/payment-app-install.md
 */
export const PaymentAppIdSchema = z
  .string()
  .max(129)
  .regex(
    /^[a-z][a-z0-9]{0,63}\.[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,63}$/,
    'must be vendor.name: a VTEX account name, a dot, then a kebab-case app name (e.g. acme.posbridge-payment-app)',
  )
  .refine((id) => !id.startsWith('vtex.'), "the vendor vtex is VTEX's own apps: use the default instead");

/** The `paymentAppData.appName`s a merchant's payments open at each step. */
export interface PaymentAppNames {
  /** While the terminal is identified (payload: `submitUrl`, …). */
  readonly connector: string;
  /** While the terminal works (payload: `secondsWaiting`, …). */
  readonly wait: string;
}

/** VTEX's own Payment Apps: what a merchant without a configured app gets. */
export const VTEX_PAYMENT_APPS: PaymentAppNames = { connector: TERMINAL_CONNECTOR_APP, wait: WAIT_FOR_CONFIRMATION_APP };

/**
 * The app names of a merchant's payments: VTEX's own apps when `paymentApp` is absent/null, else
 * the partner's one app for both steps (it tells the steps apart by the payload: a `submitUrl`
 * means "identify the terminal"). @see docs/ppp.md "Payment Apps"
 */
export function paymentAppNamesOf(paymentApp: string | null | undefined): PaymentAppNames {
  return paymentApp == null ? VTEX_PAYMENT_APPS : { connector: paymentApp, wait: paymentApp };
}

const nullableString = z.string().nullable();

/** Card block of Create Payment; for POS every field arrives null (docs/protocol/vtex-ppp.md §5.2). */
const CardSchema = z.looseObject({
  holder: nullableString.optional(),
  number: nullableString.optional(),
  csc: nullableString.optional(),
  document: nullableString.optional(),
  token: nullableString.optional(),
  expiration: z.looseObject({ month: nullableString.optional(), year: nullableString.optional() }).nullable().optional(),
});

const AddressSchema = z.looseObject({
  country: nullableString.optional(),
  street: nullableString.optional(),
  number: nullableString.optional(),
  neighborhood: nullableString.optional(),
  postalCode: nullableString.optional(),
  city: nullableString.optional(),
  state: nullableString.optional(),
});

const MiniCartSchema = z.looseObject({
  shippingValue: z.number().optional(),
  taxValue: z.number().optional(),
  buyer: z.looseObject({}).optional(),
  shippingAddress: AddressSchema.nullable().optional(),
  billingAddress: AddressSchema.nullable().optional(),
  items: z.array(z.looseObject({})).optional(),
});

/**
 * `POST /payments` request (Create Payment). Required fields follow the OpenAPI `required`
 * list; `value` is the PPP decimal, converted to minor units once at the edge.
 * @see docs/protocol/vtex-ppp.md §4.2
 */
export const CreatePaymentRequestSchema = z.looseObject({
  reference: z.string(),
  orderId: z.string(),
  shopperInteraction: z.string(),
  transactionId: z.string().min(1),
  paymentId: z.string().min(1).max(128),
  paymentMethod: z.string().min(1),
  paymentMethodCustomCode: z.string().nullable(),
  merchantName: z.string().min(1),
  value: z.number().nonnegative(),
  currency: z.string().regex(/^[A-Za-z]{3}$/, 'must be an ISO 4217 alphabetic code'),
  installments: z.number().int().min(1).max(99),
  deviceFingerprint: z.string().nullable(),
  miniCart: MiniCartSchema,
  url: z.string(),
  callbackUrl: z.url({ protocol: /^https?$/ }),
  returnUrl: z.string().nullable(),
  card: CardSchema.nullable().optional(),
  sandBoxMode: z.boolean().optional(),
  inboundRequestsUrl: z.string().nullable().optional(),
});
export type CreatePaymentRequest = z.infer<typeof CreatePaymentRequestSchema>;

/** `paymentAppData` of an `undefined` answer: `payload` is a JSON *string*. @see docs/protocol/vtex-ppp.md §5.4 */
export interface PaymentAppData {
  appName: string;
  payload: string;
}

/** PPP status of a payment as VTEX sees it. */
export type PppStatus = 'approved' | 'denied' | 'undefined';

/**
 * `POST /payments` answer (OpenAPI `Success-Approved`), plus the POS card fields
 * (`cardBrand`, `firstDigits`, `lastDigits`) once the terminal has answered.
 * @see docs/protocol/vtex-ppp.md §4.2, §5.7
 */
export interface CreatePaymentResponse {
  paymentId: string;
  status: PppStatus;
  authorizationId: string | null;
  tid: string | null;
  nsu: string | null;
  acquirer: string | null;
  code: string | null;
  message: string | null;
  /** Seconds. */
  delayToAutoSettle: number;
  /** Seconds. */
  delayToAutoSettleAfterAntifraud: number;
  /** Seconds VTEX tolerates `undefined` before calling `/cancellations`; ≥ 600. */
  delayToCancel: number;
  paymentAppData?: PaymentAppData;
  cardBrand?: string | null;
  firstDigits?: string | null;
  lastDigits?: string | null;
  /** PPP decimal: the most VTEX may settle. */
  maxValue?: number;
}

/**
 * Notification callback body POSTed to `callbackUrl`: the Create Payment answer with the
 * final status and the POS card fields. @see docs/protocol/vtex-ppp.md §6.2
 */
export type CallbackBody = CreatePaymentResponse & { status: 'approved' | 'denied' };

/** PPP error body for 4xx/5xx answers. @see docs/protocol/vtex-ppp.md §4.2 "Errors", §7 */
export interface PppErrorBody {
  status: 'error';
  code: string;
  message: string;
  /**
   * posbridge's addition, only on its `503` answers (with `Retry-After`): `true`, the same request
   * may succeed later (its database was unavailable). VTEX ignores it and retries 5xx anyway.
   */
  retryable?: true;
}

/** `GET /manifest` answer. @see docs/protocol/vtex-ppp.md §4.1 */
export interface Manifest {
  paymentMethods: { name: string; allowsSplit: 'onAuthorize' | 'onCapture' | 'disabled' }[];
  customFields?: { name: string; type: 'text' | 'password' | 'select'; options?: { text: string; value: string }[] }[];
  autoSettleDelay?: { minimum: string; maximum: string };
}

/** Body the terminal-connector app POSTs to `submitUrl`. @see docs/protocol/vtex-ppp.md §2 step 6, §5.4 */
export const SubmitTerminalRequestSchema = z.looseObject({
  serialNumber: z.string().trim().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1–64 of A-Z a-z 0-9 . _ -'),
});
export type SubmitTerminalRequest = z.infer<typeof SubmitTerminalRequestSchema>;

/** Payload of the terminal-connector app (serialised into `paymentAppData.payload`). */
export interface TerminalConnectorPayload {
  submitUrl: string;
}

/** Payload of the wait-for-confirmation app (serialised into `paymentAppData.payload`). */
export interface WaitForConfirmationPayload {
  /** Integer seconds the app keeps polling. */
  secondsWaiting: number;
}

/** `{name, value}` pairs VTEX may add to follow-up requests (not used by posbridge). */
const NameValueListSchema = z.array(z.looseObject({ name: z.string(), value: z.string().nullable() }));

/**
 * `POST /payments/{paymentId}/cancellations` request. Idempotency key: `requestId`.
 * @see docs/protocol/vtex-ppp.md §4.3, ppp-openapi.yml `CancelPaymentRequest`
 */
export const CancelPaymentRequestSchema = z.looseObject({
  paymentId: z.string().min(1).max(128),
  requestId: z.string().min(1).max(128),
  authorizationId: z.string().nullable(),
  tid: z.string().nullable().optional(),
  transactionId: z.string().nullable().optional(),
  nsu: z.string().nullable().optional(),
  sandboxMode: z.boolean().optional(),
  merchantSettings: NameValueListSchema.nullable().optional(),
  connectorMetadata: NameValueListSchema.nullable().optional(),
});
export type CancelPaymentRequest = z.infer<typeof CancelPaymentRequestSchema>;

/**
 * `POST /payments/{paymentId}/settlements` request; `value` is the PPP decimal to capture.
 * Idempotency key: `requestId`. @see docs/protocol/vtex-ppp.md §4.4, ppp-openapi.yml `SettlePayment`
 */
export const SettlePaymentRequestSchema = z.looseObject({
  transactionId: z.string(),
  requestId: z.string().min(1).max(128),
  paymentId: z.string().min(1).max(128),
  value: z.number().nonnegative(),
  authorizationId: z.string().nullable(),
  tid: z.string().nullable().optional(),
  nsu: z.string().nullable().optional(),
  recipients: z.array(z.looseObject({})).nullable().optional(),
  sandboxMode: z.boolean().optional(),
  merchantSettings: NameValueListSchema.nullable().optional(),
  connectorMetadata: NameValueListSchema.nullable().optional(),
});
export type SettlePaymentRequest = z.infer<typeof SettlePaymentRequestSchema>;

/**
 * `POST /payments/{paymentId}/refunds` request; `value` is the PPP decimal to refund (partial
 * allowed). Idempotency key: `requestId`. @see docs/protocol/vtex-ppp.md §4.5, ppp-openapi.yml `RefundPayment`
 */
export const RefundPaymentRequestSchema = z.looseObject({
  requestId: z.string().min(1).max(128),
  settleId: z.string().nullable(),
  paymentId: z.string().min(1).max(128),
  tid: z.string().nullable(),
  value: z.number().nonnegative(),
  transactionId: z.string(),
  authorizationId: z.string().nullable().optional(),
  nsu: z.string().nullable().optional(),
  recipients: z.array(z.looseObject({})).nullable().optional(),
  sandboxMode: z.boolean().optional(),
  merchantSettings: NameValueListSchema.nullable().optional(),
  connectorMetadata: NameValueListSchema.nullable().optional(),
});
export type RefundPaymentRequest = z.infer<typeof RefundPaymentRequestSchema>;

/**
 * `POST /payments/{paymentId}/inbound/{action}` request (beta). @see docs/protocol/vtex-ppp.md §4.6
 */
export const InboundRequestSchema = z.looseObject({
  requestId: z.string().min(1).max(128),
  transactionId: z.string(),
  paymentId: z.string().min(1).max(128),
  authorizationId: z.string().nullable(),
  tid: z.string().nullable(),
  nsu: z.string().nullable(),
  requestData: z.looseObject({ body: z.string().nullable() }),
});
export type InboundRequest = z.infer<typeof InboundRequestSchema>;

/** Longest accepted configuration-flow `returnUrl`, in characters (docs/ppp.md "Routes"). */
export const MAX_RETURN_URL_LENGTH = 2048;

/** `POST /authorization/token` request (configuration flow); `returnUrl` at most {@link MAX_RETURN_URL_LENGTH} characters. @see docs/protocol/vtex-ppp.md §8 */
export const AuthorizationTokenRequestSchema = z.looseObject({
  applicationId: z.literal('vtex'),
  returnUrl: z.string().max(MAX_RETURN_URL_LENGTH, `must be at most ${MAX_RETURN_URL_LENGTH} characters`).pipe(z.url({ protocol: /^https?$/ })),
});
export type AuthorizationTokenRequest = z.infer<typeof AuthorizationTokenRequestSchema>;

/** Cancellation answer (200 `Success1`; 500/501 `Fail-GenericError1` with `cancellationId: null`). @see docs/protocol/vtex-ppp.md §4.3 */
export interface CancellationResponse {
  paymentId: string;
  cancellationId: string | null;
  code: string | null;
  message: string;
  requestId: string;
}

/** Settlement answer (200 `Success2`; 500 with `settleId: null`, `value: 0`). @see docs/protocol/vtex-ppp.md §4.4 */
export interface SettlementResponse {
  paymentId: string;
  settleId: string | null;
  /** PPP decimal actually settled. */
  value: number;
  code: string | null;
  message: string;
  requestId: string;
}

/** Refund answer (200 `Success3`; 500/501 with `refundId: null`, `value: 0`). @see docs/protocol/vtex-ppp.md §4.5 */
export interface RefundResponse {
  paymentId: string;
  refundId: string | null;
  /** PPP decimal actually refunded. */
  value: number;
  code: string | null;
  message: string;
  requestId: string;
}

/** Inbound request answer (`Success4`). @see docs/protocol/vtex-ppp.md §4.6 */
export interface InboundResponse {
  requestId: string;
  paymentId: string;
  responseData: { statusCode: number; contentType: string; content: string };
}
