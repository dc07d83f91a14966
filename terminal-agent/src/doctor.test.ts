/** `posbridge-agent doctor` answers with a fix on a machine without the port, without permission, without libusb. */
import { describe, expect, it } from 'vitest';
import { CodedError } from '@posbridge/protocol/errors';
import { doctorCommand, type CommandIo } from './commands.ts';
import { loadAgentConfig } from './config.ts';
import { formatDoctorTable, runDoctor, type DoctorDeps } from './doctor.ts';

const enoent = () => Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
const eacces = () => Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });

function deps(over: Partial<DoctorDeps> = {}): DoctorDeps {
  return {
    stat: async () => ({ isCharacterDevice: () => true, gid: 20 }),
    access: async () => undefined,
    tryOpen: async () => undefined,
    groupName: async (gid) => (gid === 20 ? 'dialout' : undefined),
    serialById: async () => [['/dev/serial/by-id/usb-Ingenico_Move5000_123-if00', '/dev/ttyACM0']],
    loadHid: async () => ({}),
    probeServer: async () => 101,
    serverDate: async () => 1_700_000_000_000,
    now: () => 1_700_000_000_500,
    userName: () => 'pos',
    ...over,
  };
}

const config = (extra: Record<string, string> = {}) =>
  loadAgentConfig({ POSBRIDGE_SERVER_URL: 'ws://srv/agent/v1', POSBRIDGE_AGENT_TOKEN: 't', POSBRIDGE_TERMINAL_PORT: '/dev/serial/by-id/usb-Ingenico_Move5000_123-if00', ...extra });

const statusOf = (checks: { check: string; status: string }[], name: string) => checks.find((c) => c.check.startsWith(name))?.status;

