/**
 * Gallery of every Payment App screen state in English, Portuguese (Brazil) and Spanish, at a
 * phone-sized viewport (412×915 CSS px, device scale 2), saved to
 * test-artifacts/payment-app/gallery/<screen>-<state>-<lang>.png with an index.html (issue 15,
 * "screenshots of every screen in three languages … readable at arm's length").
 *
 * The screens run from the real web build (`app.html`, `window.posbridgePaymentApp.mount`) with
 * their real state machines and API client; only the server's answers are faked, with
 * `page.route` on the connector's URLs (`submitUrl`, `statusUrl`, `terminalsUrl`, `cancelUrl`) —
 * the HTTP boundary. This is on purpose: most of these states need a fault (offline or busy
 * terminal, expiry, an unknown outcome, a lost connection) that `npm run stack` cannot produce
 * quickly; the main flow against the real stack is photographed by clerk-flow.test.ts and
 * checkout-contract.test.ts. The answers follow protocol/src/pos/status.ts and the error codes
 * of payment-app/src/api/errors.ts.
 *
 * Each shot asserts the screen is readable at arm's length: its main message has a computed
 * font size ≥ 18 CSS px, its primary button (when the state has one) is ≥ 44 px tall, and the
 * screen shows the catalogue's text for that state in the page's language.
 * @requires-program chromium
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES, type Language, type Messages } from '../src/i18n/messages.ts';
import { ARTIFACTS, buildAndServe, launchChromium, type ServedApp } from './stack.ts';

const GALLERY = join(ARTIFACTS, 'gallery');
const LANGUAGES: readonly Language[] = ['en', 'pt-BR', 'es'];
const SERIAL = 'SIM0001';
const CONNECTOR = 'vtex.terminal-connector-app';
const WAIT = 'vtex.challenge-wait-for-confirmation';
/** Smallest readable main text and touch target, CSS px. */
const MIN_FONT_PX = 18;
const MIN_BUTTON_PX = 44;

/** A faked server answer: a JSON reply, a dropped connection, or no reply (the request stays pending). */
type Answer = { readonly status: number; readonly body: unknown } | 'abort' | 'hang';
type Endpoint = 'submit' | 'status' | 'terminals' | 'cancel';

interface Shot {
  readonly screen: 'connector' | 'wait';
  readonly state: string;
  /**
   * Payload keys; `terminals`/`status`/`cancel: true` add that URL (the wait screen always gets a
   * `statusUrl` unless `status: false`). A string is sent as is (an invalid payload).
   */
  readonly payload: Record<string, unknown> | string;
  readonly answers: Partial<Record<Endpoint, Answer>>;
  /** What the clerk does before the shot. */
  readonly act?: 'submit' | 'submit-invalid' | 'scan' | 'cancel-on-terminal';
  /** Selector of the main message (its first text is measured) — appears when the state is reached. */
  readonly main: string;
  /** The catalogue text the screen must show. */
  readonly text: (m: Messages) => string;
  /** data-testid of the primary button, null when the state has none. */
  readonly button: string | null;
}

const err = (status: number, code: string): Answer => ({ status, body: { code, message: `${code} (gallery)`, retryable: false } });
const terminals = (list: unknown[]): Answer => ({ status: 200, body: { terminals: list } });
const posStatus = (over: Record<string, unknown>): Answer => ({
  status: 200,
  body: {
    paymentId: 'PAY1',
    state: 'in_progress',
    stage: null,
    serialNumber: SERIAL,
    amount: { amountMinor: 1050, currency: 'BRL' },
    method: 'credit',
    result: null,
    secondsRemaining: 280,
    ...over,
  },
});
/** web/app.tsx's in-page mount, as the test page sees it. */
type MountWindow = Window & { posbridgePaymentApp?: { mount(element: Element, props: { appName: string; payload: string; locale: string; onClose: () => void }): () => void } };
const tid = (id: string) => `[data-testid="${id}"]`;

function connectorProblem(state: string, answer: Answer, problem: keyof Messages['connector']['problem'], button: string): Shot {
  return { screen: 'connector', state, payload: {}, answers: { submit: answer }, act: 'submit', main: tid('connector-problem'), text: (m) => m.connector.problem[problem](SERIAL), button };
}

const STAGES = ['waiting_card', 'reading_card', 'pin', 'processing', 'printing'] as const;
const WAITING = { secondsWaiting: 300, cancel: true };

