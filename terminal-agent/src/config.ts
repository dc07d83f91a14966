/**
 * Configuration of the terminal agent: one zod schema, one defaults object, one loader.
 *
 * Sources, later wins: built-in defaults < JSON file given by `--config <file>` < environment
 * < flags (`--server-url`, `--port`, `--baud`, `--serial`, `--driver`, `--pos-number`,
 * `--journal`, `--log-level`). The token comes only from the environment or the file, directly
 * (`POSBRIDGE_AGENT_TOKEN`, `token`) or as a token file of mode 0600 (`POSBRIDGE_AGENT_TOKEN_FILE`,
 * `tokenFile`, relative to the config file; ./token-file.ts).
 * The loader reports every problem at once in a single `CFG_INVALID` error, and returns a
 * deep-frozen {@link AgentConfig}. This is the only module that reads `process.env` (and only
 * through the `env` argument the caller passes in).
 *
 * Every knob is documented in terminal-agent/README.md.
 * @see CONTRIBUTING.md "Configuration"
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { issueLines } from '@posbridge/kit/zod-issues';
import { CodedError } from '@posbridge/protocol/errors';
import { dirname, resolve } from 'node:path';
import { readCaFile } from './link/tls.ts';
import { readTokenFile } from './token-file.ts';

/** Terminal dialects this agent can drive: the PBL/1 line dialect and Ingenico Concert E+. */
export const TERMINAL_DIALECTS = ['PBL/1', 'concert-e+'] as const;

/**
 * Driver names of the registry (drivers/registry.ts): `<dialect>-<transport>`.
 * `pbl1-serial` is the default; `concert-serial` needs `serialNumber` (Concert cannot tell it).
 */
export const DRIVER_NAMES = ['pbl1-serial', 'concert-serial', 'pbl1-hid'] as const;

/** A driver name of the registry. */
export type DriverName = (typeof DRIVER_NAMES)[number];

/** A USB HID device selector: vendor/product id (decimal or 0x-hex in the file), optional serial. */
export interface HidSelector {
  readonly vendorId: number;
  readonly productId: number;
  /** USB serial number string, to tell two identical devices apart. */
  readonly serialNumber?: string;
  /** Size of one HID report in bytes (without the report id). @default 64 */
  readonly reportBytes: number;
}

/** One terminal the agent drives. */
export interface AgentTerminalConfig {
  /**
   * Device path of the terminal's serial port. Prefer the stable `/dev/serial/by-id/usb-…`
   * link over `/dev/ttyACM0`, whose number can change when USB re-enumerates. For `*-hid`
   * drivers, a label only (the device is found by {@link hid}).
   */
  readonly path: string;
  /** Line speed in baud. @default 9600 */
  readonly baudRate: number;
  /** Data bits (some RS-232 Concert installs are 7E1). @default 8 */
  readonly dataBits: 7 | 8;
  /** Parity. @default 'none' */
  readonly parity: 'none' | 'even' | 'odd';
  /** Wire dialect. @default 'PBL/1' (or the driver's) */
  readonly dialect: (typeof TERMINAL_DIALECTS)[number];
  /** Registry name of the driver. @default from `dialect`: `pbl1-serial` or `concert-serial` */
  readonly driver: DriverName;
  /** Concert: cash-register number sent in requests, 1..99. @default 1 */
  readonly posNumber: number;
  /** HID device selector (`*-hid` drivers). */
  readonly hid?: HidSelector;
  /** Expected serial number; when set, a terminal answering IDENT with another serial is refused. */
  readonly serialNumber?: string;
}

/** Timing and retry knobs; every duration is in milliseconds. */
export interface AgentTimingConfig {
  /** First reconnect delay ceiling (full jitter: the delay is random in [0, min(cap, base·2^n)]). @default 500 */
  readonly reconnectBaseMs: number;
  /** Longest reconnect delay. @default 30000 */
  readonly reconnectCapMs: number;
  /** Interval at which unacknowledged payment.result / payment.rejected are sent again. @default 3000 */
  readonly resendIntervalMs: number;
  /** How long to wait for `hub.welcome` after sending `agent.hello` before reconnecting. @default 10000 */
  readonly helloTimeoutMs: number;
  /** How long to wait for the answer to IDENT. @default 3000 */
  readonly identTimeoutMs: number;
  /** How long to wait for ACK after a SALE before resending it. @default 2000 */
  readonly ackTimeoutMs: number;
  /** SALE sends (first one included) before falling back to STATUS recovery. @default 3 */
  readonly saleAttempts: number;
  /** How long to wait for RESULT after the ACK; must exceed the terminal's card and PIN time-outs. @default 180000 */
  readonly resultTimeoutMs: number;
  /** How long to wait for the answer to one STATUS. @default 2000 */
  readonly statusTimeoutMs: number;
  /** STATUS attempts when a RESULT was lost, before reporting the outcome as unknown. @default 5 */
  readonly statusAttempts: number;
  /** Delay before the 2nd STATUS attempt; doubles after each failed attempt (capped at 10× this). @default 1000 */
  readonly statusBackoffMs: number;
  /** Interval of the background STATUS that keeps trying to resolve an `unknown` outcome. @default 30000 */
  readonly recoveryIntervalMs: number;
  /** Concert E+: wait for the terminal's answer ENQ; must exceed its card/PIN time-outs. @default 120000 */
  readonly concertAnswerTimeoutMs: number;
}

