/**
 * HTTPS served directly (`POSBRIDGE_TLS_CERT_FILE` / `POSBRIDGE_TLS_KEY_FILE`), with a throwaway
 * CA made by openssl: TLS 1.1 is refused by the server, TLS 1.2 and 1.3 work, the certificate
 * verifies against its CA only, and PPP, the submitUrl and the agent hub (`wss://`) work over it.
 * @see docs/ppp.md "HTTPS and proxies", docs/protocol/vtex-ppp.md §1
 * @requires-program openssl
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect, type SecureVersion } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AUTH_HEADERS, createPaymentBody, startTestServer, type TestServer } from './testing/helpers.ts';
import { createTestPki, type TestPki } from './testing/tls-pki.ts';

describe('HTTPS', () => {
  let pki: TestPki;
  let t: TestServer;
  let port: number;

  beforeAll(async () => {
    pki = createTestPki();
    t = await startTestServer({ POSBRIDGE_TLS_CERT_FILE: pki.certFile, POSBRIDGE_TLS_KEY_FILE: pki.keyFile });
    port = t.server.port;
  });
  afterAll(async () => {
    await t?.close();
    pki?.cleanup();
  });

  /** Opens a TLS connection pinned to one protocol version; resolves with the negotiated one or rejects. */
  function handshake(version: SecureVersion, ca: string = pki.caPem, ciphers?: string): Promise<string | null> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca,
        minVersion: version,
        maxVersion: version,
        // Let the client offer old protocols at all (OpenSSL 3's default level refuses TLS 1.1 locally).
        ...(ciphers !== undefined ? { ciphers } : {}),
      });
      socket.once('secureConnect', () => {
        const protocol = socket.getProtocol();
        socket.end();
        resolve(protocol);
      });
      socket.once('error', reject);
    });
  }

  /** An HTTPS request trusting the test CA. */
  function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
    return new Promise<{ status: number; json: Record<string, unknown>; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request(url, { method, ca: pki.caPem, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, json: (text ? JSON.parse(text) : {}) as Record<string, unknown>, headers: res.headers });
        });
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  it('announces an https URL and https submitUrls', () => {
    expect(t.server.url).toBe(`https://127.0.0.1:${port}`);
    expect(t.server.publicUrl).toBe(`https://127.0.0.1:${port}`);
  });

  it('refuses TLS 1.1 (the server answers the protocol_version alert)', async () => {
    // The client really offers TLS 1.1 (SECLEVEL=0): a server allowing it would negotiate it.
    await expect(handshake('TLSv1.1', pki.caPem, 'DEFAULT@SECLEVEL=0')).rejects.toMatchObject({
      code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    });
  });

  it('accepts TLS 1.2 and TLS 1.3', async () => {
    expect(await handshake('TLSv1.2')).toBe('TLSv1.2');
    expect(await handshake('TLSv1.3')).toBe('TLSv1.3');
  });

  it('is trusted through its CA only', async () => {
    await expect(handshake('TLSv1.3', readOther(pki))).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('serves PPP over HTTPS: manifest, authentication, Create Payment, submitUrl, HSTS', async () => {
    const manifest = await call('GET', `${t.server.url}/manifest`);
    expect(manifest.status).toBe(200);
    expect(manifest.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect((await call('POST', `${t.server.url}/payments`, createPaymentBody({ paymentId: 'TLS-0' }))).status).toBe(401);
    const created = await call('POST', `${t.server.url}/payments`, createPaymentBody({ paymentId: 'TLS-1' }), AUTH_HEADERS);
    expect(created).toMatchObject({ status: 200, json: { paymentId: 'TLS-1', status: 'undefined' } });
    const { submitUrl } = JSON.parse((created.json['paymentAppData'] as { payload: string }).payload) as { submitUrl: string };
    expect(submitUrl.startsWith(`https://127.0.0.1:${port}/pos/v1/submit/`)).toBe(true);
    expect(await call('POST', submitUrl, { serialNumber: 'NO-SUCH-0' })).toMatchObject({ status: 404, json: { code: 'POS_TERMINAL_UNKNOWN' } });
  });

  it('accepts agents over wss:// (certificate verified with the CA)', async () => {
    const { token } = await t.server.issueAgentToken('tls-agent');
    const ws = new WebSocket(`wss://127.0.0.1:${port}/agent/v1`, { headers: { Authorization: `Bearer ${token}` }, ca: pki.caPem });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.close();
    const untrusted = new WebSocket(`wss://127.0.0.1:${port}/agent/v1`, { headers: { Authorization: `Bearer ${token}` } });
    await expect(
      new Promise((resolve, reject) => {
        untrusted.once('open', resolve);
        untrusted.once('error', reject);
      }),
    ).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });
});

function readOther(pki: TestPki): string {
  return readFileSync(pki.otherCaFile, 'utf8');
}
