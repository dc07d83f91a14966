/**
 * `posbridge-agent doctor`: checks what a technician can fix on the store machine, and says
 * how. Each check gives `pass`, `warn` or `fail`, a detail and, when not passing, the exact fix.
 *
 * Checks: configuration; per serial terminal the port exists, is not held by another program,
 * is readable and writable (dialout group or a udev rule), and uses a stable address; libusb
 * for node-hid; the journal folder; server reachability of every hub URL (over `wss://`, the
 * certificate is verified with the configured `caFile` exactly as the agent does: with several
 * URLs, `server` passes when one is reachable and each unreachable one is a warning) and the
 * agent token; clock
 * skew against the server's HTTP `Date`; terminals the server refused at the agent's last
 * welcome (read from the agent's server-status file, ./server-status.ts), each with its fix.
 *
 * Every I/O goes through {@link DoctorDeps}, so the checks are tested without the hardware.
 */
import { constants as fsConstants } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { access, readFile, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import WebSocket from 'ws';
import { isCodedError, toError } from '@posbridge/protocol/errors';
import type { AgentConfig, AgentTerminalConfig } from './config.ts';
import { certificateProblemOf, serverTrust } from './link/tls.ts';
import { readServerStatus, refusalFix, serverStatusPath, type ServerStatus } from './server-status.ts';
import { LIBUSB_FIX, loadHidModule } from './transports/hid.ts';
import { openSerialPort } from './transports/serial.ts';

/** One line of the doctor's table. */
export interface DoctorCheck {
  check: string;
  status: 'pass' | 'warn' | 'fail';
  detail: string;
  /** What to do, when not passing. */
  fix?: string;
}

/** The I/O the doctor uses (injectable for tests). */
export interface DoctorDeps {
  /** `fs.stat` of a path (follows links). */
  stat(path: string): Promise<{ isCharacterDevice(): boolean; gid: number }>;
  /** Rejects with `EACCES` when the current user cannot read and write `path`. */
  access(path: string, mode: number): Promise<void>;
  /** Opens and closes the port (proves it is not locked); rejects with the open error. */
  tryOpen(terminal: AgentTerminalConfig): Promise<void>;
  /** Name of group `gid` (or undefined). */
  groupName(gid: number): Promise<string | undefined>;
  /** Links in /dev/serial/by-id, resolved: `[link, target]`. */
  serialById(): Promise<[string, string][]>;
  /** Loads node-hid (throws TERM_HID_UNAVAILABLE without libusb). */
  loadHid(): Promise<unknown>;
  /**
   * Attempts an authenticated WebSocket upgrade; resolves with the HTTP status (101 = accepted).
   * `ca`: trusted CA certificates for `wss://` (undefined = Node's roots).
   */
  probeServer(url: string, token: string, timeoutMs: number, ca?: string[]): Promise<number>;
  /** The server's HTTP `Date` header as epoch ms, or undefined (`ca` as in {@link probeServer}). */
  serverDate(httpUrl: string, timeoutMs: number, ca?: string[]): Promise<number | undefined>;
  now(): number;
  userName(): string;
  /** The agent's server-status file (./server-status.ts), or undefined when there is none; absent: not checked. */
  readServerStatus?(path: string): Promise<ServerStatus | undefined>;
}

/** Clock skew above which the doctor warns / fails, ms. */
export const SKEW_WARN_MS = 2_000;
export const SKEW_FAIL_MS = 30_000;

/** The real {@link DoctorDeps}. */
export const defaultDoctorDeps: DoctorDeps = {
  stat: (path) => stat(path),
  access: (path, mode) => access(path, mode),
  tryOpen: async (t) => {
    const port = await openSerialPort({ path: t.path, baudRate: t.baudRate, dataBits: t.dataBits, parity: t.parity });
    await new Promise<void>((resolve) => {
      port.once('close', () => resolve());
      port.destroy();
      setTimeout(resolve, 500).unref();
    });
  },
  groupName: async (gid) => {
    try {
      const line = (await readFile('/etc/group', 'utf8')).split('\n').find((l) => l.split(':')[2] === String(gid));
      return line?.split(':')[0];
    } catch {
      return undefined;
    }
  },
  serialById: async () => {
    const dir = '/dev/serial/by-id';
    try {
      const names = await readdir(dir);
      return Promise.all(names.map(async (n) => [join(dir, n), await realpath(join(dir, n))] as [string, string]));
    } catch {
      return [];
    }
  },
  loadHid: () => loadHidModule(),
  probeServer: (url, token, timeoutMs, ca) =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        headers: { Authorization: `Bearer ${token}` },
        handshakeTimeout: timeoutMs,
        ...(ca !== undefined ? { ca } : {}),
      });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
        ws.terminate();
      });
      ws.on('open', () => {
        resolve(101);
        ws.close(1000, 'doctor');
      });
      ws.on('error', (err) => reject(err));
    }),
  serverDate: (httpUrl, timeoutMs, ca) =>
    new Promise((resolve, reject) => {
      const get = httpUrl.startsWith('https:') ? httpsGet : httpGet;
      const req = get(httpUrl, { timeout: timeoutMs, ...(ca !== undefined ? { ca } : {}) }, (res) => {
        res.resume();
        const date = res.headers.date;
        resolve(date ? Date.parse(date) : undefined);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
    }),
  now: () => Date.now(),
  readServerStatus: (path) => readServerStatus(path),
  userName: () => {
    try {
      return userInfo().username;
    } catch {
      return '$USER';
    }
  },
};

/** Runs every check. `config` undefined: the configuration did not validate (`configProblems`). */
export async function runDoctor(
  config: AgentConfig | undefined,
  configProblems: string[],
  deps: DoctorDeps = defaultDoctorDeps,
  /** `partial`: `config` was built with placeholder server settings; report `configProblems` and skip the server checks. */
  opts: { partial?: boolean } = {},
): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = [];
  if (!config || opts.partial === true) {
    out.push({
      check: 'configuration',
      status: 'fail',
      detail: configProblems.join('; '),
      fix: 'set the missing values (environment, --config file or flags); see `posbridge-agent --help`',
    });
  } else {
    out.push({ check: 'configuration', status: 'pass', detail: `${config.terminals.length} terminal(s), server ${config.serverUrls.join(', ')}` });
  }

  const terminals = config?.terminals ?? [];
  const byId = await deps.serialById().catch(() => [] as [string, string][]);
  for (const t of terminals) {
    if (t.driver.endsWith('-hid')) continue;
    out.push(...(await checkSerialPort(t, byId, deps)));
  }

  const needsHid = terminals.some((t) => t.driver.endsWith('-hid'));
  try {
    await deps.loadHid();
    out.push({ check: 'libusb (node-hid)', status: 'pass', detail: 'node-hid loads' });
  } catch (err) {
    out.push({
      check: 'libusb (node-hid)',
      status: needsHid ? 'fail' : 'warn',
      detail: `${isCodedError(err) ? err.message.split(';')[0] : toError(err).message}${needsHid ? '' : ' (no HID terminal configured: serial terminals are not affected)'}`,
      fix: LIBUSB_FIX,
    });
  }

  if (config) {
    const dir = dirname(config.journalPath);
    try {
      await deps.access(dir, fsConstants.W_OK);
      out.push({ check: 'journal', status: 'pass', detail: `${config.journalPath} (folder writable)` });
    } catch (err) {
      out.push({
        check: 'journal',
        status: 'fail',
        detail: `cannot write in ${dir}: ${toError(err).message}`,
        fix: `sudo install -d -o ${deps.userName()} ${dir}   (or set POSBRIDGE_JOURNAL to a writable file)`,
      });
    }
    if (opts.partial !== true) out.push(...(await checkServer(config, deps)));
    out.push(...(await checkRefusals(config, deps)));
  }
  return out;
}