/** Most hub URLs one agent may be given (`serverUrls`). */
export const MAX_SERVER_URLS = 16;

/** Longest hub URL accepted, in characters. */
export const MAX_SERVER_URL_CHARS = 2048;

/** The validated, deep-frozen agent configuration. */
export interface AgentConfig extends AgentTimingConfig {
  /**
   * Hub endpoints, `ws://host:port/agent/v1` (or `wss://`), in the order the link tries them
   * (link/link.ts): 1 to {@link MAX_SERVER_URLS}, no two alike, all of one scheme, none carrying
   * credentials. One URL (a single server or a load balancer) is the common case; several are the
   * instances of a cluster, any of which may take the agent. From `serverUrl` (one URL) or
   * `serverUrls` (a list) in the file, or a comma-separated `POSBRIDGE_SERVER_URL` / `--server-url`.
   */
  readonly serverUrls: readonly string[];
  /** Agent token issued by the server; sent as `Authorization: Bearer <token>`. Secret. */
  readonly token: string;
  /**
   * PEM file of a CA that signed the server's certificate (a private CA), trusted for `wss://`
   * in addition to Node's bundled roots. Certificate verification is never turned off.
   */
  readonly caFile?: string;
  /** Terminals driven by this agent (at least one). */
  readonly terminals: readonly AgentTerminalConfig[];
  /** pino level. @default 'info' */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** SQLite file of the crash-safe journal. @default './posbridge-agent-journal.sqlite' */
  readonly journalPath: string;
}

/** Defaults of every optional knob. */
export const AGENT_CONFIG_DEFAULTS: Readonly<AgentTimingConfig & { logLevel: AgentConfig['logLevel'] }> = Object.freeze({
  reconnectBaseMs: 500,
  reconnectCapMs: 30_000,
  resendIntervalMs: 3_000,
  helloTimeoutMs: 10_000,
  identTimeoutMs: 3_000,
  ackTimeoutMs: 2_000,
  saleAttempts: 3,
  resultTimeoutMs: 180_000,
  statusTimeoutMs: 2_000,
  statusAttempts: 5,
  statusBackoffMs: 1_000,
  recoveryIntervalMs: 30_000,
  concertAnswerTimeoutMs: 120_000,
  logLevel: 'info',
});

/** Default journal file, relative to the working directory. */
export const DEFAULT_JOURNAL_PATH = './posbridge-agent-journal.sqlite';

/** Default baud rate of a terminal port. */
export const DEFAULT_BAUD_RATE = 9600;

const TIMING_KEYS = [
  'reconnectBaseMs',
  'reconnectCapMs',
  'resendIntervalMs',
  'helloTimeoutMs',
  'identTimeoutMs',
  'ackTimeoutMs',
  'saleAttempts',
  'resultTimeoutMs',
  'statusTimeoutMs',
  'statusAttempts',
  'statusBackoffMs',
  'recoveryIntervalMs',
  'concertAnswerTimeoutMs',
] as const satisfies readonly (keyof AgentTimingConfig)[];

