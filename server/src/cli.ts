/**
 * `posbridge-server` command line. Importing this module runs nothing: the process entry is
 * ./cli-main.ts (started by bin/posbridge-server.js). Every command opens its store through
 * ./store-factory.ts (`POSBRIDGE_STORE`, `POSBRIDGE_DB` / `--db`, `POSBRIDGE_DATABASE_URL` /
 * `--database-url`), as the server does.
 *
 * ```
 * posbridge-server [run] [--port N] [--host H] [--db PATH] [--public-url URL] [--log-level L]
 * posbridge-server agent add --name NAME [--merchant M --store S] [--db PATH]
 * posbridge-server agent pair-code | rotate-token AGENT_ID | revoke AGENT_ID   (./cli-agent.ts)
 * posbridge-server totals --date YYYY-MM-DD [--merchant M] [--store S] [--tz ZONE] [--csv]   (./cli-totals.ts)
 * posbridge-server merchant add --name NAME [--callback-mode notification|retry] [--db PATH]
 * posbridge-server merchant list [--db PATH]
 * posbridge-server merchant set NAME [--test-suite on|off] [--sandbox-terminals allow|deny]
 *                  [--payment-app vendor.name|default] [--operator NAME] [--db PATH]
 * posbridge-server store add --merchant M --name NAME [--db PATH]
 * posbridge-server terminal list [--merchant M] [--db PATH]
 * posbridge-server payment resolve <paymentId> --outcome approved|denied --reason TEXT
 *                  [--authorization CODE] [--operator NAME] [--db PATH]
 * posbridge-server operation resolve <operationId> --outcome approved|denied --reason TEXT
 *                  [--operator NAME] [--db PATH]
 * posbridge-server terminal move SERIAL --agent AGENT_ID --reason TEXT [--db PATH]
 * posbridge-server migrate [--database-url URL]
 * posbridge-server giftcard credentials|issue|credit|show|list …   (./cli-giftcard.ts)
 * posbridge-server user add|list|disable …, token add|list|revoke …   (./cli-admin.ts)
 * posbridge-server --help
 * ```
 * Exit codes: 0 ok, 1 runtime/config failure, 2 usage error.
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { CodedError, isCodedError } from '@posbridge/protocol/errors';
import { MemoryChangeFeed } from './adapters/memory/change-feed.ts';
import { paymentDeadlinesOf, pppAnswerSettingsOf } from './compose.ts';
import { loadServerConfig, resolveStoreSettings, type ServerConfig } from './config.ts';
import { randomUUID } from 'node:crypto';
import { runGiftcardCli } from './cli-giftcard.ts';
import { issueAgentToken } from './hub/agent-tokens.ts';
import { AGENT_ENROLMENT_HELP, runEnrolmentCommand } from './cli-agent.ts';
import { runTotalsCommand, TOTALS_HELP } from './cli-totals.ts';
import { ADMIN_CLI_HELP, isAdminCliCommand, runAdminCli } from './cli-admin.ts';
import { applyMerchantSet, merchantListLine, parseMerchantSet } from './cli-merchant.ts';
import { osUser } from './cli-os-user.ts';
import { createRootLogger } from './logger.ts';
import { PaymentService } from './payments/payment-service.ts';
import { runServerProcess } from './main.ts';
import { hashAppToken } from './ppp/auth.ts';
import { newMerchantCredentials } from './ppp/authorization-router.ts';
import { openStore, PROCESS_LOCAL_STORE_KINDS } from './store-factory.ts';
import { failure, migrate } from './cli-migrate.ts';
import type { NewAuditEntry, PaymentStore } from './ports/index.ts';

/** Text of `--help`. */
export const HELP = `posbridge-server — VTEX PPP connector for in-store POS payments + terminal-agent hub

Usage:
  posbridge-server [run] [options]        start the server (default command)
  posbridge-server agent add --name NAME [--merchant M --store S]
                                          create a terminal agent and print its token (shown once);
                                          without --merchant it serves the env-configured merchant
${AGENT_ENROLMENT_HELP}${TOTALS_HELP}  posbridge-server merchant add --name NAME [--callback-mode notification|retry]
                                          create a merchant (VTEX merchantName) and print its
                                          appKey/appToken (the token is shown once)
  posbridge-server merchant list          list merchants (no secrets)
  posbridge-server merchant set NAME [--test-suite on|off] [--sandbox-terminals allow|deny]
                   [--payment-app vendor.name|default] [--operator NAME]
                                          VTEX Test Suite mode of merchant NAME (off by default):
                                          suite requests run on its virtual terminal
                                          (docs/homologation.md); --sandbox-terminals: may VTEX
                                          sandbox payments run on its real terminals (default
                                          deny, docs/homologation.md "Sandbox mode"); the Payment
                                          App its payments open: the partner's installed VTEX IO
                                          app, or VTEX's own (default;
                                          docs/payment-app-install.md); who and
                                          when are kept
  posbridge-server store add --merchant M --name NAME
                                          create a store of merchant M
  posbridge-server terminal list [--merchant M]
                                          list terminals with their agent, store and merchant
  posbridge-server payment resolve <paymentId> --outcome approved|denied --reason TEXT
                   [--authorization CODE] [--operator NAME]
                                          settle a payment whose terminal outcome is unknown,
                                          from the terminal's journal or receipt (for a reversal
                                          whose outcome is unknown: denied = the void went through,
                                          approved = still charged); recorded with
                                          who, when and why; the callback to VTEX is enqueued
                                          (delivered by the running server). Needs the server's
                                          environment (the callback carries its settings)
  posbridge-server operation resolve <operationId> --outcome approved|denied --reason TEXT
                   [--operator NAME]
                                          settle a refund whose terminal outcome is unknown
                                          (approved = refunded, denied = not refunded), from the
                                          terminal's journal; recorded with who, when and why in
                                          the payment's events; VTEX's retry of the refund gets it
  posbridge-server terminal move SERIAL --agent AGENT_ID --reason TEXT
                                          give terminal SERIAL to another agent (any store), e.g.
                                          a till replaced or a terminal sold on; recorded with who,
                                          when and why. The old agent is refused from then on; the
                                          new one gets the terminal when it announces it
  posbridge-server migrate [--database-url URL]
                                          bring the PostgreSQL schema (POSBRIDGE_DATABASE_URL) to
                                          this release's version, once even when several run at
                                          once; prints "schema at version N (was M)". SQLite
                                          databases migrate when they are opened
  posbridge-server giftcard credentials|issue|credit|show|list …
                                          the Gift Card Provider credentials and the built-in
                                          gift card ledger (posbridge-server giftcard --help)
  posbridge-server --help                 show this help

Options (each overrides its environment variable):
  --port N          PORT (default 8080; 0 = any free port)
  --host H          HOST (default 0.0.0.0)
  --db PATH         POSBRIDGE_DB (default ./posbridge.sqlite)
  --database-url U  POSBRIDGE_DATABASE_URL (postgres://user:password@host:5432/db; selects the
                    postgres store; prefer the environment: a flag is visible to other users)
  --public-url URL  POSBRIDGE_PUBLIC_URL (base of submitUrl)
  --log-level L     LOG_LEVEL (fatal|error|warn|info|debug|trace|silent)
  --name NAME       name of the agent, merchant or store to add
  --merchant M      merchant name (agent add, store add, terminal list)
  --store S         store name (agent add)
  --callback-mode   notification (default) or retry (merchant add)
  --test-suite      on or off (merchant set)
  --payment-app A   vendor.name of an installed VTEX IO Payment App, or default (merchant set)
  --sandbox-terminals allow or deny (merchant set)
  --outcome O       approved or denied (payment resolve, operation resolve)
  --reason TEXT     why, 1-500 characters: what the receipt shows (payment resolve, e.g. "receipt
                    000123 shows approved"), or why the terminal moves (terminal move); kept in the audit log
  --authorization A authorization code printed on the receipt, approved only (payment resolve)
  --operator NAME   who decides (payment resolve, operation resolve, terminal move; default: the OS user)
  --agent AGENT_ID  the agent to move the terminal to (terminal move; see \`agent add\` output)

${ADMIN_CLI_HELP}
Required environment: POSBRIDGE_APP_KEY, POSBRIDGE_APP_TOKEN, POSBRIDGE_CALLBACK_APP_KEY,
POSBRIDGE_CALLBACK_APP_TOKEN. See server/README.md for every setting.
`;

