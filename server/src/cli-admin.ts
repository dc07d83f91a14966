/**
 * `posbridge-server user …` and `token …`: console users and API tokens of the admin API
 * (docs/admin-api.md "Users and tokens"), on the store the server uses (./store-factory.ts,
 * `--db`, `--database-url`). Every change is written to the admin audit log as `cli:<os user>`
 * (or `--operator`). Secrets are printed once and kept only hashed.
 *
 * ```
 * posbridge-server user add --name NAME --role viewer|operator|admin [--merchant M] [--password-stdin]
 * posbridge-server user list
 * posbridge-server user disable NAME --reason TEXT
 * posbridge-server token add --name LABEL --role viewer|operator|admin [--merchant M] [--expires-days N]
 * posbridge-server token list
 * posbridge-server token revoke TOKEN_ID --reason TEXT
 * ```
 * Exit codes: 0 ok, 1 runtime/config failure, 2 usage error.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CodedError, isCodedError } from '@posbridge/protocol/errors';
import { redactUrlPasswords } from '@posbridge/protocol/redaction';
import { issueApiToken, newUserId } from './admin/credentials.ts';
import { hashPassword, passwordProblem } from './admin/passwords.ts';
import { resolveStoreSettings } from './config.ts';
import { osUser } from './cli-os-user.ts';
import { ADMIN_ROLES, type AdminRole, type PaymentStore } from './ports/index.ts';
import { openStore, PROCESS_LOCAL_STORE_KINDS } from './store-factory.ts';

/** The part of `--help` about users and tokens. */
export const ADMIN_CLI_HELP = `Console users and API tokens (docs/admin-api.md):
  posbridge-server user add --name NAME --role viewer|operator|admin [--merchant M] [--password-stdin]
                                          add a console user; without --password-stdin a random
                                          password is printed once (only its scrypt hash is kept)
  posbridge-server user list              list users (no password hashes)
  posbridge-server user disable NAME --reason TEXT
                                          disable a user and revoke its sessions and tokens
  posbridge-server token add --name LABEL --role viewer|operator|admin [--merchant M] [--expires-days N]
                                          issue an API token (Authorization: Bearer), shown once
  posbridge-server token list             list API tokens (ids and labels, never the secrets)
  posbridge-server token revoke TOKEN_ID --reason TEXT
                                          revoke an API token at once
  (--merchant scopes the user or token to that merchant's data; --operator NAME names who acts)
`;

/** True when `args` is a `user` or `token` command (after any leading flags). */
export function isAdminCliCommand(args: readonly string[]): boolean {
  const first = args.find((a) => !a.startsWith('-'));
  return first === 'user' || first === 'token';
}

/** Reads stdin to its end (bounded to 4 KiB), for `--password-stdin`. */
async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.length > 4096) throw new Error('--password-stdin: more than 4 KiB on stdin');
  }
  return text.replace(/\r?\n$/, '');
}

const usage = (line: string): number => {
  process.stderr.write(`${line}\n\n${ADMIN_CLI_HELP}`);
  return 2;
};

/**
 * Runs a `user` or `token` command.
 * @param now clock, ms since epoch, of what the commands record.
 * @param readPassword where `--password-stdin` reads from (tests give their own).
 * @returns the exit code.
 */
