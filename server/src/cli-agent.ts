/**
 * The enrolment commands of `posbridge-server` (docs/agent-enrolment.md), dispatched by ./cli.ts:
 *
 * ```
 * posbridge-server agent pair-code [--merchant M [--store S]] [--name N] [--operator NAME]
 * posbridge-server agent rotate-token AGENT_ID [--operator NAME]
 * posbridge-server agent revoke AGENT_ID [--reason TEXT] [--operator NAME]
 * ```
 * Each opens the store as the other commands do; its audit entry goes to the admin audit log
 * (`cli:<operator>`) and is a log line on stderr (component `audit`; ./enrolment/audit.ts). A running server closes a rotated or revoked agent's session within
 * `POSBRIDGE_AGENT_CREDENTIAL_CHECK_MS` (its credential watch reads the change from the store).
 */
import pino from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import { loggingAuditSink } from './enrolment/audit.ts';
import { AgentEnrolment } from './enrolment/enrolment-service.ts';
import { createRootLogger } from './logger.ts';
import { BOOTSTRAP_MERCHANT_ID, BOOTSTRAP_STORE_ID, type PaymentStore } from './ports/index.ts';

/** Help lines of these commands (part of ./cli.ts `HELP`). */
export const AGENT_ENROLMENT_HELP = `  posbridge-server agent pair-code [--merchant M [--store S]] [--name NAME]
                                          create a pairing code (shown once, valid 15 minutes,
                                          single use) for store S (default: "default") of
                                          merchant M (default: the env-configured merchant);
                                          on the store PC: posbridge-agent pair CODE --server URL
  posbridge-server agent rotate-token AGENT_ID
                                          give the agent a new token (shown once); the old one
                                          is refused from now on, its session closed
  posbridge-server agent revoke AGENT_ID [--reason TEXT]
                                          revoke the agent for good: its token is refused and a
                                          running server disconnects it within seconds
`;

