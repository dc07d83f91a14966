/**
 * The HTTP client of `posbridge-homologate`: calls a PPP connector the way VTEX's gateway does
 * (appKey/appToken headers, JSON bodies, `X-VTEX-API-Is-TestSuite: true` on Test Suite cases) and
 * records every request and answer, timed, with the app token redacted, for the report.
 * Source: docs/protocol/vtex-ppp.md §3 (headers), homologate/spec/ppp-openapi.yml.
 */

/** The redacted stand-in for a secret in the request log. */
export const REDACTED = '[redacted]';

/** Header names whose values never appear in the log (lower case). */
const SECRET_HEADERS = new Set(['x-vtex-api-apptoken', 'x-provider-api-apptoken', 'authorization']);

/** The longest answer body kept, bytes; a longer one is cut in the log (and fails JSON parsing only if it was cut). */
export const MAX_BODY_BYTES = 256 * 1024;

/** One request and its answer, as the report prints it. */
export interface Exchange {
  /** What the step was, e.g. `Create Payment`. */
  label: string;
  method: string;
  url: string;
  /** Request headers with secrets replaced by {@link REDACTED}. */
  requestHeaders: Record<string, string>;
  /** Request body (parsed JSON), absent for GET. */
  requestBody?: unknown;
  /** HTTP status, absent when no answer came. */
  status?: number;
  /** The answer: parsed JSON, or the raw text when it is not JSON. */
  responseBody?: unknown;
  /** True when the answer was JSON (an object, array or value). */
  responseIsJson: boolean;
  /** From sending the request to the end of the answer body, ms. */
  durationMs: number;
  /** Why no answer came (timeout, connection refused, …). */
  error?: string;
}

/** Returns the headers with every secret value replaced by {@link REDACTED}. */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? REDACTED : value;
  return out;
}

/** Settings of a {@link ConnectorClient}. */
export interface ConnectorClientOptions {
  /** The connector's base URL (no trailing slash needed), e.g. `https://pos.example.com/ppp`. */
  baseUrl: string;
  appKey: string;
  appToken: string;
  /** Give up waiting for an answer after this long, ms. */
  timeoutMs: number;
  /** Monotonic clock in ms (injected for tests); default `performance.now`. */
  now?: () => number;
}

/** Options of one request. */
export interface RequestOptions {
  /** Send `X-VTEX-API-Is-TestSuite: true` (every Test Suite case does). */
  testSuite?: boolean;
  /** Send the app key and token (every PPP route but the manifest). @default true */
  authenticated?: boolean;
}

/** Calls one connector and records each exchange. */
export class ConnectorClient {
  readonly #options: ConnectorClientOptions;
  readonly #now: () => number;

  constructor(options: ConnectorClientOptions) {
    this.#options = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
    this.#now = options.now ?? (() => performance.now());
  }

  /** The base URL, without a trailing slash. */
  get baseUrl(): string {
    return this.#options.baseUrl;
  }

  /**
   * Sends `method path` (relative to the base URL, or an absolute URL such as a `submitUrl`) with
   * a JSON body and returns the exchange; never throws for HTTP or network failures (they are in
   * `status` / `error`).
   */
  async request(label: string, method: 'GET' | 'POST', pathOrUrl: string, body?: unknown, options: RequestOptions = {}): Promise<Exchange> {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.#options.baseUrl}${pathOrUrl}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (options.authenticated ?? true) {
      headers['X-VTEX-API-AppKey'] = this.#options.appKey;
      headers['X-VTEX-API-AppToken'] = this.#options.appToken;
    }
    if (options.testSuite === true) headers['X-VTEX-API-Is-TestSuite'] = 'true';
    const exchange: Exchange = { label, method, url, requestHeaders: redactHeaders(headers), responseIsJson: false, durationMs: 0 };
    if (body !== undefined) exchange.requestBody = body;
    const started = this.#now();
    try {
      const init: RequestInit = { method, headers, signal: AbortSignal.timeout(this.#options.timeoutMs) };
      if (body !== undefined) init.body = JSON.stringify(body);
      const res = await fetch(url, init);
      const text = await readBounded(res);
      exchange.durationMs = Math.round(this.#now() - started);
      exchange.status = res.status;
      try {
        exchange.responseBody = JSON.parse(text) as unknown;
        exchange.responseIsJson = true;
      } catch {
        exchange.responseBody = text;
      }
    } catch (err) {
      exchange.durationMs = Math.round(this.#now() - started);
      const e = err as Error & { cause?: { code?: string; message?: string } };
      exchange.error = e.name === 'TimeoutError' ? `no answer within ${this.#options.timeoutMs} ms` : `${e.message}${e.cause ? ` (${e.cause.code ?? e.cause.message})` : ''}`;
    }
    return exchange;
  }
}

/** Reads at most {@link MAX_BODY_BYTES} of the answer body as UTF-8. */
async function readBounded(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
}
