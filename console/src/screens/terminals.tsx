/**
 * Terminals and agents with their online status (docs/admin-api.md "Merchants, stores,
 * terminals and agents"). The admin API offers no event stream, so the screen polls both lists
 * every {@link POLL_MS} ms while it is open: a terminal going on- or offline shows without a
 * reload, announced politely to screen readers by the count line.
 */
import type { ReactNode } from 'react';
import { api, type Principal } from '../api.ts';
import { formatTime, useI18n } from '../i18n/index.ts';
import { ErrorNote, useLoad } from '../ui.tsx';

/** How often the lists are read again, ms. */
export const POLL_MS = 3_000;

function Online({ online }: { online: boolean }): ReactNode {
  const i18n = useI18n();
  return <span className={`badge ${online ? 'on' : 'off'}`}>{i18n.t(online ? 'online' : 'offline')}</span>;
}

/** The terminals screen. */
export function Terminals(_props: { principal: Principal }): ReactNode {
  const i18n = useI18n();
  const lists = useLoad(async () => ({ ...(await api.terminals()), ...(await api.agents()), at: new Date().toISOString() }), [], POLL_MS);
  const terminals = lists.data?.terminals ?? [];
  const online = terminals.filter((t) => t.online).length;
  return (
    <>
      <h1>{i18n.t('navTerminals')}</h1>
      <ErrorNote error={lists.error} />
      {lists.data === null ? (
        lists.loading ? <p>{i18n.t('loading')}</p> : null
      ) : (
        <>
          <p role="status" aria-live="polite" className="live" data-online={online}>
            {i18n.t('onlineCount', { online, total: terminals.length })}
          </p>
          <p className="muted">{i18n.t('live', { time: formatTime(i18n.lang, lists.data.at, true), seconds: POLL_MS / 1000 })}</p>
        </>
      )}
      <section aria-labelledby="terminals-title">
        <h2 id="terminals-title">{i18n.t('terminalsTitle')}</h2>
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{i18n.t('colSerial')}</th>
                <th scope="col">{i18n.t('colOnline')}</th>
                <th scope="col">{i18n.t('colLastSeen')}</th>
                <th scope="col">{i18n.t('colAgent')}</th>
                <th scope="col">{i18n.t('colStore')}</th>
                <th scope="col">{i18n.t('colMerchant')}</th>
              </tr>
            </thead>
            <tbody>
              {terminals.map((t) => (
                <tr key={t.serialNumber} data-serial={t.serialNumber}>
                  <th scope="row">{t.serialNumber}</th>
                  <td>
                    <Online online={t.online} />
                  </td>
                  <td>{i18n.time(t.lastSeenAt)}</td>
                  <td>{t.agentName}</td>
                  <td>{t.storeName}</td>
                  <td>{t.merchantName ?? t.merchantId}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section aria-labelledby="agents-title">
        <h2 id="agents-title">{i18n.t('agentsTitle')}</h2>
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{i18n.t('colName')}</th>
                <th scope="col">{i18n.t('colOnline')}</th>
                <th scope="col">{i18n.t('colVersion')}</th>
                <th scope="col">{i18n.t('colLastSeen')}</th>
                <th scope="col">{i18n.t('colTerminals')}</th>
              </tr>
            </thead>
            <tbody>
              {lists.data?.agents.map((a) => (
                <tr key={a.agentId}>
                  <th scope="row">{a.name}</th>
                  <td>
                    <Online online={a.online} />
                  </td>
                  <td>{a.agentVersion ?? i18n.t('none')}</td>
                  <td>{i18n.time(a.lastSeenAt)}</td>
                  <td>{a.serialNumbers.join(', ') || i18n.t('none')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
