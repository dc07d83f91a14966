/**
 * The credential watch (./credential-watch.ts) over a real memory store: it reads every change of
 * a look page by page (more rotations than one page holds), closes only sessions opened with a
 * token that no longer holds, keeps reading the look-back window, and survives a failing store.
 * The audit sink never rejects (../enrolment/audit.ts).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../adapters/memory/index.ts';
import { loggingAuditSink } from '../enrolment/audit.ts';
import { sinkLogger } from '../testing/helpers.ts';
import { CLOSE_CREDENTIALS_CHANGED, CredentialWatch, type WatchedSession } from './credential-watch.ts';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');

function session(agentId: string): WatchedSession & { closedWith: number | undefined } {
  const s = {
    agentId,
    closedWith: undefined as number | undefined,
    close(code: number) {
      s.closedWith = code;
    },
  };
  return s;
}

describe('CredentialWatch', () => {
  it('reads more changes than one page, and closes only sessions of an old token', async () => {
    const store = createMemoryStore();
    const sessions: [ReturnType<typeof session>, string][] = [];
    for (let i = 0; i < 7; i++) {
      await store.createAgent({ agentId: `ag${i}`, name: `a${i}`, createdAt: 0 }, sha(`old${i}`));
      sessions.push([session(`ag${i}`), sha(`old${i}`)]);
    }
    // ag6 reconnected with its new token already.
    sessions.push([session('ag6'), sha('new6')]);
    for (let i = 0; i < 7; i++) await store.rotateAgentToken(`ag${i}`, sha(`new${i}`), 1000 + i);
    const { logger } = sinkLogger();
    const watch = new CredentialWatch({ store, sessions: () => sessions, logger, intervalMs: 60_000, limit: 3, now: () => 1010 });
    await watch.checkNow();
    expect(sessions.map(([s, t]) => [s.agentId, t === sha(`new${s.agentId.slice(2)}`), s.closedWith])).toEqual([
      ...Array.from({ length: 7 }, (_, i) => [`ag${i}`, false, CLOSE_CREDENTIALS_CHANGED]),
      ['ag6', true, undefined],
    ]);
  });

  it('logs a failing store and tries again on the next look', async () => {
    const store = createMemoryStore();
    const { logger, lines } = sinkLogger();
    const s = session('ag1');
    await store.createAgent({ agentId: 'ag1', name: 'a', createdAt: 0 }, sha('t1'));
    let fail = true;
    const watch = new CredentialWatch({
      store: { listAgentCredentialChanges: (since, limit) => (fail ? Promise.reject(new Error('db down')) : store.listAgentCredentialChanges(since, limit)) },
      sessions: () => [[s, sha('t1')]],
      logger,
      intervalMs: 60_000,
      now: () => 5000,
    });
    await store.revokeAgent('ag1', sha('gone'), 4990);
    await watch.checkNow();
    expect(s.closedWith).toBeUndefined();
    expect(lines.some((l) => l['msg'] === 'agent credential check failed; tried again on the next tick')).toBe(true);
    fail = false;
    await watch.checkNow();
    expect(s.closedWith).toBe(CLOSE_CREDENTIALS_CHANGED);
  });
});

describe('loggingAuditSink', () => {
  it('logs the entry, and keeps it in the log when the audit log behind it fails', async () => {
    const { logger, lines } = sinkLogger();
    const sink = loggingAuditSink(logger, { record: () => Promise.reject(new Error('audit table down')) });
    await expect(sink.record({ action: 'agent.revoked', actor: 'cli:ana', target: 'agent:ag1', at: 0 })).resolves.toBeUndefined();
    expect(lines.map((l) => [l['msg'], l['actor']])).toEqual([
      ['agent.revoked', 'cli:ana'],
      ['audit entry not stored; this log line keeps it', 'cli:ana'],
    ]);
  });
});
