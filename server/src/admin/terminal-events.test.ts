/**
 * `GET /admin/v1/terminals/events` (./terminal-events.ts, docs/admin-api.md "Terminal events"):
 * refused without good credentials, scoped to the caller's merchant, a terminal's change pushed
 * without asking, bounded per credential, closed when the token is revoked or expires, with
 * heartbeats — over a real server and loopback HTTP, and, for the clock-driven parts, the route
 * mounted alone with an injected clock over the same SQLite store.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { connectAgent } from '../testing/helpers.ts';
import { expectAdminContract } from '../testing/admin-contract.ts';
import { startAdminFixture, type AdminFixture } from '../testing/admin-fixture.ts';
import type { AdminContext } from './context.ts';
import { issueApiToken, secretHash } from './credentials.ts';
import { terminalEventRoutes } from './terminal-events.ts';

let f: AdminFixture;
beforeAll(async () => {
  f = await startAdminFixture();
});
afterAll(async () => {
  await f.close();
});

interface SseEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** An open event stream: its events and comment lines as they come. */
interface Sse {
  readonly status: number;
  readonly events: SseEvent[];
  readonly comments: string[];
  /** Resolves when the server ended the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

async function openSse(url: string, headers: Record<string, string>): Promise<Sse> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let ended: Promise<void> = Promise.resolve();
  if (res.status === 200 && res.body) {
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    ended = (async () => {
      let buffer = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += value;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) comments.push(line.slice(1).trim());
              else if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            if (data.length > 0) events.push({ event, data: JSON.parse(data.join('\n')) as Record<string, unknown> });
          }
        }
      } catch {
        // aborted by close()
      }
    })();
  } else {
    await res.text();
  }
  return { status: res.status, events, comments, ended, close: () => abort.abort() };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const terminalEvents = (sse: Sse, serial: string) => sse.events.filter((e) => e.event === 'terminal' && (e.data['terminal'] as Record<string, unknown>)['serialNumber'] === serial);

describe('terminal events over the running server', () => {
  it('refuses missing, wrong, revoked and expired credentials (401) like every admin route', async () => {
    const url = `${f.url}/admin/v1/terminals/events`;
    for (const headers of [{}, bearer('pbk_nothing_like_a_real_token_at_all'), bearer(f.tokens.revoked), bearer(f.tokens.expired), { cookie: 'posbridge_session=not-a-session-secret' }]) {
      const sse = await openSse(url, headers);
      expect(sse.status, JSON.stringify(headers)).toBe(401);
    }
  });

  it('sends the caller list first, then a terminal going online and offline without asking; a scoped caller hears only its merchant', async () => {
    const url = `${f.url}/admin/v1/terminals/events`;
    const all = await openSse(url, bearer(f.tokens.viewer));
    const other = await openSse(url, bearer(f.tokens.otherOperator));
    expect(all.status).toBe(200);
    expect(other.status).toBe(200);
    try {
      const first = await waitFor(() => all.events[0], { timeoutMs: 3000, message: 'the first event' });
      expect(first.event).toBe('terminals');
      expectAdminContract('Terminals', first.data);
      await waitFor(() => other.events[0], { timeoutMs: 3000, message: 'the scoped first event' });
      expect(other.events[0]).toEqual({ event: 'terminals', data: { terminals: [] } });

      const { token } = await f.t.server.issueAgentToken('caixa-ev');
      const agent = await connectAgent(f.url, token);
      try {
        await agent.hello(['SN-EV']);
        const up = await waitFor(() => terminalEvents(all, 'SN-EV').find((e) => (e.data['terminal'] as Record<string, unknown>)['online'] === true), {
          timeoutMs: 4000,
          message: 'SN-EV online pushed',
        });
        expectAdminContract('TerminalEvent', up.data);
        expect(up.data['terminal']).toMatchObject({ serialNumber: 'SN-EV', online: true, agentName: 'caixa-ev', merchantId: 'mch_bootstrap' });
      } finally {
        await agent.close();
      }
      await waitFor(() => terminalEvents(all, 'SN-EV').find((e) => (e.data['terminal'] as Record<string, unknown>)['online'] === false), {
        timeoutMs: 4000,
        message: 'SN-EV offline pushed',
      });
      // The scoped stream kept polling all along and never heard of the other merchant's terminal.
      expect(other.events.map((e) => e.event)).toEqual(['terminals']);
    } finally {
      all.close();
      other.close();
    }
  });

  it('allows 4 streams per credential (a 5th: 429), freed when one closes', async () => {
    const url = `${f.url}/admin/v1/terminals/events`;
    const open = await Promise.all([1, 2, 3, 4].map(() => openSse(url, bearer(f.tokens.operator))));
    try {
      expect(open.map((s) => s.status)).toEqual([200, 200, 200, 200]);
      const fifth = await openSse(url, bearer(f.tokens.operator));
      expect(fifth.status).toBe(429);
      // Another credential is not counted against this one.
      const otherOne = await openSse(url, bearer(f.tokens.viewer));
      expect(otherOne.status).toBe(200);
      otherOne.close();
      open[0]!.close();
      await waitFor(async () => {
        const again = await openSse(url, bearer(f.tokens.operator));
        again.close();
        return again.status === 200;
      }, { timeoutMs: 3000, message: 'a stream slot freed' });
    } finally {
      for (const s of open) s.close();
    }
  });

  it('ends the stream (event end, reason revoked) once its token is revoked', async () => {
    const made = await f.call('POST', '/admin/v1/tokens', { bearer: f.tokens.admin }, { label: 'wall screen', role: 'viewer' });
    expect(made.status).toBe(201);
    const secret = made.json['secret'] as string;
    const credentialId = (made.json['token'] as Record<string, unknown>)['credentialId'] as string;
    const sse = await openSse(`${f.url}/admin/v1/terminals/events`, bearer(secret));
    expect(sse.status).toBe(200);
    await waitFor(() => sse.events[0], { timeoutMs: 3000, message: 'the first event' });
    expect((await f.call('DELETE', `/admin/v1/tokens/${credentialId}`, { bearer: f.tokens.admin })).status).toBe(200);
    await waitFor(() => sse.events.find((e) => e.event === 'end'), { timeoutMs: 8000, message: 'the end event' });
    expect(sse.events.at(-1)).toEqual({ event: 'end', data: { reason: 'revoked' } });
    await sse.ended;
  }, 15_000);
});

describe('terminal events on an injected clock', () => {
  it('writes a heartbeat after 15 s of silence and ends the stream when the credential expires', async () => {
    let clock = Date.UTC(2026, 0, 5, 12);
    const issued = await issueApiToken(f.store, { label: 'clock', role: 'viewer', merchantId: 'mch_other', userId: null, now: clock, expiresAt: clock + 60_000 });
    const ctx = {
      store: f.store,
      presence: { locate: async () => ({ status: 'unknown' as const }) },
      now: () => clock,
      logger: pino({ level: 'silent' }),
    } as unknown as AdminContext;
    const credential = await f.store.findCredentialByHash(secretHash(issued.token));
    const app = express();
    // What ./auth.ts's adminAuth leaves for the route: the principal and the credential it matched.
    app.use((_req, res, next) => {
      res.locals['admin'] = { actor: `token:${issued.credentialId}`, role: 'viewer', merchantId: 'mch_other', credentialId: issued.credentialId, kind: 'api', userId: null };
      res.locals['adminCredential'] = credential;
      next();
    });
    app.use(terminalEventRoutes(ctx, { pollMs: 20 }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const sse = await openSse(`http://127.0.0.1:${(server.address() as AddressInfo).port}/terminals/events`, bearer(issued.token));
      expect(sse.status).toBe(200);
      await waitFor(() => sse.events[0], { timeoutMs: 3000, message: 'the first event' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(sse.comments).toEqual([]);
      clock += 15_000;
      await waitFor(() => sse.comments.includes('heartbeat'), { timeoutMs: 3000, message: 'a heartbeat' });
      clock += 45_000;
      await waitFor(() => sse.events.find((e) => e.event === 'end'), { timeoutMs: 3000, message: 'the end event' });
      expect(sse.events.at(-1)).toEqual({ event: 'end', data: { reason: 'expired' } });
      expectAdminContract('TerminalStreamEnd', sse.events.at(-1)!.data);
      await sse.ended;
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