/** One line per serial the server refused at the agent's last welcome; one pass line when none. */
async function checkRefusals(config: AgentConfig, deps: DoctorDeps): Promise<DoctorCheck[]> {
  const status = await deps.readServerStatus?.(serverStatusPath(config.journalPath)).catch(() => undefined);
  if (!status) return [];
  if (status.refused.length === 0) {
    return [{ check: 'server terminals', status: 'pass', detail: `accepted at ${status.at}: ${status.accepted.join(', ') || '(none)'}` }];
  }
  return status.refused.map((r) => ({
    check: `terminal ${r.serialNumber}`,
    status: 'fail' as const,
    detail: `refused by the server at ${status.at}: ${r.code} ${r.message}`,
    fix: refusalFix(r, status.agentId),
  }));
}

async function checkSerialPort(t: AgentTerminalConfig, byId: [string, string][], deps: DoctorDeps): Promise<DoctorCheck[]> {
  const name = `port ${t.path}`;
  const out: DoctorCheck[] = [];
  if (t.path.startsWith('usb:')) {
    try {
      await deps.tryOpen(t);
      return [{ check: name, status: 'pass', detail: 'found by USB id and opens' }];
    } catch (err) {
      return [{ check: name, status: 'fail', detail: toError(err).message, fix: 'plug the terminal in; check the ids with `posbridge-agent ports`' }];
    }
  }
  let st: { isCharacterDevice(): boolean; gid: number };
  try {
    st = await deps.stat(t.path);
  } catch (err) {
    const known = byId.map(([link]) => link);
    return [
      {
        check: name,
        status: 'fail',
        detail: `does not exist (${(err as { code?: string }).code ?? toError(err).message})`,
        fix:
          known.length > 0
            ? `plug the terminal in, or use one of: ${known.join(', ')}`
            : 'plug the terminal in (USB) and check `posbridge-agent ports`; for Ingenico, enable "cash connection" in Telium Manager and reboot it',
      },
    ];
  }
  out.push({ check: name, status: st.isCharacterDevice() ? 'pass' : 'warn', detail: st.isCharacterDevice() ? 'exists' : 'exists but is not a character device' });

  try {
    await deps.access(t.path, fsConstants.R_OK | fsConstants.W_OK);
    out.push({ check: `${name} permissions`, status: 'pass', detail: 'readable and writable by this user' });
  } catch (err) {
    const group = (await deps.groupName(st.gid)) ?? 'dialout';
    const user = deps.userName();
    out.push({
      check: `${name} permissions`,
      status: 'fail',
      detail: `${user} cannot read/write it (${(err as { code?: string }).code ?? 'denied'}); the device belongs to group ${group}`,
      fix: `sudo usermod -aG ${group} ${user}   then log out and in (or restart the service); or a udev rule: echo 'SUBSYSTEM=="tty", KERNEL=="${t.path.split('/').pop()}", GROUP="${group}", MODE="0660"' | sudo tee /etc/udev/rules.d/60-posbridge.rules && sudo udevadm control --reload && sudo udevadm trigger`,
    });
    return out;
  }

  try {
    await deps.tryOpen(t);
    out.push({ check: `${name} lock`, status: 'pass', detail: 'opens (no other program holds it)' });
  } catch (err) {
    const msg = toError(err).message;
    const locked = /lock|busy|resource temporarily unavailable/i.test(msg);
    out.push({
      check: `${name} lock`,
      status: 'fail',
      detail: locked ? `held by another program: ${msg}` : `cannot open: ${msg}`,
      fix: locked
        ? `find it with \`sudo fuser -v ${t.path}\` and stop it (ModemManager: \`sudo systemctl disable --now ModemManager\`); stop posbridge-agent before running doctor`
        : 'check the cable and the terminal; run `posbridge-agent ports`',
    });
  }

  if (/^\/dev\/tty(ACM|USB)\d+$/.test(t.path)) {
    let target = t.path;
    try {
      target = await realpath(t.path);
    } catch {
      // keep the path as is
    }
    const stable = byId.find(([, real]) => real === target)?.[0];
    out.push({
      check: `${name} stable address`,
      status: 'warn',
      detail: 'the number of /dev/ttyACM*/ttyUSB* can change when USB re-enumerates',
      fix: stable ? `use ${stable}` : 'use the /dev/serial/by-id/… link of the terminal (see `posbridge-agent ports`)',
    });
  }
  return out;
}

