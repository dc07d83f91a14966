/**
 * `posbridge-server giftcard …`: the operator's commands of the built-in gift card ledger and of
 * the Gift Card Provider credentials (docs/gift-cards.md "Operations"). Started by ./cli.ts; every
 * command opens the store as the server does (`POSBRIDGE_STORE`, `POSBRIDGE_DB` / `--db`,
 * `POSBRIDGE_DATABASE_URL` / `--database-url`).
 *
 * ```
 * posbridge-server giftcard credentials issue --merchant M
 * posbridge-server giftcard issue --merchant M --profile P --currency C [--value V] [--caption T]
 *                  [--relation R] [--expires ISO] [--restricted] [--single-redemption] [--single-credit]
 * posbridge-server giftcard credit CARD_ID --merchant M --value V [--request-id R] [--description T]
 * posbridge-server giftcard show CARD_ID --merchant M
 * posbridge-server giftcard list --merchant M --profile P
 * ```
 * Exit codes: 0 ok, 1 runtime failure or refusal, 2 usage error.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { CodedError, isCodedError } from '@posbridge/protocol/errors';
import { formatMoney, moneyFromDecimal, moneyToDecimal } from '@posbridge/protocol/money';
import { redactUrlPasswords } from '@posbridge/protocol/redaction';
import { isClusterStore, resolveStoreSettings } from './config.ts';
import { newGiftCardEntryId } from './giftcards/ids.ts';
import { derivePepper, LedgerBackend } from './giftcards/ledger-backend.ts';
import type { JournalEntry } from './giftcards/ledger.ts';
import { findProviderCredentials, issueProviderCredentials } from './giftcards/provider-credentials.ts';
import { resolveSubmitSecret } from './pos/submit-secret.ts';
import { MAX_GIFTCARD_PAGE, type PaymentStore } from './ports/index.ts';
import { openStore, PROCESS_LOCAL_STORE_KINDS } from './store-factory.ts';

/** Text of `posbridge-server giftcard --help`. */
export const GIFTCARD_HELP = `posbridge-server giftcard — the built-in gift card ledger (docs/gift-cards.md)

Usage:
  posbridge-server giftcard credentials issue --merchant M
        issue (or replace) merchant M's Gift Card Provider credentials: the serviceUrl path, the
        X-PROVIDER-API-AppKey and the AppToken to register in VTEX's Gift Card Hub (the token is
        shown once; only its hash is kept; the previous pair stops working)
  posbridge-server giftcard issue --merchant M --profile P --currency C [--value V] [--caption T]
                   [--relation R] [--expires ISO] [--restricted] [--single-redemption] [--single-credit]
        create a card owned by VTEX profile P in currency C (ISO 4217), loaded with V (a decimal,
        e.g. 50.00) when given; prints its id and redemption code (shown once: only its digest is
        kept). Needs the server's submit secret (POSBRIDGE_SUBMIT_SECRET or its file next to the
        SQLite database): the code's digest is keyed by it
  posbridge-server giftcard credit CARD_ID --merchant M --value V [--request-id R] [--description T]
        add V to the card (a Credit); repeating it with the same --request-id credits once
  posbridge-server giftcard show CARD_ID --merchant M
        the card, its balance and its whole journal
  posbridge-server giftcard list --merchant M --profile P
        the cards profile P owns (at most ${MAX_GIFTCARD_PAGE}), with their balances

Options: --db PATH, --database-url URL as for every command (posbridge-server --help).
`;

type Out = (text: string) => void;

/** Where the commands write (tests capture it). */
export interface CliIo {
  readonly out: Out;
  readonly err: Out;
}

const STD_IO: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

const iso = (ms: number | null): string => (ms === null ? 'never' : new Date(ms).toISOString());

/** Parses an ISO 8601 date-time (no zone = UTC) to ms, or throws a usage error. */
function parseDate(text: string): number {
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(text) || !text.includes('T') ? text : `${text}Z`;
  const ms = Date.parse(zoned);
  if (!Number.isFinite(ms)) throw new UsageError(`--expires ${JSON.stringify(text)} is not an ISO 8601 date-time`);
  return ms;
}

class UsageError extends Error {}

/** One journal line of `show`. */
function journalLine(e: JournalEntry, currency: string): string {
  const money = formatMoney({ amountMinor: e.amountMinor, currency });
  const after = formatMoney({ amountMinor: e.balanceAfterMinor, currency });
  return `  ${String(e.seq).padStart(4)}  ${iso(e.at)}  ${e.kind.padEnd(12)}  ${money.padStart(14)}  balance ${after}  ${e.id}${e.transactionId === null ? '' : ` of ${e.transactionId}`}  requestId ${e.requestId}${e.orderId === null ? '' : `  order ${e.orderId}`}${e.description === '' ? '' : `  "${e.description}"`}\n`;
}

/**
 * Runs `giftcard <args>`.
 * @param now clock, ms since epoch, of what the commands record.
 * @returns the exit code.
 */
