/**
 * The presence of one hub (./local-presence.ts): a session replaced by its agent's newer one
 * never takes the serials back. A frame the old session had queued (a repeated `agent.hello`)
 * may still be handled while its socket is closing; its claim must not route the serials to it,
 * or the old session's close would then drop them, leaving the new session with nothing routed
 * (no command delivered, its reports refused `not_owner`, the terminal offline).
 */
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../adapters/memory/index.ts';
import { sinkLogger } from '../testing/helpers.ts';
import { issueAgentToken } from './agent-tokens.ts';
import { LocalPresence, type LocalHolder } from './local-presence.ts';

interface FakeHolder extends LocalHolder {
  isOpen: boolean;
}

function holder(agentId: string, sessionId: string): FakeHolder {
  return { agentId, sessionId, isOpen: true, serials: [] };
}

const SN1 = { serialNumber: 'SN1', dialect: 'PBL/1' } as const;

describe('LocalPresence', () => {
  it('a claim by a session its agent has replaced routes nothing to it, and its close leaves the new session the serials', async () => {
    const store = createMemoryStore();
    const { agentId } = await issueAgentToken(store, 'till-1', 1);
    const presence = new LocalPresence<FakeHolder>({ store, logger: sinkLogger().logger, maxTerminalsPerAgent: 8 });

    const old = holder(agentId, 's_old');
    presence.connect(old);
    expect((await presence.claim(old, [SN1], 10)).held).toEqual(['SN1']);

    // The agent reconnects: the hub replaces the old session (detach, close) and admits the new one.
    const fresh = holder(agentId, 's_new');
    presence.detach(old);
    old.isOpen = false;
    presence.connect(fresh);
    expect((await presence.claim(fresh, [SN1], 20)).added).toEqual(['SN1']);

    // A repeated hello the old session had queued is handled while its socket closes.
    const late = await presence.claim(old, [SN1], 30);
    expect(late.held).toEqual([]);
    expect(late.added).toEqual([]);
    expect(presence.routeOf('SN1')).toBe(fresh);

    // Its close completes.
    presence.detach(old);
    expect(presence.routeOf('SN1')).toBe(fresh);
    expect(presence.holders()).toEqual([fresh]);
    expect(await presence.locate('SN1')).toEqual({ status: 'online', agentId });
  });
});
