/**
 * The Payment App ⇄ server API (not part of PPP): what the terminal-connector and
 * wait-for-confirmation screens read while the clerk and the buyer wait. Every route is
 * authenticated by the per-payment token of the payment's `submitUrl`, so the app never holds
 * merchant credentials.
 *
 * Routes (all JSON, CORS open, errors `{ code, message, retryable }` with a POS_* code):
 * - `POST {submitUrl}` body `{ serialNumber }` → {@link SubmitAnswerSchema}   (docs/protocol/vtex-ppp.md §2 step 6)
 * - `GET  {statusUrl}`  → {@link PosStatusSchema}: progress and final result
 * - `GET  {terminalsUrl}` → {@link PosTerminalsSchema}: the store's terminals for the picker
 *
 * `statusUrl` and `terminalsUrl` travel next to `submitUrl` in the terminal-connector payload,
 * and `statusUrl` next to `secondsWaiting` in the wait-for-confirmation payload (extra keys the
 * VTEX apps ignore).
 *
 * @see docs/ppp.md "Routes"
 */
import { z } from 'zod';
import { MoneySchema, PaymentMethodKindSchema, ProgressStageSchema, SerialNumberSchema } from '../ws/messages.ts';

/** Where a payment is, as the app shows it. `unknown`: the terminal's answer was lost and is being recovered. */
export const PosPaymentStateSchema = z.enum([
  'awaiting_terminal',
  'dispatched',
  'in_progress',
  'approved',
  'denied',
  'unknown',
  'cancelled',
  'expired',
]);

/** `GET {statusUrl}` answer. */
export const PosStatusSchema = z.object({
  paymentId: z.string(),
  state: PosPaymentStateSchema,
  /** Latest progress on the terminal, while it works. */
  stage: ProgressStageSchema.nullable(),
  /** Terminal the payment is bound to. */
  serialNumber: SerialNumberSchema.nullable(),
  amount: MoneySchema,
  method: PaymentMethodKindSchema,
  /** Final result once `approved` or `denied`. Card data is brand and last 4 only. */
  result: z
    .object({
      status: z.enum(['approved', 'denied']),
      cardBrand: z.string().nullable(),
      lastDigits: z.string().regex(/^\d{4}$/).nullable(),
      message: z.string().nullable(),
    })
    .nullable(),
  /** Whole seconds until the server gives up on the payment; null once final. */
  secondsRemaining: z.number().int().nonnegative().nullable(),
});

/** One terminal of the store, for the app's picker. */
export const PosTerminalSchema = z.object({
  serialNumber: SerialNumberSchema,
  /** Its agent is connected. */
  online: z.boolean(),
  /** It is running another payment right now. */
  busy: z.boolean(),
  model: z.string().optional(),
  /** The store its agent serves: the app shows the terminals of the device's store. */
  store: z.object({ storeId: z.string().min(1).max(128), name: z.string().min(1).max(128) }).optional(),
});

/** `GET {terminalsUrl}` answer: the merchant's terminals with their store (online ones first). */
export const PosTerminalsSchema = z.object({ terminals: z.array(PosTerminalSchema) });

/** `POST {submitUrl}` success answer. */
export const SubmitAnswerSchema = z.object({
  paymentId: z.string(),
  serialNumber: SerialNumberSchema,
  state: PosPaymentStateSchema,
});

/** Error body of every Payment App route. */
export const PosErrorSchema = z.object({ code: z.string(), message: z.string(), retryable: z.boolean() });

/** Payload of `vtex.terminal-connector-app` (JSON-serialised into `paymentAppData.payload`). */
export const TerminalConnectorPayloadSchema = z.looseObject({
  submitUrl: z.url(),
  statusUrl: z.url().optional(),
  terminalsUrl: z.url().optional(),
  /** posbridge's addition: `POST` it to stop the sale on the terminal (*Cancel on terminal*). */
  cancelUrl: z.url().optional(),
});

/** Payload of `vtex.challenge-wait-for-confirmation` (JSON-serialised into `paymentAppData.payload`). */
export const WaitForConfirmationPayloadSchema = z.looseObject({
  secondsWaiting: z.number().int().positive(),
  statusUrl: z.url().optional(),
  /** posbridge's addition: `POST` it to stop the sale on the terminal (*Cancel on terminal*). */
  cancelUrl: z.url().optional(),
});

export type PosPaymentState = z.infer<typeof PosPaymentStateSchema>;
export type PosStatus = z.infer<typeof PosStatusSchema>;
export type PosTerminal = z.infer<typeof PosTerminalSchema>;
export type PosTerminals = z.infer<typeof PosTerminalsSchema>;
export type SubmitAnswer = z.infer<typeof SubmitAnswerSchema>;
export type PosError = z.infer<typeof PosErrorSchema>;
export type TerminalConnectorPayloadWire = z.infer<typeof TerminalConnectorPayloadSchema>;
export type WaitForConfirmationPayloadWire = z.infer<typeof WaitForConfirmationPayloadSchema>;
