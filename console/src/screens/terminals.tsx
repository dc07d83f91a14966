/**
 * Terminals and agents with their online status (docs/admin-api.md "Merchants, stores,
 * terminals and agents"). While the screen is open it listens to the server's terminal events
 * (`GET /admin/v1/terminals/events`, docs/admin-api.md "Terminal events") with `EventSource`: a
 * terminal going on- or offline, or a newly paired agent's terminal appearing, shows without a
 * reload (the agents list is read again on each change). Where the stream cannot be opened or
 * fails, the screen falls back to reading both lists every {@link POLL_MS} ms. The count line
 * is announced politely to screen readers.
 *
 * @see docs/console.md "Screens"
 */
import { useEffect, useState, type ReactNode } from 'react';
import { api, TERMINAL_EVENTS_URL, UNAUTHORIZED_EVENT, type Agent, type Principal, type Terminal } from '../api.ts';
import { formatTime, useI18n } from '../i18n/index.ts';
import { ErrorNote } from '../ui.tsx';

/** How often the lists are read again when the event stream is not available, ms. */
export const POLL_MS = 3_000;

/** How the screen stays current: the server's event stream, or reading again every {@link POLL_MS}. */
export type LiveMode = 'connecting' | 'stream' | 'polling';

/** `list` with `t` put in place of the terminal of its serial (or added), in serial order. */
export function upsertTerminal(list: readonly Terminal[], t: Terminal): Terminal[] {
  const next = list.filter((x) => x.serialNumber !== t.serialNumber);
  next.push(t);
  return next.sort((a, b) => (a.serialNumber < b.serialNumber ? -1 : a.serialNumber > b.serialNumber ? 1 : 0));
}

function Online({ online }: { online: boolean }): ReactNode {
  const i18n = useI18n();
  return <span className={`badge ${online ? 'on' : 'off'}`}>{i18n.t(online ? 'online' : 'offline')}</span>;
}

/** The terminals and agents, kept current by the event stream or, failing it, by polling. */
function useLiveTerminals(): { terminals: Terminal[] | null; agents: Agent[] | null; at: string | null; mode: LiveMode; error: unknown } {
  const [terminals, setTerminals] = useState<Terminal[] | null>(null);
  const [agents, setAgents] = useState<Agent[] | null>(null);
  const [at, setAt] = useState<string | null>(null);
  const [mode, setMode] = useState<LiveMode>('connecting');
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setInterval> | null = null;
    let source: EventSource | null = null;
    const stamp = () => setAt(new Date().toISOString());
    const loadAgents = () => {
      api.agents().then(
        (a) => live && (setAgents(a.agents), setError(null)),
        (err: unknown) => live && setError(err),
      );
    };
    const poll = () => {
      Promise.all([api.terminals(), api.agents()]).then(
        ([t, a]) => {
          if (!live) return;
          setTerminals(t.terminals);
          setAgents(a.agents);
          setError(null);
          stamp();
        },
        (err: unknown) => live && setError(err),
      );
    };
    const fallBack = () => {
      source?.close();
      source = null;
      if (!live || timer !== null) return;
      setMode('polling');
      poll();
      timer = setInterval(poll, POLL_MS);
    };
    if (typeof EventSource === 'undefined') {
      fallBack();
    } else {
      const es = new EventSource(TERMINAL_EVENTS_URL);
      source = es;
      const data = (e: Event): Record<string, unknown> => JSON.parse((e as MessageEvent<string>).data) as Record<string, unknown>;
      es.addEventListener('terminals', (e) => {
        setTerminals((data(e)['terminals'] as Terminal[]) ?? []);
        setMode('stream');
        stamp();
        loadAgents();
      });
      es.addEventListener('terminal', (e) => {
        const t = data(e)['terminal'] as Terminal;
        setTerminals((list) => upsertTerminal(list ?? [], t));
        stamp();
        loadAgents();
      });
      es.addEventListener('removed', (e) => {
        const serial = data(e)['serialNumber'];
        setTerminals((list) => (list ?? []).filter((t) => t.serialNumber !== serial));
        stamp();
        loadAgents();
      });
      // The session or token ended: back to the login, as any 401 does.
      es.addEventListener('end', () => {
        es.close();
        dispatchEvent(new Event(UNAUTHORIZED_EVENT));
      });
      es.onerror = fallBack;
    }
    return () => {
      live = false;
      source?.close();
      if (timer !== null) clearInterval(timer);
    };
  }, []);
  return { terminals, agents, at, mode, error };
}

/** The terminals screen. */
export function Terminals(_props: { principal: Principal }): ReactNode {
  const i18n = useI18n();
  const lists = useLiveTerminals();
  const terminals = lists.terminals ?? [];
  const online = terminals.filter((t) => t.online).length;
  return (
    <>
      <h1>{i18n.t('navTerminals')}</h1>
      <ErrorNote error={lists.error} />
      {lists.terminals === null ? (
        lists.error === null ? <p>{i18n.t('loading')}</p> : null
      ) : (
        <>
          <p role="status" aria-live="polite" className="live" data-online={online}>
            {i18n.t('onlineCount', { online, total: terminals.length })}
          </p>
          <p className="muted" data-live-mode={lists.mode}>
            {lists.mode === 'stream'
              ? i18n.t('liveStream', { time: formatTime(i18n.lang, lists.at, true) })
              : i18n.t('live', { time: formatTime(i18n.lang, lists.at, true), seconds: POLL_MS / 1000 })}
          </p>
        </>
      )}
      <section aria-labelledby="terminals-title">
        <h2 id="terminals-title">{i18n.t('terminalsTitle')}</h2>
        <div className="table-wrap" tabIndex={0}>
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
        <div className="table-wrap" tabIndex={0}>
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
              {lists.agents?.map((a) => (
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
