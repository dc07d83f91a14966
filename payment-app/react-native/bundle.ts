/**
 * Builds the Payment App's React Native bundles with Metro's API (`Metro.runBuild`), once per
 * platform, from react-native/index.ts with metro.config.cjs. Node only (build tooling).
 * @see ../scripts/rn-bundle.ts, ../../docs/payment-app-install.md "React Native host"
 */
import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Metro from 'metro';

/** Where a platform's bundle goes, by the name its release build loads. */
export const BUNDLE_NAMES = { android: 'index.android.bundle', ios: 'main.jsbundle' } as const;

/** A platform Metro builds for. */
export type RnPlatform = keyof typeof BUNDLE_NAMES;

/** One built bundle. */
export interface BuiltBundle {
  readonly platform: RnPlatform;
  readonly file: string;
  /** Its source map (`sources` name every module in the bundle). */
  readonly map: string;
  readonly bytes: number;
}

const APP_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Builds the Android and iOS bundles (and their source maps, `<bundle>.map`) into `outDir` (must exist); throws Metro's error if one fails. */
export async function buildReactNativeBundles(options: { outDir: string; dev?: boolean }): Promise<BuiltBundle[]> {
  const loaded = await Metro.loadConfig({ config: join(APP_ROOT, 'metro.config.cjs'), cwd: APP_ROOT });
  const config = { ...loaded, reporter: { update: () => undefined } }; // no banner nor progress bar in scripts and CI logs
  const built: BuiltBundle[] = [];
  for (const platform of Object.keys(BUNDLE_NAMES) as RnPlatform[]) {
    const file = join(options.outDir, BUNDLE_NAMES[platform]);
    await Metro.runBuild(config, {
      entry: join(APP_ROOT, 'react-native', 'index.ts'),
      platform,
      dev: options.dev === true,
      minify: options.dev !== true,
      bundleOut: file,
      // The map beside the bundle (for symbolicating crash reports), not inlined into it.
      sourceMap: true,
      sourceMapUrl: `${basename(file)}.map`,
      sourceMapOut: `${file}.map`,
    });
    built.push({ platform, file, map: `${file}.map`, bytes: statSync(file).size });
  }
  return built;
}