describe('doctor', () => {
  it('passes everything on a healthy machine', async () => {
    const checks = await runDoctor(config(), [], deps());
    expect(checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(checks.map((c) => c.check)).toEqual([
      'configuration',
      'port /dev/serial/by-id/usb-Ingenico_Move5000_123-if00',
      'port /dev/serial/by-id/usb-Ingenico_Move5000_123-if00 permissions',
      'port /dev/serial/by-id/usb-Ingenico_Move5000_123-if00 lock',
      'libusb (node-hid)',
      'journal',
      'server',
      'agent token',
      'clock',
    ]);
  });

  it('without the port: fail, and names the ports that exist', async () => {
    const checks = await runDoctor(config({ POSBRIDGE_TERMINAL_PORT: '/dev/ttyACM7' }), [], deps({ stat: async () => Promise.reject(enoent()) }));
    const port = checks.find((c) => c.check === 'port /dev/ttyACM7')!;
    expect(port).toMatchObject({ status: 'fail', detail: expect.stringContaining('ENOENT') });
    expect(port.fix).toContain('/dev/serial/by-id/usb-Ingenico_Move5000_123-if00');
  });

  it('without permission: fail with the exact usermod command and a udev rule', async () => {
    const checks = await runDoctor(config(), [], deps({ access: async (p) => (p.startsWith('/dev/') ? Promise.reject(eacces()) : undefined) }));
    const perm = checks.find((c) => c.check.endsWith('permissions'))!;
    expect(perm.status).toBe('fail');
    expect(perm.fix).toContain('sudo usermod -aG dialout pos');
    expect(perm.fix).toContain('/etc/udev/rules.d/');
  });

  it('without libusb: warn when no HID terminal is configured, fail when one is, with the apt command', async () => {
    const noLib = deps({ loadHid: async () => Promise.reject(new CodedError('TERM_HID_UNAVAILABLE', 'the node-hid native module could not be loaded (libusb-1.0.so.0: cannot open shared object file); install libusb: …')) });
    const serialOnly = await runDoctor(config(), [], noLib);
    expect(serialOnly.find((c) => c.check.startsWith('libusb'))).toMatchObject({ status: 'warn', fix: 'sudo apt-get install -y libusb-1.0-0' });
    const base = config();
    const withHid = { ...base, terminals: [{ ...base.terminals[0]!, driver: 'pbl1-hid' as const, hid: { vendorId: 0x0801, productId: 0x2020, reportBytes: 64 } }] };
    const hidChecks = await runDoctor(withHid, [], noLib);
    expect(hidChecks.find((c) => c.check.startsWith('libusb'))).toMatchObject({ status: 'fail', fix: 'sudo apt-get install -y libusb-1.0-0' });
  });

  it('reports a port held by another program, a rejected token and clock skew', async () => {
    const checks = await runDoctor(
      config(),
      [],
      deps({
        tryOpen: async () => Promise.reject(new Error('Error Resource temporarily unavailable Cannot lock port')),
        probeServer: async () => 401,
        serverDate: async () => 1_700_000_000_000,
        now: () => 1_700_000_090_000,
      }),
    );
    expect(checks.find((c) => c.check.endsWith('lock'))).toMatchObject({ status: 'fail', fix: expect.stringContaining('fuser') });
    expect(statusOf(checks, 'agent token')).toBe('fail');
    expect(checks.find((c) => c.check === 'clock')).toMatchObject({ status: 'fail', fix: expect.stringContaining('timedatectl') });
  });

  it('warns about a /dev/ttyACM path and points at its stable by-id link', async () => {
    const checks = await runDoctor(config({ POSBRIDGE_TERMINAL_PORT: '/dev/ttyACM0' }), [], deps());
    expect(checks.find((c) => c.check.endsWith('stable address'))).toMatchObject({ status: 'warn', fix: 'use /dev/serial/by-id/usb-Ingenico_Move5000_123-if00' });
  });

  it('still checks the port when the token is missing, and prints JSON with --json', async () => {
    const out: string[] = [];
    const io: CommandIo = { out: (t) => out.push(t), err: () => undefined, env: { POSBRIDGE_TERMINAL_PORT: '/dev/ttyACM9' }, argv: ['doctor'], json: true };
    const code = await doctorCommand(io, deps({ stat: async () => Promise.reject(enoent()) }));
    expect(code).toBe(1);
    const parsed = JSON.parse(out.join('')) as { ok: boolean; checks: { check: string; status: string }[] };
    expect(parsed.ok).toBe(false);
    expect(statusOf(parsed.checks, 'configuration')).toBe('fail');
    expect(statusOf(parsed.checks, 'port /dev/ttyACM9')).toBe('fail');
    expect(formatDoctorTable(parsed.checks as never)).toContain('FAIL');
  });

  it('explains each serial the server refused at the last welcome of the agent, with the fix', async () => {
    const status = {
      at: '2026-12-01T10:00:00.000Z',
      agentId: 'ag_1234',
      accepted: ['SN-OK'],
      refused: [
        { serialNumber: 'SN-X', code: 'WS_SERIAL_FOREIGN', message: 'this terminal serial number is registered to another merchant or store' },
        { serialNumber: 'SN-Y', code: 'WS_SERIAL_UNCONFIRMED', message: 'not read from the device' },
      ],
    };
    const read: string[] = [];
    const checks = await runDoctor(config({ POSBRIDGE_JOURNAL: '/var/lib/posbridge/journal.sqlite' }), [], deps({ readServerStatus: async (p) => (read.push(p), status) }));
    expect(read).toEqual(['/var/lib/posbridge/journal.sqlite.server-status.json']);
    expect(checks.find((c) => c.check === 'terminal SN-X')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('WS_SERIAL_FOREIGN'),
      fix: expect.stringContaining('posbridge-server terminal move SN-X --agent ag_1234'),
    });
    expect(checks.find((c) => c.check === 'terminal SN-Y')).toMatchObject({ status: 'fail', fix: expect.stringContaining('cannot read the serial') });
    const fine = await runDoctor(config(), [], deps({ readServerStatus: async () => ({ ...status, refused: [] }) }));
    expect(fine.find((c) => c.check === 'server terminals')).toMatchObject({ status: 'pass', detail: expect.stringContaining('SN-OK') });
  });
});

