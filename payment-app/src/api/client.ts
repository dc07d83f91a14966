/**
 * Client of the Payment App ⇄ server routes (`submitUrl`, `statusUrl`, `terminalsUrl`; see
 * protocol/src/pos/status.ts). `fetch` is injected so the same code runs in React Native, in a
 * browser and in tests with a fake. Every answer is validated against the protocol schemas; every
 * failure is returned as an {@link ApiFailure} value, never thrown.
 */
import {
  PosErrorSchema,
  PosStatusSchema,
  PosTerminalsSchema,
  SubmitAnswerSchema,
  type PosStatus,
  type PosTerminals,
  type SubmitAnswer,
} from '@posbridge/protocol/pos';
import type { z } from 'zod';

/** The part of a fetch `Response` the client reads. */
export interface FetchResponseLike {
  readonly status: number;
  json(): Promise<unknown>;
}

/** The part of `fetch` the client calls: React Native's, a browser's, or a test fake. */
export type FetchLike = (
  url: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
) => Promise<FetchResponseLike>;

/** Why a call failed. `http`: the server answered with an error body (or at least a status). */
export type ApiFailure =
  | { readonly kind: 'http'; readonly status: number; readonly code: string; readonly message: string; readonly retryable: boolean }
  | { readonly kind: 'network'; readonly message: string }
  | { readonly kind: 'invalid-answer'; readonly status: number; readonly message: string };

/** Result of a call: the validated answer or the failure. */
export type ApiResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ApiFailure };

/** Options of {@link createPosClient}. */
export interface PosClientOptions {
  readonly fetch: FetchLike;
  /** A call that has not answered after this long counts as a network failure. @default 10000 */
  readonly timeoutMs?: number;
}

/** The three routes the screens use. */
export interface PosClient {
  /** `POST {submitUrl} {serialNumber}`: binds the payment to a terminal and starts it there. */
  submit(submitUrl: string, serialNumber: string): Promise<ApiResult<SubmitAnswer>>;
  /** `GET {statusUrl}`: where the payment is. */
  status(statusUrl: string): Promise<ApiResult<PosStatus>>;
  /** `GET {terminalsUrl}`: the store's terminals for the picker. */
  terminals(terminalsUrl: string): Promise<ApiResult<PosTerminals>>;
  /** `POST {cancelUrl}`: *Cancel on terminal*; the status after the request (409 `POS_CANCEL_REFUSED` when it cannot). */
  cancel(cancelUrl: string): Promise<ApiResult<PosStatus>>;
}

/** Builds a {@link PosClient} over an injected fetch. */
export function createPosClient(options: PosClientOptions): PosClient {
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function call<S extends z.ZodType>(
    schema: S,
    url: string,
    method: 'GET' | 'POST',
    body?: unknown,
  ): Promise<ApiResult<z.infer<S>>> {
    let response: FetchResponseLike;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const init =
        body === undefined
          ? { method, headers: { accept: 'application/json' } }
          : { method, headers: { accept: 'application/json', 'content-type': 'application/json' }, body: JSON.stringify(body) };
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      response = await Promise.race([options.fetch(url, init), timeout]);
    } catch (err) {
      return { ok: false, error: { kind: 'network', message: err instanceof Error ? err.message : String(err) } };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
    let json: unknown;
    try {
      json = await response.json();
    } catch {
      json = undefined;
    }
    if (response.status >= 200 && response.status < 300) {
      const parsed = schema.safeParse(json);
      if (parsed.success) return { ok: true, value: parsed.data };
      return { ok: false, error: { kind: 'invalid-answer', status: response.status, message: parsed.error.message } };
    }
    const wireError = PosErrorSchema.safeParse(json);
    if (wireError.success) return { ok: false, error: { kind: 'http', status: response.status, ...wireError.data } };
    return {
      ok: false,
      error: { kind: 'http', status: response.status, code: `HTTP_${response.status}`, message: `HTTP ${response.status}`, retryable: response.status >= 500 },
    };
  }

  return {
    submit: (submitUrl, serialNumber) => call(SubmitAnswerSchema, submitUrl, 'POST', { serialNumber }),
    status: (statusUrl) => call(PosStatusSchema, statusUrl, 'GET'),
    terminals: (terminalsUrl) => call(PosTerminalsSchema, terminalsUrl, 'GET'),
    cancel: (cancelUrl) => call(PosStatusSchema, cancelUrl, 'POST', {}),
  };
}
