/** `POSBRIDGE_NATS_URL` parsing: server lists, credentials lifted out of the URLs, redaction. */
import { describe, expect, it } from 'vitest';
import { parseNatsUrl, redactNatsUrl } from './nats-url.ts';

describe('parseNatsUrl', () => {
  it('reads one server, with the default port when none is given', () => {
    expect(parseNatsUrl('nats://10.0.0.1:4223')).toEqual({ ok: true, value: { servers: ['10.0.0.1:4223'], tls: false } });
    expect(parseNatsUrl('nats.internal')).toEqual({ ok: true, value: { servers: ['nats.internal:4222'], tls: false } });
  });

  it('reads a comma-separated list, tls:// requiring TLS', () => {
    expect(parseNatsUrl(' nats://a:4222 , tls://b ,')).toEqual({ ok: true, value: { servers: ['a:4222', 'b:4222'], tls: true } });
  });

  it('lifts user and password, or a token, out of the URLs', () => {
    expect(parseNatsUrl('nats://svc:s%40cret@a:1,nats://svc:s%40cret@b:2')).toEqual({
      ok: true,
      value: { servers: ['a:1', 'b:2'], tls: false, user: 'svc', pass: 's@cret' },
    });
    expect(parseNatsUrl('nats://t0ken@a')).toEqual({ ok: true, value: { servers: ['a:4222'], tls: false, token: 't0ken' } });
  });

  it('refuses other schemes, paths, differing credentials and empty lists, without echoing credentials', () => {
    const bad = ['http://a', 'nats://a/path', 'nats://u:secret1@a,nats://u:secret2@b', ' , ', 'nats://'];
    for (const raw of bad) {
      const parsed = parseNatsUrl(raw);
      expect(parsed.ok, raw).toBe(false);
      if (!parsed.ok) expect(parsed.problems.join(' ')).not.toMatch(/secret/);
    }
    expect(parseNatsUrl(Array.from({ length: 33 }, (_, i) => `h${i}`).join(',')).ok).toBe(false);
  });
});

describe('redactNatsUrl', () => {
  it('hides every credential and keeps hosts', () => {
    expect(redactNatsUrl('nats://svc:pw@a:4222,tls://tok@b,c:4222')).toBe('nats://***@a:4222,tls://***@b,c:4222');
    expect(redactNatsUrl('nats://a:4222')).toBe('nats://a:4222');
  });
});
