/**
 * Build of the operations console (docs/console.md): React through esbuild's automatic JSX (no
 * plugin), relative `base` so `dist/` works under the server's `/console/` mount.
 *
 * `npm run console:dev` serves it with hot reload and forwards `/admin/v1` to the server named
 * by `POSBRIDGE_CONSOLE_API` (default `http://127.0.0.1:8080`, e.g. the `pppBaseUrl` of
 * `npm run stack`), so the dev loop needs no build.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const api = process.env['POSBRIDGE_CONSOLE_API'] ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: here('.'),
  base: './',
  esbuild: { jsx: 'automatic' },
  build: { outDir: here('dist'), emptyOutDir: true, sourcemap: true },
  server: { proxy: { '/admin/v1': { target: api, changeOrigin: false } } },
});
