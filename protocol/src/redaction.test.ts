import { describe, expect, it } from 'vitest';
import { MASKED_TOKEN, REDACT_CENSOR, REDACT_PATHS, logRedaction, maskTokenPaths, redactUrlPasswords } from './redaction.ts';

const TOKEN = 'UDE.abcDEF123_-xyz';

describe('maskTokenPaths', () => {
  it('masks the token of every Payment App route, plain and percent-encoded', () => {
    for (const route of ['submit', 'status', 'terminals', 'cancel']) {
      expect(maskTokenPaths(`/pos/v1/${route}/${TOKEN}`)).toBe(`/pos/v1/${route}/${MASKED_TOKEN}`);
      expect(maskTokenPaths(`https://h/pos/v1/${route}/${TOKEN}?x=1`)).toBe(`https://h/pos/v1/${route}/${MASKED_TOKEN}?x=1`);
      expect(maskTokenPaths(`u=https%3A%2F%2Fh%2Fpos%2Fv1%2F${route}%2F${TOKEN}&y=2`)).toBe(`u=https%3A%2F%2Fh%2Fpos%2Fv1%2F${route}%2F${MASKED_TOKEN}&y=2`);
    }
  });

  it('masks the token whatever the letter case of the route (express matches routes case-insensitively)', () => {
    expect(maskTokenPaths(`/POS/V1/STATUS/${TOKEN}`)).toBe(`/POS/V1/STATUS/${MASKED_TOKEN}`);
    expect(maskTokenPaths(`GET /Pos/v1/Submit/${TOKEN} failed`)).toBe(`GET /Pos/v1/Submit/${MASKED_TOKEN} failed`);
    expect(maskTokenPaths(`u=https%3a%2f%2fh%2fPOS%2fv1%2fterminals%2f${TOKEN}`)).toBe(`u=https%3a%2f%2fh%2fPOS%2fv1%2fterminals%2f${MASKED_TOKEN}`);
  });

  it('masks onboarding tokens and authorization codes in query strings', () => {
    expect(maskTokenPaths('/authorization/redirect?applicationId=vtex&token=abc-123&merchantName=m')).toBe(
      `/authorization/redirect?applicationId=vtex&token=${MASKED_TOKEN}&merchantName=m`,
    );
    expect(maskTokenPaths('/authorization/credentials?authorizationCode=DEAD')).toBe(`/authorization/credentials?authorizationCode=${MASKED_TOKEN}`);
  });

  it('masks inside a serialized JSON line, nested payload strings included, and is idempotent', () => {
    const line = JSON.stringify({ msg: `refused /pos/v1/status/${TOKEN}`, payload: JSON.stringify({ submitUrl: `http://h/pos/v1/submit/${TOKEN}` }) });
    const masked = maskTokenPaths(line);
    expect(masked).not.toContain(TOKEN);
    expect(JSON.parse(masked)).toMatchObject({ msg: `refused /pos/v1/status/${MASKED_TOKEN}` });
    expect(maskTokenPaths(masked)).toBe(masked);
  });

  it('leaves text without tokens alone', () => {
    const text = '{"path":"/payments/P1/cancellations","tokenType":"STX"}';
    expect(maskTokenPaths(text)).toBe(text);
  });
});

describe('logRedaction', () => {
  it('carries the shared paths and the line mask', () => {
    const opts = logRedaction();
    expect(opts.redact.paths).toEqual([...REDACT_PATHS]);
    expect(opts.redact.paths).toEqual(expect.arrayContaining(['token', 'appToken', 'pan', 'track2', 'req.headers["x-vtex-api-apptoken"]']));
    expect(opts.hooks.streamWrite(`/pos/v1/submit/${TOKEN}`)).toBe(`/pos/v1/submit/${MASKED_TOKEN}`);
    expect(opts.hooks.streamWrite('{"url":"postgres://pb:s3cret@db:5432/pb"}')).toBe(`{"url":"postgres://pb:${REDACT_CENSOR}@db:5432/pb"}`);
  });
});

describe('redactUrlPasswords', () => {
  it('masks the password of every URL, keeping scheme, user, host and path; idempotent', () => {
    const text = 'a postgres://pb:s3cr%40t@db.internal:5432/pb?sslmode=require and nats://u:p@n1:4222, b';
    const masked = redactUrlPasswords(text);
    expect(masked).toBe(`a postgres://pb:${REDACT_CENSOR}@db.internal:5432/pb?sslmode=require and nats://u:${REDACT_CENSOR}@n1:4222, b`);
    expect(redactUrlPasswords(masked)).toBe(masked);
  });

  it('leaves URLs without a password alone', () => {
    for (const url of ['postgres://pb@db/pb', 'postgres://db:5432/pb', 'https://h/p?a=b:c@d', 'no url here']) {
      expect(redactUrlPasswords(url)).toBe(url);
    }
  });
});
