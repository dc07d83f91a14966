import { describe, expect, it } from 'vitest';
import { waitFor, WaitForTimeoutError } from './wait-for.ts';

describe('waitFor', () => {
  it('resolves with the first value that is not undefined, null or false', async () => {
    let calls = 0;
    const value = await waitFor(() => {
      calls += 1;
      if (calls === 1) return undefined;
      if (calls === 2) return null;
      if (calls === 3) return false;
      return calls;
    }, { intervalMs: 1 });
    expect(value).toBe(4);
  });

  it('accepts 0 and the empty string as values', async () => {
    await expect(waitFor(() => 0)).resolves.toBe(0);
    await expect(waitFor(() => '')).resolves.toBe('');
  });

  it('awaits an async check', async () => {
    let n = 0;
    await expect(waitFor(async () => (++n > 2 ? 'ok' : false), { intervalMs: 1 })).resolves.toBe('ok');
  });

  it('fails at once when the check throws (an assertion inside is never retried away)', async () => {
    let calls = 0;
    const failure = waitFor(() => {
      calls += 1;
      throw new Error('assertion failed');
    }, { timeoutMs: 1_000 });
    await expect(failure).rejects.toThrow('assertion failed');
    expect(calls).toBe(1);
  });

  it('rejects after timeoutMs naming what it waited for', async () => {
    await expect(waitFor(() => false, { timeoutMs: 30, intervalMs: 5, message: 'the callback of P1' })).rejects.toThrow(
      'timed out after 30 ms waiting for the callback of P1',
    );
  });

  it('with retryErrors, polls through a throwing check and keeps the last error as the cause', async () => {
    let calls = 0;
    await expect(
      waitFor(() => {
        calls += 1;
        if (calls < 3) throw new Error('not yet');
        return 'ok';
      }, { intervalMs: 1, retryErrors: true }),
    ).resolves.toBe('ok');
    const failure = waitFor(
      () => {
        throw new Error('not yet');
      },
      { timeoutMs: 30, intervalMs: 5, message: 'the callback of P1', retryErrors: true },
    );
    await expect(failure).rejects.toBeInstanceOf(WaitForTimeoutError);
    await expect(failure).rejects.toThrow('timed out after 30 ms waiting for the callback of P1');
    await failure.catch((err: Error) => expect((err.cause as Error).message).toBe('not yet'));
  });
});
