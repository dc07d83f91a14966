/**
 * Issue 12 item 4: what was per-process is shared through the store. Two server instances on one
 * database (here one SQLite file, two connections, as the PostgreSQL cluster's instances share
 * one database) see one configuration flow and one count per limit: a token issued by one
 * instance is redeemed on the other, a code is taken once whichever instance is asked, and
 * failures spread over the instances add up.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteDb } from './adapters/sqlite/sqlite-db.ts';
import { startTestServer, type TestServer } from './testing/helpers.ts';

describe('state shared by the instances of one database', () => {
  let a: (TestServer & { dir: string }) | undefined;
  let b: TestServer | undefined;
  afterEach(async () => {
    await b?.close();
    await a?.close(); // last: it owns the directory
    a = undefined;
    b = undefined;
  });

  const pair = async (overrides: Record<string, string> = {}) => {
    a = await startTestServer(overrides);
    b = await startTestServer(overrides, a.dir);
    return [a.server.url, b.server.url] as const;
  };

  it('a configuration flow started on one instance completes on the other, and its code works once', async () => {
    const [urlA, urlB] = await pair();
    const issued = await fetch(`${urlA}/authorization/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ applicationId: 'vtex', returnUrl: 'https://shared.myvtex.com/admin/return?code=' }),
    });
    const { token } = (await issued.json()) as { token: string };
    const page = await fetch(`${urlB}/authorization/redirect?applicationId=vtex&token=${token}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('value="shared"');
    const redirect = await fetch(`${urlB}/authorization/redirect?applicationId=vtex&token=${token}&merchantName=shared`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    // The token is used: neither instance gives it a second code.
    expect((await fetch(`${urlA}/authorization/redirect?applicationId=vtex&token=${token}&merchantName=shared`, { redirect: 'manual' })).status).toBe(400);
    const code = new URL(redirect.headers.get('location') ?? '').searchParams.get('code') ?? '';
    const credentials = await fetch(`${urlA}/authorization/credentials?applicationId=vtex&authorizationCode=${code}`);
    expect(credentials.status).toBe(200);
    expect(await credentials.json()).toMatchObject({ applicationId: 'vtex', appKey: expect.stringMatching(/^pbk_/) });
    expect((await fetch(`${urlB}/authorization/credentials?applicationId=vtex&authorizationCode=${code}`)).status).toBe(400);
  });

  it('keeps only digests of tokens, codes and counted sources in the database', async () => {
    const [urlA] = await pair();
    const issued = await fetch(`${urlA}/authorization/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ applicationId: 'vtex', returnUrl: 'https://digest.myvtex.com/r?code=' }),
    });
    const { token } = (await issued.json()) as { token: string };
    const redirect = await fetch(`${urlA}/authorization/redirect?applicationId=vtex&token=${token}&merchantName=digest`, { redirect: 'manual' });
    const code = new URL(redirect.headers.get('location') ?? '').searchParams.get('code') ?? '';
    const db = await SqliteDb.open(join(a?.dir ?? '', 'db.sqlite'));
    try {
      const rows = await db.all<Record<string, unknown>>('SELECT * FROM onboarding_tokens');
      const sha = (text: string) => createHash('sha256').update(text).digest('hex');
      expect(rows).toEqual([expect.objectContaining({ token_sha256: sha(token), code_sha256: sha(code), merchant_name: 'digest' })]);
      const stored = JSON.stringify(rows);
      expect(stored).not.toContain(token);
      expect(stored).not.toContain(code);
      // The rate limit's counter is keyed by a digest of the source too: no address in the clear.
      const counters = await db.all<{ key: string; count: number }>('SELECT key, count FROM rate_counters');
      expect(counters).toEqual([{ key: expect.stringMatching(/^onboarding:[A-Za-z0-9_-]{43}$/), count: 2 }]);
    } finally {
      await db.close();
    }
  });

  it('caps pending flows per source across the instances', async () => {
    const [urlA, urlB] = await pair({ POSBRIDGE_ONBOARDING_PENDING_PER_SOURCE: '2' });
    const ask = async (url: string) =>
      (
        await fetch(`${url}/authorization/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ applicationId: 'vtex', returnUrl: 'https://a.example/r?c=' }),
        })
      ).status;
    expect([await ask(urlA), await ask(urlB), await ask(urlA), await ask(urlB)]).toEqual([200, 200, 429, 429]);
  });

  it('adds up failed authentications made on either instance', async () => {
    const [urlA, urlB] = await pair({ POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    const wrong = (url: string) =>
      fetch(`${url}/payments`, { method: 'POST', headers: { 'X-VTEX-API-AppKey': 'merchant-key', 'X-VTEX-API-AppToken': 'wrong' }, body: '{}' }).then((r) => r.status);
    expect([await wrong(urlA), await wrong(urlB), await wrong(urlA)]).toEqual([401, 401, 401]);
    expect([await wrong(urlB), await wrong(urlA)]).toEqual([429, 429]);
    // The Payment App surface keeps its own count, shared too.
    const forged = (url: string) => fetch(`${url}/pos/v1/status/Rk9SR0VE.${'A'.repeat(43)}`).then((r) => r.status);
    expect([await forged(urlB), await forged(urlA), await forged(urlB), await forged(urlA)]).toEqual([404, 404, 404, 429]);
  });

  it('counts every onboarding request of a source once, whichever instance it reaches', async () => {
    const [urlA, urlB] = await pair({ POSBRIDGE_ONBOARDING_RATE_LIMIT: '4' });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await fetch(`${i % 2 === 0 ? urlA : urlB}/authorization/redirect?applicationId=vtex&token=t${i}`)).status);
    expect(statuses).toEqual([400, 400, 400, 400, 429, 429]);
  });
});
