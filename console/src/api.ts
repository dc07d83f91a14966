/**
 * Client of the admin API (docs/admin-api.md) for the console: same-origin `fetch` under
 * `/admin/v1`, the session cookie sent by the browser, and the CSRF double-submit header
 * (`X-CSRF-Token`) on every change. Types mirror docs/admin-api.schema.json.
 */

/** Where the admin API is mounted (same origin as the console). */
export const API = '/admin/v1';

/** Roles of docs/admin-api.md "Roles and merchant scope". */
export type Role = 'viewer' | 'operator' | 'admin';

/** Who is logged in (`$defs/Principal`). */
export interface Principal {
  actor: string;
  role: Role;
  merchantId: string | null;
  kind: 'api' | 'session';
  credentialId: string;
}

/** Payment statuses (docs/ppp.md "State of a payment"). */
export const STATUSES = [
  'awaiting_terminal',
  'dispatched',
  'accepted',
  'approved',
  'denied',
  'unknown',
  'aborting',
  'reversing',
  'reversal_unknown',
  'cancelled',
  'expired',
] as const;
/** One payment status. */
export type Status = (typeof STATUSES)[number];

/** `$defs/Payment`: money in integer minor units with its ISO 4217 currency. */
export interface Payment {
  paymentId: string;
  tid: string;
  transactionId: string;
  orderId: string;
  reference: string;
  merchantId: string;
  merchantName: string;
  status: Status;
  method: 'credit' | 'debit';
  installments: number;
  amount: { amountMinor: number; currency: string };
  testSuite: boolean;
  callbackOrigin: string | null;
  serialNumber: string | null;
  agentId: string | null;
  progressStage: string | null;
  endReason: 'cancelled' | 'expired' | null;
  outcome: {
    outcome: 'approved' | 'denied' | 'unknown';
    authorizationId: string | null;
    nsu: string | null;
    terminalTid: string | null;
    responseCode: string | null;
    amountMinor: number;
    card: { brand: string; lastDigits: string } | null;
  } | null;
  createdAt: string;
  changedAt: string;
  updatedAt: string;
  deadlineAt: string | null;
}

/** `$defs/TimelineEntry`: the other fields are the event's details. */
export interface TimelineEntry {
  at: string;
  component: 'server' | 'agent' | 'terminal';
  event: string;
  [detail: string]: unknown;
}

/** `$defs/Callback`. */
export interface Callback {
  callbackId: number;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastHttpStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  expiresAt: string | null;
  inFlight: boolean;
  origin: string | null;
}

/** `$defs/Command`. */
export interface Command {
  commandId: string;
  kind: 'start' | 'abort' | 'void' | 'refund';
  messageType: string | null;
  status: 'open' | 'closed';
  serialNumber: string;
  agentId: string | null;
  attempts: number;
  createdAt: string;
  lastSentAt: string | null;
  ackedAt: string | null;
  closedAt: string | null;
  closeReason: string | null;
}

/** One terminal of `$defs/Terminals`. */
export interface Terminal {
  serialNumber: string;
  online: boolean;
  lastSeenAt: string;
  agentId: string;
  agentName: string;
  storeId: string;
  storeName: string;
  merchantId: string;
  merchantName: string | null;
}

/** One agent of `$defs/Agents`. */
export interface Agent {
  agentId: string;
  name: string;
  storeId: string;
  merchantId: string;
  online: boolean;
  agentVersion: string | null;
  lastSeenAt: string | null;
  serialNumbers: string[];
  createdAt: string;
}

/** One merchant of `$defs/Merchants`. */
export interface Merchant {
  merchantId: string;
  name: string | null;
  appKey: string;
  callbackMode: 'notification' | 'retry';
  testSuiteMode: boolean;
  createdAt: string;
}

/** One store of `$defs/Stores`. */
export interface Store {
  storeId: string;
  merchantId: string;
  name: string;
  createdAt: string;
}

/** One card of `$defs/GiftCard` (docs/admin-api.md "Gift cards"); times ISO, never the redemption code. */
export interface GiftCard {
  cardId: string;
  merchantName: string;
  profileId: string;
  relationName: string;
  caption: string;
  /** ISO 4217 alphabetic code of every amount of the card. */
  currency: string;
  emittedAt: string;
  expiresAt: string | null;
  restrictedToOwner: boolean;
  multipleRedemptions: boolean;
  multipleCredits: boolean;
  createdAt: string;
}

/** One journal entry of `$defs/GiftCardEntry`; amounts in minor units of the card's currency. */
export interface GiftCardEntry {
  entryId: string;
  seq: number;
  kind: 'debit' | 'credit' | 'cancellation' | 'settlement';
  amountMinor: number;
  balanceAfterMinor: number;
  transactionId: string | null;
  orderId: string | null;
  requestId: string;
  description: string;
  at: string;
}

/** A console user of `$defs/Users` (never a password or its hash). */
export interface User {
  userId: string;
  name: string;
  role: Role;
  merchantId: string | null;
  disabled: boolean;
  createdAt: string;
}

