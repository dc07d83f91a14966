/**
 * `GET /admin/v1/terminals/events`: the terminals' online status as server-sent events
 * (`text/event-stream`, https://html.spec.whatwg.org/multipage/server-sent-events.html), so the
 * console's terminals screen changes without a reload.
 *
 * Authenticated like every admin route (../admin/auth.ts ran before; role `viewer`); a
 * merchant-scoped caller only hears of its merchant's terminals. The changes come from the same
 * source as `GET /admin/v1/terminals` — the store's terminals and the presence, which is shared
 * by the instances of a cluster — read by one poller per process every {@link
 * TerminalEventsOptions.pollMs} while any stream is open, each stream sent what differs from
 * what it was last sent. So a terminal connected to another instance shows as well.
 *
 * Events: `terminals` `{terminals: [...]}` first (the caller's whole list, shape of
 * `GET /terminals`), then `terminal` `{terminal}` for each terminal that appeared or changed,
 * `removed` `{serialNumber}`, a comment line (`: heartbeat`) when nothing was written for
 * {@link TerminalEventsOptions.heartbeatMs}, and `end` `{reason}` just before the server closes
 * the stream (`expired`, `revoked`: the credential ended; `slow`: the client did not read).
 * Bounded: at most {@link TerminalEventsOptions.maxPerCredential} streams per credential and
 * {@link TerminalEventsOptions.maxTotal} per process (more: 429 `PPP_RATE_LIMITED`).
 *
 * @see docs/admin-api.md "Terminal events"
 */
import { Router, type Response } from 'express';
import { credentialOf, principalOf, sendAdminError, type AdminPrincipal } from './auth.ts';
import type { AdminContext } from './context.ts';

/** Limits and periods of the event streams (all ms periods against `ctx.now`). */
export interface TerminalEventsOptions {
  /** How often the terminals are read while a stream is open, ms. @default 1000 */
  readonly pollMs?: number;
  /** A comment line after this long without a write, ms. @default 15000 */
  readonly heartbeatMs?: number;
  /** How often a stream's credential is looked up again (revoked, user disabled), ms. @default 5000 */
  readonly recheckMs?: number;
  /** Open streams per credential. @default 4 */
  readonly maxPerCredential?: number;
  /** Open streams per process. @default 64 */
  readonly maxTotal?: number;
  /** Bytes a stream may have waiting unread before it is closed (`slow`). @default 262144 */
  readonly maxBufferedBytes?: number;
  /** Timer of the poller. @default globalThis.setInterval / clearInterval */
  readonly timers?: { setInterval(fn: () => void, ms: number): unknown; clearInterval(handle: unknown): void };
}

/** One terminal as `GET /admin/v1/terminals` shows it. */
export interface TerminalView {
  readonly serialNumber: string;
  readonly online: boolean;
  readonly lastSeenAt: string;
  readonly agentId: string;
  readonly agentName: string;
  readonly storeId: string;
  readonly storeName: string;
  readonly merchantId: string;
  readonly merchantName: string | null;
}

/** The terminals (of `merchantId`, or all), with their presence: what `GET /terminals` answers. */
export async function terminalViews(ctx: Pick<AdminContext, 'store' | 'presence'>, merchantId?: string): Promise<TerminalView[]> {
  const terminals = await ctx.store.listTerminals(merchantId);
  const online = await Promise.all(terminals.map(async (t) => (await ctx.presence.locate(t.serialNumber)).status === 'online'));
  return terminals.map((t, i) => ({
    serialNumber: t.serialNumber,
    online: online[i] === true,
    lastSeenAt: new Date(t.lastSeenAt).toISOString(),
    agentId: t.agentId,
    agentName: t.agentName,
    storeId: t.storeId,
    storeName: t.storeName,
    merchantId: t.merchantId,
    merchantName: t.merchantName,
  }));
}

interface Stream {
  readonly principal: AdminPrincipal;
  readonly res: Response;
  /** sha256 of the credential's secret: looked up again to see a revocation. */
  readonly hash: string;
  readonly expiresAt: number | null;
  /** serial → JSON of the view last sent. */
  readonly sent: Map<string, string>;
  lastWriteAt: number;
  lastCheckAt: number;
  ready: boolean;
}

