/**
 * Messages between the posbridge server's hub and terminal agents, over one WebSocket per
 * agent (`/agent/v1`). Declared once as zod schemas; the TypeScript types are derived from
 * them. Full description, sequence diagrams and the acknowledgement rules:
 * docs/protocol/ws.md.
 *
 * Every message is a JSON object `{ v, id, type, … }`:
 * - `v`  protocol version ({@link PROTOCOL_VERSION});
 * - `id` unique per sender and message, used to acknowledge it;
 * - `type` `noun.verb`, lower case.
 *
 * Delivery rule: `payment.start` (server → agent) and `payment.result` (agent → server) are
 * repeated by their sender until the peer answers `ack` with `ackOf` = their `id`; receivers
 * are idempotent by `paymentId`, so a repeat never starts a second charge nor records a result twice.
 */
import { z } from 'zod';
import { TraceparentSchema } from './trace.ts';

/** Version of this message set. A peer speaking another version is refused with `WS_UNSUPPORTED_VERSION`. */
export const PROTOCOL_VERSION = 1;

/** Money on the wire: integer minor units + ISO 4217 alphabetic code. @see ../money.ts */
export const MoneySchema = z.strictObject({
  amountMinor: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  currency: z.string().regex(/^[A-Z]{3}$/),
});

/** A terminal serial number as printed on its label and read by the Payment App. */
export const SerialNumberSchema = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/);

/**
 * Serials a server registers from `agent.hello`: 1–32 characters of `A-Z a-z 0-9 . _ -`, starting
 * with a letter or digit. Narrower than {@link SerialNumberSchema} on purpose: a hello carrying
 * another serial stays valid, and only that terminal is refused (`WS_SERIAL_INVALID`), never stored.
 * @see docs/protocol/ws.md "Terminal ownership"
 */
export const TERMINAL_SERIAL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

/** Card method of a POS payment: `Venda Direta Credito` → credit, `Venda Direta Debito` → debit. */
export const PaymentMethodKindSchema = z.enum(['credit', 'debit']);

/** Progress stages shown to the clerk while the terminal works. */
export const ProgressStageSchema = z.enum(['waiting_card', 'reading_card', 'pin', 'processing', 'printing']);

/** What the terminal did: `unknown` means the outcome could not be learned (never guessed as denied). */
export const OutcomeSchema = z.enum(['approved', 'denied', 'unknown']);

/** The only card data posbridge ever carries: brand, first 6 and last 4 digits. */
export const CardSummarySchema = z.strictObject({
  brand: z.string().min(1).max(40),
  firstDigits: z.string().regex(/^\d{6}$/),
  lastDigits: z.string().regex(/^\d{4}$/),
});

const envelope = {
  v: z.literal(PROTOCOL_VERSION),
  id: z.string().min(1).max(64),
};

/** A terminal an agent drives, announced in `agent.hello`. */
export const AnnouncedTerminalSchema = z.strictObject({
  serialNumber: SerialNumberSchema,
  /** Wire dialect the agent speaks to it (`PBL/1`, `concert-e+`). */
  dialect: z.string().min(1).max(32),
  model: z.string().max(64).optional(),
  vendor: z.string().max(64).optional(),
  /**
   * Where the agent got `serialNumber`: `device` when the driver read it from the terminal
   * (PBL/1 IDENT), `config` when it comes from the agent's configuration (Concert E+ cannot tell
   * it). Absent = `config` (agents before this field). Only a `device` serial lets a terminal move
   * to another agent of its store without an administrator (docs/protocol/ws.md "Terminal ownership").
   */
  serialSource: z.enum(['device', 'config']).optional(),
});

/** Shortest interval between two `agent.hello` on one connection, ms; a faster repeat is a bad frame. */
export const REHELLO_MIN_INTERVAL_MS = 1000;

