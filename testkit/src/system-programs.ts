/**
 * Optional system programs (Debian packages) that some suites need, and the one rule for a
 * missing one: its suites are skipped with ONE loud line naming the package to install, except
 * under `CI=true`, where a missing program fails the run before any test starts.
 *
 * A suite declares what it needs in its header comment, the way vitest reads
 * `@vitest-environment`:
 *
 * ```ts
 * /**
 *  * The simulator on a real pty …
 *  * @requires-program socat
 *  *\/
 * ```
 *
 * Several programs are separated by spaces (`@requires-program chromium socat`). The root
 * `vitest.config.ts` calls {@link gateSuites} for every project, so a suite never skips itself.
 *
 * @see docs/testing.md
 */
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { natsServerPath, postgresBinDir } from './services.ts';

/** An optional program some suites need. */
export interface SystemProgram {
  /** The program's name as used in `@requires-program`. */
  readonly name: string;
  /** The Debian package that installs it. */
  readonly debianPackage: string;
  /** What the suites use it for (printed in the skip line). */
  readonly purpose: string;
  /** Absolute path of the program in this environment, or undefined when it is not there. */
  locate(env: NodeJS.ProcessEnv): string | undefined;
}

/** True when `path` is an executable file. */
function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on `searchPath` (a PATH-style list), or undefined. */
export function findOnPath(name: string, searchPath: string | undefined): string | undefined {
  for (const dir of (searchPath ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Every program a suite may name in `@requires-program`. */
export const SYSTEM_PROGRAMS: Readonly<Record<string, SystemProgram>> = {
  socat: {
    name: 'socat',
    debianPackage: 'socat',
    purpose: 'real pseudo-terminals between the agent and the simulated terminal',
    locate: (env) => findOnPath('socat', env['PATH']),
  },
  chromium: {
    name: 'chromium',
    debianPackage: 'chromium',
    purpose: 'the Payment App in a real browser',
    // The browser suites launch POSBRIDGE_CHROMIUM, else Debian's /usr/bin/chromium.
    locate: (env) => {
      const path = env['POSBRIDGE_CHROMIUM'] ?? '/usr/bin/chromium';
      return isExecutable(path) ? path : undefined;
    },
  },
  openssl: {
    name: 'openssl',
    debianPackage: 'openssl',
    purpose: 'a throwaway TLS PKI for the HTTPS and wss:// suites',
    locate: (env) => findOnPath('openssl', env['PATH']),
  },
  postgres: {
    name: 'postgres',
    debianPackage: 'postgresql',
    purpose: 'a throwaway PostgreSQL server for the cluster store and its contract suites',
    // initdb, pg_ctl and postgres of POSBRIDGE_PG_BINDIR, else the newest /usr/lib/postgresql/<major>/bin.
    locate: (env) => {
      const dir = postgresBinDir(env);
      return dir === undefined ? undefined : join(dir, 'postgres');
    },
  },
  'nats-server': {
    name: 'nats-server',
    debianPackage: 'nats-server',
    purpose: 'a throwaway NATS server, the bus between cluster instances',
    locate: (env) => natsServerPath(env),
  },
};

/** The `@requires-program` marker: a doc-comment line `* @requires-program a b`. */
const MARKER = /^\s*(?:\/\*\*|\*)?\s*@requires-program\s+([^\n*]+)/gm;

/**
 * The programs a suite's source declares with `@requires-program`.
 * @throws Error naming the suite when it names a program that is not in {@link SYSTEM_PROGRAMS}.
 */
export function requiredPrograms(source: string, suite = 'suite'): string[] {
  const names = new Set<string>();
  for (const match of source.matchAll(MARKER)) {
    for (const name of (match[1] ?? '').trim().split(/\s+/)) {
      if (!(name in SYSTEM_PROGRAMS)) {
        throw new Error(`${suite}: @requires-program names unknown program "${name}" (known: ${Object.keys(SYSTEM_PROGRAMS).join(', ')})`);
      }
      names.add(name);
    }
  }
  return [...names];
}

/** Test files (`*.test.ts`, `*.test.tsx`) under `root`, as paths relative to it; node_modules skipped. */
export function listSuites(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.test\.tsx?$/.test(entry.name)) out.push(relative(root, path));
    }
  };
  walk(root);
  return out.sort();
}

