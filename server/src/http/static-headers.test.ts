/**
 * recordedHeaders (./static-headers.ts): the same response headers as helmet itself, over a real
 * loopback socket.
 */
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import { describe, expect, it } from 'vitest';
import { recordedHeaders } from './static-headers.ts';

async function headersOf(middleware: RequestHandler): Promise<Record<string, string>> {
  const app = express();
  app.use(middleware);
  app.get('/x', (_req, res) => {
    res.json({ ok: true });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`);
    const out: Record<string, string> = {};
    res.headers.forEach((value, name) => {
      if (name !== 'date' && name !== 'etag') out[name] = value;
    });
    return out;
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('recordedHeaders', () => {
  it('answers exactly the headers helmet sets (the API policy of ./app.ts)', async () => {
    const options = {
      contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      crossOriginResourcePolicy: { policy: 'cross-origin' as const },
    };
    const direct = await headersOf(helmet(options));
    expect(direct['content-security-policy']).toContain("default-src 'none'");
    expect(await headersOf(recordedHeaders(helmet(options)))).toEqual(direct);
  });

  it('refuses a middleware that does not call next() synchronously', () => {
    expect(() => recordedHeaders((_req, _res, next) => setImmediate(next))).toThrow(/cannot be recorded/);
  });
});