const SHOTS: readonly Shot[] = [
  // Terminal connector.
  { screen: 'connector', state: 'choose', payload: {}, answers: {}, main: '[role="heading"]', text: (m) => m.connector.title, button: 'submit' },
  {
    screen: 'connector',
    state: 'list',
    payload: { terminals: true },
    answers: { terminals: terminals([{ serialNumber: 'SIM0001', online: true, busy: false, model: 'Simulator' }, { serialNumber: 'SIM0002', online: true, busy: true }, { serialNumber: 'SIM0003', online: false, busy: false }]) },
    main: tid('terminal-list'),
    text: (m) => m.connector.terminalBusy,
    button: 'submit',
  },
  {
    screen: 'connector',
    state: 'choose-store',
    payload: { terminals: true },
    answers: {
      terminals: terminals([
        { serialNumber: 'SIM0001', online: true, busy: false, store: { storeId: 'centro', name: 'Centro' } },
        { serialNumber: 'SIM0002', online: true, busy: false, store: { storeId: 'norte', name: 'Norte' } },
      ]),
    },
    main: tid('store-list'),
    text: (m) => m.connector.storeTitle,
    button: 'store-centro',
  },
  { screen: 'connector', state: 'list-failed', payload: { terminals: true }, answers: { terminals: err(500, 'STORE_FAILED') }, main: '[role="heading"]', text: (m) => m.connector.listFailed, button: 'submit' },
  { screen: 'connector', state: 'sending', payload: {}, answers: { submit: 'hang' }, act: 'submit', main: tid('connector-sending'), text: (m) => m.connector.sending(SERIAL), button: null },
  {
    screen: 'connector',
    state: 'confirming',
    payload: { status: true },
    answers: { submit: { status: 200, body: { paymentId: 'PAY1', serialNumber: SERIAL, state: 'dispatched' } }, status: 'hang' },
    act: 'submit',
    main: tid('connector-confirming'),
    text: (m) => m.connector.confirming(SERIAL),
    button: null,
  },
  { screen: 'connector', state: 'sent', payload: {}, answers: { submit: { status: 200, body: { paymentId: 'PAY1', serialNumber: SERIAL, state: 'in_progress' } } }, act: 'submit', main: tid('connector-sent'), text: (m) => m.connector.sent, button: 'continue' },
  connectorProblem('unknown-terminal', err(404, 'POS_TERMINAL_UNKNOWN'), 'unknown_terminal', 'change'),
  connectorProblem('terminal-offline', err(503, 'POS_TERMINAL_OFFLINE'), 'offline', 'retry'),
  connectorProblem('terminal-busy', err(409, 'POS_TERMINAL_BUSY'), 'busy', 'retry'),
  connectorProblem('already-bound', err(409, 'POS_ALREADY_BOUND'), 'already_bound', 'close'),
  connectorProblem('sandbox-refused', err(409, 'POS_SANDBOX_REFUSED'), 'sandbox_refused', 'close'),
  connectorProblem('payment-final', err(409, 'POS_PAYMENT_FINAL'), 'payment_final', 'close'),
  connectorProblem('expired', err(410, 'POS_PAYMENT_EXPIRED'), 'expired', 'close'),
  connectorProblem('network', 'abort', 'network', 'retry'),
  connectorProblem('server-error', err(500, 'STORE_FAILED'), 'server', 'retry'),
  { screen: 'connector', state: 'invalid-serial', payload: {}, answers: {}, act: 'submit-invalid', main: tid('connector-problem'), text: (m) => m.connector.problem.invalid_serial('BAD!'), button: 'change' },
  // The real browser camera scanner in a Chromium without a camera (no fake device flags here).
  { screen: 'connector', state: 'camera-missing', payload: {}, answers: {}, act: 'scan', main: tid('connector-problem'), text: (m) => m.connector.problem.camera_missing(''), button: 'change' },
  { screen: 'connector', state: 'invalid-payload', payload: '{}', answers: {}, main: tid('connector-problem'), text: (m) => m.connector.problem.invalid_payload(''), button: 'close' },
  // Wait for confirmation.
  { screen: 'wait', state: 'connecting', payload: WAITING, answers: { status: 'hang' }, main: tid('wait-stage'), text: (m) => m.wait.connecting, button: 'cancel-on-terminal' },
  { screen: 'wait', state: 'no-status', payload: { secondsWaiting: 300, status: false }, answers: {}, main: tid('wait-stage'), text: (m) => m.wait.noStatus, button: null },
  { screen: 'wait', state: 'sending', payload: WAITING, answers: { status: posStatus({ state: 'dispatched' }) }, main: tid('wait-stage'), text: (m) => m.wait.sending, button: 'cancel-on-terminal' },
  ...STAGES.map((stage): Shot => ({ screen: 'wait', state: `stage-${stage}`, payload: WAITING, answers: { status: posStatus({ stage }) }, main: tid('wait-stage'), text: (m) => m.wait.stage[stage], button: 'cancel-on-terminal' })),
  { screen: 'wait', state: 'unknown-outcome', payload: WAITING, answers: { status: posStatus({ state: 'unknown' }) }, main: tid('wait-stage'), text: (m) => m.wait.unknownOutcome, button: null },
  { screen: 'wait', state: 'reconnecting', payload: WAITING, answers: { status: err(502, 'BAD_GATEWAY') }, main: tid('wait-reconnecting'), text: (m) => m.wait.reconnecting, button: 'cancel-on-terminal' },
  { screen: 'wait', state: 'cancel-refused', payload: WAITING, answers: { status: posStatus({ stage: 'pin' }), cancel: err(409, 'POS_CANCEL_REFUSED') }, act: 'cancel-on-terminal', main: tid('cancel-refused'), text: (m) => m.wait.cancelRefused, button: null },
  { screen: 'wait', state: 'cancel-failed', payload: WAITING, answers: { status: posStatus({ stage: 'pin' }), cancel: 'abort' }, act: 'cancel-on-terminal', main: tid('cancel-failed'), text: (m) => m.wait.cancelFailed, button: 'cancel-on-terminal' },
  {
    screen: 'wait',
    state: 'approved',
    payload: WAITING,
    answers: { status: posStatus({ state: 'approved', stage: null, result: { status: 'approved', cardBrand: 'Visa', lastDigits: '4242', message: null } }) },
    main: tid('wait-final-approved'),
    text: (m) => m.wait.approved,
    button: 'done',
  },
  {
    screen: 'wait',
    state: 'denied',
    payload: WAITING,
    answers: { status: posStatus({ state: 'denied', stage: null, result: { status: 'denied', cardBrand: null, lastDigits: null, message: null } }) },
    main: tid('wait-final-denied'),
    text: (m) => m.wait.denied,
    button: 'done',
  },
  // secondsWaiting runs out on the screen's own countdown while the server keeps quiet.
  { screen: 'wait', state: 'timeout', payload: { secondsWaiting: 2, cancel: true }, answers: { status: 'hang' }, main: tid('wait-final-timeout'), text: (m) => m.wait.timeout, button: 'done' },
  { screen: 'wait', state: 'cancelled', payload: WAITING, answers: { status: posStatus({ state: 'cancelled' }) }, main: tid('wait-final-ended'), text: (m) => m.wait.cancelled, button: 'done' },
  { screen: 'wait', state: 'expired', payload: WAITING, answers: { status: posStatus({ state: 'expired' }) }, main: tid('wait-final-ended'), text: (m) => m.wait.expired, button: 'done' },
  { screen: 'wait', state: 'not-found', payload: WAITING, answers: { status: err(404, 'POS_STATUS_NOT_FOUND') }, main: tid('wait-final-ended'), text: (m) => m.wait.notFound, button: 'done' },
  { screen: 'wait', state: 'invalid-payload', payload: '{}', answers: {}, main: tid('wait-problem'), text: (m) => m.wait.notFound, button: 'done' },
];

