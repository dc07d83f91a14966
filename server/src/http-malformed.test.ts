/**
 * Issue 10 item 16: malformed requests are the client's fault: malformed `%` escapes in paths,
 * bodies that do not decompress (gzip, deflate, br), and `/pos/app` traversal or NUL paths are
 * answered 400/404 JSON and logged at debug, never 500 with a stack at error.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_HEADERS, startTestServer, tempDir, type TestServer } from './testing/helpers.ts';

/** A request exactly as written (fetch would normalise the path). */
function raw(port: string, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<{ status: number; type: string; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

describe('malformed requests', () => {
  let t: TestServer;
  let port: string;
  beforeAll(async () => {
    const build = tempDir();
    mkdirSync(join(build.dir, 'assets'));
    writeFileSync(join(build.dir, 'index.html'), '<!doctype html>');
    writeFileSync(join(build.dir, 'assets', 'a.js'), '1');
    t = await startTestServer({ POSBRIDGE_PAYMENT_APP_DIR: build.dir });
    port = new URL(t.server.url).port;
  });
  afterAll(async () => {
    await t.close();
  });

  const json = { ...AUTH_HEADERS, 'content-type': 'application/json' };
  const cases: [string, string, string, Record<string, string>, Buffer | undefined, number, string][] = [
    ['malformed escape in a PPP path', 'POST', '/payments/%E0%A4%A/cancellations', json, Buffer.from('{}'), 400, 'PPP_INVALID_REQUEST'],
    ['malformed escape in a settlement path', 'POST', '/payments/%ZZ/settlements', json, Buffer.from('{}'), 400, 'PPP_INVALID_REQUEST'],
    ['malformed escape in a Payment App status path', 'GET', '/pos/v1/status/%ZZ', {}, undefined, 400, 'PPP_INVALID_REQUEST'],
    ['malformed escape in a Payment App submit path', 'POST', '/pos/v1/submit/%E0%A4%A', {}, Buffer.from('{}'), 400, 'PPP_INVALID_REQUEST'],
    ['a body that is not gzip', 'POST', '/payments', { ...json, 'content-encoding': 'gzip' }, Buffer.from('not gzip'), 400, 'PPP_INVALID_REQUEST'],
    ['a truncated gzip body', 'POST', '/payments', { ...json, 'content-encoding': 'gzip' }, gzipSync(Buffer.from('{"paymentId":"P1"}')).subarray(0, 12), 400, 'PPP_INVALID_REQUEST'],
    ['a body that is not deflate', 'POST', '/payments', { ...json, 'content-encoding': 'deflate' }, gzipSync(Buffer.from('{}')), 400, 'PPP_INVALID_REQUEST'],
    ['a body that is not br', 'POST', '/payments', { ...json, 'content-encoding': 'br' }, deflateSync(Buffer.from('{}')), 400, 'PPP_INVALID_REQUEST'],
    ['a bad gzip onboarding body', 'POST', '/authorization/token', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, Buffer.from('x'), 400, 'PPP_INVALID_REQUEST'],
    ['Payment App traversal', 'GET', '/pos/app/../../etc/passwd', {}, undefined, 404, 'PPP_NOT_FOUND'],
    ['Payment App encoded traversal', 'GET', '/pos/app/%2e%2e/%2e%2e/etc/passwd', {}, undefined, 404, 'PPP_NOT_FOUND'],
    ['Payment App NUL path', 'GET', '/pos/app/index.html%00.js', {}, undefined, 400, 'PPP_INVALID_REQUEST'],
    ['Payment App malformed escape', 'GET', '/pos/app/%ZZ', {}, undefined, 400, 'PPP_INVALID_REQUEST'],
    ['Payment App missing file', 'GET', '/pos/app/assets/nope.js', {}, undefined, 404, 'PPP_NOT_FOUND'],
  ];

  for (const [name, method, path, headers, body, status, code] of cases) {
    it(`${name}: ${status} ${code}, logged at debug`, async () => {
      const before = t.lines.length;
      const res = await raw(port, method, path, headers, body);
      expect(res.status).toBe(status);
      expect(res.type).toMatch(/^application\/json/);
      expect(res.json['code']).toBe(code);
      expect(JSON.stringify(res.json)).not.toMatch(/at .*\.(ts|js):\d+/);
      const lines = t.lines.slice(before);
      expect(lines.filter((l) => (l['level'] as number) >= 40)).toEqual([]);
      expect(lines.some((l) => l['level'] === 20 && l['msg'] !== 'request completed')).toBe(true);
    });
  }

  it('a good gzip body still works', async () => {
    const res = await raw(port, 'POST', '/payments', { ...json, 'content-encoding': 'gzip' }, gzipSync(Buffer.from('{}')));
    expect(res.status).toBe(400);
    expect(res.json['code']).toBe('PPP_INVALID_REQUEST');
    const ok = await raw(port, 'GET', '/pos/app/assets/%61.js', {});
    expect(ok.status).toBe(200);
  });
});
