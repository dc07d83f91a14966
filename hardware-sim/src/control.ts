/**
 * The simulator's control interface for tests and tools: plain HTTP + JSON on 127.0.0.1 only.
 *
 *   GET    /terminals                      every terminal: snapshot (+ pty path)
 *   GET    /terminals/:serial              one terminal: screen, stage, cable, last result
 *   GET    /terminals/:serial/scenario     the scenario in force
 *   PATCH  /terminals/:serial/scenario     change part of it (JSON patch object)
 *   PUT    /terminals/:serial/scenario     replace it (defaults + body)
 *   GET    /terminals/:serial/frames?since=N   every frame received/sent after seq N
 *   DELETE /terminals/:serial/frames       empty the frame log
 *   GET    /terminals/:serial/sales        sales, charges and reversals per reference
 *   POST   /terminals/:serial/actions      {"action": "insert-card"|"tap-card"|"enter-pin"|"cancel"
 *                                            |"unplug"|"replug"|"reboot", "brand"?, "forMs"?}
 *
 * Errors answer `{ code, message, retryable }` (codes from `@posbridge/protocol/errors`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { CodedError, isCodedError, toError, type ErrorCode } from '@posbridge/protocol/errors';
import type { SimTerminalHandle } from './handle.ts';

/** A running control server. */
export interface ControlServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

/** Options of {@link startControlServer}. */
export interface ControlServerOptions {
  terminals: readonly SimTerminalHandle[];
  /** 0 = any free port. */
  port: number;
  logger: Logger;
}

/** Largest request body accepted, bytes. */
const MAX_BODY_BYTES = 64 * 1024;

/** Actions of `POST …/actions`. */
export const CONTROL_ACTIONS = ['insert-card', 'tap-card', 'enter-pin', 'cancel', 'unplug', 'replug', 'reboot'] as const;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function fail(code: ErrorCode, message: string): never {
  throw new CodedError(code, message);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) fail('SIM_BAD_REQUEST', `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return fail('SIM_BAD_REQUEST', 'body is not JSON');
  }
}

function describe(t: SimTerminalHandle): Record<string, unknown> {
  return { ...t.snapshot(), link: t.link, ...(t.link === 'pty' ? { path: t.path } : {}) };
}

async function route(req: IncomingMessage, res: ServerResponse, terminals: readonly SimTerminalHandle[]): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  const method = req.method ?? 'GET';
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'terminals')) {
    if (method !== 'GET') fail('SIM_BAD_REQUEST', `${method} not allowed here`);
    send(res, 200, { terminals: terminals.map(describe) });
    return;
  }
  if (parts[0] !== 'terminals' || parts.length > 3) fail('SIM_NOT_FOUND', `no route ${url.pathname}`);
  const t = terminals.find((x) => x.serialNumber === parts[1]);
  if (t === undefined) fail('SIM_NOT_FOUND', `no simulated terminal ${parts[1] ?? ''}`);
  const what = parts[2];
  switch (`${method} ${what ?? ''}`) {
    case 'GET ':
      return send(res, 200, describe(t));
    case 'GET scenario':
      return send(res, 200, t.scenario());
    case 'PATCH scenario':
      return send(res, 200, t.setScenario(await readJson(req)));
    case 'PUT scenario':
      return send(res, 200, t.setScenario(await readJson(req), true));
    case 'GET frames': {
      const since = Number(url.searchParams.get('since') ?? '0');
      if (!Number.isSafeInteger(since) || since < 0) fail('SIM_BAD_REQUEST', 'since must be a whole number ≥ 0');
      return send(res, 200, { frames: t.frames(since) });
    }
    case 'DELETE frames':
      t.clearFrames();
      return send(res, 200, { frames: [] });
    case 'GET sales':
      return send(res, 200, t.sales());
    case 'POST actions': {
      const body = await readJson(req);
      if (typeof body !== 'object' || body === null) fail('SIM_BAD_REQUEST', 'body must be a JSON object');
      const { action, brand, forMs } = body as { action?: unknown; brand?: unknown; forMs?: unknown };
      if (brand !== undefined && typeof brand !== 'string') fail('SIM_BAD_REQUEST', 'brand must be a string');
      if (forMs !== undefined && !(typeof forMs === 'number' && Number.isSafeInteger(forMs) && forMs >= 0)) {
        fail('SIM_BAD_REQUEST', 'forMs must be a whole number ≥ 0');
      }
      switch (action) {
        case 'insert-card':
        case 'tap-card':
          t.customer({ action: 'present-card', entry: action === 'tap-card' ? 'tap' : 'insert', ...(brand !== undefined ? { brand } : {}) });
          break;
        case 'enter-pin':
          t.customer({ action: 'enter-pin' });
          break;
        case 'cancel':
          t.customer({ action: 'cancel' });
          break;
        case 'unplug':
          t.unplug(forMs as number | undefined);
          break;
        case 'replug':
          t.replug();
          break;
        case 'reboot':
          t.reboot();
          break;
        default:
          fail('SIM_BAD_REQUEST', `action must be one of ${CONTROL_ACTIONS.join(', ')}`);
      }
      return send(res, 200, describe(t));
    }
    default:
      return fail(what === undefined || ['scenario', 'frames', 'sales', 'actions'].includes(what) ? 'SIM_BAD_REQUEST' : 'SIM_NOT_FOUND', `${method} ${url.pathname} is not supported`);
  }
}

/** Starts the control server on 127.0.0.1. */
export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  const log = opts.logger.child({ component: 'sim-control' });
  const server = createServer((req, res) => {
    route(req, res, opts.terminals).catch((err: unknown) => {
      if (isCodedError(err)) {
        const status = err.code === 'SIM_NOT_FOUND' ? 404 : 400;
        send(res, status, err.toWire());
        return;
      }
      log.error({ err: toError(err) }, 'control request failed');
      send(res, 500, { code: 'SIM_BAD_REQUEST', message: 'internal error', retryable: true });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  log.info({ url }, 'control interface listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
