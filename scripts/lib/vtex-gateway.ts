/**
 * Plays VTEX's side of an in-store payment for the demo and the end-to-end tests: the payment
 * gateway calling `POST /payments` and receiving the notification callback, and the inStore
 * terminal-connector app POSTing the serial number to `submitUrl`. Written from
 * docs/protocol/vtex-ppp.md §2 and §6 only, with plain `fetch` and `node:http`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A callback the fake gateway received. */
export interface ReceivedCallback {
  /** Path and query string exactly as requested. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  receivedAtMs: number;
  /** What the endpoint answered: an HTTP status, or `hang` (never answered). 200 unless a `respond` hook said otherwise. */
  answer?: number | 'hang';
}

/**
 * How the callback endpoint answers one callback (fault injection, e.g. by the soak): an HTTP
 * status, or `hang` to keep the request open without answering until the caller gives up.
 */
export type CallbackAnswer = number | 'hang';

/** Options of {@link startCallbackReceiver}. */
export interface CallbackReceiverOptions {
  /** Chooses the answer to each callback (after it is recorded in `received`). @default always 200 */
  respond?: (callback: ReceivedCallback) => CallbackAnswer;
}

/** The fake gateway's callback endpoint. */
export interface CallbackReceiver {
  /** A notification `callbackUrl` for a payment, shaped like VTEX's, with a signature query string. */
  callbackUrlFor(transactionId: string, paymentId: string): string;
  /** Every callback received so far, in order. */
  received: ReceivedCallback[];
  /** Resolves with the first callback for `paymentId` answered 2xx; rejects after `timeoutMs`. */
  waitFor(paymentId: string, timeoutMs?: number): Promise<ReceivedCallback>;
  close(): Promise<void>;
}

/**
 * Starts the fake gateway's callback endpoint on 127.0.0.1 (any free port); answers 200, or
 * what `options.respond` chooses. Every callback is recorded in `received` with its answer.
 */
export async function startCallbackReceiver(options: CallbackReceiverOptions = {}): Promise<CallbackReceiver> {
  const received: ReceivedCallback[] = [];
  const waiters: { paymentId: string; resolve: (cb: ReceivedCallback) => void }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        res.writeHead(400).end();
        return;
      }
      const callback: ReceivedCallback = { url: req.url ?? '', headers: req.headers, body, receivedAtMs: Date.now() };
      received.push(callback);
      const answer = options.respond?.(callback) ?? 200;
      callback.answer = answer;
      if (answer === 'hang') return; // the caller times out; closeAllConnections() ends it on close
      res.writeHead(answer, { 'content-type': 'application/json' }).end('{}');
      if (answer < 200 || answer > 299) return;
      for (const w of waiters.filter((w) => w.paymentId === body['paymentId'])) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(callback);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    received,
    callbackUrlFor(transactionId, paymentId) {
      const signature = randomBytes(12).toString('hex');
      return `http://127.0.0.1:${port}/api/pvt/payment-provider/transactions/${transactionId}/payments/${paymentId}/callback?accountName=mystore&X-VTEX-signature=${signature}`;
    },
    waitFor(paymentId, timeoutMs = 30_000) {
      const already = received.find((c) => c.body['paymentId'] === paymentId && isDelivered(c));
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no callback for ${paymentId} within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          paymentId,
          resolve: (cb) => {
            clearTimeout(timer);
            resolve(cb);
          },
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** True when the endpoint answered this callback 2xx (VTEX took it). */
export function isDelivered(callback: ReceivedCallback): boolean {
  return typeof callback.answer === 'number' && callback.answer >= 200 && callback.answer <= 299;
}

/** Options of {@link buildCreatePayment}. */
export interface CreatePaymentOverrides {
  /** PPP decimal amount. @default 31.9 (the VTEX example) */
  value?: number;
  method?: 'credit' | 'debit';
  callbackUrl: string;
  paymentId?: string;
  transactionId?: string;
}

/**
 * A `POST /payments` body built from VTEX's example Create Payment request for a POS payment
 * (test/fixtures/ppp/create-payment.venda-direta-credito.json: card fields null), with a fresh
 * `paymentId` and `transactionId`.
 */
export function buildCreatePayment(overrides: CreatePaymentOverrides): Record<string, unknown> {
  const example = JSON.parse(
    readFileSync(new URL('../../test/fixtures/ppp/create-payment.venda-direta-credito.json', import.meta.url), 'utf8'),
  ) as Record<string, unknown>;
  const value = overrides.value ?? (example['value'] as number);
  return {
    ...example,
    paymentId: overrides.paymentId ?? randomBytes(16).toString('hex').toUpperCase(),
    transactionId: overrides.transactionId ?? randomBytes(16).toString('hex').toUpperCase(),
    paymentMethod: overrides.method === 'debit' ? 'Venda Direta Debito' : 'Venda Direta Credito',
    value,
    referenceValue: value,
    installmentsValue: value,
    callbackUrl: overrides.callbackUrl,
  };
}

/** An HTTP answer: status and parsed JSON body. */
export interface JsonAnswer {
  status: number;
  body: Record<string, unknown>;
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, body: parsed };
}

/** The gateway's calls to the connector, with the merchant's credentials. */
export class GatewayClient {
  readonly #baseUrl: string;
  readonly #headers: Record<string, string>;

  constructor(baseUrl: string, appKey: string, appToken: string) {
    this.#baseUrl = baseUrl;
    this.#headers = { 'X-VTEX-API-AppKey': appKey, 'X-VTEX-API-AppToken': appToken };
  }

  /** `POST /payments` (create, and every later poll with the same `paymentId`). */
  createPayment(body: Record<string, unknown>): Promise<JsonAnswer> {
    return postJson(`${this.#baseUrl}/payments`, body, this.#headers);
  }
}

/** The terminal-connector app: POST `{ serialNumber }` to the payment's `submitUrl`. */
export function submitTerminal(submitUrl: string, serialNumber: string): Promise<JsonAnswer> {
  return postJson(submitUrl, { serialNumber });
}

/** Parses `paymentAppData.payload` (a JSON string) of a Create Payment answer. */
export function appPayload(answer: JsonAnswer): { appName: string; payload: Record<string, unknown> } | undefined {
  const data = answer.body['paymentAppData'] as { appName?: unknown; payload?: unknown } | undefined;
  if (!data || typeof data.appName !== 'string' || typeof data.payload !== 'string') return undefined;
  return { appName: data.appName, payload: JSON.parse(data.payload) as Record<string, unknown> };
}