/** What probing one hub URL gave: the HTTP status of the upgrade (101 = accepted), or the error. */
type Probe = { readonly url: string; readonly status: number } | { readonly url: string; readonly err: unknown };

const isTokenRefusal = (status: number) => status === 401 || status === 403;
const TOKEN_FIX = 'pair the agent again (`posbridge-server agent pair-code`, then `posbridge-agent pair <code> --server <url>`), or issue a token (`posbridge-server agent add --name <store>`) and set POSBRIDGE_AGENT_TOKEN';
const NETWORK_FIX = 'check the network, DNS and firewall (outbound HTTPS/WSS), and POSBRIDGE_SERVER_URL';

/** Detail and fix of a URL the upgrade did not reach (a certificate problem gets its own fix). */
function unreachable(url: string, err: unknown): { detail: string; fix: string } {
  const cert = certificateProblemOf(err);
  return {
    detail: cert ? `${url}: server certificate not trusted (${cert.code}: ${toError(err).message})` : `${url} not reachable: ${toError(err).message}`,
    fix: cert?.fix ?? NETWORK_FIX,
  };
}

/** The `server` and `agent token` lines of one hub URL (the form of a single-server install). */
function oneServerChecks(probe: Probe): DoctorCheck[] {
  if ('err' in probe) return [{ check: 'server', status: 'fail', ...unreachable(probe.url, probe.err) }];
  const { url, status } = probe;
  if (status === 101) {
    return [
      { check: 'server', status: 'pass', detail: `${url} reachable` },
      { check: 'agent token', status: 'pass', detail: 'accepted by the server' },
    ];
  }
  if (isTokenRefusal(status)) {
    return [
      { check: 'server', status: 'pass', detail: `${url} reachable` },
      { check: 'agent token', status: 'fail', detail: `rejected (HTTP ${status})`, fix: TOKEN_FIX },
    ];
  }
  return [{ check: 'server', status: 'fail', detail: `${url} answered HTTP ${status}`, fix: 'check serverUrl: it must end with /agent/v1' }];
}

