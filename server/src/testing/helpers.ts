/**
 * The server's own test helpers (real parts only): temp SQLite files, a log sink, a callback
 * receiver on port 0 (the test kit's VTEX gateway double), a WebSocket agent client and a
 * started server. Used by the server's `*.test.ts` files only; not exported by the package (other
 * packages' tests use `@posbridge/testkit`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { startCallbackReceiver as startGatewayReceiver, waitFor } from '@posbridge/testkit';
import {
  PROTOCOL_VERSION,
  decodeServerMessage,
  type AgentMessage,
  type ServerMessage,
} from '@posbridge/protocol/ws';
import type { HostResolver } from '../callbacks/callback-url-policy.ts';
import { loadServerConfig } from '../config.ts';
import { createRootLogger } from '../logger.ts';
import { startServer, type RunningServer } from '../main.ts';

/** A temp directory removed by `cleanup()`. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'posbridge-server-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A root logger (production redaction) whose lines are collected as objects (level `trace`). */
export function sinkLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text.trim()) lines.push(JSON.parse(text) as Record<string, unknown>);
      }
      cb();
    },
  });
  const logger = createRootLogger({ level: 'trace', destination: stream });
  return { logger, lines };
}

/** Callback hosts a test server allows besides the default policy (loopback and gateway.example). */
export const TEST_CALLBACK_ALLOW_HOSTS = '127.0.0.1,localhost,gateway.example';

/** Base env of a test server. */
export function testEnv(dbPath: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    POSBRIDGE_DB: dbPath,
    POSBRIDGE_APP_KEY: 'merchant-key',
    POSBRIDGE_APP_TOKEN: 'merchant-token',
    POSBRIDGE_CALLBACK_APP_KEY: 'partner-key',
    POSBRIDGE_CALLBACK_APP_TOKEN: 'partner-token',
    POSBRIDGE_DISPATCH_RESEND_MS: '100',
    POSBRIDGE_HEARTBEAT_INTERVAL_MS: '5000',
    POSBRIDGE_CALLBACK_BASE_DELAY_MS: '20',
    POSBRIDGE_CALLBACK_MAX_DELAY_MS: '100',
    POSBRIDGE_CALLBACK_POLL_MS: '50',
    POSBRIDGE_CALLBACK_TIMEOUT_MS: '2000',
    POSBRIDGE_ANSWER_BUDGET_MS: '1500',
    // Test callback receivers listen on loopback; gateway.example is createPaymentBody's host.
    POSBRIDGE_CALLBACK_ALLOW_HOSTS: TEST_CALLBACK_ALLOW_HOSTS,
    // The repository's console build, present or not, never changes what a test sees.
    POSBRIDGE_CONSOLE_DIR: join(dirname(dbPath), 'console-not-built'),
    ...overrides,
  };
}

/** Merchant auth headers of {@link testEnv}. */
export const AUTH_HEADERS = {
  'X-VTEX-API-AppKey': 'merchant-key',
  'X-VTEX-API-AppToken': 'merchant-token',
} as const;

/** A valid Create Payment body (POS credit, BRL 31.90). */
export function createPaymentBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    reference: 'ref-1',
    orderId: 'order-1',
    shopperInteraction: 'instore',
    transactionId: 'TX1',
    paymentId: 'P1',
    paymentMethod: 'Venda Direta Credito',
    paymentMethodCustomCode: null,
    merchantName: 'store',
    value: 31.9,
    currency: 'BRL',
    installments: 1,
    deviceFingerprint: null,
    card: { holder: null, number: null, csc: null, expiration: { month: null, year: null }, document: null, token: null },
    miniCart: { buyer: {}, items: [] },
    url: 'https://store.example/checkout',
    callbackUrl: 'https://gateway.example/cb',
    returnUrl: null,
    ...overrides,
  };
}

