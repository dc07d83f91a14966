/**
 * The audit log (unscoped admin only; docs/admin-api.md "Audit log"): who did what to which
 * target, why, with what outcome and when, newest first, 50 a page (`GET /admin/v1/audit?limit=
 * &before=<seq>`: *Older* reads the next page from the last row's `seq`, *Newer* goes back). The
 * API has no filters, so the filters (actor, action, outcome, any text) narrow the page shown,
 * in the browser; the count line says how many of the page's rows match.
 *
 * @see docs/console.md "Screens"
 */
import { useState, type ReactNode } from 'react';
import { api, type AuditEntry, type Principal } from '../api.ts';
import { useI18n } from '../i18n/index.ts';
import { ErrorNote, useLoad } from '../ui.tsx';

/** Rows per page. */
export const AUDIT_PAGE = 50;

/** The audit filters: each empty one matches everything; text matches case-insensitively. */
export interface AuditFilter {
  actor: string;
  action: string;
  outcome: string;
  text: string;
}

/** True when `e` matches every non-empty filter (actor, action: contains; outcome `ok` or `refused`; text: any field contains). */
export function auditMatches(e: AuditEntry, f: AuditFilter): boolean {
  const has = (value: string, part: string) => value.toLowerCase().includes(part.trim().toLowerCase());
  if (f.actor.trim() !== '' && !has(e.actor, f.actor)) return false;
  if (f.action.trim() !== '' && !has(e.action, f.action)) return false;
  if (f.outcome === 'ok' && e.outcome !== 'ok') return false;
  if (f.outcome === 'refused' && e.outcome === 'ok') return false;
  if (f.text.trim() !== '' && ![e.actor, e.action, e.target, e.reason, e.outcome].some((v) => has(v, f.text))) return false;
  return true;
}

/** The audit screen. */
export function Audit(_props: { principal: Principal }): ReactNode {
  const i18n = useI18n();
  // `before` of each page read so far (undefined: the newest).
  const [pages, setPages] = useState<(number | undefined)[]>([undefined]);
  const before = pages[pages.length - 1];
  const page = useLoad(() => api.audit(before, AUDIT_PAGE), [before]);
  const [filter, setFilter] = useState<AuditFilter>({ actor: '', action: '', outcome: '', text: '' });
  const entries = page.data?.entries ?? [];
  const shown = entries.filter((e) => auditMatches(e, filter));
  const last = entries[entries.length - 1];
  const set = (k: keyof AuditFilter) => (v: string) => setFilter((f) => ({ ...f, [k]: v }));
  return (
    <>
      <h1>{i18n.t('auditTitle')}</h1>
      <form className="search" onSubmit={(e) => e.preventDefault()} aria-label={i18n.t('auditFilters')}>
        <div className="grid">
          {(['actor', 'action', 'text'] as const).map((k) => (
            <div className="field" key={k}>
              <label htmlFor={`audit-${k}`}>{i18n.t(k === 'actor' ? 'auditActor' : k === 'action' ? 'auditAction' : 'auditText')}</label>
              <input id={`audit-${k}`} maxLength={100} value={filter[k]} onChange={(e) => set(k)(e.target.value)} />
            </div>
          ))}
          <div className="field">
            <label htmlFor="audit-outcome">{i18n.t('auditOutcome')}</label>
            <select id="audit-outcome" value={filter.outcome} onChange={(e) => set('outcome')(e.target.value)}>
              <option value="">{i18n.t('auditOutcomeAny')}</option>
              <option value="ok">{i18n.t('auditOutcomeOk')}</option>
              <option value="refused">{i18n.t('auditOutcomeRefused')}</option>
            </select>
          </div>
        </div>
        <small>{i18n.t('auditFilterHelp')}</small>
      </form>
      <ErrorNote error={page.error} />
      <section aria-labelledby="audit-list-title">
        <h2 id="audit-list-title">{i18n.t('pageN', { n: pages.length })}</h2>
        <p role="status" className="live" data-shown={shown.length}>
          {page.loading ? i18n.t('loading') : i18n.t('auditCount', { shown: shown.length, total: entries.length })}
        </p>
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{i18n.t('gcTime')}</th>
                <th scope="col">{i18n.t('auditActor')}</th>
                <th scope="col">{i18n.t('auditAction')}</th>
                <th scope="col">{i18n.t('auditTarget')}</th>
                <th scope="col">{i18n.t('reason')}</th>
                <th scope="col">{i18n.t('auditOutcome')}</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((e) => (
                <tr key={e.seq} data-seq={e.seq}>
                  <td>{i18n.time(e.at)}</td>
                  <td>{e.actor}</td>
                  <th scope="row">{e.action}</th>
                  <td className="wrap">{e.target}</td>
                  <td className="wrap">{e.reason}</td>
                  <td>
                    <span className={`badge ${e.outcome === 'ok' ? 'on' : 'off'}`}>{e.outcome}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div className="pager">
          <button type="button" disabled={pages.length === 1} onClick={() => setPages((p) => p.slice(0, -1))}>
            {i18n.t('auditNewer')}
          </button>
          <button type="button" disabled={entries.length < AUDIT_PAGE || last === undefined} onClick={() => last && setPages((p) => [...p, last.seq])}>
            {i18n.t('auditOlder')}
          </button>
        </div>
      </section>
    </>
  );
}