/**
 * Agent → server, first message after the upgrade: who I am and which terminals I drive. It may
 * be sent again on the same connection (at most once per {@link REHELLO_MIN_INTERVAL_MS}) to
 * announce the whole set again, e.g. to retry a refused serial; each one is answered by a `hub.welcome`.
 */
export const AgentHelloSchema = z.strictObject({
  ...envelope,
  type: z.literal('agent.hello'),
  agentVersion: z.string().max(64),
  terminals: z.array(AnnouncedTerminalSchema).max(64),
});

/** Agent → server: customer-facing progress of a payment on the terminal. Not acknowledged. */
export const PaymentProgressSchema = z.strictObject({
  ...envelope,
  type: z.literal('payment.progress'),
  paymentId: z.string().min(1).max(128),
  stage: ProgressStageSchema,
});

/**
 * Agent → server: the terminal refused to start the payment (busy, unknown terminal). Nothing
 * was charged; the payment may be sent to another terminal. Acknowledged and repeated like a result.
 * `startId` names the attempt refused (the `id` of its `payment.start`): the server applies the
 * rejection only to that attempt, never to a later bind of the same payment.
 */
export const PaymentRejectedSchema = z.strictObject({
  ...envelope,
  type: z.literal('payment.rejected'),
  paymentId: z.string().min(1).max(128),
  code: z.enum(['TERM_BUSY', 'TERM_UNKNOWN', 'TERM_DISCONNECTED']),
  message: z.string().max(500),
  startId: z.string().min(1).max(64).optional(),
});

/** Agent → server: the outcome of a payment on the terminal. Repeated until acknowledged. */
export const PaymentResultSchema = z.strictObject({
  ...envelope,
  type: z.literal('payment.result'),
  paymentId: z.string().min(1).max(128),
  outcome: OutcomeSchema,
  /** Amount the terminal processed. */
  amount: MoneySchema,
  /** The agent's transaction reference on the terminal wire (line dialect `rid`). */
  terminalRef: z.string().max(64),
  authorizationId: z.string().max(64).optional(),
  nsu: z.string().max(64).optional(),
  tid: z.string().max(64).optional(),
  /** Issuer/acquirer response code (`00`, `51`, …). */
  responseCode: z.string().max(16).optional(),
  message: z.string().max(500).optional(),
  card: CardSummarySchema.optional(),
});

/** Either side: "I have durably taken message `ackOf`; stop repeating it." */
export const AckSchema = z.strictObject({
  ...envelope,
  type: z.literal('ack'),
  ackOf: z.string().min(1).max(64),
});

/** Either side: a message could not be handled. `ref` is the `id` of the offending message if known. */
export const ErrorMessageSchema = z.strictObject({
  ...envelope,
  type: z.literal('error'),
  code: z.string().max(64),
  message: z.string().max(500),
  retryable: z.boolean(),
  ref: z.string().max(64).optional(),
});

/** Server → agent, answer to `agent.hello`: which announced terminals are now routed to this agent. */
export const HubWelcomeSchema = z.strictObject({
  ...envelope,
  type: z.literal('hub.welcome'),
  agentId: z.string().max(64),
  /** Interval of the server's WebSocket pings; the agent treats 2× this without a ping as a dead link. */
  heartbeatIntervalMs: z.number().int().positive(),
  accepted: z.array(SerialNumberSchema),
  refused: z.array(z.strictObject({ serialNumber: SerialNumberSchema, code: z.string(), message: z.string() })),
});

/** Server → agent: charge this payment on terminal `serialNumber`. Repeated until acknowledged. */
export const PaymentStartSchema = z.strictObject({
  ...envelope,
  type: z.literal('payment.start'),
  paymentId: z.string().min(1).max(128),
  serialNumber: SerialNumberSchema,
  amount: MoneySchema,
  method: PaymentMethodKindSchema,
  installments: z.number().int().min(1).max(99),
  /** The payment's W3C trace context (docs/tracing.md); sent only to agents that speak the `trace` link feature. */
  traceparent: TraceparentSchema.optional(),
});