/** An API token of `$defs/Tokens` (never its secret). */
export interface Token {
  credentialId: string;
  label: string;
  role: Role;
  merchantId: string | null;
  userId: string | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** One row of `$defs/Audit`: who did what to which target, why, with what outcome, when (ISO). */
export interface AuditEntry {
  seq: number;
  actor: string;
  action: string;
  target: string;
  reason: string;
  outcome: string;
  at: string;
}

/** A pairing code as `POST /stores/:storeId/pairing-codes` answers it (docs/agent-enrolment.md): shown once, single use. */
export interface PairingCode {
  code: string;
  merchantId: string;
  storeId: string;
  agentName: string;
  expiresAt: string;
}

/** Where the terminals' server-sent events are (docs/admin-api.md "Terminal events"). */
export const TERMINAL_EVENTS_URL = `${API}/terminals/events`;

/** A refusal of the API (`$defs/Error`), or `NETWORK` when no answer came. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Event on `window` when a call was answered 401 (the session ended): the shell shows the login. */
export const UNAUTHORIZED_EVENT = 'posbridge:unauthorized';

let csrfToken: string | null = null;

/** Keeps the CSRF token of the login answer (else the `posbridge_csrf` cookie is read). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

function csrf(): string {
  if (csrfToken !== null) return csrfToken;
  const cookie = document.cookie.split('; ').find((c) => c.startsWith('posbridge_csrf='));
  return cookie === undefined ? '' : decodeURIComponent(cookie.slice('posbridge_csrf='.length));
}

/**
 * One admin API call.
 * @throws ApiError with the answer's status and code (status 0, code `NETWORK`, when nothing answered).
 */
export async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrf();
  let res: Response;
  try {
    res = await fetch(`${API}${path}`, { method, headers, credentials: 'same-origin', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', err instanceof Error ? err.message : String(err));
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  if (!res.ok) {
    if (res.status === 401 && path !== '/session') dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    const e = (json ?? {}) as { code?: unknown; message?: unknown };
    throw new ApiError(res.status, typeof e.code === 'string' ? e.code : `HTTP_${res.status}`, typeof e.message === 'string' ? e.message : res.statusText);
  }
  return json as T;
}

/** Search filters of `GET /admin/v1/payments` (empty values are left out). */
export type PaymentFilters = Partial<Record<'paymentId' | 'orderId' | 'tid' | 'nsu' | 'authorizationId' | 'serialNumber' | 'status' | 'from' | 'to', string>>;

/** A query string of the non-empty `params`. */
export function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

/** The calls the screens make. */
export const api = {
  login: (name: string, password: string) => call<{ csrfToken: string; user: { name: string; role: Role } }>('POST', '/session', { name, password }),
  session: () => call<{ principal: Principal }>('GET', '/session'),
  logout: () => call<{ loggedOut: true }>('DELETE', '/session'),
  payments: (filters: PaymentFilters, cursor?: string, limit = 20) =>
    call<{ payments: Payment[]; next: string | null }>('GET', `/payments${query({ ...filters, limit: String(limit), cursor })}`),
  unknown: (cursor?: string) => call<{ payments: Payment[]; next: string | null }>('GET', `/unknown${query({ limit: '50', cursor })}`),
  payment: (id: string) => call<{ payment: Payment; timeline: TimelineEntry[] }>('GET', `/payments/${encodeURIComponent(id)}`),
  callbacks: (id: string) => call<{ callbacks: Callback[] }>('GET', `/payments/${encodeURIComponent(id)}/callbacks`),
  commands: (id: string) => call<{ commands: Command[] }>('GET', `/payments/${encodeURIComponent(id)}/commands`),
  redeliver: (id: string, callbackId: number, reason: string) =>
    call<{ callback: Callback }>('POST', `/payments/${encodeURIComponent(id)}/callbacks/${callbackId}/redeliver`, { reason }),
  resolve: (id: string, outcome: 'approved' | 'denied', reason: string, authorizationId?: string) =>
    call<{ payment: Payment }>('POST', `/payments/${encodeURIComponent(id)}/resolve`, { outcome, reason, ...(authorizationId ? { authorizationId } : {}) }),
  terminals: () => call<{ terminals: Terminal[] }>('GET', '/terminals'),
  agents: () => call<{ agents: Agent[] }>('GET', '/agents'),
  merchants: () => call<{ merchants: Merchant[] }>('GET', '/merchants'),
  stores: () => call<{ stores: Store[] }>('GET', '/stores'),
  giftCards: (merchant: string, profile: string) => call<{ cards: GiftCard[] }>('GET', `/giftcards${query({ merchant, profile })}`),
  giftCard: (merchant: string, cardId: string) =>
    call<{ card: GiftCard & { balanceMinor: number }; journal: GiftCardEntry[] }>('GET', `/giftcards/${encodeURIComponent(cardId)}${query({ merchant })}`),
  pairingCode: (storeId: string, agentName: string) =>
    call<PairingCode>('POST', `/stores/${encodeURIComponent(storeId)}/pairing-codes`, agentName.trim() === '' ? {} : { agentName: agentName.trim() }),
  users: () => call<{ users: User[] }>('GET', '/users'),
  addUser: (body: { name: string; password: string; role: Role; merchantId?: string }) => call<{ user: User }>('POST', '/users', body),
  disableUser: (userId: string, reason: string) => call<{ user: User }>('POST', `/users/${encodeURIComponent(userId)}/disable`, { reason }),
  tokens: () => call<{ tokens: Token[] }>('GET', '/tokens'),
  addToken: (body: { label: string; role: Role; merchantId?: string; expiresInDays?: number }) => call<{ token: Token; secret: string }>('POST', '/tokens', body),
  revokeToken: (credentialId: string) => call<{ token: Token }>('DELETE', `/tokens/${encodeURIComponent(credentialId)}`),
  audit: (before?: number, limit = 50) => call<{ entries: AuditEntry[] }>('GET', `/audit${query({ limit: String(limit), before: before === undefined ? undefined : String(before) })}`),
};

/** True when the role may resolve and redeliver (docs/admin-api.md: operator and admin). */
export function canOperate(role: Role): boolean {
  return role === 'operator' || role === 'admin';
}

/** True when the role manages pairing, users and tokens (docs/admin-api.md "Users and tokens (admin)"). */
export function isAdmin(role: Role): boolean {
  return role === 'admin';
}
