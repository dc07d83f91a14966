/**
 * Camera scanning in the web host, in Debian's Chromium with a fake camera against a real
 * `npm run stack`: each case writes a `.y4m` video of one terminal label (./fake-camera.ts: a QR
 * code or a Code 128 of the stack's terminal serial, a QR of a serial the server does not know,
 * or no code at all) and launches Chromium with `--use-fake-device-for-media-stream
 * --use-file-for-fake-video-capture=<file>`. The demo host page creates a payment, the clerk
 * presses **Scan code** in the embedded app (web/camera-scanner.ts over @zxing/browser) and the
 * serial read from the video goes through the same validation and submit as a typed one. Also:
 * the clerk stops a scan that sees nothing, a denied camera and a machine with no camera each get
 * their own message. Screenshots go to test-artifacts/payment-app/camera/.
 * @requires-program chromium socat
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { code128Image, qrImage, writeFakeCameraVideo, type RgbaImage } from './fake-camera.ts';
import { ARTIFACTS as APP_ARTIFACTS, buildAndServe, launchChromium, startStack, type RunningStack, type ServedApp } from './stack.ts';

const ARTIFACTS = join(APP_ARTIFACTS, 'camera');
const FAKE_DEVICE = '--use-fake-device-for-media-stream';
const FAKE_UI = '--use-fake-ui-for-media-stream'; // grants the camera without a prompt

describe('camera scanning in the web host (Chromium fake camera, npm run stack)', () => {
  let stack: RunningStack;
  let app: ServedApp;
  let work: string;
  let browser: Browser | null = null;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    work = mkdtempSync(join(tmpdir(), 'posbridge-camera-'));
    stack = await startStack(['--step-delay-ms', '300']);
    app = await buildAndServe(stack.ready);
  });

  afterEach(async () => {
    await browser?.close();
    browser = null;
  });

  afterAll(async () => {
    await app?.close();
    await stack?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Chromium whose camera plays `image` (granted unless `prompt`: headless Chromium then refuses it), or no camera. */
  async function launchWith(image: RgbaImage | null, name: string, options: { prompt?: boolean } = {}): Promise<Browser> {
    const args = image === null ? [] : [FAKE_DEVICE, `--use-file-for-fake-video-capture=${writeFakeCameraVideo(join(work, `${name}.y4m`), image)}`];
    if (image !== null && options.prompt !== true) args.push(FAKE_UI);
    browser = await launchChromium(args);
    return browser;
  }

  /** The demo host page with a new payment, and the app frame showing the connector. */
  async function openConnector(b: Browser, locale: string): Promise<{ page: Page; frame: Frame; context: BrowserContext; errors: string[] }> {
    const context = await b.newContext({ viewport: { width: 1400, height: 1100 }, locale });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${app.url}?locale=${locale}`);
    await page.getByTestId('host-create').click();
    const frame = await waitFor(
      async () => {
        for (const f of page.frames()) {
          if (f !== page.mainFrame() && (await f.locator('[data-testid="connector-screen"]').count().catch(() => 0)) > 0) return f;
        }
        return undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, message: 'the app frame showing the connector' },
    );
    return { page, frame, context, errors };
  }

  const shoot = (page: Page, name: string) => page.locator('[data-testid="payment-app-frame"]').screenshot({ path: join(ARTIFACTS, `${name}.png`) });

  it('a QR code of the terminal serial: read, sent to that terminal, and the payment is approved', async () => {
    const serial = stack.ready.terminals[0]!.serialNumber;
    const { page, frame, errors } = await openConnector(await launchWith(qrImage(serial), 'qr-serial'), 'en-US');
    await frame.getByRole('button', { name: 'Scan the barcode or QR code on the terminal with the camera' }).click();
    await frame.getByTestId('connector-sent').waitFor({ timeout: 20_000 });
    expect(await frame.getByTestId('connector-sent').textContent()).toBe(`✓ Sent to terminal ${serial}`);
    expect(await frame.locator('[data-testid="camera-scanner"]').count()).toBe(0); // the panel is gone, the camera released
    await shoot(page, '02-scanned-qr-sent-en');
    // The payment goes on: the terminal takes it, approves it, and the gateway's next Create Payment is final.
    await page.getByTestId('host-final').waitFor({ timeout: 45_000 });
    expect(await page.getByTestId('host-final').textContent()).toMatch(/^Gateway final status: approved/);
    await page.screenshot({ path: join(ARTIFACTS, '03-host-after-scanned-approval-en.png'), fullPage: true });
    expect(errors).toEqual([]);
  });

  it('a Code 128 of the terminal serial: read and sent', async () => {
    const serial = stack.ready.terminals[0]!.serialNumber;
    const { page, frame, errors } = await openConnector(await launchWith(code128Image(serial), 'code128-serial'), 'pt-BR');
    await frame.getByTestId('scan').click();
    await frame.getByTestId('connector-sent').waitFor({ timeout: 20_000 });
    expect(await frame.getByTestId('connector-sent').textContent()).toContain(serial);
    await shoot(page, '04-scanned-code128-sent-pt-BR');
    expect(errors).toEqual([]);
  });

  it('a QR code of a serial the server does not know: the unknown-terminal message, then choose another', async () => {
    const { page, frame } = await openConnector(await launchWith(qrImage('NOPE0000'), 'qr-unknown'), 'en-US');
    await frame.getByTestId('scan').click();
    await frame.getByTestId('connector-problem').waitFor({ timeout: 20_000 });
    expect(await frame.getByTestId('connector-problem').textContent()).toBe('Terminal NOPE0000 was not found. Check the serial number on its label.');
    await shoot(page, '05-scanned-unknown-terminal-en');
    await frame.getByTestId('change').click();
    await frame.getByTestId('serial-input').waitFor();
  });

  it('a QR code with no valid serial in it is refused before anything is sent', async () => {
    const { frame } = await openConnector(await launchWith(qrImage('hello, world'), 'qr-garbage'), 'en-US');
    await frame.getByTestId('scan').click();
    await frame.getByTestId('connector-problem').waitFor({ timeout: 20_000 });
    expect(await frame.getByTestId('connector-problem').textContent()).toBe('The camera could not read the code. Try again or type the serial number.');
  });

  it('nothing to read: the scanning panel shows the camera until the clerk stops it', async () => {
    const blank = qrImage('unused', 640, 480);
    blank.data.fill(255);
    const { page, frame } = await openConnector(await launchWith(blank, 'blank'), 'es-AR');
    await frame.getByTestId('scan').click();
    const panel = frame.locator('[data-testid="camera-scanner"]');
    await panel.waitFor({ timeout: 10_000 });
    await waitFor(async () => (await frame.locator('[data-testid="camera-preview"]').evaluate((v) => (v as HTMLVideoElement).videoWidth)) > 0 || undefined, {
      timeoutMs: 10_000,
      message: 'the camera picture',
    });
    expect(await panel.getAttribute('aria-label')).toBe('Apunte la cámara al código del terminal…');
    await shoot(page, '01-scanning-panel-es');
    await frame.getByRole('button', { name: 'Apagar la cámara y volver' }).click();
    await panel.waitFor({ state: 'detached', timeout: 5000 });
    await frame.getByTestId('serial-input').waitFor();
    expect(await frame.getByTestId('connector-problem').count()).toBe(0);
  });

  it('camera permission denied: says so, and the clerk can type the serial instead', async () => {
    const { page, frame } = await openConnector(await launchWith(qrImage('SIM0001'), 'denied', { prompt: true }), 'pt-BR');
    await frame.getByTestId('scan').click();
    await frame.getByTestId('connector-problem').waitFor({ timeout: 20_000 });
    expect(await frame.getByTestId('connector-problem').textContent()).toContain('A câmera está bloqueada');
    await shoot(page, '06-camera-denied-pt-BR');
    await frame.getByTestId('change').click();
    await frame.getByTestId('serial-input').waitFor();
  });

  it('no camera on the machine: says so', async () => {
    const { page, frame } = await openConnector(await launchWith(null, 'none'), 'en-US');
    await frame.getByTestId('scan').click();
    await frame.getByTestId('connector-problem').waitFor({ timeout: 20_000 });
    expect(await frame.getByTestId('connector-problem').textContent()).toBe(
      'No camera was found on this device. Type the serial number or pick the terminal from the list.',
    );
    await shoot(page, '07-no-camera-en');
  });
});