/**
 * Server → agent: stop payment `paymentId` on the terminal if it is still running (VTEX cancelled
 * it, or its deadline passed). Repeated until acknowledged. The agent answers through the usual
 * `payment.result`: `denied` when the terminal aborted, `approved` when the terminal had already
 * approved (the server then reverses it with an `operation.start` of kind `void`).
 */
export const PaymentAbortSchema = z.strictObject({
  ...envelope,
  type: z.literal('payment.abort'),
  paymentId: z.string().min(1).max(128),
  reason: z.enum(['cancelled', 'expired']),
  /** As on `payment.start`. */
  traceparent: TraceparentSchema.optional(),
});

/** Kind of a follow-up operation on an approved payment: `void` (reversal, full amount) or `refund` (partial allowed). */
export const OperationKindSchema = z.enum(['void', 'refund']);

/**
 * Server → agent: reverse (void) or refund an approved payment on the terminal that charged it.
 * Repeated until acknowledged; idempotent by `operationId` on the agent (a repeat never runs a
 * second reversal on the terminal).
 */
export const OperationStartSchema = z.strictObject({
  ...envelope,
  type: z.literal('operation.start'),
  operationId: z.string().min(1).max(128),
  paymentId: z.string().min(1).max(128),
  kind: OperationKindSchema,
  serialNumber: SerialNumberSchema,
  /** Amount to void or refund (a void is always the full processed amount). */
  amount: MoneySchema,
  /** The original sale's reference on the terminal wire (`payment.result.terminalRef`). */
  originalTerminalRef: z.string().min(1).max(64),
  /** As on `payment.start`. */
  traceparent: TraceparentSchema.optional(),
});

/** Agent → server: the outcome of an `operation.start`. Repeated until acknowledged. */
export const OperationResultSchema = z.strictObject({
  ...envelope,
  type: z.literal('operation.result'),
  operationId: z.string().min(1).max(128),
  paymentId: z.string().min(1).max(128),
  kind: OperationKindSchema,
  /** `unknown`: the terminal was asked and the answer was lost; resolved later, never guessed. */
  outcome: OutcomeSchema,
  amount: MoneySchema,
  terminalRef: z.string().max(64),
  authorizationId: z.string().max(64).optional(),
  nsu: z.string().max(64).optional(),
  responseCode: z.string().max(16).optional(),
  message: z.string().max(500).optional(),
  /**
   * Set with `outcome: "denied"` when the agent refused the operation before the terminal took
   * it (nothing was reversed): `TERM_UNKNOWN` (not its terminal), `TERM_BUSY` (agents before the
   * per-terminal queue; the server lets VTEX repeat the request instead of answering 501).
   */
  code: z.enum(['TERM_BUSY', 'TERM_UNKNOWN', 'TERM_DISCONNECTED']).optional(),
});

/**
 * Stages an agent reports in `payment.events` (docs/tracing.md "Stages"): `command.*`,
 * `abort.*`, `operation.*` and `result.*` are the agent's own (timeline component `agent`),
 * `terminal.*` what the terminal did (component `terminal`).
 */
export const TraceStageSchema = z.enum([
  'command.received',
  'command.refused',
  'abort.received',
  'operation.received',
  'operation.queued',
  'terminal.request',
  'terminal.ack',
  'terminal.progress',
  'terminal.answer',
  'terminal.recovering',
  'terminal.abort',
  'result.sent',
  'result.acked',
]);

/** Most events in one `payment.events` message. */
export const MAX_TRACE_EVENTS_PER_MESSAGE = 16;

/** Longest text of a free-text detail (`reason`). */
export const MAX_TRACE_DETAIL_TEXT = 200;

/**
 * The only details a trace event may carry (strict: any other key refuses the frame). Never card
 * data: `reason` is free text and is masked for card numbers on both sides (../redaction.ts `maskCardNumbers`).
 */