/** A started server plus its log lines. */
export interface TestServer {
  server: RunningServer;
  lines: Record<string, unknown>[];
  /** POST /payments with merchant auth. */
  createPayment(body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** Starts the real server on 127.0.0.1:0 with a temp database. */
export async function startTestServer(
  overrides: Record<string, string> = {},
  dir?: string,
  options: { now?: () => number; manualDeadlines?: boolean; resolveCallbackHost?: HostResolver } = {},
): Promise<TestServer & { dir: string }> {
  const tmp = dir === undefined ? tempDir() : { dir, cleanup: () => undefined };
  const { logger, lines } = sinkLogger();
  const config = loadServerConfig(testEnv(join(tmp.dir, 'db.sqlite'), overrides));
  const server = await startServer({
    config,
    logger,
    ...(options.now ? { now: options.now } : {}),
    ...(options.manualDeadlines === undefined ? {} : { manualDeadlines: options.manualDeadlines }),
    ...(options.resolveCallbackHost ? { resolveCallbackHost: options.resolveCallbackHost } : {}),
  });
  return {
    server,
    lines,
    dir: tmp.dir,
    async createPayment(body) {
      const res = await fetch(`${server.url}/payments`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    },
    async close() {
      await server.close();
      tmp.cleanup();
    },
  };
}

/** One request seen by {@link startCallbackReceiver}. */
export interface ReceivedCallback {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Options of {@link startCallbackReceiver}. */
export interface CallbackReceiverOptions {
  /** Requests whose path (with query) this returns true for are recorded but never answered (until `close()`). */
  readonly hang?: (url: string) => boolean;
}

/**
 * An HTTP server on 127.0.0.1:0 recording every request; answers with `statuses` in turn, then
 * 200, except requests `options.hang` picks, which stay open. `open()` counts requests not
 * answered yet and `maxOpen` the most seen at once. The test kit's gateway double, with the
 * body as text.
 */
export async function startCallbackReceiver(statuses: number[] = [], options: CallbackReceiverOptions = {}): Promise<{
  url: string;
  received: ReceivedCallback[];
  open: () => number;
  readonly maxOpen: number;
  close: () => Promise<void>;
}> {
  const queue = [...statuses];
  const gateway = await startGatewayReceiver({
    respond: (callback) => (options.hang?.(callback.url) === true ? 'hang' : (queue.shift() ?? 200)),
  });
  return {
    url: gateway.url,
    get received() {
      return gateway.received.map((c) => ({ method: c.method, url: c.url, headers: c.headers, body: c.rawBody }));
    },
    open: () => gateway.open(),
    get maxOpen() {
      return gateway.maxOpen;
    },
    close: () => gateway.close(),
  };
}

/** A test agent over a real WebSocket. */
export interface TestAgent {
  ws: WebSocket;
  messages: ServerMessage[];
  send(message: AgentMessage): void;
  sendRaw(text: string): void;
  /** Waits for the `n`-th (1-based) message matching `pred`. */
  waitForMessage<T extends ServerMessage>(pred: (m: ServerMessage) => m is T, n?: number, timeoutMs?: number): Promise<T>;
  hello(serials: string[]): Promise<Extract<ServerMessage, { type: 'hub.welcome' }>>;
  close(): Promise<void>;
}

let msgCounter = 0;
/** A fresh message id for agent messages. */
export function nextId(): string {
  msgCounter += 1;
  return `a${msgCounter}`;
}

/** Connects a WebSocket agent with `token`; rejects with the HTTP status on a refused upgrade. */
export function connectAgent(serverUrl: string, token: string, headers: Readonly<Record<string, string>> = {}): Promise<TestAgent> {
  const ws = new WebSocket(`${serverUrl.replace(/^http/, 'ws')}/agent/v1`, {
    headers: { ...headers, Authorization: `Bearer ${token}` },
  });
  const messages: ServerMessage[] = [];
  ws.on('message', (data) => {
    const decoded = decodeServerMessage(String(data));
    if (decoded.ok) messages.push(decoded.value);
  });
  const agent: TestAgent = {
    ws,
    messages,
    send: (m) => ws.send(JSON.stringify(m)),
    sendRaw: (t) => ws.send(t),
    waitForMessage: (pred, n = 1, timeoutMs = 4000) =>
      waitFor(() => messages.filter(pred)[n - 1], { timeoutMs, message: `server message #${n}` }),
    async hello(serials) {
      agent.send({
        v: PROTOCOL_VERSION,
        id: nextId(),
        type: 'agent.hello',
        agentVersion: 'test/1',
        terminals: serials.map((serialNumber) => ({ serialNumber, dialect: 'PBL/1' })),
      });
      return agent.waitForMessage((m): m is Extract<ServerMessage, { type: 'hub.welcome' }> => m.type === 'hub.welcome');
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
      }),
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(agent));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/**
 * A type guard for server → agent messages of one `type` (docs/protocol/ws.md "Messages"), for
 * `TestAgent.waitForMessage` and filters: `const isStart = isServerMessage('payment.start')`.
 */
export function isServerMessage<T extends ServerMessage['type']>(type: T): (m: ServerMessage) => m is Extract<ServerMessage, { type: T }> {
  return (m): m is Extract<ServerMessage, { type: T }> => m.type === type;
}
