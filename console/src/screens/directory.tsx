/** Merchants and stores (`GET /admin/v1/merchants`, `/stores`), within the caller's merchant scope. */
import type { ReactNode } from 'react';
import { api, type Principal } from '../api.ts';
import { useI18n } from '../i18n/index.ts';
import { ErrorNote, useLoad } from '../ui.tsx';

/** The directory screen. */
export function Directory(_props: { principal: Principal }): ReactNode {
  const i18n = useI18n();
  const lists = useLoad(async () => ({ ...(await api.merchants()), ...(await api.stores()) }), []);
  return (
    <>
      <h1>{i18n.t('directoryTitle')}</h1>
      <ErrorNote error={lists.error} />
      {lists.loading && lists.data === null ? <p>{i18n.t('loading')}</p> : null}
      <section aria-labelledby="merchants-title">
        <h2 id="merchants-title">{i18n.t('merchantsTitle')}</h2>
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{i18n.t('colName')}</th>
                <th scope="col">{i18n.t('colId')}</th>
                <th scope="col">{i18n.t('colAppKey')}</th>
                <th scope="col">{i18n.t('colCallbackMode')}</th>
                <th scope="col">{i18n.t('colTestSuite')}</th>
                <th scope="col">{i18n.t('colCreated')}</th>
              </tr>
            </thead>
            <tbody>
              {lists.data?.merchants.map((m) => (
                <tr key={m.merchantId}>
                  <th scope="row">{m.name ?? i18n.t('none')}</th>
                  <td>{m.merchantId}</td>
                  <td>{m.appKey}</td>
                  <td>{m.callbackMode}</td>
                  <td>{i18n.t(m.testSuiteMode ? 'yes' : 'no')}</td>
                  <td>{i18n.time(m.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section aria-labelledby="stores-title">
        <h2 id="stores-title">{i18n.t('storesTitle')}</h2>
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{i18n.t('colName')}</th>
                <th scope="col">{i18n.t('colId')}</th>
                <th scope="col">{i18n.t('colMerchant')}</th>
                <th scope="col">{i18n.t('colCreated')}</th>
              </tr>
            </thead>
            <tbody>
              {lists.data?.stores.map((s) => (
                <tr key={s.storeId}>
                  <th scope="row">{s.name}</th>
                  <td>{s.storeId}</td>
                  <td>{s.merchantId}</td>
                  <td>{i18n.time(s.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
