/**
 * Assembles the VTEX IO Payment App (docs/payment-app-install.md) into a folder ready for
 * `vtex link` / `vtex publish`:
 *
 * ```
 * <out>/manifest.json          vendor, name, version from the options; builders react 3.x + pages 0.x
 * <out>/pages/pages.json       extension checkout/transactions/<name> → component "index"
 * <out>/react/index.tsx        the checkout's component (./react/index.tsx)
 * <out>/react/posbridge/checkout.js   the screens, React 19, react-dom, react-native-web, zod: one ES module
 * <out>/react/package.json, react/tsconfig.json, README.md
 * ```
 *
 * The bundle is built by vite (library mode) from ./checkout-bundle.tsx and the shared screens
 * in ../src, so the VTEX IO app and the other hosts run the same code. Node only (build time).
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, defaultClientConditions } from 'vite';
import { PaymentAppIdSchema } from '@posbridge/protocol/ppp';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
/** payment-app/ */
export const APP_ROOT = here('..');
/** Default output folder (git-ignored). */
export const DEFAULT_OUT_DIR = join(APP_ROOT, 'dist-vtex-io');

/** What names the app; `vendor.name` must pass protocol's `PaymentAppIdSchema`. */
export interface VtexIoAppConfig {
  /** VTEX account that publishes the app. */
  readonly vendor: string;
  /** kebab-case app name. @default posbridge-payment-app */
  readonly name?: string | undefined;
  /** semver of this build. @default payment-app/package.json's version */
  readonly version?: string | undefined;
  /** Title in VTEX's admin. @default posbridge Payment App */
  readonly title?: string | undefined;
  /** Output folder, emptied first. @default {@link DEFAULT_OUT_DIR} */
  readonly outDir?: string | undefined;
}

/** What was written. */
export interface VtexIoBuild {
  readonly outDir: string;
  /** `vendor.name`: what `merchant set --payment-app` takes. */
  readonly appId: string;
  readonly manifest: Record<string, unknown>;
  /** Bytes of react/posbridge/checkout.js. */
  readonly bundleBytes: number;
}

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/**
 * Checks the configuration; returns the resolved names.
 * @throws Error naming the bad field (vendor/name as `vendor.name`, version not semver).
 */
export function resolveConfig(config: VtexIoAppConfig): { vendor: string; name: string; version: string; title: string; outDir: string } {
  const name = config.name ?? 'posbridge-payment-app';
  const appId = `${config.vendor}.${name}`;
  const parsed = PaymentAppIdSchema.safeParse(appId);
  if (!parsed.success) throw new Error(`vendor/name ${JSON.stringify(appId)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  const version = config.version ?? (JSON.parse(readFileSync(join(APP_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  if (!SEMVER.test(version)) throw new Error(`version ${JSON.stringify(version)}: must be semver (e.g. 1.2.0)`);
  const title = (config.title ?? 'posbridge Payment App').slice(0, 100);
  return { vendor: config.vendor, name, version, title, outDir: config.outDir ?? DEFAULT_OUT_DIR };
}

/** Builds the bundle and writes the app folder. @throws Error for a bad configuration or a failed build. */
export async function buildVtexIoApp(config: VtexIoAppConfig): Promise<VtexIoBuild> {
  const { vendor, name, version, title, outDir } = resolveConfig(config);
  rmSync(outDir, { recursive: true, force: true });
  const bundleDir = join(outDir, 'react', 'posbridge');
  // vitest sets NODE_ENV=test, which would make vite bundle React's development build.
  const nodeEnv = process.env['NODE_ENV'];
  process.env['NODE_ENV'] = 'production';
  try {
    await build({
      configFile: false,
      root: APP_ROOT,
      logLevel: 'warn',
      mode: 'production',
      resolve: {
        conditions: ['@posbridge/source', ...defaultClientConditions],
        alias: [{ find: /^react-native$/, replacement: 'react-native-web' }],
        extensions: ['.web.tsx', '.web.ts', '.web.js', '.tsx', '.ts', '.mjs', '.js', '.jsx', '.json'],
      },
      define: { __DEV__: 'false', 'process.env.NODE_ENV': JSON.stringify('production') },
      esbuild: { jsx: 'automatic' },
      build: {
        outDir: bundleDir,
        emptyOutDir: true,
        sourcemap: false,
        minify: true,
        lib: { entry: here('./checkout-bundle.tsx'), formats: ['es'], fileName: () => 'checkout.js' },
        rollupOptions: {
          onwarn(warning, warn) {
            // Same two harmless warnings as the web build (../vite.config.ts).
            if (warning.code === 'INVALID_ANNOTATION' || warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
            warn(warning);
          },
        },
      },
    });
  } finally {
    if (nodeEnv === undefined) delete process.env['NODE_ENV'];
    else process.env['NODE_ENV'] = nodeEnv;
  }
  const manifest = {
    vendor,
    name,
    version,
    title,
    description: 'Card payments on the store terminal through posbridge: pick, scan or type the terminal, follow the sale, answer the checkout.',
    defaultLocale: 'pt-BR',
    builders: { react: '3.x', pages: '0.x' },
    dependencies: {},
    $schema: 'https://raw.githubusercontent.com/vtex/node-vtex-api/master/gen/manifest.schema',
  };
  const pages = { extensions: { [`checkout/transactions/${name}`]: { component: 'index' } } };
  mkdirSync(join(outDir, 'pages'), { recursive: true });
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(outDir, 'pages', 'pages.json'), `${JSON.stringify(pages, null, 2)}\n`);
  for (const file of ['react/index.tsx', 'react/package.json', 'react/tsconfig.json', 'react/posbridge/checkout.d.ts', 'README.md']) {
    mkdirSync(dirname(join(outDir, file)), { recursive: true });
    copyFileSync(here(`./${file}`), join(outDir, file));
  }
  return { outDir, appId: `${vendor}.${name}`, manifest, bundleBytes: statSync(join(bundleDir, 'checkout.js')).size };
}
