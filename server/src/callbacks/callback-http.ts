/**
 * The HTTP POST of one callback, on `node:http`/`node:https` so the connection can take the
 * policy's pinned `lookup` (callback-url-policy.ts): the socket connects only to addresses that
 * were checked. Redirects are not followed (a 3xx is an answer like any other), the answer's
 * body is read and dropped (at most {@link MAX_ANSWER_BYTES}), and `signal` bounds the whole
 * exchange, connection and DNS included.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

/** One callback request. */
export interface CallbackRequest {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  /** UTF-8 body; empty for a retry-mode callback. */
  readonly body: string;
  /** Aborts the exchange (the per-attempt time-out). */
  readonly signal: AbortSignal;
  /** How the host is resolved; undefined = the system's `dns.lookup`. */
  readonly lookup?: LookupFunction;
}

/** What the endpoint answered. */
export interface CallbackAnswer {
  readonly status: number;
}

/** Sends one callback. Rejects on network errors, refused hosts and aborts. */
export type CallbackPoster = (request: CallbackRequest) => Promise<CallbackAnswer>;

/** Most bytes of an answer body read before the connection is dropped. */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** A {@link CallbackPoster} with its own keep-alive connection pools; `close()` drops them. */
export interface CallbackHttpClient {
  readonly post: CallbackPoster;
  close(): void;
}

/** Creates the worker's HTTP client. */
export function createCallbackHttpClient(): CallbackHttpClient {
  const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  const post: CallbackPoster = ({ url, headers, body, signal, lookup }) =>
    new Promise((resolve, reject) => {
      const payload = Buffer.from(body, 'utf8');
      const isHttps = url.protocol === 'https:';
      const options = {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(payload.length) },
        signal,
        agent: isHttps ? agents.https : agents.http,
        ...(lookup === undefined ? {} : { lookup }),
      };
      const onAnswer = (res: IncomingMessage): void => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) res.destroy();
        });
        res.on('error', () => undefined);
        res.on('close', () => resolve({ status: res.statusCode ?? 0 }));
      };
      const req = isHttps ? httpsRequest(url, options, onAnswer) : httpRequest(url, options, onAnswer);
      req.on('error', reject);
      req.end(payload);
    });
  return {
    post,
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
