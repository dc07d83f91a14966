/**
 * The VTEX checkout contract of the VTEX IO Payment App, in Debian's Chromium against a real
 * `npm run stack`: the app is assembled by `buildVtexIoApp` (what `npm run vtex-io:build`
 * writes), a page playing VTEX checkout (./checkout/checkout-page.tsx: jQuery from npm, the
 * gateway's Create Payment through the host helper) mounts its component (from
 * payment-app/vtex-io/react/index.tsx; the test also checks the extension its pages.json
 * registers) with `appPayload` from the stack's answer, and listens
 * for the checkout events. The clerk's flow ends with `transactionValidation.vtex` `[true]` for an
 * approval and `[false]` for a decline or a clerk who gives up, after `removePaymentLoading.vtex`;
 * the gateway's next Create Payment is final and agrees. Screens in three languages go to
 * test-artifacts/payment-app/checkout/.
 * @requires-program chromium socat
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { hostHelper } from '../dev/host-helper.ts';
import { unlabelledControls } from '../src/testing/a11y.ts';
import { buildVtexIoApp, resolveConfig, type VtexIoBuild } from '../vtex-io/build.ts';
import type * as Bundle from '../vtex-io/react/posbridge/checkout.js';
import type * as Source from '../vtex-io/checkout-bundle.tsx';
import { ARTIFACTS as APP_ARTIFACTS, launchChromium, startStack, type RunningStack } from './stack.ts';

// The hand-written types of the bundle (payment-app/vtex-io/react/posbridge/checkout.d.ts) are those of its source.
const sameMount: typeof Bundle.mountCheckoutApp = null as unknown as typeof Source.mountCheckoutApp;
void sameMount;

const ARTIFACTS = join(APP_ARTIFACTS, 'checkout');
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const require = createRequire(import.meta.url);

interface Served {
  readonly url: string;
  close(): Promise<void>;
}

/** Builds the checkout page against the assembled app folder and serves it with the host helper. */
async function serveCheckout(app: VtexIoBuild, stack: RunningStack, outDir: string): Promise<Served> {
  const config = {
    configFile: false as const,
    root: here('./checkout'),
    base: './',
    logLevel: 'warn' as const,
    resolve: {
      alias: [
        { find: '@posbridge-vtex-io', replacement: app.outDir },
        // The component's `react` (VTEX's react builder provides it; here: the repository's).
        { find: /^react$/, replacement: dirname(require.resolve('react/package.json')) },
      ],
    },
    define: { 'process.env.NODE_ENV': JSON.stringify('production') },
    esbuild: { jsx: 'automatic' as const },
    build: { outDir, emptyOutDir: true, target: 'es2022', rollupOptions: { input: here('./checkout/checkout.html') } },
  };
  const nodeEnv = process.env['NODE_ENV'];
  process.env['NODE_ENV'] = 'production';
  try {
    await build(config);
  } finally {
    if (nodeEnv === undefined) delete process.env['NODE_ENV'];
    else process.env['NODE_ENV'] = nodeEnv;
  }
  const server: PreviewServer = await preview({ ...config, preview: { host: '127.0.0.1', port: 0 }, plugins: [hostHelper(stack.ready)] });
  const address = server.httpServer.address();
  if (address === null || typeof address === 'string') throw new Error('preview server has no port');
  return { url: `http://127.0.0.1:${address.port}/checkout.html`, close: () => server.close() };
}