/** What the commands get from ./cli.ts. */
export interface EnrolmentCliContext {
  readonly values: { readonly merchant?: string | undefined; readonly store?: string | undefined; readonly name?: string | undefined; readonly reason?: string | undefined };
  /** Who runs it: `--operator` or the OS user. */
  readonly operator: string | undefined;
  readonly env: Record<string, string | undefined>;
  readonly now: () => number;
  /** Opens the store, runs `fn`, closes it; prints failures. @returns the exit code. */
  readonly admin: (what: string, fn: (store: PaymentStore) => Promise<void>) => Promise<number>;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/**
 * Runs `agent pair-code | rotate-token | revoke` when `command`/`sub` name one.
 * @returns the exit code, or undefined when the arguments name no enrolment command.
 */
export async function runEnrolmentCommand(command: string, sub: string | undefined, rest: readonly string[], ctx: EnrolmentCliContext): Promise<number | undefined> {
  if (command !== 'agent' || (sub !== 'pair-code' && sub !== 'rotate-token' && sub !== 'revoke')) return undefined;
  const what = `agent ${sub}`;
  if (ctx.operator === undefined) {
    ctx.err(`${what}: no OS user name found; pass --operator NAME\n`);
    return 2;
  }
  const actor = `cli:${ctx.operator}`;
  const service = (store: PaymentStore) =>
    new AgentEnrolment({
      store,
      audit: loggingAuditSink(createRootLogger({ level: auditLevel(ctx.env), destination: pino.destination(2) })),
      now: ctx.now,
    });

  if (sub === 'pair-code') {
    if (rest.length > 0) {
      ctx.err(`${what}: unexpected argument ${JSON.stringify(rest.join(' '))}\n`);
      return 2;
    }
    return ctx.admin(what, async (store) => {
      const { merchantId, merchantLabel, storeId, storeLabel } = await storeOf(store, ctx.values.merchant, ctx.values.store);
      const issued = await service(store).createPairingCode({
        merchantId,
        storeId,
        ...(ctx.values.name === undefined ? {} : { agentName: ctx.values.name }),
        actor,
      });
      ctx.out(
        `pairing code created\n  code:     ${issued.code}\n  merchant: ${merchantLabel} (${merchantId})\n  store:    ${storeLabel} (${storeId})\n` +
          `  agent:    ${issued.agentName}\n  expires:  ${new Date(issued.expiresAt).toISOString()} (in 15 minutes)\n` +
          `On the store PC run: posbridge-agent pair ${issued.code} --server ${ctx.env['POSBRIDGE_PUBLIC_URL'] ?? "<this server's URL>"}\n` +
          'The code pairs one agent, once; only its hash is kept.\n',
      );
    });
  }

  const [agentId, ...extra] = rest;
  if (agentId === undefined || extra.length > 0 || !/^[A-Za-z0-9_-]{1,64}$/.test(agentId)) {
    ctx.err(`${what}: usage: agent ${sub} AGENT_ID${sub === 'revoke' ? ' [--reason TEXT]' : ''}\n`);
    return 2;
  }
  if (sub === 'rotate-token') {
    return ctx.admin(what, async (store) => {
      const { token } = await service(store).rotateToken(agentId, actor);
      ctx.out(
        `agent token rotated\n  agentId: ${agentId}\n  token:   ${token}\n` +
          'Store the token now: only its hash is kept, it cannot be shown again. The old token is refused from now on:\n' +
          'put the new one in the agent (POSBRIDGE_AGENT_TOKEN or its config file) and restart it.\n',
      );
    });
  }
  const reason = ctx.values.reason?.trim();
  if (reason !== undefined && (reason === '' || reason.length > 500)) {
    ctx.err(`${what}: --reason must be 1-500 characters\n`);
    return 2;
  }
  return ctx.admin(what, async (store) => {
    const revoked = await service(store).revoke(agentId, actor, reason);
    ctx.out(
      revoked
        ? `agent revoked\n  agentId: ${agentId}\n  by:      ${actor}\nIts token is refused from now on; a running server disconnects it within seconds.\n`
        : `agent ${agentId} was revoked already; nothing changed\n`,
    );
  });
}

/** The log level of the audit lines: LOG_LEVEL, but never below info (they are the audit trail). */
function auditLevel(env: Record<string, string | undefined>): 'info' | 'debug' | 'trace' {
  const level = env['LOG_LEVEL'];
  return level === 'debug' || level === 'trace' ? level : 'info';
}

/** The merchant and store named on the command line (default: the bootstrap merchant's default store). */
async function storeOf(
  store: PaymentStore,
  merchantName: string | undefined,
  storeName: string | undefined,
): Promise<{ merchantId: string; merchantLabel: string; storeId: string; storeLabel: string }> {
  if (merchantName === undefined) {
    if (storeName !== undefined) throw new CodedError('CFG_INVALID', '--store needs --merchant');
    const merchant = await store.getMerchant(BOOTSTRAP_MERCHANT_ID);
    if (!merchant) throw new CodedError('CFG_INVALID', 'no env-configured merchant in this database yet (start the server once, or pass --merchant)');
    return { merchantId: BOOTSTRAP_MERCHANT_ID, merchantLabel: merchant.name ?? '(env-configured)', storeId: BOOTSTRAP_STORE_ID, storeLabel: 'default' };
  }
  const merchant = await store.findMerchantByName(merchantName);
  if (!merchant) throw new CodedError('CFG_INVALID', `no merchant named ${JSON.stringify(merchantName)}`);
  const name = storeName ?? 'default';
  const s = await store.findStore(merchant.merchantId, name);
  if (!s) throw new CodedError('CFG_INVALID', `merchant ${merchantName} has no store named ${JSON.stringify(name)}`);
  return { merchantId: merchant.merchantId, merchantLabel: merchantName, storeId: s.storeId, storeLabel: name };
}
