/**
 * Directory routes of the admin API: merchants, stores, terminals (online from the presence)
 * and agents (online when any of their terminals is, version and last hello), each limited to
 * the caller's merchant scope. No secret leaves: no appToken hash, no agent token hash.
 *
 * @see docs/admin-api.md "Merchants, stores, terminals and agents"
 */
import { Router } from 'express';
import { principalOf } from './auth.ts';
import { route, type AdminContext } from './context.ts';
import { terminalViews } from './terminal-events.ts';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The directory routes, mounted under `/admin/v1` after authentication. */
export function directoryRoutes(ctx: AdminContext): Router {
  const r = Router();
  const scopeOf = (res: Parameters<typeof principalOf>[0]): string | undefined => principalOf(res).merchantId ?? undefined;
  /** Online serials among `serials` (the presence is asked for each; a failure is the store's 503). */
  const online = async (serials: readonly string[]): Promise<Set<string>> => {
    const found = await Promise.all(serials.map(async (s) => ((await ctx.presence.locate(s)).status === 'online' ? s : null)));
    return new Set(found.filter((s): s is string => s !== null));
  };

  r.get(
    '/merchants',
    route(async (_req, res) => {
      const scope = scopeOf(res);
      const merchants = (await ctx.store.listMerchants()).filter((m) => scope === undefined || m.merchantId === scope);
      res.json({
        merchants: merchants.map((m) => ({
          merchantId: m.merchantId,
          name: m.name,
          appKey: m.appKey,
          callbackMode: m.callbackMode,
          testSuiteMode: m.testSuiteMode === true,
          createdAt: iso(m.createdAt),
        })),
      });
    }),
  );

  r.get(
    '/stores',
    route(async (_req, res) => {
      const stores = await ctx.store.listStores(scopeOf(res));
      res.json({ stores: stores.map((s) => ({ storeId: s.storeId, merchantId: s.merchantId, name: s.name, createdAt: iso(s.createdAt) })) });
    }),
  );

  r.get(
    '/terminals',
    route(async (_req, res) => {
      res.json({ terminals: await terminalViews(ctx, scopeOf(res)) });
    }),
  );

  r.get(
    '/agents',
    route(async (_req, res) => {
      const scope = scopeOf(res);
      const [agents, terminals] = await Promise.all([ctx.store.listAgents(scope), ctx.store.listTerminals(scope)]);
      const up = await online(agents.flatMap((a) => a.serialNumbers));
      const lastSeen = new Map<string, number>();
      for (const t of terminals) lastSeen.set(t.agentId, Math.max(lastSeen.get(t.agentId) ?? 0, t.lastSeenAt));
      res.json({
        agents: agents.map((a) => {
          const seen = Math.max(lastSeen.get(a.agentId) ?? 0, a.lastHelloAt ?? 0);
          return {
            agentId: a.agentId,
            name: a.name,
            storeId: a.storeId,
            merchantId: a.merchantId,
            online: a.serialNumbers.some((s) => up.has(s)),
            agentVersion: a.agentVersion,
            lastSeenAt: seen === 0 ? null : iso(seen),
            serialNumbers: a.serialNumbers,
            createdAt: iso(a.createdAt),
          };
        }),
      });
    }),
  );

  return r;
}
