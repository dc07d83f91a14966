import { describe, expect, it } from 'vitest';
import { fakeFetch } from '../testing/fake-fetch.ts';
import { status, STATUS_URL, SUBMIT_URL, TERMINALS_URL } from '../testing/fixtures.ts';
import { createPosClient } from './client.ts';
import { problemOfSubmitFailure } from './errors.ts';

describe('createPosClient', () => {
  it('POSTs JSON and validates the answer', async () => {
    const f = fakeFetch().on('POST', SUBMIT_URL, { status: 200, body: { paymentId: 'P', serialNumber: 'S1', state: 'dispatched' } });
    const r = await createPosClient({ fetch: f.fetch }).submit(SUBMIT_URL, 'S1');
    expect(r).toEqual({ ok: true, value: { paymentId: 'P', serialNumber: 'S1', state: 'dispatched' } });
    expect(f.calls).toEqual([{ method: 'POST', url: SUBMIT_URL, body: { serialNumber: 'S1' } }]);
  });

  it('returns the server error body, or a synthetic one', async () => {
    const f = fakeFetch()
      .on('POST', SUBMIT_URL, { status: 503, body: { code: 'POS_TERMINAL_OFFLINE', message: 'm', retryable: true } })
      .on('GET', STATUS_URL, { status: 500, body: 'oops' });
    const client = createPosClient({ fetch: f.fetch });
    expect(await client.submit(SUBMIT_URL, 'S1')).toEqual({
      ok: false,
      error: { kind: 'http', status: 503, code: 'POS_TERMINAL_OFFLINE', message: 'm', retryable: true },
    });
    expect(await client.status(STATUS_URL)).toEqual({ ok: false, error: { kind: 'http', status: 500, code: 'HTTP_500', message: 'HTTP 500', retryable: true } });
  });

  it('flags answers that do not match the schema', async () => {
    const f = fakeFetch().on('GET', TERMINALS_URL, { status: 200, body: { terminals: [{ serialNumber: 'bad serial!' }] } });
    const r = await createPosClient({ fetch: f.fetch }).terminals(TERMINALS_URL);
    expect(r.ok === false && r.error.kind).toBe('invalid-answer');
  });

  it('turns thrown fetches and hangs into network failures', async () => {
    const thrown = await createPosClient({ fetch: fakeFetch().on('GET', STATUS_URL, { networkError: 'Failed to fetch' }).fetch }).status(STATUS_URL);
    expect(thrown).toEqual({ ok: false, error: { kind: 'network', message: 'Failed to fetch' } });
    const hang = fakeFetch().on('GET', STATUS_URL, () => new Promise(() => undefined));
    const hung = await createPosClient({ fetch: hang.fetch, timeoutMs: 20 }).status(STATUS_URL);
    expect(hung).toEqual({ ok: false, error: { kind: 'network', message: 'no answer within 20 ms' } });
    const good = await createPosClient({ fetch: fakeFetch().on('GET', STATUS_URL, { status: 200, body: status() }).fetch }).status(STATUS_URL);
    expect(good.ok).toBe(true);
  });
});

describe('problemOfSubmitFailure', () => {
  const http = (status: number, code: string) => ({ kind: 'http' as const, status, code, message: '', retryable: false });
  it.each([
    [http(404, 'POS_TERMINAL_UNKNOWN'), 'unknown_terminal'],
    [http(503, 'POS_TERMINAL_OFFLINE'), 'offline'],
    [http(409, 'POS_TERMINAL_BUSY'), 'busy'],
    [http(409, 'POS_ALREADY_BOUND'), 'already_bound'],
    [http(409, 'POS_SANDBOX_REFUSED'), 'sandbox_refused'],
    [http(409, 'SOMETHING_NEW'), 'server'],
    [http(410, 'POS_PAYMENT_FINAL'), 'payment_final'],
    [http(404, 'POS_SUBMIT_NOT_FOUND'), 'expired'],
    [http(400, 'POS_INVALID_SERIAL'), 'invalid_serial'],
    [http(410, 'SOMETHING_NEW'), 'expired'],
    [http(503, 'HTTP_503'), 'offline'],
    [http(503, 'STORE_FAILED'), 'server'],
    [http(503, 'PPP_UNAVAILABLE'), 'server'],
    [http(500, 'HTTP_500'), 'server'],
    [{ kind: 'network' as const, message: '' }, 'network'],
    [{ kind: 'invalid-answer' as const, status: 200, message: '' }, 'server'],
  ])('%o → %s', (failure, problem) => {
    expect(problemOfSubmitFailure(failure)).toBe(problem);
  });
});