const CONFIG_FLAGS = ['port', 'host', 'db', 'database-url', 'public-url', 'log-level'] as const;

/**
 * Runs the CLI.
 * @param now clock, ms since epoch, of everything the commands record (creation times, a
 *   terminal's move, an operator's resolution); the composition root's default is the wall clock.
 * @returns the process exit code to use, or undefined when the server keeps running.
 */
export async function runCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  now: () => number = Date.now,
): Promise<number | undefined> {
  if (args[0] === 'giftcard') return runGiftcardCli(args.slice(1), env, now);
  // Console users and API tokens have their own command line (./cli-admin.ts).
  if (isAdminCliCommand(args)) return runAdminCli(args, env, now);
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        name: { type: 'string' },
        merchant: { type: 'string' },
        store: { type: 'string' },
        'callback-mode': { type: 'string' },
        'test-suite': { type: 'string' },
        'payment-app': { type: 'string' },
        'sandbox-terminals': { type: 'string' },
        outcome: { type: 'string' },
        reason: { type: 'string' },
        authorization: { type: 'string' },
        operator: { type: 'string' },
        agent: { type: 'string' },
        date: { type: 'string' },
        tz: { type: 'string' },
        csv: { type: 'boolean' },
        json: { type: 'boolean' },
        port: { type: 'string' },
        host: { type: 'string' },
        db: { type: 'string' },
        'database-url': { type: 'string' },
        'public-url': { type: 'string' },
        'log-level': { type: 'string' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const [command = 'run', sub, ...rest] = positionals;

  if (command === 'run' && sub === undefined) {
    const argv: string[] = [];
    for (const flag of CONFIG_FLAGS) {
      const v = values[flag];
      if (v !== undefined) argv.push(`--${flag}`, v);
    }
    const running = await runServerProcess(env, argv);
    return running ? undefined : 1;
  }

  const admin = async (what: string, fn: (store: PaymentStore) => Promise<void>): Promise<number> => {
    try {
      const settings = resolveStoreSettings(env, values.db, values['database-url']);
      if (PROCESS_LOCAL_STORE_KINDS.has(settings.storeKind)) {
        throw new CodedError(
          'CFG_INVALID',
          `POSBRIDGE_STORE=${settings.storeKind} keeps the data inside the server process; ${what} needs a store other processes can open (sqlite, postgres)`,
        );
      }
      const store = await openStore(settings);
      try {
        await fn(store);
      } finally {
        await store.close();
      }
      return 0;
    } catch (err) {
      process.stderr.write(failure(what, err));
      return 1;
    }
  };
  const requireName = (what: string): string | undefined => {
    const name = values.name?.trim();
    if (name === undefined || name === '') process.stderr.write(`${what}: --name is required\n`);
    return name === '' ? undefined : name;
  };
  /** Resolves --merchant (and --store) to ids; throws a usage message. */
  const storeOf = async (store: PaymentStore): Promise<string | undefined> => {
    if (values.merchant === undefined) {
      if (values.store !== undefined) throw new Error('--store needs --merchant');
      return undefined;
    }
    const merchant = await store.findMerchantByName(values.merchant);
    if (!merchant) throw new Error(`no merchant named ${JSON.stringify(values.merchant)}`);
    const s = await store.findStore(merchant.merchantId, values.store ?? 'default');
    if (!s) throw new Error(`merchant ${values.merchant} has no store named ${JSON.stringify(values.store ?? 'default')}`);
    return s.storeId;
  };

  /** The admin audit row of a command's change (docs/admin-api.md "Audit log"), as `cli:<operator>`. */
  const auditRow = (action: string, target: string, reason = ''): NewAuditEntry => ({
    actor: `cli:${values.operator?.trim() || (osUser(env) ?? 'unknown')}`,
    action,
    target,
    reason,
    outcome: 'ok',
    at: now(),
  });
  /** Writes {@link auditRow} on its own, after the change (for the changes whose store call takes no row yet). */
  const audited = (store: PaymentStore, action: string, target: string, reason = ''): Promise<void> => store.appendAudit(auditRow(action, target, reason));

  if (command === 'agent' && sub === 'add' && rest.length === 0) {
    const name = requireName('agent add');
    if (name === undefined) return 2;
    return admin('agent add', async (store) => {
      const storeId = await storeOf(store);
      const { agentId, token } = await issueAgentToken(store, name, now(), storeId);
      await audited(store, 'agent.add', agentId, name);
      process.stdout.write(
        `agent created\n  name:    ${name}\n  agentId: ${agentId}\n  token:   ${token}\n` +
          'Store the token now: only its hash is kept, it cannot be shown again.\n',
      );
    });
  }

  if (command === 'merchant' && sub === 'add' && rest.length === 0) {
    const name = requireName('merchant add');
    if (name === undefined) return 2;
    const mode = values['callback-mode'] ?? 'notification';
    if (mode !== 'notification' && mode !== 'retry') {
      process.stderr.write('merchant add: --callback-mode must be notification or retry\n');
      return 2;
    }
    return admin('merchant add', async (store) => {
      const issued = newMerchantCredentials();
      const createdAt = now();
      await store.createMerchant({
        merchantId: issued.merchantId,
        name,
        appKey: issued.appKey,
        appTokenSha256: hashAppToken(issued.appToken),
        callbackMode: mode,
        createdAt,
      });
      await store.createStore({ storeId: `sto_${randomUUID().replaceAll('-', '')}`, merchantId: issued.merchantId, name: 'default', createdAt });
      await audited(store, 'merchant.add', issued.merchantId, name);
      process.stdout.write(
        `merchant created\n  name:       ${name}\n  merchantId: ${issued.merchantId}\n  appKey:     ${issued.appKey}\n` +
          `  appToken:   ${issued.appToken}\n  callbacks:  ${mode}\n  store:      default\n` +
          'Enter appKey/appToken in the VTEX affiliation now: only the token\'s hash is kept.\n',
      );
    });
  }

  if (command === 'merchant' && sub === 'list' && rest.length === 0) {
    return admin('merchant list', async (store) => {
      for (const m of await store.listMerchants()) process.stdout.write(merchantListLine(m));
    });
  }

  if (command === 'merchant' && sub === 'set') {
    const req = parseMerchantSet(rest, values);
    if ('error' in req) {
      process.stderr.write(`${req.error}\n`);
      return 2;
    }
    const operator = values.operator?.trim() || osUser(env);
    if (operator === undefined) {
      process.stderr.write('merchant set: no OS user name found; pass --operator NAME\n');
      return 2;
    }
    return admin('merchant set', async (store) => {
      process.stdout.write(await applyMerchantSet(store, req, operator, now(), (action, target, reason) => audited(store, action, target, reason)));
    });
  }

  if (command === 'store' && sub === 'add' && rest.length === 0) {
    const name = requireName('store add');
    if (name === undefined) return 2;
    if (values.merchant === undefined) {
      process.stderr.write('store add: --merchant is required\n');
      return 2;
    }
    const merchantName = values.merchant;
    return admin('store add', async (store) => {
      const merchant = await store.findMerchantByName(merchantName);
      if (!merchant) throw new Error(`no merchant named ${JSON.stringify(merchantName)}`);
      const storeId = `sto_${randomUUID().replaceAll('-', '')}`;
      await store.createStore({ storeId, merchantId: merchant.merchantId, name, createdAt: now() });
      await audited(store, 'store.add', storeId, name);
      process.stdout.write(`store created\n  merchant: ${merchantName}\n  name:     ${name}\n  storeId:  ${storeId}\n`);
    });
  }

  if (command === 'terminal' && sub === 'list' && rest.length === 0) {
    return admin('terminal list', async (store) => {
      let merchantId: string | undefined;
      if (values.merchant !== undefined) {
        const merchant = await store.findMerchantByName(values.merchant);
        if (!merchant) throw new Error(`no merchant named ${JSON.stringify(values.merchant)}`);
        merchantId = merchant.merchantId;
      }
      process.stdout.write('serialNumber\tmerchant\tstore\tagent\tlastSeen\tagentId\n');
      for (const t of await store.listTerminals(merchantId)) {
        process.stdout.write(
          `${t.serialNumber}\t${t.merchantName ?? t.merchantId}\t${t.storeName}\t${t.agentName}\t${new Date(t.lastSeenAt).toISOString()}\t${t.agentId}\n`,
        );
      }
    });
  }

  if ((command === 'payment' || command === 'operation') && sub === 'resolve' && rest.length === 1) {
    const what = `${command} resolve`;
    const id = rest[0] ?? '';
    const outcome = values.outcome;
    if (outcome !== 'approved' && outcome !== 'denied') {
      process.stderr.write(`${what}: --outcome must be approved or denied\n`);
      return 2;
    }
    const reason = values.reason?.trim() ?? '';
    if (reason === '') {
      process.stderr.write(`${what}: --reason is required (what the terminal journal or receipt shows)\n`);
      return 2;
    }
    if (values.authorization !== undefined && (command === 'operation' || outcome !== 'approved')) {
      process.stderr.write(`${what}: --authorization only goes with payment resolve --outcome approved\n`);
      return 2;
    }
    const operator = values.operator?.trim() || osUser(env);
    if (operator === undefined) {
      process.stderr.write(`${what}: no OS user name found; pass --operator NAME\n`);
      return 2;
    }
    let config: ServerConfig;
    try {
      config = loadServerConfig(env, values.db === undefined ? [] : ['--db', values.db]);
    } catch (err) {
      process.stderr.write(`${what} failed: ${isCodedError(err) ? `${err.code}: ${err.message}` : String(err)}\n`);
      return 1;
    }
    return admin(what, async (store) => {
      const service = new PaymentService({
        store,
        logger: createRootLogger({ level: config.logLevel, destination: pino.destination(2) }),
        settings: pppAnswerSettingsOf(config),
        deadlines: paymentDeadlinesOf(config),
        // Nobody waits in this process; a running server's waiting requests re-read the store at
        // their time-out (a cluster change feed would wake them at once).
        changes: new MemoryChangeFeed(),
        now,
      });
      if (command === 'operation') {
        const op = await service.resolveUnknownOperation(id, { outcome, reason, operator }, auditRow('operation.resolve', id, `${outcome}: ${reason}`));
        process.stdout.write(
          `operation resolved\n  operationId: ${id}\n  paymentId:   ${op.paymentId}\n  kind:        ${op.kind}\n` +
            `  status:      ${op.status}\n  operator:    ${operator}\n`,
        );
        return;
      }
      const paymentId = id;
      const p = await service.resolveUnknown(
        paymentId,
        {
          outcome,
          reason,
          operator,
          ...(values.authorization === undefined ? {} : { authorizationId: values.authorization }),
        },
        auditRow('payment.resolve', paymentId, `${outcome}: ${reason}`),
      );
      const callback = (await store.listCallbacks(paymentId)).some((c) => c.status === 'pending')
        ? 'enqueued; the running server delivers it'
        : "none (VTEX cancelled the payment: its next cancellation attempt is answered from this decision)";
      process.stdout.write(
        `payment resolved\n  paymentId: ${paymentId}\n  outcome:   ${outcome}\n  status:    ${p.status}\n` +
          `  operator:  ${operator}\n  callback:  ${callback}\n`,
      );
    });
  }

  if (command === 'terminal' && sub === 'move' && rest.length === 1) {
    const serialNumber = rest[0] ?? '';
    const toAgentId = values.agent?.trim() ?? '';
    const reason = values.reason?.trim() ?? '';
    if (toAgentId === '' || reason === '' || reason.length > 500) {
      process.stderr.write('terminal move: --agent AGENT_ID and --reason TEXT (1-500 characters) are required\n');
      return 2;
    }
    return admin('terminal move', async (store) => {
      const terminal = await store.findTerminal(serialNumber);
      if (!terminal) throw new Error(`no terminal with serial ${JSON.stringify(serialNumber)}`);
      const agent = await store.getAgent(toAgentId);
      if (!agent) throw new Error(`no agent with id ${JSON.stringify(toAgentId)}`);
      if (terminal.agentId === toAgentId) {
        process.stdout.write(`terminal ${serialNumber} already belongs to agent ${agent.name} (${toAgentId}); nothing changed\n`);
        return;
      }
      const moved = await store.moveTerminal({
        serialNumber,
        fromAgentId: terminal.agentId,
        toAgentId,
        actor: `cli:${values.operator?.trim() || (osUser(env) ?? 'unknown')}`,
        reason,
        at: now(),
      });
      if (!moved) throw new Error(`terminal ${serialNumber} changed owner meanwhile; run the command again`);
      await audited(store, 'terminal.move', serialNumber, reason);
      const owner = await store.agentOwner(toAgentId);
      process.stdout.write(
        `terminal moved\n  serial: ${serialNumber}\n  from:   ${terminal.agentId}\n  to:     ${toAgentId} (${agent.name}, store ${owner?.storeId ?? '?'})\n` +
          `  reason: ${reason}\n`,
      );
    });
  }

  const io = { out: (t: string) => void process.stdout.write(t), err: (t: string) => void process.stderr.write(t) };
  const enrolment = await runEnrolmentCommand(command, sub, rest, { values, operator: values.operator?.trim() || osUser(env), env, now, admin, ...io });
  if (enrolment !== undefined) return enrolment;
  const totals = await runTotalsCommand(command, sub === undefined ? [] : [sub, ...rest], { values, admin, ...io });
  if (totals !== undefined) return totals;

  if (command === 'migrate' && sub === undefined) return migrate(resolveStoreSettings(env, values.db, values['database-url']));

  process.stderr.write(`unknown command: ${positionals.join(' ')}\n\n${HELP}`);
  return 2;
}