describe('VTEX IO Payment App in a checkout page (Chromium, npm run stack)', () => {
  let stack: RunningStack;
  let app: VtexIoBuild;
  let served: Served;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    work = mkdtempSync(join(tmpdir(), 'posbridge-vtex-io-'));
    stack = await startStack(['--step-delay-ms', '1000']);
    // Inside payment-app/ so the bundle's own imports are resolved as in the real build.
    app = await buildVtexIoApp({ vendor: 'posbridgetest', name: 'pos-payment', version: '1.2.3', outDir: join(here('..'), 'dist-vtex-io-test') });
    served = await serveCheckout(app, stack, join(work, 'page'));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await served?.close();
    await stack?.stop();
    if (app) rmSync(app.outDir, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('assembles a VTEX IO app: manifest from the configuration, react + pages builders, the checkout/transactions extension', () => {
    const manifest = JSON.parse(readFileSync(join(app.outDir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ vendor: 'posbridgetest', name: 'pos-payment', version: '1.2.3', builders: { react: '3.x', pages: '0.x' } });
    const pages = JSON.parse(readFileSync(join(app.outDir, 'pages', 'pages.json'), 'utf8')) as { extensions: Record<string, { component: string }> };
    expect(pages.extensions).toEqual({ 'checkout/transactions/pos-payment': { component: 'index' } });
    expect(app.appId).toBe('posbridgetest.pos-payment');
    expect(readFileSync(join(app.outDir, 'react', 'index.tsx'), 'utf8')).toContain("from './posbridge/checkout.js'");
    // The configuration is checked before anything is written.
    expect(() => resolveConfig({ vendor: 'vtex' })).toThrow(/use the default instead/);
    expect(() => resolveConfig({ vendor: 'Acme' })).toThrow(/vendor\/name "Acme.posbridge-payment-app"/);
    expect(() => resolveConfig({ vendor: 'acme', name: 'pay_app' })).toThrow(/kebab-case/);
    expect(() => resolveConfig({ vendor: 'acme', version: '1.0' })).toThrow(/semver/);
    expect(resolveConfig({ vendor: 'acme' })).toMatchObject({ name: 'posbridge-payment-app', version: '0.1.0' });
  });

  it('npm run vtex-io:build has --help and refuses to run without a vendor', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, ['--conditions=@posbridge/source', '--import', 'tsx', here('../scripts/vtex-io-build.ts'), ...args], { cwd: here('..'), env: { ...process.env, POSBRIDGE_VTEX_IO_VENDOR: '' } }, (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
        );
      });
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--vendor ACCOUNT');
    const missing = await run([]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--vendor (or POSBRIDGE_VTEX_IO_VENDOR) is required');
  });

  async function open(locale: string, amount: number): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, locale });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${served.url}?locale=${encodeURIComponent(locale)}&amount=${amount}`);
    await page.getByTestId('connector-screen').waitFor({ timeout: 20_000 });
    return { page, errors };
  }

  const events = (page: Page) => page.evaluate(() => window.posbridgeCheckout.events);
  const shoot = (page: Page, name: string) => page.locator('[data-posbridge-payment-app]').screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  const unlabelled = (page: Page) =>
    page.evaluate((src) => new Function('root', `return (${src})(root)`)(document) as string[], unlabelledControls.toString());

  /** Types the stack's terminal, sends, and follows the terminal to the final screen `finalTestId`. */
  async function payOnTerminal(page: Page, language: string, finalTestId: string): Promise<void> {
    await shoot(page, `01-connector-${language}`);
    await page.getByTestId('serial-input').fill(stack.ready.terminals[0]!.serialNumber);
    await shoot(page, `02-connector-typed-${language}`);
    await page.getByTestId('submit').click();
    await page.getByTestId('connector-sent').waitFor({ timeout: 15_000 });
    await shoot(page, `03-connector-sent-${language}`);
    await page.getByTestId('wait-screen').waitFor({ timeout: 15_000 });
    await page.getByTestId('wait-stage').waitFor({ timeout: 15_000 }).catch(() => undefined);
    if ((await page.getByTestId('wait-stage').count()) > 0) await shoot(page, `04-wait-progress-${language}`);
    await page.getByTestId(finalTestId).waitFor({ timeout: 45_000 });
    expect(await unlabelled(page)).toEqual([]);
    await shoot(page, `05-${finalTestId}-${language}`);
  }

  /** Per language: the locale the page gets, texts the test reads, the file suffix of its screenshots. */
  const LANGUAGES = [
    { locale: 'en-US', tag: 'en', heading: 'Which terminal?', denied: 'Denied', cancelled: 'Payment cancelled' },
    { locale: 'pt-BR', tag: 'pt-BR', heading: 'Qual maquininha?', denied: 'Recusado', cancelled: 'Pagamento cancelado' },
    { locale: 'es-AR', tag: 'es', heading: '¿Qué terminal?', denied: 'Rechazado', cancelled: 'Pago cancelado' },
  ] as const;

  /** Done on the final screen, then the checkout's answer and the gateway's next Create Payment. */
  async function finish(page: Page, expected: boolean, gateway: 'approved' | 'denied'): Promise<void> {
    await page.getByTestId('done').click();
    await waitFor(async () => (await events(page)).length === 2 || undefined, { timeoutMs: 5000, message: 'transactionValidation.vtex' });
    expect(await events(page)).toEqual(['removePaymentLoading', `transactionValidation:${expected}`]);
    await page.getByTestId('checkout-final').filter({ hasText: 'gateway:' }).waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('checkout-final').textContent()).toBe(`gateway: ${gateway}`);
  }

  describe.each(LANGUAGES)('in $tag', (lang) => {
    it('unknown serial, a clear error, another serial, approval: removePaymentLoading, then transactionValidation.vtex [true] once; never a loop on "waiting"', async () => {
      const { page, errors } = await open(lang.locale, 10.5);
      expect(await page.evaluate(() => window.posbridgeCheckout.appName)).toBe('vtex.terminal-connector-app'); // the stack's merchant keeps the default
      expect(await page.getByRole('heading').first().textContent()).toBe(lang.heading);
      expect(await events(page)).toEqual(['removePaymentLoading']);
      expect(await unlabelled(page)).toEqual([]);
      await page.getByTestId('serial-input').fill('NOPE0000');
      await page.getByTestId('submit').click();
      await page.getByTestId('connector-problem').waitFor({ timeout: 15_000 });
      expect(await page.getByTestId('connector-problem').textContent()).toContain('NOPE0000');
      expect(await unlabelled(page)).toEqual([]);
      await shoot(page, `07-connector-unknown-terminal-${lang.tag}`);
      expect(await events(page)).toEqual(['removePaymentLoading']);
      await page.getByTestId('change').click();
      await page.getByTestId('serial-input').fill('');
      await payOnTerminal(page, lang.tag, 'wait-final-approved');
      expect(await page.getByTestId('wait-final-detail').textContent()).toMatch(/^\S.* •••• \d{4}$/);
      expect(await events(page)).toEqual(['removePaymentLoading']); // nothing answered before the clerk is done
      await finish(page, true, 'approved');
      await page.screenshot({ path: join(ARTIFACTS, `06-checkout-after-approval-${lang.tag}.png`), fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    });

    it('decline: transactionValidation.vtex [false], and the gateway sees denied', async () => {
      const { page, errors } = await open(lang.locale, 10.05);
      await payOnTerminal(page, lang.tag, 'wait-final-denied');
      expect(await page.getByTestId('wait-final-denied').textContent()).toContain(lang.denied);
      await finish(page, false, 'denied');
      expect(errors).toEqual([]);
      await page.close();
    });

    it('Cancel on terminal: the sale stops, the wait screen ends cancelled, [false], and the gateway sees denied', async () => {
      const { page, errors } = await open(lang.locale, 10.5);
      await page.getByTestId('serial-input').fill(stack.ready.terminals[0]!.serialNumber);
      await page.getByTestId('submit').click();
      const button = page.getByTestId('cancel-on-terminal');
      await button.waitFor({ timeout: 20_000 });
      expect(await unlabelled(page)).toEqual([]);
      await shoot(page, `08-wait-cancel-on-terminal-${lang.tag}`);
      await button.click();
      await page.getByTestId('wait-final-ended').waitFor({ timeout: 30_000 });
      expect(await page.getByTestId('wait-final-ended').textContent()).toContain(lang.cancelled);
      await shoot(page, `09-wait-cancelled-${lang.tag}`);
      await finish(page, false, 'denied');
      expect(errors).toEqual([]);
      await page.close();
    });
  });

  it('a clerk who closes the connector answers [false]', async () => {
    const { page } = await open('en-US', 10.5);
    await page.getByTestId('cancel').click();
    await waitFor(async () => (await events(page)).length === 2 || undefined, { timeoutMs: 5000, message: 'transactionValidation.vtex' });
    expect(await events(page)).toEqual(['removePaymentLoading', 'transactionValidation:false']);
    await page.close();
  });
});
