/**
 * `npm run pack` — builds (`npm run build`) and packs the four installable programs into one
 * folder: `posbridge-server-<v>.tgz`, `posbridge-terminal-agent-<v>.tgz`,
 * `posbridge-hardware-sim-<v>.tgz`, `posbridge-homologate-<v>.tgz`, each installable on its own with `npm install -g <tarball>`
 * (docs/adr/0004, docs/deployment.md).
 *
 * Each package is staged in `<out>/stage/<name>/` as it ships: its bin/, its compiled dist/, its
 * README, the server's Payment App web build (`payment-app/`, without source maps) and console (`console/`), and
 * `@posbridge/protocol` and `@posbridge/kit` (compiled) vendored in `dist/node_modules/`, where
 * Node's resolution finds them first, so no install ever asks a registry for a `@posbridge/*`
 * name. (Not `bundleDependencies`: npm 11 then skips linking the other dependencies' bins, and
 * serialport's install script fails with `node-gyp-build: not found`; docs/adr/0004.) The staged
 * package.json drops `private`, the scripts, the devDependencies, the `@posbridge/*`
 * dependencies and the `@posbridge/source` export condition (there is no src/ in a tarball), and
 * adds the vendored packages' own dependencies (zod, pino), which Node finds one level up.
 *
 * Prints one JSON line on stdout: `{"event":"packed","dir":…,"tarballs":[{"name","file","bytes"}],"buildMs":…}`.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const HELP = `Usage: npm run pack [-- options]

Builds every package (npm run build) and packs the server, the terminal agent, the simulator and
posbridge-homologate into installable tarballs, with @posbridge/protocol and @posbridge/kit vendored inside each.
Install one with: npm install -g <dir>/posbridge-terminal-agent-<version>.tgz

Options:
  --out <dir>   folder for the tarballs (emptied first)   default: dist/packages
  --no-build    pack the dist/ folders as they are (after an earlier npm run build)
  -h, --help    this text
`;

/** The workspace folders packed into tarballs (each has a bin). */
export const PACKED = ['server', 'terminal-agent', 'hardware-sim', 'homologate'] as const;
/** The private workspace packages vendored inside each tarball, and their folders. */
const BUNDLED = { '@posbridge/protocol': 'protocol', '@posbridge/kit': 'kit' } as const;

/** The fields of a package.json this script reads or rewrites. */
interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  exports?: Record<string, unknown>;
  imports?: Record<string, unknown>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  [key: string]: unknown;
}

/** One packed tarball. */
export interface PackedTarball {
  /** Package name, e.g. `@posbridge/server`. */
  name: string;
  /** Absolute path of the .tgz. */
  file: string;
  bytes: number;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as Manifest;
}

/** An exports/imports map without the `@posbridge/source` condition (no src/ ships). */
function withoutSource(map: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (map === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, target] of Object.entries(map)) {
    if (typeof target === 'object' && target !== null) {
      const rest: Record<string, unknown> = { ...(target as Record<string, unknown>) };
      delete rest['@posbridge/source'];
      out[key] = rest;
    } else out[key] = target;
  }
  return out;
}

/** The package.json as shipped: no private flag, scripts, dev dependencies or source condition. */
function shippedManifest(pkg: Manifest, extra: Partial<Manifest>): Manifest {
  const out: Manifest = { ...pkg, ...extra };
  delete out.private;
  delete out.scripts;
  delete out.devDependencies;
  const exports = withoutSource(pkg.exports);
  if (exports !== undefined) out.exports = exports;
  const imports = withoutSource(pkg.imports);
  if (imports !== undefined) out.imports = imports;
  return out;
}

