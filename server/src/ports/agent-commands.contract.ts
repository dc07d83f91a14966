/**
 * The contract of {@link AgentCommandsPort}, as vitest blocks every adapter runs with the same
 * assertions (adapters/agent-commands-contract.test.ts). The fixture gives the port and a way to
 * commit {@link CommandWrites} the way the adapter's state changes do (memory: `apply`; SQLite:
 * `applyCommandWrites` inside a transaction), for payments `P1`, `P2` and `P3`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentCommandsPort, CommandWrites, NewAgentCommand } from './agent-commands.ts';

/** What the contract needs of one adapter instance. */
export interface AgentCommandsFixture {
  readonly port: AgentCommandsPort;
  /** Commits `writes` at `at` as a state change of the adapter would. */
  apply(writes: CommandWrites, at: number): Promise<void>;
  close(): Promise<void>;
}

/** A command for payment `paymentId` on `serialNumber`. */
function command(commandId: string, overrides: Partial<NewAgentCommand> = {}): NewAgentCommand {
  return {
    commandId,
    kind: 'start',
    paymentId: 'P1',
    merchantId: 'mch_1',
    serialNumber: 'SN1',
    agentId: 'agt_1',
    message: JSON.stringify({ id: commandId }),
    ...overrides,
  };
}

/** Registers the contract of `name` over fixtures made by `make`. */
export function agentCommandsContract(name: string, make: () => Promise<AgentCommandsFixture>): void {
  describe(`AgentCommandsPort contract: ${name}`, () => {
    let f: AgentCommandsFixture;
    beforeEach(async () => {
      f = await make();
    });
    afterEach(async () => {
      await f.close();
    });

    it('opens commands with their fields, counts and lists them per payment', async () => {
      await f.apply({ open: [command('st_1'), command('ab_1', { kind: 'abort' }), command('rf_1', { kind: 'refund', paymentId: 'P2', agentId: null })] }, 1000);
      expect(await f.port.getCommand('st_1')).toEqual({
        ...command('st_1'),
        status: 'open',
        createdAt: 1000,
        attempts: 0,
        lastSentAt: null,
        sentSessionId: null,
        nextAttemptAt: null,
        ackedAt: null,
        ackedSessionId: null,
        passedSessionId: null,
        closedAt: null,
        closeReason: null,
      });
      expect(await f.port.getCommand('nope')).toBeNull();
      expect((await f.port.listCommands('P1')).map((c) => c.commandId)).toEqual(['ab_1', 'st_1']);
      expect((await f.port.listCommands('P2')).map((c) => c.commandId)).toEqual(['rf_1']);
      expect(await f.port.listCommands('P3')).toEqual([]);
      expect(await f.port.countOpenCommands()).toBe(3);
    });

    it('lists what is deliverable on a session: its serials, oldest first, bounded', async () => {
      await f.apply({ open: [command('st_b')] }, 2000);
      await f.apply({ open: [command('st_a'), command('st_c', { serialNumber: 'SN2', paymentId: 'P2' })] }, 1000);
      const ids = async (serials: string[], limit = 10) =>
        (await f.port.listDeliverableCommands(serials, 's1', 3000, limit)).map((c) => c.commandId);
      expect(await ids(['SN1'])).toEqual(['st_a', 'st_b']);
      expect(await ids(['SN1', 'SN2'])).toEqual(['st_a', 'st_c', 'st_b']);
      expect(await ids(['SN1', 'SN2'], 2)).toEqual(['st_a', 'st_c']);
      expect(await ids(['SN9'])).toEqual([]);
      expect(await ids([])).toEqual([]);
    });

    it('lists what is deliverable for a serial prefix: only serials starting with it, byte for byte, oldest first, bounded', async () => {
      await f.apply({ open: [command('vt_b', { serialNumber: 'VT-mch_b', paymentId: 'P2' })] }, 2000);
      await f.apply({ open: [command('vt_a', { serialNumber: 'VT-mch_a' }), command('real', { serialNumber: 'SN1', paymentId: 'P2' })] }, 1000);
      await f.apply({ open: [command('near', { serialNumber: 'VT.x', paymentId: 'P2' }), command('lower', { serialNumber: 'vt-mch_a', paymentId: 'P2' })] }, 1500);
      const ids = async (prefix: string, session = 's1', now = 3000, limit = 10) =>
        (await f.port.listDeliverableCommandsByPrefix(prefix, session, now, limit)).map((c) => c.commandId);
      expect(await ids('VT-')).toEqual(['vt_a', 'vt_b']);
      expect(await ids('VT-', 's1', 3000, 1)).toEqual(['vt_a']);
      expect(await ids('VT-mch_b')).toEqual(['vt_b']);
      expect(await ids('ZZ')).toEqual([]);
      // The delivery rule holds as for listDeliverableCommands: written ahead on s1, not due again before its repeat time.
      expect(await f.port.markCommandSent('vt_a', 's1', 3000, 4000)).toBe(true);
      expect(await ids('VT-', 's1', 3500)).toEqual(['vt_b']);
      expect(await ids('VT-', 's1', 4000)).toEqual(['vt_a', 'vt_b']);
      await f.apply({ close: [{ commandId: 'vt_b', reason: 'done' }] }, 4100);
      expect(await ids('VT-', 's1', 4200)).toEqual(['vt_a']);
      expect(() => f.port.listDeliverableCommandsByPrefix('', 's1', 0, 1)).toThrow(RangeError);
    });

    it('a send is written ahead once per repeat interval and session; a new session gets it at once', async () => {
      await f.apply({ open: [command('st_1')] }, 1000);
      expect(await f.port.markCommandSent('st_1', 's1', 1100, 1200)).toBe(true);
      expect(await f.port.getCommand('st_1')).toMatchObject({ attempts: 1, lastSentAt: 1100, sentSessionId: 's1', nextAttemptAt: 1200 });
      // Not due again on s1 before the repeat time: neither listed nor markable.
      expect(await f.port.listDeliverableCommands(['SN1'], 's1', 1199, 10)).toEqual([]);
      expect(await f.port.markCommandSent('st_1', 's1', 1150, 1250)).toBe(false);
      expect((await f.port.listDeliverableCommands(['SN1'], 's1', 1200, 10)).map((c) => c.commandId)).toEqual(['st_1']);
      // Another session gets it at once.
      expect((await f.port.listDeliverableCommands(['SN1'], 's2', 1150, 10)).map((c) => c.commandId)).toEqual(['st_1']);
      expect(await f.port.markCommandSent('st_1', 's2', 1150, 1250)).toBe(true);
      expect(await f.port.getCommand('st_1')).toMatchObject({ attempts: 2, lastSentAt: 1150, sentSessionId: 's2', nextAttemptAt: 1250 });
      expect(await f.port.markCommandSent('st_1', 's2', 1250, 1350)).toBe(true);
      expect(await f.port.getCommand('st_1')).toMatchObject({ attempts: 3, sentSessionId: 's2' });
    });

    it('an acknowledgement stops the repeats on its session only; the command stays open', async () => {
      await f.apply({ open: [command('ab_1', { kind: 'abort' })] }, 1000);
      expect(await f.port.markCommandSent('ab_1', 's1', 1000, 1100)).toBe(true);
      expect(await f.port.ackCommand('ab_1', 's1', 1050)).toMatchObject({ status: 'open', ackedAt: 1050, ackedSessionId: 's1', nextAttemptAt: null });
      expect(await f.port.listDeliverableCommands(['SN1'], 's1', 9999, 10)).toEqual([]);
      expect(await f.port.markCommandSent('ab_1', 's1', 9999, 10_099)).toBe(false);
      expect((await f.port.listDeliverableCommands(['SN1'], 's2', 1200, 10)).map((c) => c.commandId)).toEqual(['ab_1']);
      expect(await f.port.ackCommand('nope', 's1', 1050)).toBeNull();
      expect(await f.port.countOpenCommands()).toBe(1);
    });

    it('a session that passes a command is not offered it again; the next session is', async () => {
      await f.apply({ open: [command('vd_1', { kind: 'void', agentId: null })] }, 1000);
      expect(await f.port.passCommand('vd_1', 's1', 1000)).toBe(true);
      expect(await f.port.getCommand('vd_1')).toMatchObject({ passedSessionId: 's1', attempts: 0, sentSessionId: null });
      expect(await f.port.listDeliverableCommands(['SN1'], 's1', 5000, 10)).toEqual([]);
      expect(await f.port.markCommandSent('vd_1', 's1', 5000, 5100)).toBe(false);
      expect(await f.port.markCommandSent('vd_1', 's2', 5000, 5100)).toBe(true);
      expect(await f.port.passCommand('nope', 's1', 1000)).toBe(false);
    });

    it('a closed command is never delivered; closing is idempotent', async () => {
      await f.apply({ open: [command('st_1'), command('st_2')] }, 1000);
      await f.apply({ close: [{ commandId: 'st_1', reason: 'agent.acked' }, { commandId: 'unknown', reason: 'x' }] }, 1100);
      expect(await f.port.getCommand('st_1')).toMatchObject({ status: 'closed', closedAt: 1100, closeReason: 'agent.acked' });
      expect(await f.port.getCommand('unknown')).toBeNull();
      expect(await f.port.closeCommand('st_2', 'moved', 1200)).toBe(true);
      expect(await f.port.closeCommand('st_2', 'again', 1300)).toBe(false);
      expect(await f.port.closeCommand('nope', 'x', 1300)).toBe(false);
      expect(await f.port.getCommand('st_2')).toMatchObject({ status: 'closed', closedAt: 1200, closeReason: 'moved' });
      expect(await f.port.listDeliverableCommands(['SN1'], 's1', 9999, 10)).toEqual([]);
      expect(await f.port.markCommandSent('st_1', 's1', 9999, 10_099)).toBe(false);
      expect(await f.port.passCommand('st_1', 's1', 9999)).toBe(false);
      expect(await f.port.countOpenCommands()).toBe(0);
    });

    it('opening an existing id re-opens it with the new message for every session', async () => {
      await f.apply({ open: [command('ab_1', { kind: 'abort', message: '{"reason":"expired"}' })] }, 1000);
      expect(await f.port.markCommandSent('ab_1', 's1', 1000, 1100)).toBe(true);
      await f.port.ackCommand('ab_1', 's1', 1010);
      await f.apply({ close: [{ commandId: 'ab_1', reason: 'result.received' }] }, 1020);
      await f.apply({ open: [command('ab_1', { kind: 'abort', message: '{"reason":"cancelled"}' })] }, 2000);
      expect(await f.port.getCommand('ab_1')).toMatchObject({
        status: 'open',
        message: '{"reason":"cancelled"}',
        createdAt: 1000,
        attempts: 1,
        sentSessionId: null,
        nextAttemptAt: null,
        ackedAt: null,
        ackedSessionId: null,
        passedSessionId: null,
        closedAt: null,
        closeReason: null,
      });
      expect((await f.port.listDeliverableCommands(['SN1'], 's1', 2000, 10)).map((c) => c.commandId)).toEqual(['ab_1']);
      expect(await f.port.countOpenCommands()).toBe(1);
    });
  });
}
