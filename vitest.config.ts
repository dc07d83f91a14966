import { defineConfig } from 'vitest/config';

/**
 * One vitest project per workspace. Unit tests live next to their code
 * (`src/**\/*.test.ts`); cross-package suites live in `test/`.
 * Packages are consumed from their TypeScript sources, so tests never wait for a build.
 */
export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: 'protocol', root: './protocol', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'server', root: './server', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'terminal-agent', root: './terminal-agent', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'hardware-sim', root: './hardware-sim', include: ['src/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'test', root: './test', include: ['**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
      },
      // Payment App components: react-native resolved to react-native-web, rendered in happy-dom.
      {
        extends: true,
        resolve: { alias: [{ find: /^react-native$/, replacement: 'react-native-web' }] },
        test: { name: 'payment-app', root: './payment-app', include: ['src/**/*.test.{ts,tsx}'], environment: 'happy-dom' },
      },
      // Payment App web build in Debian's Chromium against `npm run stack` (payment-app/e2e/).
      {
        extends: true,
        test: {
          name: 'payment-app-browser',
          root: './payment-app',
          include: ['e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
