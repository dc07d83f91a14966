/**
 * The Payment App's web build served at /pos/app/ (issue 6 item 6): files from the configured
 * folder with a CSP that lets the app run and be framed by a same-origin host, while the API
 * keeps its strict policy; a clear JSON 404 when the app is not built.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, tempDir, type TestServer } from './testing/helpers.ts';

describe('Payment App static mount', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves the build with its own CSP and caching', async () => {
    const build = tempDir();
    mkdirSync(join(build.dir, 'assets'));
    writeFileSync(join(build.dir, 'index.html'), '<!doctype html><title>posbridge</title>');
    writeFileSync(join(build.dir, 'assets', 'app-abc123.js'), 'console.log(1)');
    server = await startTestServer({ POSBRIDGE_PAYMENT_APP_DIR: build.dir });

    const page = await fetch(`${server.server.url}/pos/app/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>posbridge</title>');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
    expect(page.headers.get('x-frame-options')).toBeNull();
    expect(page.headers.get('cache-control')).toBe('no-cache');

    const asset = await fetch(`${server.server.url}/pos/app/assets/app-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');

    const api = await fetch(`${server.server.url}/manifest`);
    expect(api.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('answers a JSON 404 that says how to build the app when the folder is missing', async () => {
    const missing = join(tempDir().dir, 'not-built');
    server = await startTestServer({ POSBRIDGE_PAYMENT_APP_DIR: missing });
    const res = await fetch(`${server.server.url}/pos/app/`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ status: 'error', code: 'PPP_NOT_FOUND', message: expect.stringContaining('npm run app:build') });
  });
});