/** The event-stream route (mount under `/admin/v1` after authentication). */
export function terminalEventRoutes(ctx: AdminContext, options: TerminalEventsOptions = {}): Router {
  const pollMs = options.pollMs ?? 1000;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const recheckMs = options.recheckMs ?? 5000;
  const maxPerCredential = options.maxPerCredential ?? 4;
  const maxTotal = options.maxTotal ?? 64;
  const maxBuffered = options.maxBufferedBytes ?? 256 * 1024;
  const timers = options.timers ?? { setInterval: (fn: () => void, ms: number) => setInterval(fn, ms).unref(), clearInterval: (h: unknown) => clearInterval(h as NodeJS.Timeout) };
  const log = ctx.logger.child({ component: 'admin', route: 'terminals/events' });
  const streams = new Set<Stream>();
  let timer: unknown = null;
  let polling = false;

  const write = (s: Stream, chunk: string): void => {
    if (s.res.writableEnded || s.res.destroyed) return;
    s.res.write(chunk);
    s.lastWriteAt = ctx.now();
    if (s.res.writableLength > maxBuffered) end(s, 'slow');
  };
  const send = (s: Stream, event: string, data: unknown): void => write(s, `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  function end(s: Stream, reason: 'expired' | 'revoked' | 'slow'): void {
    if (!streams.delete(s)) return;
    if (reason !== 'slow') send(s, 'end', { reason });
    log.info({ actor: s.principal.actor, reason }, 'terminal event stream closed by the server');
    s.res.end();
    if (reason === 'slow') s.res.destroy();
    stopIfIdle();
  }
  const stopIfIdle = (): void => {
    if (streams.size === 0 && timer !== null) {
      timers.clearInterval(timer);
      timer = null;
    }
  };

  /** Sends `s` what differs between `views` (its scope's part) and what it was last sent. */
  const diff = (s: Stream, views: readonly TerminalView[]): void => {
    const seen = new Set<string>();
    for (const v of views) {
      if (s.principal.merchantId !== null && v.merchantId !== s.principal.merchantId) continue;
      seen.add(v.serialNumber);
      const json = JSON.stringify(v);
      if (s.sent.get(v.serialNumber) === json) continue;
      s.sent.set(v.serialNumber, json);
      send(s, 'terminal', { terminal: v });
    }
    for (const serial of [...s.sent.keys()]) {
      if (seen.has(serial)) continue;
      s.sent.delete(serial);
      send(s, 'removed', { serialNumber: serial });
    }
  };

  /** Is the stream's credential still good? (expiry by the clock; revocation and a disabled user by the store, every recheckMs) */
  const stillValid = async (s: Stream, now: number): Promise<'ok' | 'expired' | 'revoked'> => {
    if (s.expiresAt !== null && s.expiresAt <= now) return 'expired';
    if (now - s.lastCheckAt < recheckMs) return 'ok';
    s.lastCheckAt = now;
    const credential = await ctx.store.findCredentialByHash(s.hash);
    if (!credential || credential.revokedAt !== null) return 'revoked';
    if (credential.userId !== null) {
      const user = await ctx.store.getUser(credential.userId);
      if (!user || user.disabled) return 'revoked';
    }
    return 'ok';
  };

  const tick = async (): Promise<void> => {
    if (polling || streams.size === 0) return;
    polling = true;
    try {
      const views = await terminalViews(ctx);
      const now = ctx.now();
      for (const s of [...streams]) {
        if (!s.ready) continue;
        const valid = await stillValid(s, now);
        if (valid !== 'ok') {
          end(s, valid);
          continue;
        }
        diff(s, views);
        if (streams.has(s) && now - s.lastWriteAt >= heartbeatMs) write(s, ': heartbeat\n\n');
      }
    } catch (err) {
      // The store or presence failed this once: the streams stay, the next tick reads again.
      log.warn({ err }, 'terminal events: reading the terminals failed');
    } finally {
      polling = false;
    }
  };

  const r = Router();
  r.get('/terminals/events', (req, res, next) => {
    const principal = principalOf(res);
    const credential = credentialOf(res);
    const mine = [...streams].filter((s) => s.principal.credentialId === principal.credentialId).length;
    if (streams.size >= maxTotal || mine >= maxPerCredential) {
      res.setHeader('Retry-After', '10');
      sendAdminError(res, 'PPP_RATE_LIMITED', `too many terminal event streams (${mine} of ${maxPerCredential} for these credentials, ${streams.size} of ${maxTotal} in all)`);
      return;
    }
    const now = ctx.now();
    const s: Stream = { principal, res, hash: credential.secretSha256, expiresAt: credential.expiresAt, sent: new Map(), lastWriteAt: now, lastCheckAt: now, ready: false };
    // Counted at once, so concurrent openings cannot pass the limits while the first read waits.
    streams.add(s);
    req.on('close', () => {
      streams.delete(s);
      stopIfIdle();
    });
    timer ??= timers.setInterval(() => void tick(), pollMs);
    (async () => {
      const views = await terminalViews(ctx, principal.merchantId ?? undefined);
      if (!streams.has(s)) return;
      res.status(200);
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('X-Accel-Buffering', 'no');
      res.flushHeaders();
      write(s, 'retry: 3000\n\n');
      for (const v of views) s.sent.set(v.serialNumber, JSON.stringify(v));
      send(s, 'terminals', { terminals: views });
      s.ready = true;
    })().catch((err: unknown) => {
      streams.delete(s);
      stopIfIdle();
      next(err);
    });
  });
  return r;
}