/** `1 suite`, `2 suites`. */
const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Lines already written by this process (see {@link gateSuites}). */
const WARNED = Symbol.for('posbridge.testkit.gate-warned');

/** Thrown under `CI=true` when a suite needs a program that is not installed. */
export class MissingSystemProgramError extends Error {
  override readonly name = 'MissingSystemProgramError';
}

/** Inputs of {@link gateSuites}; the defaults read this process and the file system. */
export interface GateOptions {
  /** Project roots (absolute), each scanned for suites. */
  readonly roots: readonly string[];
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Where the skip lines go. @default process.stderr.write */
  readonly warn?: (line: string) => void;
  /** @default listSuites */
  readonly list?: (root: string) => string[];
  /** @default readFileSync(path, 'utf8') */
  readonly read?: (path: string) => string;
}

/**
 * Decides which suites run. For each missing program: under `CI=true` throws; otherwise writes
 * one line (`SKIPPING n suites that need socat … apt-get install socat`) and returns those suites
 * for the projects' `exclude`.
 * @returns per root, the suites (relative to that root) to exclude.
 * @throws MissingSystemProgramError under `CI=true` when any needed program is missing, listing
 *   every missing program with its package and suites.
 */
export function gateSuites(opts: GateOptions): Map<string, string[]> {
  const env = opts.env ?? process.env;
  const warn = opts.warn ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const list = opts.list ?? listSuites;
  const read = opts.read ?? ((path: string) => readFileSync(path, 'utf8'));
  const present = new Map<string, boolean>();
  const has = (name: string): boolean => {
    let known = present.get(name);
    if (known === undefined) {
      known = SYSTEM_PROGRAMS[name]?.locate(env) !== undefined;
      present.set(name, known);
    }
    return known;
  };
  const excluded = new Map<string, string[]>();
  const suitesByMissing = new Map<string, string[]>();
  for (const root of opts.roots) {
    const skip: string[] = [];
    for (const suite of list(root)) {
      const missing = requiredPrograms(read(join(root, suite)), suite).filter((name) => !has(name));
      if (missing.length === 0) continue;
      skip.push(suite);
      for (const name of missing) suitesByMissing.set(name, [...(suitesByMissing.get(name) ?? []), join(root, suite)]);
    }
    excluded.set(root, skip);
  }
  if (suitesByMissing.size === 0) return excluded;
  if (env['CI'] === 'true') {
    const lines = [...suitesByMissing].map(([name, suites]) => {
      const program = SYSTEM_PROGRAMS[name];
      return `  ${name} (Debian package ${program?.debianPackage ?? name}: apt-get install ${program?.debianPackage ?? name}), needed by ${plural(suites.length, 'suite')}`;
    });
    throw new MissingSystemProgramError(`CI=true and system programs are missing:\n${lines.join('\n')}`);
  }
  // vitest evaluates the root config once per project in one process: say each line once.
  const said = ((globalThis as Record<symbol, Set<string> | undefined>)[WARNED] ??= new Set<string>());
  for (const [name, suites] of suitesByMissing) {
    const program = SYSTEM_PROGRAMS[name];
    const pkg = program?.debianPackage ?? name;
    const line =
      `!!! posbridge tests: SKIPPING ${plural(suites.length, 'suite')} that need ${name} (${program?.purpose ?? ''}): ` +
      `not installed — apt-get install ${pkg} (Debian package "${pkg}"); under CI=true this fails the run`;
    if (opts.warn === undefined && said.has(line)) continue;
    said.add(line);
    warn(line);
  }
  return excluded;
}
