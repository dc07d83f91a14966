/**
 * Operations on a busy terminal, end to end on the real stack (server, agent, PBL/1 simulator on
 * a pty): ten concurrent refunds of one payment queue on the terminal and run one after another.
 * Each is answered 200 or a retryable 500 (VTEX repeats it with the same `requestId`), never 501
 * `refund-manually` because the terminal was busy, and Σ refunds never exceeds Σ settled.
 * @see docs/ppp.md "Concurrent requests", docs/protocol/ws.md "Delivery"
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startSimSuite, type PppAnswer, type SimSuite } from './sim-harness.ts';

describe('operations on a busy terminal', () => {
  let suite: SimSuite;

  beforeAll(async () => {
    suite = await startSimSuite();
  }, 60_000);
  afterAll(async () => {
    await suite?.close();
  });

  async function post(path: string, body: unknown): Promise<PppAnswer> {
    const res = await fetch(`${suite.stack.pppBaseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-VTEX-API-AppKey': suite.stack.appKey, 'X-VTEX-API-AppToken': suite.stack.appToken },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('ten concurrent refunds of one payment all run, one after another; none is refund-manually; never more than settled', async () => {
    // Each step of the terminal takes a while: a refund is still running when the next arrives.
    suite.scenario({ stepDelayMs: 40 });
    const { paymentId, body } = await suite.pay(31.9);
    const callback = await suite.callback(paymentId);
    expect(callback.body).toMatchObject({ status: 'approved' });
    const settled = await post(`/payments/${paymentId}/settlements`, {
      paymentId, requestId: 'SET-1', value: 31.9, authorizationId: callback.body['authorizationId'], transactionId: body['transactionId'],
    });
    expect(settled.status).toBe(200);

    const refund = (requestId: string) =>
      post(`/payments/${paymentId}/refunds`, {
        paymentId, requestId, settleId: String(settled.body['settleId']), tid: String(callback.body['tid']), value: 3.19, transactionId: body['transactionId'],
      });
    const reversalsBefore = suite.terminal.sales().reversals;
    // Ten refunds of 3.19 make the settled 31.90; an eleventh at the same time must be refused.
    const ids = Array.from({ length: 11 }, (_, i) => `RF-${i}`);
    const first = await Promise.all(ids.map((id) => refund(id)));
    const answers = new Map<string, PppAnswer>(ids.map((id, i) => [id, first[i]!]));
    const problems = () =>
      [...answers].filter(([, a]) => a.status === 501 || (a.status === 500 && !['PPP_OPERATION_PENDING', 'PPP_TERMINAL_BUSY', 'PPP_AMOUNT_EXCEEDED'].includes(String(a.body['code']))));
    expect(problems(), JSON.stringify(problems())).toEqual([]);
    expect([...answers.values()].filter((a) => a.body['code'] === 'PPP_AMOUNT_EXCEEDED')).toHaveLength(1);

    // VTEX repeats every unfinished request with the same requestId until it gets a final answer.
    await eventually(
      async () => {
        for (const [id, a] of answers) {
          if (a.status === 500 && a.body['code'] !== 'PPP_AMOUNT_EXCEEDED') answers.set(id, await refund(id));
        }
        expect(problems(), JSON.stringify(problems())).toEqual([]);
        return [...answers.values()].every((a) => a.status === 200 || a.body['code'] === 'PPP_AMOUNT_EXCEEDED');
      },
      30_000,
      'every refund answered',
    );
    const refunded = [...answers.values()].filter((a) => a.status === 200);
    expect(refunded).toHaveLength(10);
    expect(new Set(refunded.map((a) => a.body['refundId'])).size).toBe(10);
    expect(refunded.reduce((sum, a) => sum + Math.round(Number(a.body['value']) * 100), 0)).toBe(3190);
    // The terminal refunded exactly ten times.
    const totals = await suite.stack.server.store.operationTotals(paymentId);
    expect(totals).toEqual({ settledMinor: 3190, refundedMinor: 3190, refundingMinor: 0 });
    expect(suite.terminal.sales().reversals - reversalsBefore).toBe(10);
    // A further refund is over what was settled.
    expect((await refund('RF-LATE')).body).toMatchObject({ code: 'PPP_AMOUNT_EXCEEDED', refundId: null, value: 0 });
  }, 90_000);
});
