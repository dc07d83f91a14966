/**
 * A fake posbridge hub for the agent's tests: a real WebSocket server on loopback that speaks
 * enough of docs/protocol/ws.md (hello → welcome, reports → ack) to drive the agent, and lets a
 * test refuse upgrades, serials and reports. Test support only; not exported by the package.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

/** A message the hub received, JSON-parsed (the fake does not validate). */
export type Msg = Record<string, unknown> & { type: string; id: string };

/** Behaviour of a {@link startHub} hub. */
export interface HubOptions {
  /** Listen on this port of 127.0.0.1 (a hub that comes back where it was). @default 0 (any free port) */
  port?: number;
  /** `agentId` of the welcomes. @default 'agent-1' */
  agentId?: string;
  /** Answer the upgrade with this HTTP status instead of accepting it. */
  refuseStatus?: number;
  /** Whether to ack a report; `copy` counts copies of this message id received so far (1-based). */
  ackReport?: (msg: Msg, copy: number) => boolean;
  heartbeatIntervalMs?: number;
  /** Refuse `serial` in the answer to the `hello`-th (1-based) agent.hello of the connection. */
  refuse?: (serial: string, hello: number) => { code: string; message: string } | undefined;
  /** Answer this report with `error` `WS_REPORT_REFUSED` instead of an ack. */
  refuseReport?: (msg: Msg) => boolean;
  /** Link features named on the 101 (`x-posbridge-link-features`, docs/tracing.md); unset: none (a hub before them). */
  features?: string;
}

/**
 * A fake posbridge hub: a real `ws` WebSocketServer on 127.0.0.1 that welcomes every
 * `agent.hello` (accepting the announced serials unless `refuse` says otherwise) and acks every
 * report (unless `ackReport` / `refuseReport` say otherwise), recording what it received.
 */
export async function startHub(opts: HubOptions = {}) {
  const messages: Msg[] = [];
  const upgrades: IncomingMessage[] = [];
  const sockets: WebSocket[] = [];
  const copies = new Map<string, number>();
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: opts.port ?? 0,
    verifyClient: (_info, cb) => (opts.refuseStatus ? cb(false, opts.refuseStatus, 'Unauthorized') : cb(true)),
  });
  await once(wss, 'listening');
  if (opts.features !== undefined) wss.on('headers', (headers) => headers.push(`x-posbridge-link-features: ${opts.features}`));
  wss.on('connection', (ws, req) => {
    upgrades.push(req);
    sockets.push(ws);
    let hellos = 0;
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Msg;
      messages.push(msg);
      if (msg.type === 'agent.hello') {
        hellos += 1;
        const announced = (msg['terminals'] as { serialNumber: string }[]).map((t) => t.serialNumber);
        const refused = announced.flatMap((serialNumber) => {
          const r = opts.refuse?.(serialNumber, hellos);
          return r ? [{ serialNumber, ...r }] : [];
        });
        const serials = announced.filter((s) => !refused.some((r) => r.serialNumber === s));
        ws.send(
          JSON.stringify({
            v: 1,
            id: `w${messages.length}`,
            type: 'hub.welcome',
            agentId: opts.agentId ?? 'agent-1',
            heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 30_000,
            accepted: serials,
            refused,
          }),
        );
      }
      if (msg.type === 'payment.result' || msg.type === 'payment.rejected' || msg.type === 'operation.result') {
        if (opts.refuseReport?.(msg) === true) {
          ws.send(JSON.stringify({ v: 1, id: `e-${msg.id}`, type: 'error', code: 'WS_REPORT_REFUSED', message: 'payment.result refused (not_owner)', retryable: false, ref: msg.id }));
          return;
        }
        const copy = (copies.get(msg.id) ?? 0) + 1;
        copies.set(msg.id, copy);
        if ((opts.ackReport ?? (() => true))(msg, copy)) ws.send(JSON.stringify({ v: 1, id: `a-${msg.id}-${copy}`, type: 'ack', ackOf: msg.id }));
      }
    });
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/agent/v1`,
    messages,
    upgrades,
    sockets,
    of: (type: string) => messages.filter((m) => m.type === type),
    send: (msg: object) => sockets.at(-1)!.send(JSON.stringify(msg)),
    close: async () => {
      for (const s of wss.clients) s.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}
/** A started {@link startHub} hub. */
export type Hub = Awaited<ReturnType<typeof startHub>>;
