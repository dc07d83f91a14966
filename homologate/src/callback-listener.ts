/**
 * The `callbackUrl` side of VTEX's gateway, for the asynchronous cases: an HTTP listener that
 * records every POST it receives. Each payment gets its own URL with a random
 * `X-VTEX-signature` query, like the gateway's, so the report can tell whether the connector
 * used the callbackUrl exactly as received (docs/protocol/vtex-ppp.md §6: notification mode POSTs the final
 * body; retry mode POSTs after which the gateway calls Create Payment again).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Largest callback body kept, bytes; a larger one is answered 413. */
export const MAX_CALLBACK_BYTES = 64 * 1024;

/** One POST received on the listener. */
export interface ReceivedCallback {
  /** Path and query as received, e.g. `/callbacks/ABC?X-VTEX-signature=…`. */
  pathAndQuery: string;
  /** The body text (empty for a retry-mode callback). */
  body: string;
  /** Header names received (lower case; values are not kept: they may carry credentials). */
  headerNames: string[];
}

/** A running listener. */
export interface CallbackListener {
  /** The base URL callbacks are addressed to, e.g. `http://127.0.0.1:41234`. */
  readonly baseUrl: string;
  /** A new callbackUrl for `paymentId`. */
  urlFor(paymentId: string): string;
  /** Everything received so far, in order. */
  readonly received: readonly ReceivedCallback[];
  /**
   * Resolves with the first callback whose path and query start with the path of `callbackUrl`
   * (the payment's own path), or null after `timeoutMs`.
   */
  waitFor(callbackUrl: string, timeoutMs: number): Promise<ReceivedCallback | null>;
  close(): Promise<void>;
}

/**
 * Parses `host:port` (`[::1]:8080` for IPv6; port 0 = any free port).
 * @throws Error when the text is not a host and a port 0–65535.
 */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`"${text}" is not host:port (e.g. 127.0.0.1:0 or [::1]:8443)`);
  return { host: m[1] ?? m[2]!, port };
}

/**
 * Starts the listener on `listen` (`host:port`). The callback URLs use `publicHost` when given
 * (`host:port` as the connector reaches it, e.g. behind a tunnel), else the listening address.
 */
export async function startCallbackListener(listen: string, publicHost?: string): Promise<CallbackListener> {
  const { host, port } = parseHostPort(listen);
  const received: ReceivedCallback[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= MAX_CALLBACK_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (req.method !== 'POST') return void res.writeHead(405).end();
      if (size > MAX_CALLBACK_BYTES) return void res.writeHead(413).end();
      received.push({ pathAndQuery: req.url ?? '', body: Buffer.concat(chunks).toString('utf8'), headerNames: Object.keys(req.headers).sort() });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      for (const wake of waiters) wake();
    });
  });
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const hostPart = publicHost ?? (bound.family === 'IPv6' ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`);
  const baseUrl = `http://${hostPart}`;

  const matching = (callbackUrl: string): ReceivedCallback | undefined => {
    const path = new URL(callbackUrl).pathname;
    return received.find((r) => r.pathAndQuery.split('?')[0] === path);
  };

  return {
    baseUrl,
    received,
    urlFor: (paymentId) => `${baseUrl}/callbacks/${encodeURIComponent(paymentId)}?X-VTEX-signature=${randomBytes(12).toString('hex')}`,
    waitFor: (callbackUrl, timeoutMs) =>
      new Promise((resolve) => {
        const found = matching(callbackUrl);
        if (found) return resolve(found);
        const wake = (): void => {
          const hit = matching(callbackUrl);
          if (!hit) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          resolve(null);
        }, timeoutMs);
        waiters.add(wake);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
