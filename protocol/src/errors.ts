/**
 * The error-code catalogue shared by every posbridge part.
 *
 * Codes are SCREAMING_SNAKE with a domain prefix (`PPP_`, `WS_`, `TERM_`, `STORE_`, `CFG_`,
 * `MONEY_`, `ADMIN_` for operator commands). Each entry has a message, a `retryable` flag (may the same call succeed later
 * unchanged?) and, where the code can reach an HTTP client, the status to answer with.
 * Retired codes are never reused. `docs/errors.md` lists every code; a test keeps the two in
 * step in both directions.
 *
 * Business results ("declined") are values, never errors: a `CodedError` means the operation
 * itself failed.
 *
 * @see CONTRIBUTING.md "Errors"
 */
export const ERROR_CODES = {
  CFG_INVALID: { message: 'configuration is invalid', retryable: false },

  MONEY_UNKNOWN_CURRENCY: { message: 'currency is not a known ISO 4217 code', retryable: false, httpStatus: 400 },
  MONEY_INVALID_AMOUNT: {
    message: 'amount is not a non-negative value with at most the currency’s minor digits',
    retryable: false,
    httpStatus: 400,
  },

  PPP_UNAUTHORIZED: { message: 'missing or wrong appKey/appToken', retryable: false, httpStatus: 401 },
  PPP_INVALID_REQUEST: { message: 'request body does not match the PPP schema', retryable: false, httpStatus: 400 },
  PPP_MALFORMED_JSON: { message: 'request body is not valid JSON', retryable: false, httpStatus: 400 },
  PPP_NOT_FOUND: { message: 'no such route', retryable: false, httpStatus: 404 },
  PPP_PAYMENT_MISMATCH: {
    message: 'a payment with this paymentId exists with different amount, currency or method',
    retryable: false,
    httpStatus: 400,
  },
  PPP_INTERNAL: { message: 'internal error', retryable: true, httpStatus: 500 },
  PPP_BODY_TOO_LARGE: { message: 'request body is larger than the configured limit', retryable: false, httpStatus: 413 },
  PPP_MERCHANT_MISMATCH: {
    message: 'these credentials do not belong to the merchantName of the request',
    retryable: false,
    httpStatus: 403,
  },
  PPP_PAYMENT_NOT_FOUND: { message: 'no payment with this paymentId for this merchant', retryable: false, httpStatus: 404 },
  PPP_NOT_APPROVED: { message: 'the payment is not approved, so it cannot be settled or refunded', retryable: true, httpStatus: 500 },
  PPP_AMOUNT_EXCEEDED: {
    message: 'the amount is more than what remains to settle or refund',
    retryable: false,
    httpStatus: 500,
  },
  PPP_OPERATION_PENDING: {
    message: 'the terminal has not confirmed the operation yet; repeat the same request',
    retryable: true,
    httpStatus: 500,
  },
  PPP_TOO_MANY_ATTEMPTS: { message: 'too many failed authentications from this source', retryable: true, httpStatus: 429 },
  PPP_ONBOARDING_INVALID: { message: 'unknown, expired or used onboarding token or code', retryable: false, httpStatus: 400 },
  PPP_RATE_LIMITED: { message: 'too many requests from this source', retryable: true, httpStatus: 429 },

  POS_SUBMIT_NOT_FOUND: { message: 'this submitUrl is not valid', retryable: false, httpStatus: 404 },
  POS_INVALID_SERIAL: { message: 'serialNumber is missing or malformed', retryable: false, httpStatus: 400 },
  POS_TERMINAL_UNKNOWN: {
    message: 'no connected terminal agent drives a terminal with this serial number',
    retryable: true,
    httpStatus: 404,
  },
  POS_TERMINAL_OFFLINE: { message: 'the agent driving this terminal is not connected', retryable: true, httpStatus: 503 },
  POS_ALREADY_BOUND: {
    message: 'this payment is already bound to another terminal',
    retryable: false,
    httpStatus: 409,
  },
  POS_PAYMENT_FINAL: { message: 'this payment is already finished', retryable: false, httpStatus: 410 },
  POS_CANCEL_REFUSED: {
    message: 'this payment cannot be cancelled from the Payment App now (approved, or its outcome is unknown): cancel it through VTEX',
    retryable: false,
    httpStatus: 409,
  },
  POS_SANDBOX_REFUSED: {
    message: 'a VTEX sandbox payment does not run on this merchant\'s terminals',
    retryable: false,
    httpStatus: 409,
  },

  WS_UNAUTHORIZED: { message: 'agent token missing or not recognised', retryable: false },
  WS_BAD_MESSAGE: { message: 'message does not match the agent protocol', retryable: false },
  WS_UNSUPPORTED_VERSION: { message: 'agent protocol version not supported', retryable: false },
  WS_SERIAL_CLAIMED: { message: 'another agent already drives a terminal with this serial number', retryable: true },
  WS_SERIAL_FOREIGN: { message: 'this terminal serial number is registered to another merchant or store', retryable: true },
  WS_SERIAL_UNCONFIRMED: {
    message: 'this terminal is registered to another agent of the store and its serial number was not read from the device',
    retryable: true,
  },
  WS_SERIAL_INVALID: { message: 'serial number does not match the terminal serial pattern or is reserved', retryable: false },
  WS_TERMINAL_LIMIT: { message: 'the agent announced more terminals than the server allows per agent', retryable: false },
  WS_REPORT_REFUSED: {
    message: 'report refused: it does not come from the session of the agent the command was sent to and that owns the terminal',
    retryable: false,
  },

  TERM_BAD_LINE: { message: 'terminal line does not match the line dialect', retryable: false },
  TERM_BAD_CHECKSUM: { message: 'terminal line checksum mismatch', retryable: true },
  TERM_TIMEOUT: { message: 'terminal did not answer in time', retryable: true },
  TERM_DISCONNECTED: { message: 'terminal link is closed', retryable: true },
  TERM_BUSY: { message: 'terminal is busy with another transaction', retryable: true },
  TERM_MISMATCH: { message: 'terminal answer does not match the request', retryable: false },
  TERM_PORT_OPEN_FAILED: { message: 'could not open the terminal port', retryable: true },
  TERM_HID_UNAVAILABLE: { message: 'the HID library (node-hid / libusb) could not be loaded', retryable: false },

  STORE_FAILED: { message: 'payment store operation failed', retryable: true, httpStatus: 503 },

  SIM_NOT_FOUND: { message: 'no such simulated terminal or control route', retryable: false, httpStatus: 404 },
  SIM_BAD_REQUEST: { message: 'the simulator control request is not valid', retryable: false, httpStatus: 400 },

  // Unknown outcomes (docs/ppp.md "Unknown outcomes").
  PPP_OUTCOME_UNKNOWN: {
    message: 'the terminal outcome of this payment is unknown; it stays flagged until an operator resolves it',
    retryable: true,
    httpStatus: 500,
  },
  ADMIN_RESOLVE_REFUSED: { message: 'only a payment whose terminal outcome is unknown can be resolved by an operator', retryable: false, httpStatus: 409 },
  // The operations console's API (docs/admin-api.md "Errors").
  ADMIN_UNAUTHORIZED: { message: 'missing, wrong, expired or revoked console credentials', retryable: false, httpStatus: 401 },
  ADMIN_FORBIDDEN: { message: 'the role or merchant scope of these credentials does not allow this', retryable: false, httpStatus: 403 },
  ADMIN_CSRF_REFUSED: {
    message: 'a change made with the session cookie needs the X-CSRF-Token header of that session',
    retryable: false,
    httpStatus: 403,
  },
  ADMIN_NOT_FOUND: { message: 'no such object (or not in the merchant scope of these credentials)', retryable: false, httpStatus: 404 },
  ADMIN_INVALID_REQUEST: { message: 'the request does not match the admin API', retryable: false, httpStatus: 400 },
  ADMIN_CALLBACK_IN_FLIGHT: { message: 'a callback worker is delivering this callback right now; try again shortly', retryable: true, httpStatus: 409 },
  // Amounts a terminal cannot charge (docs/ppp.md "Idempotency and amounts").
  MONEY_AMOUNT_OUT_OF_RANGE: {
    message: 'amount is below one minor unit or above the most a terminal can charge',
    retryable: false,
    httpStatus: 400,
  },
  // Cancel and settle serialised on the payment (docs/ppp.md "Concurrent requests").
  PPP_PAYMENT_CANCELLED: {
    message: 'the payment was cancelled (or its cancellation is under way), so it cannot be settled or refunded',
    retryable: false,
    httpStatus: 500,
  },
  // A busy terminal never means refund by hand (docs/protocol/ws.md "Delivery").
  PPP_TERMINAL_BUSY: {
    message: 'the terminal was busy and did not take the refund; nothing was refunded; repeat the same request',
    retryable: true,
    httpStatus: 500,
  },
  // A request that did not finish within the PPP answer budget (docs/deployment.md).
  PPP_UNAVAILABLE: {
    message: 'posbridge could not finish this request in time (its database is slow or unreachable); repeat the same request',
    retryable: true,
    httpStatus: 503,
  },
  // Agent enrolment (docs/agent-enrolment.md).
  AGENT_PAIRING_CODE_UNKNOWN: { message: 'no such pairing code: check what you typed, or ask for a new code', retryable: false, httpStatus: 404 },
  AGENT_PAIRING_CODE_USED: { message: 'this pairing code was used already: each code pairs one agent; ask for a new code', retryable: false, httpStatus: 410 },
  AGENT_PAIRING_CODE_EXPIRED: { message: 'this pairing code expired (codes are valid for 15 minutes); ask for a new code', retryable: false, httpStatus: 410 },
  AGENT_PAIRING_LIMIT: { message: 'this store has too many pending pairing codes; use one or wait until they expire', retryable: true, httpStatus: 429 },
  ADMIN_AGENT_UNKNOWN: { message: 'no agent with this id', retryable: false, httpStatus: 404 },
  ADMIN_MERCHANT_UNKNOWN: { message: 'no merchant with this id for this caller', retryable: false, httpStatus: 404 },
  ADMIN_AGENT_REVOKED: { message: 'this agent is revoked: pair a new agent instead', retryable: false, httpStatus: 409 },
} as const satisfies Record<string, { message: string; retryable: boolean; httpStatus?: number }>;

