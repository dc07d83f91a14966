/**
 * Web build of the Payment App: react-native → react-native-web, two pages —
 * `index.html` (the demo host page that plays VTEX inStore) and `app.html` (the Payment App
 * itself, embeddable in any web host; see README "Host contract"). Relative `base`, so `dist/`
 * works under any mount path (the server serves it at `/pos/app/`).
 *
 * With `POSBRIDGE_PPP_URL`, `POSBRIDGE_APP_KEY` and `POSBRIDGE_APP_TOKEN` set (from the
 * `npm run stack` ready line) the dev and preview servers also run the host helper (dev/host-helper.ts).
 */
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';
import { hostHelper, hostHelperOptionsFromEnv } from './dev/host-helper.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const helper = hostHelperOptionsFromEnv(process.env);

export default defineConfig({
  root: here('.'),
  base: './',
  resolve: {
    // @posbridge/protocol from its TypeScript sources, no build first (docs/adr/0004).
    conditions: ['@posbridge/source', ...defaultClientConditions],
    alias: [{ find: /^react-native$/, replacement: 'react-native-web' }],
    extensions: ['.web.tsx', '.web.ts', '.web.js', '.tsx', '.ts', '.mjs', '.js', '.jsx', '.json'],
  },
  define: { __DEV__: JSON.stringify(false) },
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: here('dist'),
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      input: { index: here('index.html'), app: here('app.html') },
      onwarn(warning, warn) {
        // zod's comments confuse Rollup's annotation parser, react-native-web's "use client"
        // directives mean nothing in a client-only bundle: both harmless.
        if (warning.code === 'INVALID_ANNOTATION' || warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  plugins: helper === null ? [] : [hostHelper(helper)],
});
