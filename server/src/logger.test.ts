/**
 * Issue 10 item 17: no token-bearing path reaches a log line in clear: Payment App tokens on the
 * 429 line of the failure limiter, on request logs and on refusals, and onboarding tokens and
 * codes in query strings; the root logger masks them on every line, whatever the field.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createRootLogger } from './logger.ts';
import { createSubmitToken } from './pos/submit-token.ts';
import { createPaymentBody, startTestServer, type TestServer } from './testing/helpers.ts';

const SECRET = 'test-submit-secret-0123456789';

describe('token-bearing paths in logs', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('masks Payment App tokens on every line, the 429 line included', async () => {
    t = await startTestServer({ POSBRIDGE_AUTH_FAILURE_LIMIT: '2', POSBRIDGE_SUBMIT_SECRET: SECRET });
    const created = await t.createPayment(createPaymentBody({ paymentId: 'LOGTOK' }));
    const { statusUrl, submitUrl } = JSON.parse((created.json['paymentAppData'] as { payload: string }).payload) as { statusUrl: string; submitUrl: string };
    const valid = createSubmitToken(SECRET, 'LOGTOK');
    expect((await fetch(statusUrl)).status).toBe(200);
    expect((await fetch(submitUrl, { method: 'POST', body: '{"serialNumber":"NOPE"}' })).status).toBeGreaterThanOrEqual(400);
    // Tokens of another secret look exactly like real ones; they are refused, then limited.
    const forged = ['A', 'B', 'C', 'D'].map((p) => createSubmitToken('another-secret-0123456789', `FORGED${p}`));
    const statuses: number[] = [];
    for (const token of forged) statuses.push((await fetch(`${t.server.url}/pos/v1/submit/${token}`, { method: 'POST', body: '{}' })).status);
    expect(statuses).toEqual([404, 404, 429, 429]);
    await fetch(`${t.server.url}/authorization/redirect?applicationId=vtex&token=secret-onboarding-token`);
    const text = JSON.stringify(t.lines);
    expect(text).toContain('too many failed authentications');
    expect(text).toContain('/pos/v1/submit/[token]');
    for (const token of [valid, ...forged, 'secret-onboarding-token']) expect(text).not.toContain(token);
  });

  it('masks a Payment App token whatever the letter case of its route (express routes /POS/V1/STATUS/… too)', async () => {
    t = await startTestServer({ POSBRIDGE_SUBMIT_SECRET: SECRET });
    const created = await t.createPayment(createPaymentBody({ paymentId: 'LOGCASE' }));
    const { statusUrl } = JSON.parse((created.json['paymentAppData'] as { payload: string }).payload) as { statusUrl: string };
    const token = createSubmitToken(SECRET, 'LOGCASE');
    const shouted = statusUrl.replace('/pos/v1/status/', '/POS/V1/Status/');
    expect((await fetch(shouted)).status).toBe(200);
    const text = JSON.stringify(t.lines);
    expect(text).toContain('/POS/V1/Status/[token]');
    expect(text).not.toContain(token);
  });

  it('the root logger masks tokens in any field, the message and error stacks', () => {
    const out: string[] = [];
    const logger = createRootLogger({
      level: 'info',
      destination: new Writable({ write: (c: Buffer, _e, d) => (out.push(c.toString()), d()) }),
    });
    const token = createSubmitToken(SECRET, 'P1');
    logger.child({ url: `http://h/pos/v1/status/${token}` }).info({ nested: { path: `/pos/v1/terminals/${token}` }, err: new Error(`GET /pos/v1/submit/${token} failed`) }, `fetching /pos/v1/submit/${token}`);
    expect(out.join('')).toContain('[token]');
    expect(out.join('')).not.toContain(token);
  });

  it('binds the instance id to every line when given (issue 12)', () => {
    const out: string[] = [];
    const destination = new Writable({ write: (c: Buffer, _e, d) => (out.push(c.toString()), d()) });
    const logger = createRootLogger({ level: 'info', destination, instanceId: 'pb-2' });
    logger.info('root line');
    logger.child({ component: 'hub' }).warn('child line');
    const parsed = out.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed).toEqual([expect.objectContaining({ app: 'posbridge-server', instanceId: 'pb-2', msg: 'root line' }), expect.objectContaining({ instanceId: 'pb-2', component: 'hub' })]);
  });
});