/** Every error code posbridge can produce. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The wire shape of an error (HTTP bodies, WebSocket error messages): never a stack trace. */
export interface WireError {
  code: ErrorCode;
  message: string;
  retryable: boolean;
}

/**
 * The one error class of posbridge. Match on `code`, never on `instanceof`: code is bundled
 * across React Native, Node and tests, where `instanceof` is fragile.
 *
 * @param code - catalogue entry; its message is used unless `message` is given.
 * @param options.cause - the underlying failure (normalised with {@link toError}).
 * @param options.details - structured, loggable context (never card data or secrets).
 */
export class CodedError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message ?? ERROR_CODES[code].message, options.cause === undefined ? {} : { cause: toError(options.cause) });
    this.name = 'CodedError';
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.details = options.details;
  }

  /** The wire shape: `{ code, message, retryable }`. */
  toWire(): WireError {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

/** True when `value` carries a posbridge error `code` (structural, not `instanceof`). */
export function isCodedError(value: unknown): value is CodedError {
  return (
    typeof value === 'object' &&
    value !== null &&
    'code' in value &&
    typeof (value as { code: unknown }).code === 'string' &&
    (value as { code: string }).code in ERROR_CODES
  );
}

/** Normalises anything thrown into an `Error` (strings and plain objects included). */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(JSON.stringify(value));
  } catch {
    return new Error(String(value));
  }
}