/** The payload string for `shot`, its URLs on the app's own origin (so no CORS is involved). */
function payloadOf(shot: Shot, base: string): string {
  if (typeof shot.payload === 'string') return shot.payload;
  const url = (what: string) => `${base}pos/v1/${what}/tok-gallery`;
  const { terminals: withList, status: withStatus, cancel: withCancel, ...rest } = shot.payload;
  if (shot.screen === 'connector') {
    return JSON.stringify({ ...rest, submitUrl: url('submit'), ...(withList === true && { terminalsUrl: url('terminals') }), ...(withStatus === true && { statusUrl: url('status') }) });
  }
  return JSON.stringify({ ...rest, ...(withStatus !== false && { statusUrl: url('status') }), ...(withCancel === true && { cancelUrl: url('cancel') }) });
}

async function fakeServer(page: Page, shot: Shot): Promise<void> {
  await page.route(/\/pos\/v1\/(submit|status|terminals|cancel)\//, async (route: Route) => {
    const endpoint = /\/pos\/v1\/(\w+)\//.exec(route.request().url())![1] as Endpoint;
    const answer = shot.answers[endpoint];
    if (answer === undefined) return route.fulfill({ status: 500, json: { code: 'UNEXPECTED', message: `gallery: no answer for ${endpoint}`, retryable: false } });
    if (answer === 'abort') return route.abort('connectionrefused');
    if (answer === 'hang') return; // never answered: the request stays pending for the shot
    return route.fulfill({ status: answer.status, json: answer.body });
  });
}

