/**
 * The clerk's flow in a real browser (Debian's Chromium via playwright-core) against a running
 * `npm run stack`: the demo host page creates a payment, the terminal connector opens, the clerk
 * types the serial and sends it, the wait screen shows the terminal's progress and the approval
 * with brand and last 4 digits, and the host sees the gateway's final status. Screenshots of
 * every screen go to test-artifacts/payment-app/.
 * @requires-program chromium socat
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { unlabelledControls } from '../src/testing/a11y.ts';
import { ARTIFACTS, buildAndServe, launchChromium, startStack, type RunningStack, type ServedApp } from './stack.ts';

describe('Payment App in Chromium against npm run stack', () => {
  let stack: RunningStack;
  let app: ServedApp;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    // Slow terminal stages so each one is on screen long enough to see (and photograph).
    stack = await startStack(['--step-delay-ms', '1500']);
    app = await buildAndServe(stack.ready);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await stack?.stop();
  });

  /** The Payment App iframe's frame, once it shows `testId`. */
  function appFrame(page: Page, testId: string): Promise<Frame> {
    return waitFor(async () => {
      for (const frame of page.frames()) {
        if (frame === page.mainFrame()) continue;
        if ((await frame.locator(`[data-testid="${testId}"]`).count().catch(() => 0)) > 0) return frame;
      }
      return undefined;
    }, { timeoutMs: 20_000, intervalMs: 50, message: `an app frame showing ${testId}` });
  }

  async function shoot(page: Page, name: string): Promise<void> {
    await page.locator('[data-testid="payment-app-frame"]').screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  }

  async function expectAllControlsLabelled(frame: Frame): Promise<void> {
    const html = await frame.content();
    const missing = await frame.evaluate(
      (src) => new Function('root', `return (${src})(root)`)(document) as string[],
      unlabelledControls.toString(),
    );
    expect(missing, html.slice(0, 200)).toEqual([]);
  }

  it('types the serial, submits, watches the progress and sees the approval', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 }, locale: 'en-US' });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${app.url}?locale=en`);
    await page.getByTestId('host-create').click();

    // Terminal connector.
    let frame = await appFrame(page, 'connector-screen');
    await expectAllControlsLabelled(frame);
    await shoot(page, '01-connector-en');
    const serial = stack.ready.terminals[0]!.serialNumber;
    await frame.getByLabel('Terminal serial number').fill(serial);
    await shoot(page, '02-connector-typed-en');
    await frame.getByRole('button', { name: `Send the payment to terminal ${serial}` }).click();
    await frame.getByTestId('connector-sent').waitFor({ timeout: 15_000 });
    expect(await frame.getByTestId('connector-sent').textContent()).toBe(`✓ Sent to terminal ${serial}`);
    await shoot(page, '03-connector-sent-en');

    // Wait for confirmation: the host polled the gateway and opened it with its payload.
    frame = await appFrame(page, 'wait-screen');
    const stages: string[] = [];
    const finalLocator = frame.getByTestId('wait-final-approved');
    const deadline = Date.now() + 45_000;
    while ((await finalLocator.count()) === 0) {
      if (Date.now() > deadline) throw new Error(`no approval; stages seen: ${stages.join(' → ')}; log: ${await page.getByTestId('host-log').textContent()}`);
      const stage = await frame.getByTestId('wait-stage').textContent({ timeout: 1000 }).catch(() => null);
      if (stage && stages.at(-1) !== stage) {
        stages.push(stage);
        await shoot(page, `04-wait-${String(stages.length).padStart(2, '0')}-en`);
      }
      await page.waitForTimeout(100);
    }
    // The first stage may pass while the connector still shows "sent"; at least two terminal
    // stages must be seen live, and nothing but known progress texts.
    const terminalStages = ['Insert, tap or swipe the card', 'Reading the card…', 'Buyer is typing the PIN', 'Processing…', 'Printing the receipt…'];
    const waitingTexts = ['Waiting for the terminal…', 'Sending to the terminal…', ...terminalStages];
    expect(stages.every((s) => waitingTexts.includes(s)), stages.join(' → ')).toBe(true);
    expect(new Set(stages.filter((s) => terminalStages.includes(s))).size, stages.join(' → ')).toBeGreaterThanOrEqual(2);
    const detail = await frame.getByTestId('wait-final-detail').textContent();
    expect(detail).toMatch(/^\S.* •••• \d{4}$/);
    expect(await finalLocator.textContent()).toContain('✓ Approved');
    expect(await frame.getByTestId('wait-amount').textContent()).toBe('R$10.50 · Credit');
    await expectAllControlsLabelled(frame);
    await shoot(page, '05-wait-approved-en');

    // Done closes through the host callback; the gateway's next poll is final.
    await frame.getByRole('button', { name: 'Close and go back to the checkout' }).click();
    await page.getByTestId('host-final').waitFor({ timeout: 15_000 });
    const last4 = detail!.slice(-4);
    expect(await page.getByTestId('host-final').textContent()).toMatch(new RegExp(`approved — .+ •••• ${last4}`));
    await page.screenshot({ path: join(ARTIFACTS, '06-host-after-approval-en.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('explains an unknown terminal in Portuguese and lets the clerk correct it', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 }, locale: 'pt-BR' });
    await page.goto(`${app.url}?locale=pt-BR`);
    await page.getByTestId('host-create').click();
    const frame = await appFrame(page, 'connector-screen');
    expect(await frame.getByRole('heading').first().textContent()).toBe('Qual maquininha?');
    await frame.getByLabel('Número de série da maquininha').fill('NOPE0000');
    await frame.getByTestId('submit').click();
    await frame.getByTestId('connector-problem').waitFor({ timeout: 15_000 });
    expect(await frame.getByTestId('connector-problem').textContent()).toBe(
      'A maquininha NOPE0000 não foi encontrada. Confira o número de série na etiqueta.',
    );
    await expectAllControlsLabelled(frame);
    await shoot(page, '07-connector-unknown-terminal-pt-BR');
    await frame.getByRole('button', { name: 'Voltar e escolher outra maquininha' }).click();
    await frame.getByLabel('Número de série da maquininha').fill(stack.ready.terminals[0]!.serialNumber);
    await frame.getByTestId('submit').click();
    await frame.getByTestId('connector-sent').waitFor({ timeout: 15_000 });
    const wait = await appFrame(page, 'wait-screen');
    await wait.getByTestId('wait-final-approved').waitFor({ timeout: 45_000 });
    expect(await wait.getByTestId('wait-final-approved').textContent()).toContain('✓ Aprovado');
    await shoot(page, '08-wait-approved-pt-BR');
    await page.close();
  });
});
