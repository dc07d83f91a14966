/**
 * `npm run rn:bundle -w @posbridge/payment-app [-- --out-dir DIR] [--dev]`: builds the React
 * Native bundle of the Payment App (entry react-native/index.ts, Metro config metro.config.cjs)
 * for Android and iOS with Metro's API, into `dist-rn/index.android.bundle` and
 * `dist-rn/main.jsbundle` (the names the platforms' release builds load). Production
 * (`dev: false`, minified) unless `--dev`. Exits 1 with Metro's error if a build fails.
 * @see ../../docs/payment-app-install.md "React Native host"
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildReactNativeBundles } from '../react-native/bundle.ts';

const HELP = `usage: npm run rn:bundle -w @posbridge/payment-app -- [--out-dir DIR] [--dev]

Builds the Payment App's React Native bundles with Metro:
  DIR/index.android.bundle   --platform android
  DIR/main.jsbundle          --platform ios
  (each with its source map beside it, FILE.map)

  --out-dir DIR   where the bundles go (default: payment-app/dist-rn)
  --dev           development bundles (not minified, __DEV__ true)
  -h, --help      this help
`;

const { values } = parseArgs({ options: { 'out-dir': { type: 'string' }, dev: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } });
if (values.help === true) {
  process.stdout.write(HELP);
  process.exit(0);
}
const appRoot = fileURLToPath(new URL('..', import.meta.url));
const outDir = resolve(values['out-dir'] ?? join(appRoot, 'dist-rn'));
mkdirSync(outDir, { recursive: true });
try {
  for (const b of await buildReactNativeBundles({ outDir, dev: values.dev === true })) {
    process.stdout.write(`${b.platform}: ${b.file} (${b.bytes} bytes)\n`);
  }
} catch (error) {
  process.stderr.write(`rn:bundle failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
