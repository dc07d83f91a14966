/**
 * The React Native bundles (react-native/bundle.ts, what `npm run rn:bundle` runs) build with
 * Metro for Android and iOS, hold both Payment Apps, and carry nothing of the web: no react-dom,
 * react-native-web, @zxing or web/ module (checked on the source map's `sources`, the list of
 * every module Metro put in), and no DOM API use (`document.`, `window.`, `navigator.`,
 * `localStorage`, `sessionStorage`) in any module of this repository (checked on each module's
 * source in the map). Third-party modules may feature-detect the DOM (React's error reporting
 * reads `window.ErrorEvent` behind a `typeof window` guard): the test allows that only in the
 * modules listed in DOM_DETECTION_ALLOWED, so a new dependency that touches the DOM fails it.
 * Slow (two production Metro builds, about a minute): built once.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReactNativeBundles, type BuiltBundle } from '../react-native/bundle.ts';

interface SourceMap {
  readonly sources: readonly string[];
  readonly sourcesContent?: readonly (string | null)[];
}

/** DOM globals a React Native bundle must not touch. */
const DOM_USE = /\b(?:document|window|navigator|localStorage|sessionStorage)\s*\??\.\s*[A-Za-z_$]/;
/**
 * Third-party modules that feature-detect the DOM behind a `typeof` guard, each read and allowed:
 * React / scheduler / React Native (error reporting, `window.ErrorEvent`), Metro's require
 * polyfill (dev-only `window.location.reload`), event-target-shim (React Native's EventTarget,
 * `typeof window.Event`), zod's util (`navigator?.userAgent`, its JIT check).
 */
const DOM_DETECTION_ALLOWED =
  /(?:^|\/)node_modules\/(?:react|scheduler|react-native|@react-native\/[^/]+|metro-runtime\/src\/polyfills\/require\.js$|event-target-shim\/dist\/event-target-shim\.js$|zod\/v4\/core\/util\.cjs$)/;

describe('React Native bundles (Metro)', () => {
  let out: string;
  let bundles: BuiltBundle[];

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'posbridge-rn-'));
    bundles = await buildReactNativeBundles({ outDir: out });
  }, 600_000);

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('builds index.android.bundle and main.jsbundle, each with both Payment Apps registered', () => {
    expect(bundles.map((b) => [b.platform, b.file.slice(out.length + 1)])).toEqual([
      ['android', 'index.android.bundle'],
      ['ios', 'main.jsbundle'],
    ]);
    for (const b of bundles) {
      const code = readFileSync(b.file, 'utf8');
      expect(b.bytes).toBeGreaterThan(100_000);
      expect(code).toContain('__d('); // Metro's module definitions
      expect(code).toContain('vtex.terminal-connector-app');
      expect(code).toContain('vtex.challenge-wait-for-confirmation');
      expect(code).toContain('Qual maquininha?'); // the screens' texts
      expect(code.trimEnd().endsWith(`//# sourceMappingURL=${b.file.slice(out.length + 1)}.map`)).toBe(true);
    }
  });

  it('holds the screens and React Native, and no react-dom, react-native-web, @zxing or web-only module', () => {
    for (const b of bundles) {
      const map = JSON.parse(readFileSync(b.map, 'utf8')) as SourceMap;
      const sources = map.sources.map((s) => s.replace(/\\/g, '/'));
      expect(sources.some((s) => s.endsWith('payment-app/src/screens/TerminalConnectorScreen.tsx'))).toBe(true);
      expect(sources.some((s) => s.endsWith('protocol/src/pos/status.ts'))).toBe(true);
      expect(sources.some((s) => s.includes('node_modules/react-native/Libraries/'))).toBe(true);
      expect(sources.filter((s) => /react-dom|react-native-web|@zxing|payment-app\/(?:web|vtex-io|dev)\//.test(s))).toEqual([]);
      const code = readFileSync(b.file, 'utf8');
      expect(code).not.toMatch(/react-dom|localStorage|sessionStorage|getUserMedia/);
    }
  });

  it('no DOM API use in this repository’s modules; DOM feature detection only inside React and React Native', () => {
    for (const b of bundles) {
      const map = JSON.parse(readFileSync(b.map, 'utf8')) as SourceMap;
      expect(map.sourcesContent?.length).toBe(map.sources.length);
      const touching = map.sources
        .map((s, i) => ({ source: s.replace(/\\/g, '/'), content: map.sourcesContent?.[i] ?? '' }))
        .filter((m) => DOM_USE.test(m.content.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ''))); // comments do not count
      const ours = touching.filter((m) => !m.source.includes('node_modules/'));
      expect(ours.map((m) => m.source)).toEqual([]);
      expect(touching.filter((m) => !DOM_DETECTION_ALLOWED.test(m.source)).map((m) => m.source)).toEqual([]);
    }
  });
});
