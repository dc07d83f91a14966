/**
 * Issue 10 item 12: the unauthenticated configuration flow bounds what it keeps in memory: a
 * `returnUrl` of at most 2 KB, pending flows capped per source and in total, and every request
 * rate-limited per source, without touching the PPP surface.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createPaymentBody, startTestServer, type TestServer } from '../testing/helpers.ts';

describe('configuration flow limits', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const askToken = async (returnUrl: string, from?: string) => {
    const res = await fetch(`${t!.server.url}/authorization/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(from === undefined ? {} : { 'X-Forwarded-For': from }) },
      body: JSON.stringify({ applicationId: 'vtex', returnUrl }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown>, retryAfter: res.headers.get('retry-after') };
  };

  it('refuses a returnUrl over 2 KB, naming the field, and bodies over 4 KB', async () => {
    t = await startTestServer();
    const base = 'https://admin.example/return?authorizationCode=';
    expect((await askToken(base + 'x'.repeat(2048 - base.length))).status).toBe(200);
    const long = await askToken(base + 'x'.repeat(2049 - base.length));
    expect(long.status).toBe(400);
    expect(long.json).toMatchObject({ code: 'PPP_INVALID_REQUEST', message: expect.stringContaining('returnUrl') });
    const huge = await askToken(base + 'x'.repeat(200_000));
    expect(huge.status).toBe(413);
  });

  it('caps pending flows per source, and a finished flow frees its slot', async () => {
    t = await startTestServer({ POSBRIDGE_ONBOARDING_PENDING_PER_SOURCE: '2' });
    const first = await askToken('https://a.example/r?c=');
    expect(first.status).toBe(200);
    expect((await askToken('https://a.example/r?c=')).status).toBe(200);
    const third = await askToken('https://a.example/r?c=');
    expect(third.status).toBe(429);
    expect(third.json).toMatchObject({ status: 'error', code: 'PPP_RATE_LIMITED' });
    expect(Number(third.retryAfter)).toBeGreaterThan(0);
    // Finishing the first flow frees one slot.
    const redirect = await fetch(`${t.server.url}/authorization/redirect?applicationId=vtex&token=${String(first.json['token'])}&merchantName=capped`, { redirect: 'manual' });
    const code = new URL(redirect.headers.get('location')!).searchParams.get('c');
    expect((await fetch(`${t.server.url}/authorization/credentials?applicationId=vtex&authorizationCode=${code}`)).status).toBe(200);
    expect((await askToken('https://a.example/r?c=')).status).toBe(200);
  });

  it('counts pending flows of one IPv6 prefix as one source, however many addresses it rotates through', async () => {
    t = await startTestServer({ POSBRIDGE_TRUST_PROXY: 'loopback', POSBRIDGE_ONBOARDING_PENDING_PER_SOURCE: '2' });
    const statuses: number[] = [];
    for (let i = 1; i <= 4; i++) statuses.push((await askToken('https://a.example/r?c=', `2001:db8:1:2::${i}`)).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    expect((await askToken('https://a.example/r?c=', '2001:db8:7::1')).status).toBe(200);
  });

  it('caps pending flows in total across sources', async () => {
    t = await startTestServer({ POSBRIDGE_TRUST_PROXY: 'loopback', POSBRIDGE_ONBOARDING_PENDING_MAX: '3' });
    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) statuses.push((await askToken('https://a.example/r?c=', `203.0.113.${i}`)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it('rate-limits every onboarding request per source, and PPP calls are unaffected', async () => {
    t = await startTestServer({ POSBRIDGE_ONBOARDING_RATE_LIMIT: '4' });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await fetch(`${t.server.url}/authorization/redirect?applicationId=vtex&token=t${i}`)).status);
    expect(statuses).toEqual([400, 400, 400, 400, 429, 429]);
    const limited = await fetch(`${t.server.url}/authorization/token`, { method: 'POST', body: '{}' });
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ code: 'PPP_RATE_LIMITED' });
    expect(limited.headers.get('ratelimit-policy')).toBeTruthy();
    expect((await t.createPayment(createPaymentBody({ paymentId: 'ONB-PPP' }))).status).toBe(200);
  });

  it("runs on the server's clock: a pending flow expires when that clock passes its 10 minutes", async () => {
    let ahead = 0;
    t = await startTestServer({ POSBRIDGE_ONBOARDING_PENDING_PER_SOURCE: '1' }, undefined, { now: () => Date.now() + ahead });
    const first = await askToken('https://a.example/r?c=');
    expect(first.status).toBe(200);
    expect((await askToken('https://a.example/r?c=')).status).toBe(429);
    ahead += 600_000; // the token's lifetime, on the injected clock only
    expect((await askToken('https://a.example/r?c=')).status).toBe(200);
    const redirect = await fetch(`${t.server.url}/authorization/redirect?applicationId=vtex&token=${String(first.json['token'])}&merchantName=late`, { redirect: 'manual' });
    expect(redirect.status).not.toBe(302);
  });
});
