/**
 * Agent enrolment on a real server (SQLite on disk, loopback HTTP and WebSocket): a pairing code
 * is exchanged once for a token the hub accepts; used, expired, malformed and unknown codes are
 * refused with their codes and counted by the `pairing` limit; rotation and revocation refuse the
 * old token and close a session opened with it at once (docs/agent-enrolment.md).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { BOOTSTRAP_MERCHANT_ID, BOOTSTRAP_STORE_ID } from '../ports/directory.ts';
import { connectAgent, startTestServer, type TestServer } from '../testing/helpers.ts';
import { CLOSE_CREDENTIALS_CHANGED } from '../hub/credential-watch.ts';
import { PAIRING_CODE_TTL_MS } from './enrolment-service.ts';
import { normalisePairingCode, PAIRING_ALPHABET } from './pairing-code.ts';

let t: TestServer;
let clock = Date.UTC(2026, 11, 2, 12, 0, 0);

beforeEach(async () => {
  clock = Date.UTC(2026, 11, 2, 12, 0, 0);
  t = await startTestServer({ POSBRIDGE_AUTH_FAILURE_LIMIT: '5' }, undefined, { now: () => clock });
});
afterEach(async () => {
  await t.close();
});

async function pair(code: unknown): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${t.server.url}/agent/v1/pair`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code, agentVersion: 'test/1' }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

const newCode = (agentName = 'till 1') =>
  t.server.enrolment.createPairingCode({ merchantId: BOOTSTRAP_MERCHANT_ID, storeId: BOOTSTRAP_STORE_ID, agentName, actor: 'cli:test' });

describe('pairing codes', () => {
  it('are 10 symbols of the unambiguous alphabet, shown XXXXX-XXXXX, read back whatever the case and separators', async () => {
    const issued = await newCode();
    expect(issued.code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    expect(issued.expiresAt).toBe(clock + PAIRING_CODE_TTL_MS);
    expect(normalisePairingCode(` ${issued.code.toLowerCase()} `)).toBe(issued.code.replace('-', ''));
    expect(normalisePairingCode('OIL00-11111')).toBe('0110011111');
    expect(normalisePairingCode('ABCDE-FGHJU')).toBeNull();
    expect(normalisePairingCode('ABCD')).toBeNull();
    expect(PAIRING_ALPHABET).toHaveLength(32);
    // Nothing of the code is stored or logged in the clear.
    const plain = issued.code.replace('-', '');
    expect(JSON.stringify(t.lines)).not.toContain(plain);
  });

  it('pair once: the token opens the hub; a second use is refused as used', async () => {
    const { code } = await newCode('till 7');
    const first = await pair(code.toLowerCase());
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.json).toMatchObject({ agentName: 'till 7', merchantId: BOOTSTRAP_MERCHANT_ID, storeId: BOOTSTRAP_STORE_ID });
    const token = String(first.json['token']);
    const agent = await connectAgent(t.server.url, token);
    const welcome = await agent.hello(['SN-PAIR-1']);
    expect(welcome.agentId).toBe(first.json['agentId']);
    await agent.close();

    const second = await pair(code);
    expect(second.status).toBe(410);
    expect(second.json).toMatchObject({ code: 'AGENT_PAIRING_CODE_USED', retryable: false });
    expect(String(second.json['message'])).toContain('each code pairs one agent');
    // The token never reaches the log; the pairing and its audit entry do.
    expect(JSON.stringify(t.lines)).not.toContain(token);
    expect(t.lines.some((l) => l['msg'] === 'agent paired' && l['agentId'] === first.json['agentId'])).toBe(true);
    expect(t.lines.some((l) => l['component'] === 'audit' && l['msg'] === 'agent.paired')).toBe(true);
  });

  it('refuses an expired code, at 15 minutes exactly', async () => {
    const { code } = await newCode();
    clock += PAIRING_CODE_TTL_MS;
    const res = await pair(code);
    expect(res.status).toBe(410);
    expect(res.json).toMatchObject({ code: 'AGENT_PAIRING_CODE_EXPIRED' });
  });

  it('refuses unknown, malformed and out-of-bounds requests, and limits a guessing source (429 with Retry-After)', async () => {
    expect((await pair('ZZZZZ-ZZZZZ')).json).toMatchObject({ code: 'AGENT_PAIRING_CODE_UNKNOWN' });
    expect((await pair('not a code')).status).toBe(404);
    expect((await pair('x'.repeat(33))).json).toMatchObject({ code: 'PPP_INVALID_REQUEST' });
    const extra = await fetch(`${t.server.url}/agent/v1/pair`, { method: 'POST', body: JSON.stringify({ code: 'ZZZZZ-ZZZZY', admin: true }) });
    expect(extra.status).toBe(400);
    const big = await fetch(`${t.server.url}/agent/v1/pair`, { method: 'POST', body: JSON.stringify({ code: 'x'.repeat(2000) }) });
    expect(big.status).toBe(413);
    // Five failures counted: even a valid code is refused from this source until the window ends.
    const { code } = await newCode();
    const limited = await pair(code);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited.json).toMatchObject({ code: 'PPP_TOO_MANY_ATTEMPTS' });
    clock += 16 * 60 * 1000;
    expect((await pair(code)).json).toMatchObject({ code: 'AGENT_PAIRING_CODE_EXPIRED' });
  });

  it('rotation: the new token works, the old one is refused, and its open session is closed at once', async () => {
    const { code } = await newCode();
    const { json } = await pair(code);
    const agentId = String(json['agentId']);
    const agent = await connectAgent(t.server.url, String(json['token']));
    await agent.hello(['SN-ROT-1']);
    const closed = new Promise<number>((resolve) => agent.ws.once('close', (c) => resolve(c)));
    const rotated = await t.server.enrolment.rotateToken(agentId, 'cli:test');
    expect(await closed).toBe(CLOSE_CREDENTIALS_CHANGED);
    await expect(connectAgent(t.server.url, String(json['token']))).rejects.toThrow('HTTP 401');
    const again = await connectAgent(t.server.url, rotated.token);
    await again.hello(['SN-ROT-1']);
    await again.close();
  });

  it('revocation: the session is closed at once, the token refused, rotation refused; a change made elsewhere is seen by the watch', async () => {
    const { code } = await newCode();
    const { json } = await pair(code);
    const agentId = String(json['agentId']);
    const agent = await connectAgent(t.server.url, String(json['token']));
    await agent.hello(['SN-REV-1']);
    const closed = new Promise<number>((resolve) => agent.ws.once('close', (c) => resolve(c)));
    expect(await t.server.enrolment.revoke(agentId, 'cli:test', 'till stolen')).toBe(true);
    expect(await closed).toBe(CLOSE_CREDENTIALS_CHANGED);
    await expect(connectAgent(t.server.url, String(json['token']))).rejects.toThrow('HTTP 401');
    expect(await t.server.enrolment.revoke(agentId, 'cli:test')).toBe(false);
    await expect(t.server.enrolment.rotateToken(agentId, 'cli:test')).rejects.toMatchObject({ code: 'ADMIN_AGENT_REVOKED' });
    await expect(t.server.enrolment.revoke('ag_nobody', 'cli:test')).rejects.toMatchObject({ code: 'ADMIN_AGENT_UNKNOWN' });

    // Another process (the CLI) revokes through the store only: the credential watch closes the session.
    const other = await pair((await newCode('till 2')).code);
    const second = await connectAgent(t.server.url, String(other.json['token']));
    await second.hello(['SN-REV-2']);
    const closedToo = new Promise<number>((resolve) => second.ws.once('close', (c) => resolve(c)));
    expect(await t.server.store.revokeAgent(String(other.json['agentId']), 'f'.repeat(64), clock)).toBe('revoked');
    expect(await closedToo).toBe(CLOSE_CREDENTIALS_CHANGED);
    await waitFor(() => t.lines.some((l) => l['msg'] === 'revoked agent disconnected' && l['agentId'] === other.json['agentId']), { timeoutMs: 5000 });
    expect(t.lines.filter((l) => l['component'] === 'audit').map((l) => l['msg'])).toEqual(
      expect.arrayContaining(['agent.pair_code.created', 'agent.paired', 'agent.revoked']),
    );
  });
});