export async function runAdminCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  now: () => number = Date.now,
  readPassword: () => Promise<string> = readStdin,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        name: { type: 'string' },
        role: { type: 'string' },
        merchant: { type: 'string' },
        reason: { type: 'string' },
        operator: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        'expires-days': { type: 'string' },
        db: { type: 'string' },
        'database-url': { type: 'string' },
      },
    });
  } catch (err) {
    return usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(ADMIN_CLI_HELP);
    return 0;
  }
  const [command, sub, ...rest] = positionals;
  const operator = values.operator?.trim() || osUser(env);
  if (operator === undefined) return usage(`${command} ${sub}: no OS user name found; pass --operator NAME`);
  const actor = `cli:${operator}`;
  const role = values.role as AdminRole | undefined;
  const needRole = (): boolean => role !== undefined && ADMIN_ROLES.includes(role);

  const withStore = async (what: string, fn: (store: PaymentStore) => Promise<void>): Promise<number> => {
    try {
      const settings = resolveStoreSettings(env, values.db, values['database-url']);
      if (PROCESS_LOCAL_STORE_KINDS.has(settings.storeKind)) {
        throw new CodedError('CFG_INVALID', `POSBRIDGE_STORE=${settings.storeKind} keeps the data inside the server process; ${what} needs sqlite or postgres`);
      }
      const store = await openStore(settings);
      try {
        await fn(store);
      } finally {
        await store.close();
      }
      return 0;
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error && err.cause.message !== '' ? ` (${err.cause.message})` : '';
      process.stderr.write(redactUrlPasswords(`${what} failed: ${isCodedError(err) ? `${err.code}: ${err.message}` : String(err)}${cause}\n`));
      return 1;
    }
  };
  /** The merchant id of --merchant (by name), or null. */
  const merchantOf = async (store: PaymentStore): Promise<string | null> => {
    if (values.merchant === undefined) return null;
    const m = await store.findMerchantByName(values.merchant);
    if (!m) throw new Error(`no merchant named ${JSON.stringify(values.merchant)}`);
    return m.merchantId;
  };
  const reason = values.reason?.trim() ?? '';
  const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());

  if (command === 'user' && sub === 'add' && rest.length === 0) {
    const name = values.name?.trim() ?? '';
    if (!/^[A-Za-z0-9._@-]{1,59}$/.test(name)) return usage('user add: --name must be 1-59 characters of A-Z a-z 0-9 . _ @ -');
    if (!needRole()) return usage('user add: --role must be viewer, operator or admin');
    let password: string;
    let generated = false;
    if (values['password-stdin'] === true) {
      password = await readPassword();
      const problem = passwordProblem(password);
      if (problem) return usage(`user add: ${problem}`);
    } else {
      password = randomBytes(18).toString('base64url');
      generated = true;
    }
    return withStore('user add', async (store) => {
      const merchantId = await merchantOf(store);
      const at = now();
      await store.createUser(
        { userId: newUserId(), name, role: role!, merchantId, passwordHash: await hashPassword(password), disabled: false, createdAt: at },
        { actor, action: 'user.add', target: name, reason: `role ${role!}${merchantId === null ? '' : `, merchant ${merchantId}`}`, outcome: 'ok', at },
      );
      process.stdout.write(
        `user added\n  name:     ${name}\n  role:     ${role!}\n  merchant: ${merchantId ?? '(every merchant)'}\n` +
          (generated ? `  password: ${password}\nGive the password to the user now: only its hash is kept.\n` : ''),
      );
    });
  }

  if (command === 'user' && sub === 'list' && rest.length === 0) {
    return withStore('user list', async (store) => {
      process.stdout.write('name\trole\tmerchant\tstatus\tcreated\tuserId\n');
      for (const u of await store.listUsers()) {
        process.stdout.write(`${u.name}\t${u.role}\t${u.merchantId ?? '*'}\t${u.disabled ? 'disabled' : 'active'}\t${iso(u.createdAt)}\t${u.userId}\n`);
      }
    });
  }

  if (command === 'user' && sub === 'disable' && rest.length === 1) {
    if (reason === '' || reason.length > 500) return usage('user disable: --reason TEXT (1-500 characters) is required');
    const name = rest[0] ?? '';
    return withStore('user disable', async (store) => {
      const user = await store.findUserByName(name);
      if (!user) throw new Error(`no user named ${JSON.stringify(name)}`);
      const at = now();
      if (!(await store.disableUser(user.userId, at, { actor, action: 'user.disable', target: name, reason, outcome: 'ok', at }))) {
        throw new Error(`no user named ${JSON.stringify(name)}`);
      }
      process.stdout.write(`user ${name} disabled; its sessions and tokens are revoked\n`);
    });
  }

  if (command === 'token' && sub === 'add' && rest.length === 0) {
    const label = values.name?.trim() ?? '';
    if (label === '' || label.length > 100) return usage('token add: --name LABEL (1-100 characters) is required');
    if (!needRole()) return usage('token add: --role must be viewer, operator or admin');
    const days = values['expires-days'] === undefined ? undefined : Number(values['expires-days']);
    if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 3650)) return usage('token add: --expires-days must be a whole number of days, 1-3650');
    return withStore('token add', async (store) => {
      const merchantId = await merchantOf(store);
      const at = now();
      const expiresAt = days === undefined ? null : at + days * 86_400_000;
      const issued = await issueApiToken(store, {
        label,
        role: role!,
        merchantId,
        userId: null,
        now: at,
        expiresAt,
        audit: (credentialId) => ({ actor, action: 'token.add', target: credentialId, reason: `${label}: role ${role!}`, outcome: 'ok', at }),
      });
      process.stdout.write(
        `token issued\n  id:       ${issued.credentialId}\n  label:    ${label}\n  role:     ${role!}\n  merchant: ${merchantId ?? '(every merchant)'}\n` +
          `  expires:  ${iso(expiresAt)}\n  token:    ${issued.token}\nStore the token now: only its hash is kept, it cannot be shown again.\n`,
      );
    });
  }

  if (command === 'token' && sub === 'list' && rest.length === 0) {
    return withStore('token list', async (store) => {
      process.stdout.write('id\tlabel\trole\tmerchant\tcreated\texpires\trevoked\n');
      for (const c of await store.listCredentials('api')) {
        process.stdout.write(`${c.credentialId}\t${c.label}\t${c.role}\t${c.merchantId ?? '*'}\t${iso(c.createdAt)}\t${iso(c.expiresAt)}\t${iso(c.revokedAt)}\n`);
      }
    });
  }

  if (command === 'token' && sub === 'revoke' && rest.length === 1) {
    if (reason === '' || reason.length > 500) return usage('token revoke: --reason TEXT (1-500 characters) is required');
    const id = rest[0] ?? '';
    return withStore('token revoke', async (store) => {
      const at = now();
      if (!(await store.revokeCredential(id, at, { actor, action: 'token.revoke', target: id, reason, outcome: 'ok', at }))) {
        throw new Error(`no active token ${JSON.stringify(id)}`);
      }
      process.stdout.write(`token ${id} revoked\n`);
    });
  }

  return usage(`unknown command: ${positionals.join(' ')}`);
}
