/**
 * Issue 10 item 19: the smaller holes of the HTTP edge and the database file.
 * - `/metrics` compares its bearer token in constant time and limits wrong tokens per source;
 * - idle and silent TCP connections are closed (keep-alive, headers and request time-outs);
 * - the SQLite file (and its WAL/SHM files) is created 0600, an existing looser file tightened;
 * - the generated submit-token secret is kept out of the database: in its own 0600 file, an
 *   old database's secret moved there (so existing submitUrls keep working).
 * @requires-program openssl
 */
import { existsSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSubmitToken, verifySubmitToken } from './pos/submit-token.ts';
import { openSqliteStore } from './adapters/sqlite/index.ts';
import { SqliteDb } from './adapters/sqlite/sqlite-db.ts';
import { createTestPki } from '@posbridge/testkit';
import { connectAgent, createPaymentBody, startTestServer, tempDir, type TestServer } from './testing/helpers.ts';

const METRICS_TOKEN = 'metrics-token-0123456789';

describe('metrics token', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('answers the right token, refuses wrong ones, then limits the source', async () => {
    t = await startTestServer({ POSBRIDGE_METRICS_TOKEN: METRICS_TOKEN, POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    const get = (token: string) => fetch(`${t!.server.url}/metrics`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status);
    expect(await get(METRICS_TOKEN)).toBe(200);
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push(await get(`wrong-${i}`));
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    // Limited: even the right token waits for the window (a guesser learns nothing).
    expect(await get(METRICS_TOKEN)).toBe(429);
    // Other surfaces are unaffected.
    expect((await t.createPayment(createPaymentBody({ paymentId: 'MET-1' }))).status).toBe(200);
  });
});

/** Resolves with the ms until the server closed a raw connection after `send` (or rejects after `maxMs`). */
function closedAfter(url: string, send: string, maxMs: number): Promise<number> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(port), '127.0.0.1', () => {
      if (send !== '') socket.write(send);
    });
    socket.on('data', () => undefined);
    // Real time on purpose: the server's real socket time-outs are the subject; this only bounds the wait.
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection still open after ${maxMs} ms`));
    }, maxMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
    socket.on('error', () => undefined);
  });
}

describe('connection time-outs', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('closes a silent connection, a stalled request and an idle keep-alive connection', async () => {
    t = await startTestServer({
      POSBRIDGE_HTTP_HEADERS_TIMEOUT_MS: '300',
      POSBRIDGE_HTTP_REQUEST_TIMEOUT_MS: '600',
      POSBRIDGE_HTTP_KEEP_ALIVE_TIMEOUT_MS: '300',
      POSBRIDGE_HTTP_CHECK_INTERVAL_MS: '50',
    });
    expect(await closedAfter(t.server.url, '', 3000)).toBeLessThan(3000);
    expect(await closedAfter(t.server.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 3000)).toBeLessThan(3000);
    expect(await closedAfter(t.server.url, 'POST /payments HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{', 3000)).toBeLessThan(3000);
    expect(await closedAfter(t.server.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n', 3000)).toBeLessThan(3000);
  });

  it('closes a silent connection to the HTTPS server (no TLS handshake)', async () => {
    const pki = createTestPki();
    try {
      t = await startTestServer({
        POSBRIDGE_TLS_CERT_FILE: pki.certFile,
        POSBRIDGE_TLS_KEY_FILE: pki.keyFile,
        POSBRIDGE_HTTP_HEADERS_TIMEOUT_MS: '300',
        POSBRIDGE_HTTP_REQUEST_TIMEOUT_MS: '600',
        POSBRIDGE_HTTP_CHECK_INTERVAL_MS: '50',
      });
      expect(await closedAfter(t.server.url, '', 3000)).toBeLessThan(3000);
    } finally {
      await t?.close();
      t = undefined;
      pki.cleanup();
    }
  });

  it('leaves upgraded agent WebSockets to the heartbeat', async () => {
    t = await startTestServer({
      POSBRIDGE_HTTP_HEADERS_TIMEOUT_MS: '200',
      POSBRIDGE_HTTP_REQUEST_TIMEOUT_MS: '200',
      POSBRIDGE_HTTP_KEEP_ALIVE_TIMEOUT_MS: '200',
      POSBRIDGE_HTTP_CHECK_INTERVAL_MS: '20',
    });
    const { token } = await t.server.issueAgentToken('ws-timeouts');
    const agent = await connectAgent(t.server.url, token);
    try {
      await agent.hello(['TMO0001']);
      // Proof the HTTP timeouts ran while the WebSocket was open: a plain connection opened after
      // it is closed by them (real sockets: Node's own timers are the subject here).
      await closedAfter(t.server.url, '', 5_000);
      expect(agent.ws.readyState).toBe(agent.ws.OPEN);
      await closedAfter(t.server.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 5_000); // a stalled request
      expect(agent.ws.readyState).toBe(agent.ws.OPEN);
      await closedAfter(t.server.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n', 5_000); // an idle keep-alive
      expect(agent.ws.readyState).toBe(agent.ws.OPEN);
    } finally {
      await agent.close();
    }
  });
});

describe('database file and submit secret', () => {
  it('creates the SQLite file and its WAL/SHM files 0600, and tightens an existing file', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const path = join(dir, 'fresh.sqlite');
      const store = await openSqliteStore({ filename: path });
      await store.countPaymentsByStatus();
      for (const f of [path, `${path}-wal`, `${path}-shm`]) {
        if (existsSync(f)) expect((statSync(f).mode & 0o777).toString(8)).toBe('600');
      }
      await store.close();
      const loose = join(dir, 'loose.sqlite');
      writeFileSync(loose, '');
      chmodSync(loose, 0o644);
      const db = await SqliteDb.open(loose);
      await db.close();
      expect((statSync(loose).mode & 0o777).toString(8)).toBe('600');
    } finally {
      cleanup();
    }
  });

  it('keeps a generated secret in its own 0600 file, never in the database, stable across restarts', async () => {
    const first = await startTestServer();
    const dbPath = join(first.dir, 'db.sqlite');
    const secretFile = `${dbPath}.submit-secret`;
    try {
      const created = await first.createPayment(createPaymentBody({ paymentId: 'SEC-1' }));
      const { submitUrl } = JSON.parse((created.json['paymentAppData'] as { payload: string }).payload) as { submitUrl: string };
      const secret = readFileSync(secretFile, 'utf8').trim();
      expect(secret.length).toBeGreaterThanOrEqual(32);
      expect((statSync(secretFile).mode & 0o777).toString(8)).toBe('600');
      expect(verifySubmitToken(secret, submitUrl.split('/').pop()!)).toBe('SEC-1');
      await first.server.close();
      const raw = await SqliteDb.open(dbPath);
      expect(await raw.get("SELECT value FROM meta WHERE key = 'submit_secret'")).toBeUndefined();
      await raw.close();
      for (const f of [dbPath, `${dbPath}-wal`]) if (existsSync(f)) expect(readFileSync(f).includes(Buffer.from(secret))).toBe(false);
      // A restart uses the same secret: the submitUrl still works.
      const again = await startTestServer({}, first.dir);
      try {
        const path = new URL(submitUrl).pathname.replace('/submit/', '/status/');
        expect((await fetch(`${again.server.url}${path}`)).status).toBe(200);
      } finally {
        await again.server.close();
      }
    } finally {
      await first.close();
    }
  });

  it("moves an old database's secret out to the file, so its submitUrls keep working", async () => {
    const { dir, cleanup } = tempDir();
    const dbPath = join(dir, 'db.sqlite');
    try {
      const store = await openSqliteStore({ filename: dbPath });
      const legacy = await store.getOrSetMeta('submit_secret', 'legacy-secret-0123456789abcdef');
      await store.close();
      const t = await startTestServer({}, dir);
      try {
        const created = await t.createPayment(createPaymentBody({ paymentId: 'LEG-1' }));
        const { submitUrl } = JSON.parse((created.json['paymentAppData'] as { payload: string }).payload) as { submitUrl: string };
        expect(submitUrl.endsWith(createSubmitToken(legacy, 'LEG-1'))).toBe(true);
        expect(readFileSync(`${dbPath}.submit-secret`, 'utf8').trim()).toBe(legacy);
      } finally {
        await t.server.close();
      }
      const raw = await SqliteDb.open(dbPath);
      expect(await raw.get("SELECT value FROM meta WHERE key = 'submit_secret'")).toBeUndefined();
      await raw.close();
    } finally {
      cleanup();
    }
  });
});
