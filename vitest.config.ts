import { fileURLToPath } from 'node:url';
import { defaultServerConditions } from 'vite';
import { configDefaults, defineConfig } from 'vitest/config';
import { gateSuites } from './testkit/src/system-programs.ts';

/**
 * One vitest project per workspace. Unit tests live next to their code
 * (`src/**\/*.test.ts`); cross-package suites live in `test/`.
 * Packages are consumed from their TypeScript sources (the `@posbridge/source` export condition,
 * docs/adr/0004), so tests never wait for a build.
 *
 * Suites that need an optional system program say so with `@requires-program <name>` in their
 * header; without that program they are skipped with one loud line naming the Debian package,
 * and under `CI=true` the run fails instead (testkit/src/system-programs.ts, docs/testing.md).
 */
const rootOf = (dir: string): string => fileURLToPath(new URL(`./${dir}`, import.meta.url));
const roots = ['protocol', 'kit', 'server', 'terminal-agent', 'hardware-sim', 'test', 'payment-app', 'testkit', 'homologate', 'console'];
const gated = gateSuites({ roots: roots.map(rootOf) });
/** The default excludes plus the suites whose system program is missing. */
const exclude = (dir: string): string[] => [...configDefaults.exclude, ...(gated.get(rootOf(dir)) ?? [])];

/** Export conditions: each workspace package's `@posbridge/source` entry (src/*.ts) before its dist/. */
const conditions = ['@posbridge/source', ...defaultServerConditions];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    projects: [
      { extends: true, test: { name: 'protocol', root: './protocol', include: ['src/**/*.test.ts'], exclude: exclude('protocol') } },
      { extends: true, test: { name: 'server', root: './server', include: ['src/**/*.test.ts'], exclude: exclude('server') } },
      {
        extends: true,
        test: { name: 'terminal-agent', root: './terminal-agent', include: ['src/**/*.test.ts'], exclude: exclude('terminal-agent') },
      },
      {
        extends: true,
        test: { name: 'hardware-sim', root: './hardware-sim', include: ['src/**/*.test.ts'], exclude: exclude('hardware-sim') },
      },
      { extends: true, test: { name: 'homologate', root: './homologate', include: ['src/**/*.test.ts'], exclude: exclude('homologate') } },
      { extends: true, test: { name: 'kit', root: './kit', include: ['src/**/*.test.ts'], exclude: exclude('kit') } },
      { extends: true, test: { name: 'testkit', root: './testkit', include: ['src/**/*.test.ts'], exclude: exclude('testkit') } },
      {
        extends: true,
        test: {
          name: 'test',
          root: './test',
          include: ['**/*.test.ts'],
          exclude: exclude('test'),
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      // Payment App components: react-native resolved to react-native-web, rendered in happy-dom.
      {
        extends: true,
        resolve: { alias: [{ find: /^react-native$/, replacement: 'react-native-web' }] },
        test: {
          name: 'payment-app',
          root: './payment-app',
          include: ['src/**/*.test.{ts,tsx}'],
          exclude: exclude('payment-app'),
          environment: 'happy-dom',
        },
      },
      // Payment App web build in Debian's Chromium against `npm run stack` (payment-app/e2e/).
      {
        extends: true,
        test: {
          name: 'payment-app-browser',
          root: './payment-app',
          include: ['e2e/**/*.test.ts'],
          exclude: exclude('payment-app'),
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      // Operations console: its pure parts in Node, and its web build in Debian's Chromium against a real stack (console/e2e/).
      { extends: true, test: { name: 'console', root: './console', include: ['src/**/*.test.{ts,tsx}'], exclude: exclude('console') } },
      {
        extends: true,
        test: {
          name: 'console-browser',
          root: './console',
          include: ['e2e/**/*.test.ts'],
          exclude: exclude('console'),
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