/** Computed font size (px) of the first element under `selector` (itself included) holding visible text. */
async function mainFontPx(page: Page, selector: string): Promise<number> {
  return page.locator(selector).first().evaluate((root) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
      if ((node.textContent ?? '').trim() !== '' && node.parentElement !== null) return parseFloat(getComputedStyle(node.parentElement).fontSize);
    }
    return 0;
  });
}

describe('Payment App screens gallery (Chromium, phone viewport, three languages)', () => {
  let app: ServedApp;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(GALLERY, { recursive: true });
    app = await buildAndServe(null);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  const files: string[] = [];
  // One test per language, so each stays well inside its timeout on a loaded CI machine.
  it.each(LANGUAGES)('every state of both screens is photographed in %s and is readable at arm\'s length', async (language) => {
    const context = await browser.newContext({ viewport: { width: 412, height: 915 }, deviceScaleFactor: 2, locale: language, isMobile: true, hasTouch: true });
    for (const shot of SHOTS) {
      const name = `${shot.screen}-${shot.state}-${language}`;
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await fakeServer(page, shot);
      await page.goto(`${app.url}app.html`);
      await page.waitForFunction(() => (window as MountWindow).posbridgePaymentApp !== undefined);
      await page.evaluate(
        ({ appName, payload, locale }) => {
          document.documentElement.lang = locale;
          (window as MountWindow).posbridgePaymentApp!.mount(document.getElementById('root')!, { appName, payload, locale, onClose: () => undefined });
        },
        { appName: shot.screen === 'connector' ? CONNECTOR : WAIT, payload: payloadOf(shot, app.url), locale: language },
      );
      if (shot.act === 'submit' || shot.act === 'submit-invalid') {
        await page.locator(tid('serial-input')).fill(shot.act === 'submit' ? SERIAL : 'bad!');
        await page.locator(tid('submit')).click();
      } else if (shot.act === 'scan') {
        await page.locator(tid('scan')).click();
      } else if (shot.act === 'cancel-on-terminal') {
        await page.locator(tid('wait-amount')).waitFor({ timeout: 10_000 });
        await page.locator(tid('cancel-on-terminal')).click();
      }
      await page.locator(shot.main).first().waitFor({ timeout: 10_000 }).catch(async (e: unknown) => {
        throw new Error(`${name}: ${shot.main} not shown (${String(e)}); screen: ${await page.locator('#root').innerText()}`);
      });
      const messages = MESSAGES[language];
      // The main element may show before the (faked) server's first answer lands: wait for the state's text.
      await expect.poll(() => page.locator('#root').innerText(), { timeout: 10_000, message: name }).toContain(shot.text(messages));
      expect(await mainFontPx(page, shot.main), `${name}: main message font size`).toBeGreaterThanOrEqual(MIN_FONT_PX);
      if (shot.button !== null) {
        const box = await page.locator(tid(shot.button)).boundingBox();
        expect(box?.height ?? 0, `${name}: ${shot.button} button height`).toBeGreaterThanOrEqual(MIN_BUTTON_PX);
      }
      await page.screenshot({ path: join(GALLERY, `${name}.png`), fullPage: true });
      files.push(`${name}.png`);
      expect(errors, name).toEqual([]);
      await page.close();
    }
    await context.close();
    expect(files.filter((f) => f.endsWith(`-${language}.png`))).toHaveLength(SHOTS.length);
    writeFileSync(join(GALLERY, 'index.html'), galleryIndex(files));
  }, 300_000);
});

/** A plain page listing every image, grouped by screen and state, one column per language. */
function galleryIndex(files: readonly string[]): string {
  const rows = SHOTS.map((s) => {
    const cells = LANGUAGES.map((l) => `${s.screen}-${s.state}-${l}.png`)
      .filter((f) => files.includes(f))
      .map((f) => `<td><a href="${f}"><img src="${f}" alt="${f}" width="206" loading="lazy"></a><br>${f}</td>`)
      .join('');
    return `<tr><th>${s.screen} — ${s.state}</th>${cells}</tr>`;
  }).join('\n');
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>posbridge Payment App screens</title>
<style>body{font-family:system-ui,sans-serif}td,th{vertical-align:top;padding:8px;font-size:12px}img{border:1px solid #ccc}</style></head>
<body><h1>posbridge Payment App: every screen state in ${LANGUAGES.join(', ')}</h1>
<p>Generated by payment-app/e2e/screens-gallery.test.ts (412×915 CSS px, device scale 2).</p>
<table><tr><th>screen — state</th>${LANGUAGES.map((l) => `<th>${l}</th>`).join('')}</tr>
${rows}
</table></body></html>\n`;
}
