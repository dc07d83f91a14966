// ESLint flat config (docs/testing.md#lint). Type-aware rules where a slip costs money: a floating
// promise around a serial write or a WebSocket send, a switch that forgets a new message kind.
// Boundary rules follow the package boundaries of docs/architecture.md.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Node built-ins and I/O libraries that the portable packages must not import. */
const ioModules = ['fs', 'path', 'os', 'net', 'http', 'https', 'crypto', 'child_process', 'ws', 'serialport', 'node-hid', 'pino', 'sqlite3', 'pg', 'express'];
/** Another package's sources, reached around its exports map. */
const srcPattern = { group: ['@posbridge/*/src', '@posbridge/*/src/**'], message: 'Import another package through its name and exports map, never its src/.' };

const portable = 'protocol/ and payment-app/ stay portable (React Native): no Node built-ins or I/O libraries.';
const coreUp = 'The server core (domain, ports, adapters, payments, hub, callbacks, store) imports nothing from ppp/, pos/, http/ or errors/ (HTTP error mapping).';

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', 'test-artifacts/**', 'bench/results/**', 'payment-app/dist/**', '**/*.d.ts'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx}'],
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['vitest.config.ts'] }, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // `typeof import('serialport')` types the lazily loaded native modules.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-console': 'error',
      'no-restricted-imports': [
        'error',
        { patterns: [srcPattern] },
      ],
    },
  },
  {
    // payment-app keeps two programs: the app against React Native's types (tsconfig.json), and
    // its web pages, tests and tooling with DOM + Node (tsconfig.web.json).
    files: ['payment-app/**/*.{ts,tsx}'],
    languageOptions: {
      parserOptions: { projectService: false, project: ['./payment-app/tsconfig.json', './payment-app/tsconfig.web.json'], tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    // protocol/ is consumed by React Native: no Node built-ins, no I/O.
    files: ['protocol/src/**/*.ts', 'payment-app/src/**/*.{ts,tsx}'],
    ignores: ['**/*.test.ts', '**/*.test.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.map((name) => ({ name, message: portable })),
          patterns: [{ group: ['node:*', '@serialport/*'], message: portable }, srcPattern],
        },
      ],
    },
  },
  {
    // The server core never calls up into the HTTP layer (docs/architecture.md): routers call use
    // cases, not the other way round. domain/ and ports/ also stay clear of the hub and the adapters.
    files: ['server/src/{domain,ports,adapters,payments,hub,callbacks,store}/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            srcPattern,
            { group: ['../ppp/*', '../pos/*', '../http/*', '../errors/*', '../../ppp/*', '../../pos/*', '../../http/*', '../../errors/*', '../app.ts', '../../app.ts'], message: coreUp },
          ],
        },
      ],
    },
  },
  {
    files: ['server/src/{domain,ports}/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            srcPattern,
            { group: ['../ppp/*', '../pos/*', '../http/*', '../errors/*', '../app.ts', '../hub/*', '../adapters/**'], message: `${coreUp} domain/ and ports/ import nothing from hub/ or adapters/.` },
          ],
        },
      ],
    },
  },
  {
    // Native device modules stay behind the agent's transports.
    files: ['**/*.{ts,tsx}'],
    ignores: ['terminal-agent/src/transports/**', 'kit/src/**', 'terminal-agent/src/doctor.ts', 'terminal-agent/src/commands.ts', 'hardware-sim/src/**', '**/*.test.ts', 'bench/**', 'scripts/**', 'test/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "ImportDeclaration[source.value='node-hid']", message: 'node-hid is imported only in terminal-agent/src/transports/.' },
        { selector: "ImportDeclaration[source.value='serialport']", message: 'serialport is imported only in terminal-agent/src/transports/ (and the simulator).' },
      ],
    },
  },
  {
    // Command-line programs and tooling may print.
    files: ['scripts/**', 'bench/**', '**/cli.ts', '**/cli-*.ts', '**/main.ts', 'hardware-sim/src/interactive.ts', '**/*.mjs'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.{js,mjs}'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { ...globals.node } },
  },
);