export async function runGiftcardCli(args: readonly string[], env: Record<string, string | undefined>, now: () => number, io: CliIo = STD_IO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        merchant: { type: 'string' },
        profile: { type: 'string' },
        currency: { type: 'string' },
        value: { type: 'string' },
        caption: { type: 'string' },
        relation: { type: 'string' },
        expires: { type: 'string' },
        restricted: { type: 'boolean' },
        'single-redemption': { type: 'boolean' },
        'single-credit': { type: 'boolean' },
        'request-id': { type: 'string' },
        description: { type: 'string' },
        db: { type: 'string' },
        'database-url': { type: 'string' },
      },
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${GIFTCARD_HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [sub, ...rest] = positionals;
  if (values.help === true || sub === undefined) {
    (values.help === true ? io.out : io.err)(GIFTCARD_HELP);
    return values.help === true ? 0 : 2;
  }
  const what = `giftcard ${sub}`;
  const merchantName = values.merchant?.trim() ?? '';
  if (merchantName === '') {
    io.err(`${what}: --merchant is required\n`);
    return 2;
  }
  const settings = resolveStoreSettings(env, values.db, values['database-url']);

  const withStore = async (fn: (store: PaymentStore) => Promise<number>): Promise<number> => {
    try {
      if (PROCESS_LOCAL_STORE_KINDS.has(settings.storeKind)) {
        throw new CodedError('CFG_INVALID', `POSBRIDGE_STORE=${settings.storeKind} keeps the data inside the server process; ${what} needs a store other processes can open (sqlite, postgres)`);
      }
      const store = await openStore(settings);
      try {
        return await fn(store);
      } finally {
        await store.close();
      }
    } catch (err) {
      if (err instanceof UsageError) {
        io.err(`${what}: ${err.message}\n`);
        return 2;
      }
      const cause = err instanceof Error && err.cause instanceof Error && err.cause.message !== '' ? ` (${err.cause.message})` : '';
      io.err(redactUrlPasswords(`${what} failed: ${isCodedError(err) ? `${err.code}: ${err.message}` : String(err)}${cause}\n`));
      return 1;
    }
  };
  /** The ledger, with the pepper derived from the server's submit secret (as compose.ts does). */
  const ledger = async (store: PaymentStore): Promise<LedgerBackend> => {
    const configured = env['POSBRIDGE_SUBMIT_SECRET'];
    const file = env['POSBRIDGE_SUBMIT_SECRET_FILE'] ?? (settings.storeKind === 'sqlite' && settings.dbPath !== ':memory:' ? `${settings.dbPath}.submit-secret` : undefined);
    const secret = await resolveSubmitSecret({
      configured: configured === '' ? undefined : configured,
      file,
      shared: isClusterStore(settings.storeKind),
      store,
      logger: pino({ level: 'warn' }, pino.destination(2)),
    });
    return new LedgerBackend({ store, pepper: derivePepper(secret), now });
  };
  /** A merchant of the directory, or (issue) one already served as a gift card provider. */
  const requireMerchant = async (store: PaymentStore, orProvider = false): Promise<void> => {
    if ((await store.findMerchantByName(merchantName)) !== null) return;
    if (orProvider && (await findProviderCredentials(store, merchantName)) !== null) return;
    throw new Error(`no merchant named ${JSON.stringify(merchantName)} (posbridge-server merchant list)`);
  };

  if (sub === 'credentials' && rest.length === 1 && rest[0] === 'issue') {
    return withStore(async (store) => {
      await requireMerchant(store);
      const issued = await issueProviderCredentials(store, merchantName, now());
      io.out(
        `gift card provider credentials issued\n  merchant:   ${merchantName}\n  serviceUrl: <public URL>/giftcard-provider/${merchantName}\n` +
          `  appKey:     ${issued.appKey}\n  appToken:   ${issued.appToken}\n` +
          'Enter them in the Gift Card Hub now (docs/gift-cards.md): only the token\'s hash is kept; any earlier pair no longer works.\n',
      );
      return 0;
    });
  }

  if (sub === 'issue' && rest.length === 0) {
    const profileId = values.profile?.trim() ?? '';
    const currency = values.currency?.trim().toUpperCase() ?? '';
    if (profileId === '' || currency === '') {
      io.err(`${what}: --profile and --currency are required\n`);
      return 2;
    }
    return withStore(async (store) => {
      await requireMerchant(store, true);
      const backend = await ledger(store);
      const created = await backend.createCard(merchantName, {
        profileId,
        currency,
        relationName: values.relation ?? 'posbridge',
        caption: values.caption ?? 'Gift card',
        ...(values.expires === undefined ? {} : { expiresAt: parseDate(values.expires) }),
        restrictedToOwner: values.restricted === true,
        multipleRedemptions: values['single-redemption'] !== true,
        multipleCredits: values['single-credit'] !== true,
      });
      if (!created.ok) throw new UsageError(`${created.refusal.code}: ${created.refusal.message}`);
      const { card, redemptionCode } = created.value;
      io.out(`gift card issued\n  cardId:         ${card.id}\n  redemptionCode: ${redemptionCode}\n  owner:          ${card.profileId}\n  expires:        ${iso(card.expiresAt)}\n`);
      if (values.value !== undefined) {
        const load = await backend.createTransaction(merchantName, card.id, { operation: 'credit', value: Number(values.value), requestId: `issue-${card.id}`, description: 'issued by the CLI' });
        if (!load.ok) {
          io.err(`${what}: the card was created but not loaded: ${load.refusal.code}: ${load.refusal.message}\n`);
          return 1;
        }
        io.out(`  balance:        ${formatMoney({ amountMinor: load.value.amountMinor, currency })}\n`);
      }
      io.out('Give the redemption code to the customer now: only its digest is kept, it cannot be shown again.\n');
      return 0;
    });
  }

  if (sub === 'credit' && rest.length === 1) {
    const cardId = rest[0] ?? '';
    if (values.value === undefined) {
      io.err(`${what}: --value is required (a decimal in the card's currency, e.g. 10.50)\n`);
      return 2;
    }
    const requestId = values['request-id'] ?? `cli-${randomUUID()}`;
    return withStore(async (store) => {
      const card = await store.findGiftCard(merchantName, cardId);
      if (card === null) throw new Error(`merchant ${merchantName} has no gift card ${JSON.stringify(cardId)}`);
      let amountMinor: number;
      try {
        amountMinor = moneyFromDecimal(Number(values.value), card.currency).amountMinor;
      } catch (err) {
        throw new UsageError(`--value ${JSON.stringify(values.value)}: ${(err as Error).message}`);
      }
      const r = await store.appendGiftCardEntry(
        merchantName,
        { cardId, entryId: newGiftCardEntryId(), requestId, kind: 'credit', amountMinor, description: values.description ?? 'credited by the CLI' },
        now(),
      );
      if (r.kind === 'refused') {
        io.err(`${what} refused: ${r.refusal.code}: ${r.refusal.message}\n`);
        return 1;
      }
      io.out(
        `${r.kind === 'repeated' ? 'already credited (same --request-id)' : 'credited'}\n  cardId:    ${cardId}\n  value:     ${formatMoney({ amountMinor, currency: card.currency })}\n` +
          `  requestId: ${requestId}\n  balance:   ${formatMoney({ amountMinor: r.entry.balanceAfterMinor, currency: card.currency })}\n`,
      );
      return 0;
    });
  }

  if (sub === 'show' && rest.length === 1) {
    const cardId = rest[0] ?? '';
    return withStore(async (store) => {
      const card = await store.findGiftCard(merchantName, cardId);
      if (card === null) throw new Error(`merchant ${merchantName} has no gift card ${JSON.stringify(cardId)}`);
      const balance = (await store.getGiftCardBalance(merchantName, cardId)) ?? 0;
      io.out(
        `gift card ${card.id}\n  merchant: ${card.merchantName}\n  owner:    ${card.profileId}${card.restrictedToOwner ? ' (only the owner may use it)' : ''}\n` +
          `  relation: ${card.relationName}\n  caption:  ${card.caption}\n  valid:    ${iso(card.emittedAt)} … ${iso(card.expiresAt)}\n` +
          `  redemptions: ${card.multipleRedemptions ? 'multiple' : 'single'}, credits: ${card.multipleCredits ? 'multiple' : 'single'}\n` +
          `  balance:  ${formatMoney({ amountMinor: balance, currency: card.currency })} (${moneyToDecimal({ amountMinor: balance, currency: card.currency })})\njournal:\n`,
      );
      let offset = 0;
      for (;;) {
        const page = await store.listGiftCardEntries(merchantName, cardId, offset, MAX_GIFTCARD_PAGE);
        for (const e of page.entries) io.out(journalLine(e, card.currency));
        offset += page.entries.length;
        if (page.entries.length === 0 || offset >= page.total) break;
      }
      if (offset === 0) io.out('  (empty)\n');
      return 0;
    });
  }

  if (sub === 'list' && rest.length === 0) {
    const profileId = values.profile?.trim() ?? '';
    if (profileId === '') {
      io.err(`${what}: --profile is required\n`);
      return 2;
    }
    return withStore(async (store) => {
      io.out('cardId\tbalance\texpires\tcaption\n');
      for (const card of await store.listGiftCardsOfClient(merchantName, profileId, MAX_GIFTCARD_PAGE)) {
        const balance = (await store.getGiftCardBalance(merchantName, card.id)) ?? 0;
        io.out(`${card.id}\t${formatMoney({ amountMinor: balance, currency: card.currency })}\t${iso(card.expiresAt)}\t${card.caption}\n`);
      }
      return 0;
    });
  }

  io.err(`unknown command: giftcard ${positionals.join(' ')}\n\n${GIFTCARD_HELP}`);
  return 2;
}
