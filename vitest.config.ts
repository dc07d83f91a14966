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
    ],
  },
});