export const TraceDetailSchema = z.strictObject({
  /** The transaction's reference on the terminal wire (line dialect `rid`). */
  rid: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).optional(),
  serialNumber: SerialNumberSchema.optional(),
  operationId: z.string().min(1).max(128).optional(),
  kind: OperationKindSchema.optional(),
  stage: ProgressStageSchema.optional(),
  outcome: OutcomeSchema.optional(),
  responseCode: z.string().max(16).optional(),
  code: z.string().regex(/^[A-Z0-9_]{1,64}$/).optional(),
  messageId: z.string().min(1).max(64).optional(),
  reason: z.string().max(MAX_TRACE_DETAIL_TEXT).optional(),
});

/** One stage of a payment on the agent, at the agent's clock. */
export const TraceEventSchema = z.strictObject({
  /** ms since epoch (agent clock). */
  at: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  stage: TraceStageSchema,
  detail: TraceDetailSchema.optional(),
});

/**
 * Agent → server: stages of one payment on the agent and its terminal, for the payment's timeline
 * (docs/tracing.md). Best effort, not acknowledged, sent only when both sides speak the `trace`
 * link feature; the server takes it only from the agent that owns the payment's terminal.
 */
export const PaymentEventsSchema = z.strictObject({
  ...envelope,
  type: z.literal('payment.events'),
  paymentId: z.string().min(1).max(128),
  events: z.array(TraceEventSchema).min(1).max(MAX_TRACE_EVENTS_PER_MESSAGE),
});

/** Everything an agent may send. */
export const AgentMessageSchema = z.discriminatedUnion('type', [
  AgentHelloSchema,
  PaymentProgressSchema,
  PaymentRejectedSchema,
  PaymentResultSchema,
  OperationResultSchema,
  PaymentEventsSchema,
  AckSchema,
  ErrorMessageSchema,
]);

/** Everything the server may send to an agent. */
export const ServerMessageSchema = z.discriminatedUnion('type', [
  HubWelcomeSchema,
  PaymentStartSchema,
  PaymentAbortSchema,
  OperationStartSchema,
  AckSchema,
  ErrorMessageSchema,
]);

export type PaymentMethodKind = z.infer<typeof PaymentMethodKindSchema>;
export type ProgressStage = z.infer<typeof ProgressStageSchema>;
export type Outcome = z.infer<typeof OutcomeSchema>;
export type CardSummary = z.infer<typeof CardSummarySchema>;
export type AnnouncedTerminal = z.infer<typeof AnnouncedTerminalSchema>;
export type AgentHello = z.infer<typeof AgentHelloSchema>;
export type PaymentProgress = z.infer<typeof PaymentProgressSchema>;
export type PaymentRejected = z.infer<typeof PaymentRejectedSchema>;
export type PaymentResult = z.infer<typeof PaymentResultSchema>;
export type Ack = z.infer<typeof AckSchema>;
export type ErrorMessage = z.infer<typeof ErrorMessageSchema>;
export type HubWelcome = z.infer<typeof HubWelcomeSchema>;
export type PaymentStart = z.infer<typeof PaymentStartSchema>;
export type PaymentAbort = z.infer<typeof PaymentAbortSchema>;
export type OperationKind = z.infer<typeof OperationKindSchema>;
export type OperationStart = z.infer<typeof OperationStartSchema>;
export type OperationResult = z.infer<typeof OperationResultSchema>;
export type TraceStage = z.infer<typeof TraceStageSchema>;
export type TraceDetail = z.infer<typeof TraceDetailSchema>;
export type TraceEvent = z.infer<typeof TraceEventSchema>;
export type PaymentEvents = z.infer<typeof PaymentEventsSchema>;
export type AgentMessage = z.infer<typeof AgentMessageSchema>;
export type ServerMessage = z.infer<typeof ServerMessageSchema>;
