/**
 * The operations console's web build served at /console/ (issue 14 item 6, docs/console.md):
 * the files of the configured folder with a CSP that lets the app run its own scripts and call
 * its own origin, never framed; the placeholder page while no build is there.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, tempDir, type TestServer } from './testing/helpers.ts';

describe('console static mount', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves the build with its own CSP and caching, and redirects /console to /console/', async () => {
    const build = tempDir();
    mkdirSync(join(build.dir, 'assets'));
    writeFileSync(join(build.dir, 'index.html'), '<!doctype html><title>console build</title>');
    writeFileSync(join(build.dir, 'assets', 'index-abc123.js'), 'console.log(1)');
    server = await startTestServer({ POSBRIDGE_CONSOLE_DIR: build.dir });

    const page = await fetch(`${server.server.url}/console/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>console build</title>');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('cache-control')).toBe('no-cache');

    const asset = await fetch(`${server.server.url}/console/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');

    const bare = await fetch(`${server.server.url}/console`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/console/');

    const missing = await fetch(`${server.server.url}/console/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'ADMIN_NOT_FOUND' });
    const traversal = await fetch(`${server.server.url}/console/%2e%2e/%2e%2e/etc/passwd`);
    expect(traversal.status).toBe(404);

    // The API keeps its strict policy.
    const api = await fetch(`${server.server.url}/manifest`);
    expect(api.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('serves the placeholder, saying how to build, while the folder holds no build', async () => {
    const empty = tempDir();
    server = await startTestServer({ POSBRIDGE_CONSOLE_DIR: empty.dir });
    const res = await fetch(`${server.server.url}/console/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('npm run console:build');
    expect((await fetch(`${server.server.url}/console/assets/x.js`)).status).toBe(404);

    // A build made while the server runs is served at once.
    writeFileSync(join(empty.dir, 'index.html'), '<!doctype html><title>late build</title>');
    expect(await (await fetch(`${server.server.url}/console/`)).text()).toContain('late build');
  });
});