describe('doctor with several hub URLs', () => {
  const A = 'ws://hub-a/agent/v1';
  const B = 'ws://hub-b/agent/v1';
  const C = 'ws://hub-c/agent/v1';
  const refused = () => Object.assign(new Error('connect ECONNREFUSED 10.0.0.2:80'), { code: 'ECONNREFUSED' });
  /** Probe answers per URL: an HTTP status, or an error to reject with. */
  const probes = (answers: Record<string, number | Error>): Pick<DoctorDeps, 'probeServer'> => ({
    probeServer: async (url) => {
      const a = answers[url];
      if (a === undefined) throw new Error(`unexpected probe of ${url}`);
      if (a instanceof Error) throw a;
      return a;
    },
  });

  it('passes when one URL is reachable, with a warning line (and the fix) for each one that is not; --json stays one valid document', async () => {
    const dates: string[] = [];
    const d = deps({ ...probes({ [A]: refused(), [B]: 101, [C]: 503 }), serverDate: async (url) => (dates.push(url), 1_700_000_000_000) });
    const checks = await runDoctor(config({ POSBRIDGE_SERVER_URL: `${A},${B},${C}` }), [], d);
    expect(checks.filter((c) => c.check.startsWith('server') || c.check === 'agent token' || c.check === 'clock')).toEqual([
      { check: 'server', status: 'pass', detail: '1 of 3 hub URLs reachable' },
      { check: `server ${A}`, status: 'warn', detail: expect.stringContaining('ECONNREFUSED'), fix: expect.stringContaining('firewall') },
      { check: `server ${B}`, status: 'pass', detail: 'reachable, token accepted' },
      { check: `server ${C}`, status: 'warn', detail: 'answered HTTP 503', fix: expect.stringContaining('/agent/v1') },
      { check: 'agent token', status: 'pass', detail: 'accepted by 1 of 1 reachable hub URLs' },
      expect.objectContaining({ check: 'clock', status: 'pass' }),
    ]);
    expect(dates).toEqual(['http://hub-b/agent/v1']); // the clock of the URL that took the agent

    const out: string[] = [];
    const io: CommandIo = {
      out: (t) => out.push(t),
      err: () => undefined,
      env: { POSBRIDGE_SERVER_URL: `${A},${B},${C}`, POSBRIDGE_AGENT_TOKEN: 't', POSBRIDGE_TERMINAL_PORT: '/dev/serial/by-id/usb-Ingenico_Move5000_123-if00' },
      argv: ['doctor'],
      json: true,
    };
    expect(await doctorCommand(io, d)).toBe(0);
    const parsed = JSON.parse(out.join('')) as { ok: boolean; checks: { check: string; status: string }[] };
    expect(parsed.ok).toBe(true);
    expect(parsed.checks.filter((c) => c.status === 'warn').map((c) => c.check)).toEqual(expect.arrayContaining([`server ${A}`, `server ${C}`]));
  });

  it('fails when no URL is reachable (no token or clock line then)', async () => {
    const checks = await runDoctor(config({ POSBRIDGE_SERVER_URL: `${A},${B}` }), [], deps(probes({ [A]: refused(), [B]: refused() })));
    expect(checks.find((c) => c.check === 'server')).toMatchObject({ status: 'fail', detail: 'none of the 2 hub URLs is reachable' });
    expect(checks.filter((c) => c.check.startsWith('server ')).map((c) => c.status)).toEqual(['warn', 'warn']);
    expect(checks.some((c) => c.check === 'agent token' || c.check === 'clock')).toBe(false);
  });

  it('a token one URL rejects while another accepts it is a warning on that URL; rejected by every reachable URL, the token fails', async () => {
    const mixed = await runDoctor(config({ POSBRIDGE_SERVER_URL: `${A},${B}` }), [], deps(probes({ [A]: 401, [B]: 101 })));
    expect(mixed.find((c) => c.check === `server ${A}`)).toMatchObject({ status: 'warn', detail: expect.stringContaining(`that ${B} accepts`) });
    expect(mixed.find((c) => c.check === 'agent token')).toMatchObject({ status: 'pass' });

    const rejected = await runDoctor(config({ POSBRIDGE_SERVER_URL: `${A},${B}` }), [], deps(probes({ [A]: 401, [B]: refused() })));
    expect(rejected.find((c) => c.check === 'server')).toMatchObject({ status: 'pass', detail: '1 of 2 hub URLs reachable' });
    expect(rejected.find((c) => c.check === 'agent token')).toMatchObject({ status: 'fail', fix: expect.stringContaining('posbridge-server agent add') });
  });
});
