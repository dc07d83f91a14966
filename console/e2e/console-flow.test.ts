/**
 * The operations console in a real browser (Debian's Chromium via playwright-core) against the
 * real stack (server, simulated terminal on a pty, agent), issue 14 item 6: users made with
 * `posbridge-server user add`; an operator logs in, finds a payment by orderId, opens its
 * timeline, redelivers its failed callback (the endpoint answered 500) and resolves an unknown
 * payment (the terminal's answers carry the wrong reference); a viewer sees no action and the
 * server refuses it one; the terminal list follows the agent going away without a reload; every
 * screen in pt-BR, es and en at laptop and tablet sizes, photographed into
 * test-artifacts/console/ and checked by axe-core (serious or critical violations fail).
 * Issue 14 item 4: an admin creates a pairing code in the console, the real
 * `posbridge-agent pair <code> --server <url>` redeems it, `posbridge-agent run` starts against
 * one more simulated terminal, and the terminals screen shows it online — and offline when the
 * agent stops — without a reload, over the server's event stream; users, API tokens and the
 * audit log are used through their screens.
 * @requires-program chromium socat
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { collectedLogs } from '@posbridge/testkit/stack';
import { formatMoney, translate, type Lang } from '../src/i18n/index.ts';
import { agentCli, ARTIFACTS, buildConsole, launchChromium, removeDir, seriousViolations, startAgentProcess, startConsoleEnv, type AdminRead, type AgentProcess, type ConsoleEnv } from './harness.ts';

const OPERATOR = { name: 'ops.maria', password: 'operator password 2026' };
const VIEWER = { name: 'viewer.joao', password: 'viewer password 2026' };
const ADMIN = { name: 'root.ana', password: 'admin password 2026' };
const SIZES = { laptop: { width: 1366, height: 900 }, tablet: { width: 820, height: 1180 } } as const;
const LANGS: Lang[] = ['pt-BR', 'es', 'en'];

interface CallbackRow {
  callbackId: number;
  status: string;
  lastHttpStatus: number | null;
}

describe('operations console in Chromium against the real stack', () => {
  let consoleDir: string;
  let env: ConsoleEnv;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  /** Uncaught errors of any page's scripts: each screen check requires none. */
  const pageErrors: string[] = [];
  /** The payment whose callback failed (answered 500, one attempt allowed). */
  let failed: { paymentId: string; orderId: string };
  /** The payment whose outcome is unknown. */
  let unknown: { paymentId: string; orderId: string };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    consoleDir = await buildConsole();
    env = await startConsoleEnv(consoleDir);
    browser = await launchChromium();
    for (const [user, role] of [
      [OPERATOR, 'operator'],
      [VIEWER, 'viewer'],
      [ADMIN, 'admin'],
    ] as const) {
      const added = await env.addUser(user.name, role, user.password);
      expect(added.code, added.out).toBe(0);
    }

    const suffix = Date.now().toString(36).toUpperCase();
    failed = { orderId: `ORD-CB-${suffix}`, paymentId: '' };
    // The callback endpoint answers this payment 500 until the test lets it through.
    const paymentIdA = await env.pay(12.34, failed.orderId);
    failed.paymentId = paymentIdA;
    env.failing.add(paymentIdA);
    await env.waitStatus(paymentIdA, ['approved']);
    await waitFor(async () => (await env.admin<{ callbacks: CallbackRow[] }>(`payments/${paymentIdA}/callbacks`)).callbacks.some((c) => c.status === 'failed'), {
      timeoutMs: 15_000,
      intervalMs: 100,
      message: 'callback failed after its one attempt',
    });

    // Every RESULT the terminal sends names another reference: the agent cannot tell the outcome.
    env.stack.sim.terminals[0]?.setScenario({ faults: { wrongRef: 1000 } });
    unknown = { orderId: `ORD-UNK-${suffix}`, paymentId: '' };
    unknown.paymentId = await env.pay(23.45, unknown.orderId);
    await env.waitStatus(unknown.paymentId, ['unknown'], 30_000);
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await env?.close();
    if (consoleDir) removeDir(consoleDir);
  });

  async function open(size: keyof typeof SIZES, locale: string): Promise<Page> {
    // bypassCSP only so axe-core can be injected; the console's own CSP is tested in server/src/console-static.test.ts.
    const context = await browser.newContext({ viewport: SIZES[size], locale, bypassCSP: true });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(`${err.name}: ${err.message}`));
    await page.goto(env.stack.consoleUrl);
    return page;
  }

  /** Screenshot into test-artifacts/console/<name>.png and the axe check of the page as it is. */
  async function check(page: Page, name: string): Promise<void> {
    expect(pageErrors, `script errors before ${name}`).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    expect(await seriousViolations(page), `axe on ${name}`).toEqual([]);
  }

  async function login(page: Page, user: { name: string; password: string }): Promise<void> {
    await page.locator('#login-name').fill(user.name);
    await page.locator('#login-password').fill(user.password);
    await page.locator('form button[type=submit]').click();
    await page.locator('nav a[href="#/payments"]').waitFor();
  }

  it('an operator finds a payment by orderId, reads its timeline, redelivers its failed callback and resolves an unknown', async () => {
    const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate('en', key, vars);
    const page = await open('laptop', 'en-US');

    await page.locator('#login-name').fill(OPERATOR.name);
    await page.locator('#login-password').fill('not the password at all');
    await page.locator('form button[type=submit]').click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe(t('loginWrong'));
    await login(page, OPERATOR);
    expect(await page.locator('.who').textContent()).toBe(t('signedInAs', { actor: `user:${OPERATOR.name}`, role: t('roleOperator') }));

    await page.getByLabel(t('fieldOrderId')).fill(failed.orderId);
    await page.getByRole('button', { name: t('search'), exact: true }).click();
    const rows = page.locator('section table tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain(failed.paymentId);
    await check(page, 'flow-1-search');

    await page.getByRole('link', { name: failed.paymentId }).click();
    await page.getByRole('heading', { name: t('detailTitle', { id: failed.paymentId }) }).waitFor();
    const timeline = page.locator('ol.timeline li');
    await expect.poll(() => timeline.count()).toBeGreaterThanOrEqual(3);
    const events = await page.locator('ol.timeline .event').allTextContents();
    expect(events).toEqual(expect.arrayContaining(['created', 'terminal.bound', 'result.received']));
    expect(await page.locator('ol.timeline .component').allTextContents()).toEqual(expect.arrayContaining([t('componentServer'), t('componentTerminal')]));
    const callbackRow = page.locator('section[aria-labelledby=callbacks-title] tbody tr').first();
    await expect.poll(() => callbackRow.textContent()).toContain(t('callbackFailed'));
    expect(await callbackRow.textContent()).toContain('500');
    await check(page, 'flow-2-detail-failed-callback');

    env.failing.delete(failed.paymentId);
    await callbackRow.getByRole('button', { name: new RegExp(`^${t('redeliver')}`) }).click();
    const confirm = page.getByRole('button', { name: t('confirm') });
    expect(await confirm.isDisabled()).toBe(true); // the reason is required
    await page.getByLabel(t('reason')).fill('VTEX endpoint answered 500; fixed on their side');
    await check(page, 'flow-3-redeliver-form');
    await confirm.click();
    const [callback] = (await env.admin<{ callbacks: CallbackRow[] }>(`payments/${failed.paymentId}/callbacks`)).callbacks;
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe(t('redelivered', { id: callback?.callbackId ?? 0 }));
    const delivered = await env.receiver.waitFor(failed.paymentId, 15_000);
    expect(delivered.answer).toBe(200);
    await expect
      .poll(async () => {
        await page.reload();
        return page.locator('section[aria-labelledby=callbacks-title] tbody tr').first().textContent();
      }, { timeout: 15_000 })
      .toContain(t('callbackDelivered'));

    await page.getByRole('link', { name: t('navUnknown') }).click();
    const card = page.locator('li.card', { hasText: unknown.paymentId });
    await card.waitFor();
    await check(page, 'flow-4-unknown-queue');
    await card.getByRole('button', { name: `${t('resolve')} ${unknown.paymentId}` }).click();
    await card.getByLabel(t('outcomeApproved')).check();
    await card.getByLabel(t('authorizationIdOptional')).fill('AUTH-777');
    await card.getByLabel(t('reason')).fill('terminal journal shows the sale approved, receipt seen');
    await check(page, 'flow-5-resolve-form');
    await card.getByRole('button', { name: t('confirm') }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe(t('resolved', { id: unknown.paymentId, status: translate('en', 'statusApproved') }));
    const after = await env.admin<AdminRead>(`payments/${unknown.paymentId}`);
    expect(after.payment.status).toBe('approved');
    expect(after.timeline.map((e) => e.event)).toContain('operator.resolved');
    await expect.poll(() => page.locator('li.card', { hasText: unknown.paymentId }).count()).toBe(0);
  });

  it('a viewer sees no action, and the server refuses one it sends anyway; logout ends the session', async () => {
    const page = await open('laptop', 'en-US');
    await login(page, VIEWER);
    await page.goto(`${env.stack.consoleUrl}#/payments/${failed.paymentId}`);
    await page.locator('section[aria-labelledby=callbacks-title] tbody tr').first().waitFor();
    expect(await page.getByRole('button', { name: /Redeliver/ }).count()).toBe(0);
    await page.getByRole('link', { name: translate('en', 'navUnknown') }).click();
    await page.getByRole('heading', { name: translate('en', 'unknownTitle') }).waitFor();
    expect(await page.getByRole('button', { name: /Resolve/ }).count()).toBe(0);
    // No admin screen is offered, and asked for by address it says the role does not allow it.
    for (const href of ['#/pairing', '#/users', '#/tokens', '#/audit']) expect(await page.locator(`nav a[href="${href}"]`).count()).toBe(0);
    await page.goto(`${env.stack.consoleUrl}#/users`);
    await expect.poll(() => page.getByRole('alert').textContent()).toBe(translate('en', 'errorForbidden'));

    const refused = await page.evaluate(async (paymentId) => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('posbridge_csrf='))?.slice('posbridge_csrf='.length) ?? '';
      const callbacks = (await (await fetch(`/admin/v1/payments/${paymentId}/callbacks`)).json()) as { callbacks: { callbackId: number }[] };
      const res = await fetch(`/admin/v1/payments/${paymentId}/callbacks/${callbacks.callbacks[0]?.callbackId ?? 1}/redeliver`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': decodeURIComponent(csrf) },
        body: JSON.stringify({ reason: 'a viewer tries' }),
      });
      return { status: res.status, body: (await res.json()) as { code: string } };
    }, failed.paymentId);
    expect(refused).toMatchObject({ status: 403, body: { code: 'ADMIN_FORBIDDEN' } });

    await page.getByRole('button', { name: translate('en', 'logout') }).click();
    await page.locator('#login-name').waitFor();
    expect(await page.evaluate(async () => (await fetch('/admin/v1/session')).status)).toBe(401);
  });

  for (const lang of LANGS) {
    for (const size of Object.keys(SIZES) as (keyof typeof SIZES)[]) {
      it(`every screen in ${lang} on a ${size}: translated, formatted, photographed, accessible`, async () => {
        const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate(lang, key, vars);
        // The browser prefers another language: the switch decides, and is remembered.
        const page = await open(size, lang === 'en' ? 'pt-BR' : 'en-US');
        await page.locator('#lang').selectOption(lang);
        await page.reload();
        await page.getByRole('heading', { name: t('loginTitle') }).waitFor();
        expect(await page.evaluate(() => document.documentElement.lang)).toBe(lang);
        await check(page, `${lang}-${size}-1-login`);
        await login(page, OPERATOR);

        await page.getByLabel(t('fieldOrderId')).fill(failed.orderId);
        await page.getByRole('button', { name: t('search'), exact: true }).click();
        const row = page.locator('section table tbody tr').first();
        await expect.poll(() => row.textContent()).toContain(failed.paymentId);
        const { payment } = await env.admin<{ payment: { amount: { amountMinor: number; currency: string } } }>(`payments/${failed.paymentId}`);
        expect(payment.amount.amountMinor).toBe(1234);
        expect(await row.locator('td.num').textContent()).toBe(formatMoney(lang, payment.amount.amountMinor, payment.amount.currency));
        expect(await row.textContent()).toContain(t('statusApproved'));
        await check(page, `${lang}-${size}-2-payments`);

        await row.getByRole('link').click();
        await page.getByRole('heading', { name: t('timeline') }).waitFor();
        await expect.poll(() => page.locator('ol.timeline li').count()).toBeGreaterThanOrEqual(3);
        await check(page, `${lang}-${size}-3-payment-detail`);

        await page.getByRole('link', { name: t('navUnknown') }).click();
        await page.getByRole('heading', { name: t('unknownTitle') }).waitFor();
        await check(page, `${lang}-${size}-4-unknown`);

        await page.getByRole('link', { name: t('navTerminals') }).click();
        await expect.poll(() => page.locator('p.live').textContent()).toBe(t('onlineCount', { online: 1, total: 1 }));
        await check(page, `${lang}-${size}-5-terminals`);

        await page.getByRole('link', { name: t('navDirectory') }).click();
        await page.getByRole('heading', { name: t('merchantsTitle'), exact: true }).waitFor();
        await expect.poll(() => page.locator('section[aria-labelledby=merchants-title] tbody tr').count()).toBeGreaterThanOrEqual(1);
        await check(page, `${lang}-${size}-6-directory`);

        // Keyboard: on a fresh page the first Tab reaches the skip link, which moves focus to the content.
        await page.reload();
        await page.getByRole('heading', { name: t('merchantsTitle'), exact: true }).waitFor();
        await page.keyboard.press('Tab');
        expect(await page.evaluate(() => document.activeElement?.className)).toBe('skip');
        await page.keyboard.press('Enter');
        expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
      });
    }
  }

  it('a card issued and credited with the CLI shows its balance and journal in every language, photographed, accessible', async () => {
    const merchant = env.stack.giftcard.serviceUrl.split('/').at(-1) ?? '';
    const profile = `client-${Date.now().toString(36)}`;
    const issued = await env.giftcard(['issue', '--merchant', merchant, '--profile', profile, '--currency', 'BRL', '--value', '100.00', '--caption', 'Vale loja']);
    expect(issued.code, issued.out).toBe(0);
    const cardId = /cardId:\s+(\S+)/.exec(issued.out)?.[1] ?? '';
    const code = /redemptionCode:\s+(\S+)/.exec(issued.out)?.[1] ?? '';
    expect(cardId).not.toBe('');
    const credited = await env.giftcard(['credit', cardId, '--merchant', merchant, '--value', '25.50', '--request-id', 'console-e2e-1', '--description', 'bonus']);
    expect(credited.code, credited.out).toBe(0);
    // One page, signed in through the API first: a fresh page's session probe would count as a
    // failed authentication toward the source's limit, which the screens before this one use up.
    const context = await browser.newContext({ viewport: SIZES.laptop, locale: 'en-US', bypassCSP: true });
    contexts.push(context);
    const signIn = await context.request.post(`${env.stack.pppBaseUrl}/admin/v1/session`, { data: VIEWER });
    expect(signIn.status()).toBe(200);
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(`${err.name}: ${err.message}`));
    await page.goto(env.stack.consoleUrl);
    await page.locator('nav a[href="#/payments"]').waitFor();
    for (const lang of LANGS) {
      const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate(lang, key, vars);
      await page.locator('#lang').selectOption(lang);
      await page.getByRole('link', { name: t('navGiftCards') }).click();
      await page.getByLabel(t('gcMerchant')).fill(merchant);
      await page.getByLabel(t('gcProfile')).fill(profile);
      await page.getByRole('button', { name: t('search'), exact: true }).click();
      const link = page.getByRole('link', { name: cardId });
      await link.waitFor();
      await check(page, `${lang}-laptop-7-giftcards`);
      await link.click();
      await page.getByRole('heading', { name: t('gcJournal') }).waitFor();
      await expect.poll(() => page.getByTestId('gc-balance').textContent()).toBe(formatMoney(lang, 12_550, 'BRL'));
      const rows = page.locator('section[aria-labelledby=gc-journal-title] tbody tr');
      await expect.poll(() => rows.count()).toBe(2);
      const second = (await rows.nth(1).locator('td').allTextContents()).map((c) => c.trim());
      expect(second.slice(0, 4)).toEqual(['2', t('gcKindCredit'), formatMoney(lang, 2_550, 'BRL'), formatMoney(lang, 12_550, 'BRL')]);
      expect(await page.locator('main').textContent()).not.toContain(code);
      await check(page, `${lang}-laptop-8-giftcard-detail`);
    }
  });

  /** A page of a context signed in through the API (no login screen: see the gift card step). */
  async function signedIn(size: keyof typeof SIZES, user: { name: string; password: string }): Promise<Page> {
    const context = await browser.newContext({ viewport: SIZES[size], locale: 'en-US', bypassCSP: true });
    contexts.push(context);
    const signIn = await context.request.post(`${env.stack.pppBaseUrl}/admin/v1/session`, { data: user });
    expect(signIn.status()).toBe(200);
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(`${err.name}: ${err.message}`));
    await page.goto(env.stack.consoleUrl);
    await page.locator('nav a[href="#/payments"]').waitFor();
    return page;
  }

  it('an admin pairs an agent: a code made in the console, the real posbridge-agent pair and run, the terminal online then offline without a reload (event stream)', async () => {
    const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate('en', key, vars);
    const page = await signedIn('laptop', ADMIN);
    const origin = new URL(env.stack.consoleUrl).origin;
    await page.getByRole('link', { name: t('navPairing') }).click();
    await page.getByRole('heading', { name: t('pairTitle'), level: 1 }).waitFor();
    await expect.poll(() => page.locator('#pair-store option').count()).toBeGreaterThanOrEqual(1);
    await page.getByLabel(t('pairAgentName')).fill('caixa-e2e');
    await page.getByRole('button', { name: t('pairCreate') }).click();
    const codeBox = page.getByTestId('pair-code');
    await codeBox.waitFor();
    const code = ((await codeBox.textContent()) ?? '').trim();
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    expect(await page.getByTestId('pair-command').textContent()).toBe(`posbridge-agent pair ${code} --server ${origin}`);
    const expires = ((await page.getByTestId('pair-expires').textContent()) ?? '').trim();
    expect(expires).not.toBe(t('none'));
    await check(page, 'pair-1-code');

    await page.getByRole('link', { name: t('navTerminals') }).click();
    await expect.poll(() => page.locator('[data-live-mode]').getAttribute('data-live-mode')).toBe('stream');
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));

    const dir = mkdtempSync(join(tmpdir(), 'posbridge-console-pair-'));
    let agent: AgentProcess | undefined;
    try {
      const config = join(dir, 'posbridge-agent.json');
      const paired = await agentCli(['pair', code, '--server', origin, '--config', config], dir);
      expect(paired.code, paired.out).toBe(0);
      expect(paired.out).toContain('caixa-e2e');
      expect(JSON.parse(readFileSync(config, 'utf8'))).toMatchObject({ serverUrl: `${origin.replace(/^http/, 'ws')}/agent/v1`, tokenFile: 'posbridge-agent.token' });
      // The code is single use: a second redemption is refused.
      expect((await agentCli(['pair', code, '--server', origin, '--config', join(dir, 'again.json')], dir)).code).toBe(1);

      agent = await startAgentProcess(dir, config, 'SIMPAIR01', collectedLogs('warn').logger);
      const badge = page.locator('tr[data-serial="SIMPAIR01"] .badge');
      await expect.poll(() => badge.textContent(), { timeout: 30_000, message: 'the paired agent\'s terminal online' }).toBe(t('online'));
      const agentRow = page.locator('section[aria-labelledby=agents-title] tbody tr', { hasText: 'caixa-e2e' });
      await expect.poll(() => agentRow.textContent()).toContain(t('online'));
      expect(await agentRow.textContent()).toContain('SIMPAIR01');
      await check(page, 'pair-2-terminals-live');

      await agent.stop();
      agent = undefined;
      await expect.poll(() => badge.textContent(), { timeout: 20_000 }).toBe(t('offline'));
      expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
      expect(await page.locator('[data-live-mode]').getAttribute('data-live-mode')).toBe('stream');
      await check(page, 'pair-3-terminal-offline');
    } finally {
      await agent?.stop();
      removeDir(dir);
    }
  });

  it('an admin adds and disables a user, issues a token (secret shown once, it works), revokes it, and finds it all in the audit log', async () => {
    const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate('en', key, vars);
    const page = await signedIn('laptop', ADMIN);
    const suffix = Date.now().toString(36);
    const name = `temp.${suffix}`;

    await page.getByRole('link', { name: t('navUsers') }).click();
    await page.getByRole('heading', { name: t('usersTitle'), level: 1 }).waitFor();
    await page.locator('#user-name').fill(name);
    await page.locator('#user-password').fill('temporary password 2026');
    await page.locator('#user-role').selectOption('operator');
    await page.getByRole('button', { name: t('userAddSubmit') }).click();
    await expect.poll(() => page.locator('p.notice').textContent()).toBe(t('userAdded', { name }));
    const row = page.locator(`tr[data-user="${name}"]`);
    await expect.poll(() => row.textContent()).toContain(t('roleOperator'));
    expect(await row.textContent()).toContain(t('acActive'));
    await check(page, 'admin-1-users');
    await row.getByRole('button', { name: t('userDisableTitle', { name }) }).click();
    const confirm = page.getByRole('button', { name: t('confirm') });
    expect(await confirm.isDisabled()).toBe(true);
    await page.getByLabel(t('reason')).fill('left the team');
    await confirm.click();
    await expect.poll(() => page.locator('p.notice').textContent()).toBe(t('userDisabled', { name }));
    await expect.poll(() => row.textContent()).toContain(t('acDisabled'));
    const login = await fetch(`${env.stack.pppBaseUrl}/admin/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: 'temporary password 2026' }) });
    expect(login.status).toBe(401);

    await page.getByRole('link', { name: t('navTokens') }).click();
    await page.getByRole('heading', { name: t('tokensTitle'), level: 1 }).waitFor();
    const label = `wall screen ${suffix}`;
    await page.getByLabel(t('tokenLabel')).fill(label);
    await page.locator('#token-role').selectOption('viewer');
    await page.locator('#token-scope').selectOption('mch_bootstrap');
    await page.getByLabel(t('tokenDays')).fill('30');
    await page.getByRole('button', { name: t('tokenAddSubmit') }).click();
    const secretBox = page.getByTestId('token-secret');
    await secretBox.waitFor();
    const secret = ((await secretBox.textContent()) ?? '').trim();
    expect(secret).toMatch(/^pbk_[A-Za-z0-9_-]{20,}$/);
    const tokenRow = page.locator('section[aria-labelledby=tokens-title] tbody tr', { hasText: label });
    await expect.poll(() => tokenRow.textContent()).toContain(t('roleViewer'));
    expect(await tokenRow.textContent()).toContain('mch_bootstrap');
    await check(page, 'admin-2-token-secret');
    const asToken = () => fetch(`${env.stack.pppBaseUrl}/admin/v1/session`, { headers: { authorization: `Bearer ${secret}` } });
    const principal = (await (await asToken()).json()) as { principal: { role: string; merchantId: string } };
    expect(principal.principal).toMatchObject({ role: 'viewer', merchantId: 'mch_bootstrap' });
    // Shown once: hidden, and no list or reload shows it again.
    await page.getByRole('button', { name: t('tokenSecretHide') }).click();
    await page.reload();
    await tokenRow.waitFor();
    expect(await page.locator('main').textContent()).not.toContain(secret);
    await tokenRow.getByRole('button', { name: t('tokenRevokeLabel', { label }) }).click();
    await expect.poll(() => page.locator('p.notice').textContent()).toBe(t('tokenRevoked', { label }));
    await expect.poll(() => tokenRow.textContent()).toContain(t('tokenRevokedState'));
    expect((await asToken()).status).toBe(401);

    await page.getByRole('link', { name: t('navAudit') }).click();
    await page.getByRole('heading', { name: t('auditTitle'), level: 1 }).waitFor();
    const rows = page.locator('section[aria-labelledby=audit-list-title] tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(5);
    await page.getByLabel(t('auditActor')).fill(`user:${ADMIN.name}`);
    const actions = async () => (await rows.locator('th').allTextContents()).map((a) => a.trim());
    await expect.poll(actions).toEqual(expect.arrayContaining(['user.add', 'user.disable', 'token.add', 'token.revoke', 'agent.pair_code.created']));
    await page.getByLabel(t('auditAction')).fill('token.');
    await expect.poll(actions).toEqual(['token.revoke', 'token.add']);
    await check(page, 'admin-3-audit-filtered');
    await page.getByLabel(t('auditAction')).fill('');
    await page.getByLabel(t('auditActor')).fill('');
    await page.getByLabel(t('auditOutcome')).selectOption('refused');
    // The disabled user's refused login is there, with the name tried.
    await expect.poll(async () => (await rows.allTextContents()).some((r) => r.includes(`user:${name}`) && r.includes('session.login'))).toBe(true);
  });

  for (const size of Object.keys(SIZES) as (keyof typeof SIZES)[]) {
    it(`the admin screens in every language on a ${size}: translated, photographed, accessible`, async () => {
      const page = await signedIn(size, ADMIN);
      for (const lang of LANGS) {
        const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate(lang, key, vars);
        await page.locator('#lang').selectOption(lang);
        await page.getByRole('link', { name: t('navPairing') }).click();
        await page.getByRole('heading', { name: t('pairTitle'), level: 1 }).waitFor();
        await expect.poll(() => page.locator('#pair-store option').count()).toBeGreaterThanOrEqual(1);
        await check(page, `${lang}-${size}-9-pairing`);
        await page.getByRole('link', { name: t('navUsers') }).click();
        await page.getByRole('heading', { name: t('usersTitle'), level: 1 }).waitFor();
        await expect.poll(() => page.locator(`tr[data-user="${ADMIN.name}"]`).textContent()).toContain(t('roleAdmin'));
        await check(page, `${lang}-${size}-10-users`);
        await page.getByRole('link', { name: t('navTokens') }).click();
        await page.getByRole('heading', { name: t('tokensList') }).waitFor();
        await check(page, `${lang}-${size}-11-tokens`);
        await page.getByRole('link', { name: t('navAudit') }).click();
        await page.getByRole('heading', { name: t('auditTitle'), level: 1 }).waitFor();
        await expect.poll(() => page.locator('section[aria-labelledby=audit-list-title] tbody tr').count()).toBeGreaterThanOrEqual(1);
        expect(await page.locator('p.live').textContent()).toMatch(new RegExp(t('auditCount', { shown: '\\d+', total: '\\d+' }).replace(/\./g, '\\.')));
        await check(page, `${lang}-${size}-12-audit`);
        // Nothing wider than the window: the tables scroll inside their panels.
        expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      }
    });
  }

  // Last: it stops the agent.
  it('the terminal list follows the agent going away without a reload', async () => {
    const page = await open('tablet', 'en-US');
    await login(page, OPERATOR);
    await page.getByRole('link', { name: translate('en', 'navTerminals') }).click();
    const serial = env.stack.terminals[0]?.serialNumber ?? '';
    const badge = page.locator(`tr[data-serial="${serial}"] .badge`);
    await expect.poll(() => badge.textContent()).toBe(translate('en', 'online'));
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));

    await env.stack.agent.close();
    await expect.poll(() => badge.textContent(), { timeout: 20_000 }).toBe(translate('en', 'offline'));
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    const { terminals } = await env.admin<{ terminals: unknown[] }>('terminals');
    expect(await page.locator('p.live').textContent()).toBe(translate('en', 'onlineCount', { online: 0, total: terminals.length }));
    expect(await page.locator('[data-live-mode]').getAttribute('data-live-mode')).toBe('stream');
    await check(page, 'en-tablet-7-terminals-offline');
  });
});