/**
 * The lines of several hub URLs: `server` passes when at least one URL takes the upgrade (or
 * answers it with a token refusal), then one `server <url>` line per URL, a warning for each that
 * does not; `agent token` passes when one URL accepted it, fails when every reachable one refused it.
 */
function severalServerChecks(probes: readonly Probe[]): DoctorCheck[] {
  const answered = (p: Probe): p is Probe & { status: number } => 'status' in p;
  const reachable = probes.filter((p) => answered(p) && (p.status === 101 || isTokenRefusal(p.status)));
  const accepted = probes.filter((p) => answered(p) && p.status === 101);
  const out: DoctorCheck[] = [
    reachable.length > 0
      ? { check: 'server', status: 'pass', detail: `${reachable.length} of ${probes.length} hub URLs reachable` }
      : { check: 'server', status: 'fail', detail: `none of the ${probes.length} hub URLs is reachable`, fix: `see the server <url> lines; ${NETWORK_FIX}` },
  ];
  for (const p of probes) {
    const check = `server ${p.url}`;
    if ('err' in p) {
      out.push({ check, status: 'warn', ...unreachable(p.url, p.err) });
    } else if (p.status === 101) {
      out.push({ check, status: 'pass', detail: 'reachable, token accepted' });
    } else if (isTokenRefusal(p.status)) {
      out.push(
        accepted.length > 0
          ? {
              check,
              status: 'warn',
              detail: `rejects the agent token (HTTP ${p.status}) that ${accepted[0]!.url} accepts`,
              fix: 'this URL may belong to another posbridge installation: check POSBRIDGE_SERVER_URL',
            }
          : { check, status: 'pass', detail: `reachable (token rejected, HTTP ${p.status})` },
      );
    } else {
      out.push({ check, status: 'warn', detail: `answered HTTP ${p.status}`, fix: 'check this URL: it must end with /agent/v1' });
    }
  }
  if (accepted.length > 0) {
    out.push({ check: 'agent token', status: 'pass', detail: `accepted by ${accepted.length} of ${reachable.length} reachable hub URLs` });
  } else if (reachable.length > 0) {
    out.push({ check: 'agent token', status: 'fail', detail: `rejected by every reachable hub URL (HTTP ${(reachable[0] as { status: number }).status})`, fix: TOKEN_FIX });
  }
  return out;
}