/** Environment variable of a timing knob: `ackTimeoutMs` → `POSBRIDGE_ACK_TIMEOUT_MS`. */
export function envNameOf(key: keyof AgentTimingConfig): string {
  return `POSBRIDGE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** Env values are strings: accept decimal integers for numeric knobs. */
const intFromText = (schema: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v), schema);

const positiveInt = intFromText(z.number().int().positive());

const usbId = z.preprocess(
  (v) => (typeof v === 'string' && /^(0x[0-9a-fA-F]{1,4}|\d{1,5})$/.test(v.trim()) ? Number(v.trim()) : v),
  z.number().int().min(0).max(0xffff),
);

const HidSchema = z.strictObject({
  vendorId: usbId,
  productId: usbId,
  serialNumber: z.string().min(1).max(128).optional(),
  reportBytes: intFromText(z.number().int().min(8).max(1024)).default(64),
});

const TerminalSchema = z
  .strictObject({
    path: z.string().min(1, 'must not be empty'),
    baudRate: intFromText(z.number().int().min(50).max(4_000_000)).default(DEFAULT_BAUD_RATE),
    dataBits: z.preprocess((v) => (v === '7' ? 7 : v === '8' ? 8 : v), z.union([z.literal(7), z.literal(8)])).default(8),
    parity: z.enum(['none', 'even', 'odd']).default('none'),
    dialect: z.enum(TERMINAL_DIALECTS).optional(),
    driver: z.enum(DRIVER_NAMES).optional(),
    posNumber: intFromText(z.number().int().min(1).max(99)).default(1),
    hid: HidSchema.optional(),
    serialNumber: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 . _ -')
      .optional(),
  })
  .transform((t, ctx) => {
    const driver: DriverName = t.driver ?? (t.dialect === 'concert-e+' ? 'concert-serial' : 'pbl1-serial');
    const dialect = driver.startsWith('concert') ? ('concert-e+' as const) : ('PBL/1' as const);
    if (t.dialect !== undefined && t.dialect !== dialect) {
      ctx.addIssue({ code: 'custom', path: ['dialect'], message: `dialect ${t.dialect} does not match driver ${driver}` });
    }
    if (dialect === 'concert-e+' && t.serialNumber === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['serialNumber'],
        message: 'is required for Concert E+ terminals (the protocol cannot read it): copy it from the terminal label',
      });
    }
    if (driver.endsWith('-hid') && t.hid === undefined) {
      ctx.addIssue({ code: 'custom', path: ['hid'], message: `is required for driver ${driver} ({ vendorId, productId, serialNumber? })` });
    }
    return { ...t, driver, dialect };
  });

/**
 * What is wrong with a list of hub URLs, as one message per problem (empty when it is valid):
 * each must parse as a `ws://` or `wss://` URL of at most {@link MAX_SERVER_URL_CHARS}
 * characters without `user:password@` (URLs are logged; the token has its own setting); the list
 * holds 1 to {@link MAX_SERVER_URLS} URLs, none twice (compared as parsed: `WS://A:80/x` is
 * `ws://a/x`), all of one scheme (mixing them would make TLS depend on which instance answers).
 * Entries are named by position (`entry 2 of 3`) when there are several, never by their text.
 */
export function serverUrlProblems(urls: readonly string[]): string[] {
  if (urls.length === 0) return ['is required'];
  if (urls.length > MAX_SERVER_URLS) return [`lists ${urls.length} URLs; at most ${MAX_SERVER_URLS} are allowed`];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const schemes = new Set<string>();
  urls.forEach((text, i) => {
    const which = urls.length === 1 ? '' : `entry ${i + 1} of ${urls.length}: `;
    if (text.trim() === '') {
      problems.push(`${which}is empty`);
      return;
    }
    if (text.length > MAX_SERVER_URL_CHARS) {
      problems.push(`${which}is longer than ${MAX_SERVER_URL_CHARS} characters`);
      return;
    }
    if (!URL.canParse(text) || !/^wss?:$/.test(new URL(text).protocol)) {
      problems.push(`${which}must be a ws:// or wss:// URL`);
      return;
    }
    const url = new URL(text);
    if (url.username !== '' || url.password !== '') {
      problems.push(`${which}must not carry user:password@ (set the token in POSBRIDGE_AGENT_TOKEN)`);
      return;
    }
    schemes.add(url.protocol);
    const first = seen.get(url.href);
    if (first !== undefined) problems.push(`${which}repeats entry ${first + 1}`);
    else seen.set(url.href, i);
  });
  if (schemes.size > 1) problems.push('mixes ws:// and wss:// URLs: use wss:// for every instance (or ws:// for every one on a trusted network)');
  return problems;
}

/** Splits a comma-separated list of hub URLs (env or flag), trimming each entry. */
export function splitServerUrls(text: string): string[] {
  return text.split(',').map((u) => u.trim());
}

const ConfigSchema = z
  .strictObject({
    serverUrls: z
      .array(z.string(), { error: 'is required' })
      .superRefine((urls, ctx) => {
        for (const message of serverUrlProblems(urls)) ctx.addIssue({ code: 'custom', message });
      }),
    token: z.string({ error: 'is required' }).min(1, 'is required'),
    caFile: z.string().min(1).optional(),
    terminals: z.array(TerminalSchema, { error: 'is required' }).min(1, 'at least one terminal is required'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    journalPath: z.string().min(1).default(DEFAULT_JOURNAL_PATH),
    ...Object.fromEntries(TIMING_KEYS.map((k) => [k, positiveInt.default(AGENT_CONFIG_DEFAULTS[k])])),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.caFile !== undefined) {
      if (cfg.serverUrls.some((u) => URL.canParse(u) && new URL(u).protocol !== 'wss:')) {
        ctx.addIssue({ code: 'custom', path: ['caFile'], message: 'is set but serverUrl is not wss:// (a CA only applies to TLS)' });
      }
      try {
        readCaFile(cfg.caFile);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['caFile'], message: (err as Error).message });
      }
    }
    const seenPath = new Set<string>();
    const seenSerial = new Set<string>();
    cfg.terminals.forEach((t, i) => {
      if (seenPath.has(t.path)) ctx.addIssue({ code: 'custom', path: ['terminals', i, 'path'], message: `duplicate path ${t.path}` });
      seenPath.add(t.path);
      if (t.serialNumber !== undefined) {
        if (seenSerial.has(t.serialNumber)) {
          ctx.addIssue({ code: 'custom', path: ['terminals', i, 'serialNumber'], message: `duplicate serial ${t.serialNumber}` });
        }
        seenSerial.add(t.serialNumber);
      }
    });
  });

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Flags every command accepts (values win over the environment and the file). */
const FLAG_NAMES = ['config', 'server-url', 'port', 'baud', 'serial', 'driver', 'pos-number', 'journal', 'log-level'] as const;

