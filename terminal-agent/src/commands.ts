/**
 * The technician commands of `posbridge-agent` besides `run`: `ports`, `hid`, `identify`,
 * `doctor`. Each returns its exit code and writes only to the streams it is given.
 */
import { pino } from 'pino';
import { isCodedError, toError } from '@posbridge/protocol/errors';
import { loadAgentConfig, type AgentConfig } from './config.ts';
import { defaultDoctorDeps, formatDoctorTable, runDoctor, type DoctorDeps } from './doctor.ts';
import { createDriver } from './drivers/registry.ts';
import { listHidDevices, type HidModule } from './transports/hid.ts';

/** Where a command writes. */
export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
  argv: readonly string[];
  json: boolean;
}

function table(rows: Record<string, string>[], columns: string[]): string {
  const w = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i] ?? 0)).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((r) => line(columns.map((c) => r[c] ?? '')))].join('\n') + '\n';
}

const hex4 = (n: number | undefined) => (n === undefined ? '' : `0x${n.toString(16).padStart(4, '0')}`);

/** `posbridge-agent ports`: serial ports with their stable /dev/serial/by-id links and USB ids. */
export async function portsCommand(io: CommandIo): Promise<number> {
  const byId = await defaultDoctorDeps.serialById();
  let listed: { path: string; vendorId?: string; productId?: string; serialNumber?: string; manufacturer?: string }[] = [];
  try {
    const mod = (await import('serialport')) as typeof import('serialport') & { default?: typeof import('serialport') };
    const SerialPort = mod.SerialPort ?? mod.default?.SerialPort;
    listed = await SerialPort.list();
  } catch (err) {
    io.err(`posbridge-agent: could not list serial ports (${toError(err).message}); showing /dev/serial/by-id only\n`);
  }
  const rows = listed.map((p) => ({
    path: p.path,
    'by-id': byId.find(([, real]) => real === p.path)?.[0] ?? '',
    vid: p.vendorId ?? '',
    pid: p.productId ?? '',
    serial: p.serialNumber ?? '',
    manufacturer: p.manufacturer ?? '',
  }));
  for (const [link, real] of byId) if (!rows.some((r) => r.path === real)) rows.push({ path: real, 'by-id': link, vid: '', pid: '', serial: '', manufacturer: '' });
  if (io.json) io.out(JSON.stringify(rows, null, 2) + '\n');
  else if (rows.length === 0) io.out('no serial ports found (pseudo-terminals from socat are not listed: configure them by path)\n');
  else io.out(table(rows, ['path', 'by-id', 'vid', 'pid', 'serial', 'manufacturer']) + '\nUse the by-id path in the config: it survives USB re-enumeration.\n');
  return 0;
}

/** `posbridge-agent hid`: HID devices with their identification. */
export async function hidCommand(io: CommandIo, hid?: HidModule): Promise<number> {
  let devices;
  try {
    devices = await listHidDevices(hid);
  } catch (err) {
    io.err(`posbridge-agent: ${toError(err).message}\n`);
    return 1;
  }
  const rows = devices.map((d) => ({
    vid: hex4(d.vendorId),
    pid: hex4(d.productId),
    serial: d.serialNumber ?? '',
    manufacturer: d.manufacturer ?? '',
    product: d.product ?? '',
    'usage-page': hex4(d.usagePage),
    path: d.path ?? '',
  }));
  if (io.json) io.out(JSON.stringify(devices, null, 2) + '\n');
  else if (rows.length === 0) io.out('no HID devices found\n');
  else io.out(table(rows, ['vid', 'pid', 'serial', 'manufacturer', 'product', 'usage-page', 'path']));
  return 0;
}

/** `posbridge-agent identify`: opens each configured terminal and prints who it says it is. */
export async function identifyCommand(io: CommandIo): Promise<number> {
  let config: AgentConfig;
  try {
    config = loadAgentConfig({ ...io.env, POSBRIDGE_SERVER_URL: io.env['POSBRIDGE_SERVER_URL'] ?? 'ws://unused.invalid/agent/v1', POSBRIDGE_AGENT_TOKEN: io.env['POSBRIDGE_AGENT_TOKEN'] ?? 'unused' }, io.argv);
  } catch (err) {
    io.err(`posbridge-agent: ${toError(err).message}\n`);
    return 2;
  }
  const logger = pino({ level: 'silent' });
  const results: Record<string, unknown>[] = [];
  let failed = 0;
  for (const terminal of config.terminals) {
    const driver = await createDriver({ terminal, config, logger });
    try {
      const identity = await driver.identify();
      const source = terminal.driver.startsWith('concert') ? 'configured (Concert E+ cannot report it)' : 'read from the terminal';
      results.push({ path: terminal.path, driver: terminal.driver, ...identity, source });
    } catch (err) {
      failed += 1;
      results.push({ path: terminal.path, driver: terminal.driver, error: isCodedError(err) ? `${err.code}: ${err.message}` : toError(err).message });
    } finally {
      await driver.close();
    }
  }
  if (io.json) io.out(JSON.stringify(results, null, 2) + '\n');
  else io.out(table(results.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v ?? '')]))), ['path', 'driver', 'serialNumber', 'model', 'vendor', 'firmware', 'source', 'error']));
  return failed > 0 ? 1 : 0;
}

/** `posbridge-agent doctor`: the pass/fail table (or `--json`); exit 1 when a check fails. */
export async function doctorCommand(io: CommandIo, deps: DoctorDeps = defaultDoctorDeps): Promise<number> {
  let config: AgentConfig | undefined;
  let problems: string[] = [];
  try {
    config = loadAgentConfig(io.env, io.argv);
  } catch (err) {
    const details = isCodedError(err) ? (err.details?.['problems'] as string[] | undefined) : undefined;
    problems = details ?? [toError(err).message];
    // Still check the ports, libusb and journal the environment names, when that part is valid.
    let partial: AgentConfig | undefined;
    try {
      partial = loadAgentConfig({ ...io.env, POSBRIDGE_SERVER_URL: 'ws://unused.invalid/agent/v1', POSBRIDGE_AGENT_TOKEN: 'unused' }, io.argv);
    } catch {
      partial = undefined;
    }
    return report(io, await runDoctor(partial, problems, deps, { partial: true }));
  }
  return report(io, await runDoctor(config, problems, deps));
}

function report(io: CommandIo, checks: Awaited<ReturnType<typeof runDoctor>>): number {
  if (io.json) io.out(JSON.stringify({ ok: !checks.some((c) => c.status === 'fail'), checks }, null, 2) + '\n');
  else io.out(formatDoctorTable(checks));
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}
