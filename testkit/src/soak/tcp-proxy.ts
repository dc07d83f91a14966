/**
 * A small TCP proxy for fault injection: forwards every connection to `target()` and can cut
 * them all at once (the peers see a reset, as when a NAT or Wi-Fi link drops). Used between the
 * terminal agent and the server's WebSocket hub.
 */
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A running proxy. */
export interface TcpProxy {
  /** Port the proxy listens on (127.0.0.1). */
  readonly port: number;
  /** Connections currently forwarded. */
  readonly open: number;
  /** Destroys every forwarded connection (both sides); returns how many were cut. */
  cut(): number;
  /**
   * Stops forwarding on every current connection for `ms` without closing it (a half-open link:
   * a NAT or Wi-Fi that silently swallows packets); returns how many were stalled.
   */
  stall(ms: number): number;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 (any free port) forwarding to `127.0.0.1:<targetPort()>`. */
export async function startTcpProxy(targetPort: () => number): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort() });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    get open() {
      return pairs.size;
    },
    cut() {
      const n = pairs.size;
      for (const [a, b] of [...pairs]) {
        // resetAndDestroy sends an RST where available, like a dropped link.
        a.resetAndDestroy();
        b.resetAndDestroy();
      }
      pairs.clear();
      return n;
    },
    stall(ms) {
      const stalled = [...pairs];
      for (const [a, b] of stalled) {
        a.unpipe(b);
        b.unpipe(a);
      }
      setTimeout(() => {
        for (const pair of stalled) {
          const [a, b] = pair;
          if (!pairs.has(pair)) continue;
          a.pipe(b);
          b.pipe(a);
        }
      }, ms).unref();
      return stalled.length;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        pairs.clear();
        server.close(() => resolve());
      }),
  };
}
