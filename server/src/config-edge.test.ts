/**
 * Settings of the HTTP edge added by issue 10 (items 12 and 19): defaults, bounds, and the
 * secret file's default next to the database.
 */
import { describe, expect, it } from 'vitest';
import { loadServerConfig } from './config.ts';

const required = { POSBRIDGE_APP_KEY: 'k', POSBRIDGE_APP_TOKEN: 't', POSBRIDGE_CALLBACK_APP_KEY: 'ck', POSBRIDGE_CALLBACK_APP_TOKEN: 'ct' };

describe('edge settings', () => {
  it('defaults', () => {
    const c = loadServerConfig(required);
    expect(c.onboarding).toEqual({ rateLimit: 300, rateWindowMs: 60_000, pendingPerSource: 100, pendingMax: 1000 });
    expect(c.http).toEqual({ keepAliveTimeoutMs: 5000, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, checkIntervalMs: 1000 });
    expect(c.submitSecretFile).toBe('./posbridge.sqlite.submit-secret');
    expect(loadServerConfig({ ...required, POSBRIDGE_DB: ':memory:' }).submitSecretFile).toBeUndefined();
    expect(loadServerConfig({ ...required, POSBRIDGE_SUBMIT_SECRET_FILE: '/etc/posbridge/key' }).submitSecretFile).toBe('/etc/posbridge/key');
  });

  it('refuses a request time-out shorter than the headers time-out, and out-of-range values', () => {
    expect(() => loadServerConfig({ ...required, POSBRIDGE_HTTP_HEADERS_TIMEOUT_MS: '20000', POSBRIDGE_HTTP_REQUEST_TIMEOUT_MS: '10000' })).toThrow(/POSBRIDGE_HTTP_REQUEST_TIMEOUT_MS/);
    expect(() => loadServerConfig({ ...required, POSBRIDGE_ONBOARDING_PENDING_PER_SOURCE: '0' })).toThrow(/POSBRIDGE_ONBOARDING_PENDING_PER_SOURCE/);
  });
});
