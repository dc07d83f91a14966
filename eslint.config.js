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

/** Another package's test support (`<package>/src/testing/`), reached by a relative path: shared test code lives in testkit/. */
const packages = ['protocol', 'kit', 'server', 'terminal-agent', 'hardware-sim', 'test', 'payment-app', 'testkit', 'homologate', 'console'];
const testingPattern = {
  regex: `(^|/)(${packages.join('|')})/src/testing(/|$)`,
  message: "Never import another package's src/testing: shared test support lives in the testkit package.",
};
/** Workspace folders (and the tooling folders) a relative import must not climb into from another one. */
const workspaceDirs = [...packages, 'scripts', 'bench'];
/**
 * A relative path out of one's own package into another workspace's folder (its sources, its
 * test helpers, the tooling under scripts/): tests too go through the package's exports or
 * `@posbridge/testkit`.
 */
const crossPackagePattern = {
  regex: `^(\\.\\./)+(${workspaceDirs.join('|')})(/|$)`,
  message: 'Import another package through its name and exports map (tests: its public exports or @posbridge/testkit), never a relative path into its folder.',
};
/** What every file may not import (a file group that restricts more repeats these: a later rule replaces an earlier one). */
const everywhere = [srcPattern, testingPattern, crossPackagePattern];
/** The test kit, kept out of product code (its own rule name, so the layer rules above stay as they are). */
const testkitPattern = {
  group: ['@posbridge/testkit', '@posbridge/testkit/*'],
  message: 'Only tests and test helpers (src/testing/) import @posbridge/testkit; product code never does.',
};
/** Product sources of the workspaces: everything under src/ but tests and test helpers. */
const productFiles = ['protocol', 'kit', 'server', 'terminal-agent', 'hardware-sim', 'payment-app', 'homologate', 'console'].map((dir) => `${dir}/src/**/*.{ts,tsx}`);

/**
 * The layers of the server core (docs/architecture.md): the domain and the ports know nothing of
 * the edges (HTTP routes, PPP and POS mappers, the agent hub) nor of any adapter; adapters know
 * nothing of the edges either. A relative import of `<dir>/…` from anywhere below server/src.
 */
const layer = (dirs, message) => ({ regex: `^(\\.\\./)+(${dirs.join('|')})(/|$)`, message });
/** The HTTP side: routes, PPP/POS mappers and the HTTP error mapping. */
const httpSide = ['http', 'ppp', 'pos', 'errors'];
const edges = [...httpSide, 'hub'];
const coreMessage = 'server/src/domain and server/src/ports import nothing from http/, ppp/, pos/, errors/, hub/ or adapters/ (docs/architecture.md).';
const adapterMessage = 'server/src/adapters import nothing from http/, ppp/, pos/, errors/ or hub/ (docs/architecture.md).';
/** Node built-ins and libraries that do I/O: the domain is pure (time and data come in as arguments). */
const ioBuiltins = ['fs', 'fs/promises', 'net', 'tls', 'http', 'http2', 'https', 'dgram', 'dns', 'child_process', 'cluster', 'worker_threads', 'readline'];
const ioLibraries = ['ws', 'serialport', 'node-hid', 'pino', 'sqlite3', 'pg', 'express'];
const pureMessage = 'server/src/domain is pure: no I/O modules (docs/architecture.md).';

const portable = 'protocol/ and payment-app/ stay portable (React Native): no Node built-ins or I/O libraries.';
const coreUp = 'The server core (payments, hub, callbacks; and domain, ports, adapters) imports nothing from ppp/, pos/, http/ or errors/ (docs/architecture.md).';

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', 'test-artifacts/**', 'bench/results/**', 'payment-app/dist/**', 'payment-app/dist-vtex-io/**', 'payment-app/dist-vtex-io-test/**', 'console/dist/**', 'payment-app/dist-rn/**', '**/*.d.ts'],
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
      'no-restricted-imports': ['error', { patterns: everywhere }],
    },
  },
  {
    files: ['server/src/adapters/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...everywhere, layer(edges, adapterMessage)] }] },
  },
  {
    files: ['server/src/ports/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...everywhere, layer([...edges, 'adapters', 'store'], coreMessage)] }] },
  },
  {
    files: ['server/src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...ioBuiltins.flatMap((name) => [name, `node:${name}`]), ...ioLibraries].map((name) => ({ name, message: pureMessage })),
          patterns: [...everywhere, layer([...edges, 'adapters', 'store'], coreMessage)],
        },
      ],
    },
  },
  {
    // Product code never reaches the test kit.
    files: productFiles,
    ignores: ['**/*.test.ts', '**/*.test.tsx', '**/src/testing/**'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [testkitPattern] }] },
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
          patterns: [{ group: ['node:*', '@serialport/*', '@posbridge/kit', '@posbridge/kit/*'], message: portable }, ...everywhere],
        },
      ],
    },
  },
  {
    // The server core never calls up into the HTTP layer (docs/architecture.md): routers call use
    // cases, not the other way round.
    files: ['server/src/{payments,hub,callbacks}/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...everywhere, layer(httpSide, coreUp)] }] },
  },
  {
    // Native device modules stay behind the agent's transports; the NATS client behind the
    // server's bus adapter (server/src/adapters/nats/).
    files: ['**/*.{ts,tsx}'],
    ignores: ['terminal-agent/src/transports/**', 'kit/src/**', 'terminal-agent/src/doctor.ts', 'terminal-agent/src/commands.ts', 'hardware-sim/src/**', 'server/src/adapters/nats/**', '**/*.test.ts', 'bench/**', 'scripts/**', 'test/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "ImportDeclaration[source.value='node-hid']", message: 'node-hid is imported only in terminal-agent/src/transports/.' },
        { selector: "ImportDeclaration[source.value='serialport']", message: 'serialport is imported only in terminal-agent/src/transports/ (and the simulator).' },
        { selector: 'ImportDeclaration[source.value=/^@nats-io\\//]', message: 'The NATS client is imported only in server/src/adapters/nats/ (the bus adapter).' },
      ],
    },
  },
  {
    // posbridge-homologate judges any connector: it imports no posbridge package (docs/homologation.md).
    files: ['homologate/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [...everywhere, { group: ['@posbridge/*'], message: 'posbridge-homologate imports no posbridge code: it must judge any connector.' }] },
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
  {
    // CommonJS tool configs (payment-app/metro.config.cjs: Metro loads it with require()).
    files: ['**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