/** Copies a package's compiled dist/ without TypeScript's build-info file. */
function copyDist(from: string, to: string): void {
  cpSync(join(ROOT, from, 'dist'), join(to, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.tsbuildinfo') });
}

/** Stages one packed package in `stage/<dir>` and returns that folder. */
function stage(dir: (typeof PACKED)[number], stageRoot: string): string {
  const pkg = readManifest(dir);
  const to = join(stageRoot, dir);
  mkdirSync(to, { recursive: true });
  copyDist(dir, to);
  cpSync(join(ROOT, dir, 'bin'), join(to, 'bin'), { recursive: true });
  cpSync(join(ROOT, dir, 'README.md'), join(to, 'README.md'));
  const files = ['bin', 'dist', 'README.md'];
  if (dir === 'terminal-agent') {
    // The install notes and the systemd unit they copy (terminal-agent/docs/install.md).
    cpSync(join(ROOT, dir, 'docs'), join(to, 'docs'), { recursive: true });
    files.push('docs');
  }
  if (dir === 'homologate') {
    // Its own copy of VTEX's PPP OpenAPI (homologate/spec/README.md), read beside dist/.
    cpSync(join(ROOT, dir, 'spec'), join(to, 'spec'), { recursive: true });
    files.push('spec');
  }
  if (dir === 'server') {
    // The Payment App's web build, served at /pos/app/ (server/src/config.ts finds it here).
    cpSync(join(ROOT, 'payment-app', 'dist'), join(to, 'payment-app'), { recursive: true, filter: (src) => !src.endsWith('.map') });
    files.push('payment-app');
    // The operations console's web build, served at /console/ (docs/console.md), when built.
    if (existsSync(join(ROOT, 'console', 'dist', 'index.html'))) {
      cpSync(join(ROOT, 'console', 'dist'), join(to, 'console'), { recursive: true, filter: (src) => !src.endsWith('.map') });
      files.push('console');
    }
  }
  const dependencies: Record<string, string> = { ...pkg.dependencies };
  for (const [name, folder] of Object.entries(BUNDLED)) {
    if (dependencies[name] === undefined) continue;
    delete dependencies[name];
    const inner = readManifest(folder);
    const target = join(to, 'dist', 'node_modules', name);
    mkdirSync(target, { recursive: true });
    copyDist(folder, target);
    writeFileSync(join(target, 'package.json'), `${JSON.stringify(shippedManifest(inner, { files: ['dist'] }), null, 2)}\n`);
    // The vendored package's own dependencies are installed as the package's (Node finds them further up).
    for (const [dep, range] of Object.entries(inner.dependencies ?? {})) {
      if (!(dep in BUNDLED) && dependencies[dep] === undefined) dependencies[dep] = range;
    }
  }
  const manifest = shippedManifest(pkg, { dependencies, files });
  writeFileSync(join(to, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return to;
}

/**
 * Builds (unless `build` is false), stages and packs {@link PACKED} into `out` (emptied first).
 * @returns the tarballs and the build time in ms (0 without a build).
 * @throws Error when the build or `npm pack` fails (their output is on stderr).
 */
export function packAll(out: string, build = true): { tarballs: PackedTarball[]; buildMs: number } {
  const started = performance.now();
  // NODE_ENV=production whatever the caller has (a test runner sets `test`): the Payment App's
  // vite build would otherwise bundle React's development build.
  if (build) execFileSync('npm', ['run', 'build'], { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', process.stderr, process.stderr] });
  const buildMs = build ? Math.round(performance.now() - started) : 0;
  rmSync(out, { recursive: true, force: true });
  const stageRoot = join(out, 'stage');
  const tarballs: PackedTarball[] = [];
  for (const dir of PACKED) {
    const staged = stage(dir, stageRoot);
    const before = new Set(readdirSync(out));
    execFileSync('npm', ['pack', '--silent', '--pack-destination', out], { cwd: staged, stdio: ['ignore', 'ignore', process.stderr] });
    const file = readdirSync(out).find((f) => f.endsWith('.tgz') && !before.has(f));
    if (file === undefined) throw new Error(`npm pack wrote no tarball for ${dir}`);
    tarballs.push({ name: readManifest(dir).name, file: join(out, file), bytes: statSync(join(out, file)).size });
  }
  rmSync(stageRoot, { recursive: true, force: true });
  return { tarballs, buildMs };
}

function main(): void {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, 'no-build': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return;
  }
  const out = resolve(ROOT, values.out ?? 'dist/packages');
  const { tarballs, buildMs } = packAll(out, values['no-build'] !== true);
  process.stdout.write(`${JSON.stringify({ event: 'packed', dir: out, tarballs, buildMs })}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`npm run pack: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