/**
 * Probes every hub URL (at once, 5 s each) and reports them ({@link oneServerChecks} or
 * {@link severalServerChecks}), then the clock against the first URL that accepted the agent (else
 * the first that answered HTTP at all); no clock line when none answered.
 */
async function checkServer(config: AgentConfig, deps: DoctorDeps): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = [];
  let ca: string[] | undefined;
  try {
    ca = serverTrust(config.caFile);
  } catch (err) {
    out.push({ check: 'server', status: 'fail', detail: toError(err).message, fix: 'point POSBRIDGE_SERVER_CA_FILE (caFile) at a readable PEM file' });
    return out;
  }
  const probes: Probe[] = await Promise.all(
    config.serverUrls.map((url) =>
      deps.probeServer(url, config.token, 5000, ca).then(
        (status): Probe => ({ url, status }),
        (err: unknown): Probe => ({ url, err }),
      ),
    ),
  );
  out.push(...(probes.length === 1 ? oneServerChecks(probes[0]!) : severalServerChecks(probes)));
  const timeSource = probes.find((p) => 'status' in p && p.status === 101) ?? probes.find((p) => 'status' in p);
  if (timeSource === undefined) return out;
  const serverUrl = timeSource.url;
  try {
    const httpUrl = serverUrl.replace(/^ws/, 'http');
    const t0 = deps.now();
    const date = await deps.serverDate(httpUrl, 5000, ca);
    const t1 = deps.now();
    if (date === undefined) {
      out.push({ check: 'clock', status: 'warn', detail: 'the server sent no Date header; skew unknown' });
    } else {
      // The Date header has 1 s resolution: compare against the middle of the request.
      const skewMs = (t0 + t1) / 2 - (date + 500);
      const abs = Math.abs(skewMs);
      const status = abs > SKEW_FAIL_MS ? 'fail' : abs > SKEW_WARN_MS ? 'warn' : 'pass';
      out.push({
        check: 'clock',
        status,
        detail: `local clock is ${Math.round(skewMs / 1000)} s ${skewMs >= 0 ? 'ahead of' : 'behind'} the server`,
        ...(status === 'pass' ? {} : { fix: 'enable time sync: `sudo timedatectl set-ntp true` (systemd-timesyncd or chrony)' }),
      });
    }
  } catch (err) {
    out.push({ check: 'clock', status: 'warn', detail: `could not read the server time: ${toError(err).message}` });
  }
  return out;
}

/** The checks as a fixed-width table (one line per check, fixes indented below). */
export function formatDoctorTable(checks: readonly DoctorCheck[]): string {
  const w = Math.max(5, ...checks.map((c) => c.check.length));
  const lines = [`${'CHECK'.padEnd(w)}  STATUS  DETAIL`];
  for (const c of checks) {
    lines.push(`${c.check.padEnd(w)}  ${c.status.toUpperCase().padEnd(6)}  ${c.detail}`);
    if (c.fix && c.status !== 'pass') lines.push(`${''.padEnd(w)}  fix:    ${c.fix}`);
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  lines.push('', failed === 0 ? 'all checks passed' : `${failed} check(s) failed`);
  return lines.join('\n') + '\n';
}