/** `parseArgs` options of the agent's flags (shared with the CLI). */
export const AGENT_FLAG_OPTIONS = {
  config: { type: 'string', short: 'c' },
  'server-url': { type: 'string' },
  port: { type: 'string' },
  baud: { type: 'string' },
  serial: { type: 'string' },
  driver: { type: 'string' },
  'pos-number': { type: 'string' },
  journal: { type: 'string' },
  'log-level': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Builds the agent configuration from the environment and command-line arguments.
 *
 * @param env - usually `process.env`: `POSBRIDGE_SERVER_URL` (one hub URL, or several separated
 *   by commas), `POSBRIDGE_AGENT_TOKEN`, `POSBRIDGE_AGENT_TOKEN_FILE`, `POSBRIDGE_SERVER_CA_FILE`,
 *   `POSBRIDGE_TERMINAL_PORT`, `POSBRIDGE_TERMINAL_BAUD`, `POSBRIDGE_TERMINAL_SERIAL`,
 *   `LOG_LEVEL`, and `POSBRIDGE_<KNOB>` for every timing knob ({@link envNameOf}).
 * @param argv - arguments after the command name; only `--config <file.json>` is read here
 *   (a positional `run` and `--help` are tolerated).
 * @throws CodedError `CFG_INVALID` whose message lists every problem found.
 */
export function loadAgentConfig(env: Record<string, string | undefined>, argv: readonly string[] = []): AgentConfig {
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};
  /** Where each top-level key came from, to name the right knob in error messages. */
  const source = new Map<string, string>();

  let configFile: string | undefined;
  let flags: Partial<Record<(typeof FLAG_NAMES)[number], string>> = {};
  try {
    const { values } = parseArgs({ args: [...argv], options: AGENT_FLAG_OPTIONS, allowPositionals: true, strict: true });
    configFile = values.config;
    flags = Object.fromEntries(FLAG_NAMES.flatMap((k) => (typeof values[k] === 'string' ? [[k, values[k]]] : [])));
  } catch (err) {
    problems.push(`command line: ${(err as Error).message}`);
  }

  if (configFile !== undefined) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(configFile, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        problems.push(`config file ${configFile}: must contain a JSON object`);
      } else {
        for (const [k, v] of Object.entries(parsed)) {
          raw[k] = v;
          source.set(k, `${k} (config file ${configFile})`);
        }
        // `serverUrl` is the one-URL form of `serverUrls`: the rest of the loader sees the list.
        if ('serverUrl' in raw) {
          if ('serverUrls' in raw) {
            problems.push(`config file ${configFile}: serverUrl and serverUrls are both set: keep one (serverUrl for one hub URL, serverUrls for a list)`);
          } else {
            raw['serverUrls'] = [raw['serverUrl']];
            source.set('serverUrls', source.get('serverUrl') ?? 'serverUrl');
          }
          delete raw['serverUrl'];
        }
      }
    } catch (err) {
      problems.push(`config file ${configFile}: ${(err as Error).message}`);
    }
  }

  const fromEnv = (key: string, name: string): void => {
    const v = env[name];
    if (v === undefined || v === '') return;
    raw[key] = v;
    source.set(key, name);
  };
  const serverUrlEnv = env['POSBRIDGE_SERVER_URL'];
  if (serverUrlEnv !== undefined && serverUrlEnv !== '') {
    // The environment's list replaces the file's.
    raw['serverUrls'] = splitServerUrls(serverUrlEnv);
    source.set('serverUrls', 'POSBRIDGE_SERVER_URL');
  }
  fromEnv('token', 'POSBRIDGE_AGENT_TOKEN');
  fromEnv('tokenFile', 'POSBRIDGE_AGENT_TOKEN_FILE');
  // A token file (./token-file.ts, as `posbridge-agent pair` writes it) gives the token when none is given directly.
  if (typeof raw['tokenFile'] === 'string') {
    const file = source.get('tokenFile') === 'POSBRIDGE_AGENT_TOKEN_FILE' || configFile === undefined ? raw['tokenFile'] : resolve(dirname(configFile), raw['tokenFile']);
    if (raw['token'] === undefined) {
      const read = readTokenFile(file);
      if ('token' in read) {
        raw['token'] = read.token;
        source.set('token', `token (${file})`);
      } else problems.push(read.problem);
    }
  }
  delete raw['tokenFile'];
  fromEnv('caFile', 'POSBRIDGE_SERVER_CA_FILE');
  fromEnv('logLevel', 'LOG_LEVEL');
  fromEnv('journalPath', 'POSBRIDGE_JOURNAL');
  for (const key of TIMING_KEYS) fromEnv(key, envNameOf(key));

  // Flags win over the environment.
  const fromFlag = (key: string, flag: (typeof FLAG_NAMES)[number]): void => {
    const v = flags[flag];
    if (v === undefined) return;
    raw[key] = v;
    source.set(key, `--${flag}`);
  };
  if (flags['server-url'] !== undefined) {
    raw['serverUrls'] = splitServerUrls(flags['server-url']);
    source.set('serverUrls', '--server-url');
  }
  fromFlag('logLevel', 'log-level');
  fromFlag('journalPath', 'journal');

  const pick = (flag: (typeof FLAG_NAMES)[number], name: string): string | undefined => {
    const v = flags[flag] ?? env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const port = pick('port', 'POSBRIDGE_TERMINAL_PORT');
  const baud = pick('baud', 'POSBRIDGE_TERMINAL_BAUD');
  const serial = pick('serial', 'POSBRIDGE_TERMINAL_SERIAL');
  const driver = pick('driver', 'POSBRIDGE_TERMINAL_DRIVER');
  const posNumber = pick('pos-number', 'POSBRIDGE_TERMINAL_POS_NUMBER');
  if (port !== undefined) {
    // The env/flags describe the one terminal of a single-terminal install and replace the file's list.
    raw['terminals'] = [
      {
        path: port,
        ...(baud !== undefined ? { baudRate: baud } : {}),
        ...(serial !== undefined ? { serialNumber: serial } : {}),
        ...(driver !== undefined ? { driver } : {}),
        ...(posNumber !== undefined ? { posNumber } : {}),
      },
    ];
    source.set('terminals', flags.port !== undefined ? '--port/--baud/--serial/--driver' : 'POSBRIDGE_TERMINAL_PORT/_BAUD/_SERIAL/_DRIVER');
  } else if (baud !== undefined || serial !== undefined || driver !== undefined) {
    problems.push('a terminal baud rate, serial or driver is set (env or flag) but POSBRIDGE_TERMINAL_PORT / --port is not');
  }
  if (!source.has('serverUrls')) source.set('serverUrls', 'serverUrl (POSBRIDGE_SERVER_URL)');
  if (!source.has('token')) source.set('token', 'token (POSBRIDGE_AGENT_TOKEN)');
  if (!source.has('terminals')) source.set('terminals', 'terminals (POSBRIDGE_TERMINAL_PORT)');

  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    problems.push(...issueLines(parsed.error.issues, { root: '(config)', rename: (head) => source.get(head) ?? head }));
  }
  if (problems.length > 0 || !parsed.success) {
    throw new CodedError('CFG_INVALID', `configuration is invalid:\n  - ${problems.join('\n  - ')}`, {
      details: { problems },
    });
  }
  return deepFreeze(parsed.data as unknown as AgentConfig);
}

/** The config as it may be logged: the token replaced by `[redacted]`. */
export function redactConfig(config: AgentConfig): Record<string, unknown> {
  return { ...config, token: '[redacted]' };
}

/** The process environment; the one place of the agent that touches `process.env`. */
export function readProcessEnv(): Record<string, string | undefined> {
  return process.env;
}
