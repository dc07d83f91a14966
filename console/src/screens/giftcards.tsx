/**
 * Gift cards (issue 17 item 4): a client's cards of a merchant's built-in ledger
 * (`GET /admin/v1/giftcards?merchant=&profile=`), and one card with its balance and its whole
 * journal, oldest first (`GET /admin/v1/giftcards/<id>?merchant=`). Read-only; the search lives
 * in the hash (`#/giftcards?merchant=…&profile=…`, `#/giftcards/<id>?merchant=…`) so it can be
 * linked. Money is formatted with Intl from integer minor units in the card's currency.
 *
 * @see docs/console.md "Screens"
 * @see docs/admin-api.md "Gift cards"
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, query, type GiftCardEntry, type Principal } from '../api.ts';
import { useI18n, type MessageKey } from '../i18n/index.ts';
import { ErrorNote, useLoad } from '../ui.tsx';

const KIND_KEYS: Record<GiftCardEntry['kind'], MessageKey> = {
  debit: 'gcKindDebit',
  credit: 'gcKindCredit',
  cancellation: 'gcKindCancellation',
  settlement: 'gcKindSettlement',
};

/** The address of card `cardId` of `merchant`. */
export function giftCardHref(merchant: string, cardId: string): string {
  return `#/giftcards/${encodeURIComponent(cardId)}${query({ merchant })}`;
}

/** The search screen: merchant name and client profile id, then the client's cards. */
export function GiftCards({ params }: { params: URLSearchParams; principal: Principal }): ReactNode {
  const i18n = useI18n();
  const merchant = params.get('merchant') ?? '';
  const profile = params.get('profile') ?? '';
  const [form, setForm] = useState({ merchant, profile });
  const ready = merchant !== '' && profile !== '';
  const cards = useLoad(async () => (ready ? api.giftCards(merchant, profile) : null), [merchant, profile]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    location.hash = `#/giftcards${query({ merchant: form.merchant.trim(), profile: form.profile.trim() })}`;
  };
  return (
    <>
      <h1>{i18n.t('gcTitle')}</h1>
      <form className="search" onSubmit={submit} aria-label={i18n.t('gcTitle')}>
        <div className="grid">
          <div className="field">
            <label htmlFor="gc-merchant">{i18n.t('gcMerchant')}</label>
            <input id="gc-merchant" required maxLength={128} value={form.merchant} onChange={(e) => setForm((f) => ({ ...f, merchant: e.target.value }))} />
          </div>
          <div className="field">
            <label htmlFor="gc-profile">{i18n.t('gcProfile')}</label>
            <input id="gc-profile" required maxLength={128} value={form.profile} onChange={(e) => setForm((f) => ({ ...f, profile: e.target.value }))} />
          </div>
        </div>
        <div className="actions">
          <button type="submit" className="primary">
            {i18n.t('search')}
          </button>
        </div>
      </form>
      {ready ? (
        <section aria-labelledby="gc-results-title">
          <h2 id="gc-results-title">{i18n.t('results')}</h2>
          <ErrorNote error={cards.error} />
          {cards.loading && cards.data === null ? <p>{i18n.t('loading')}</p> : null}
          {cards.data !== null && cards.data.cards.length === 0 ? <p>{i18n.t('noResults')}</p> : null}
          {cards.data !== null && cards.data.cards.length > 0 ? (
            <div className="table-wrap" tabIndex={0}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">{i18n.t('gcCard')}</th>
                    <th scope="col">{i18n.t('gcCaption')}</th>
                    <th scope="col">{i18n.t('gcCurrency')}</th>
                    <th scope="col">{i18n.t('gcExpires')}</th>
                    <th scope="col">{i18n.t('colCreated')}</th>
                  </tr>
                </thead>
                <tbody>
                  {cards.data.cards.map((c) => (
                    <tr key={c.cardId}>
                      <th scope="row">
                        <a href={giftCardHref(merchant, c.cardId)}>{c.cardId}</a>
                      </th>
                      <td>{c.caption === '' ? i18n.t('none') : c.caption}</td>
                      <td>{c.currency}</td>
                      <td>{c.expiresAt === null ? i18n.t('gcNever') : i18n.time(c.expiresAt)}</td>
                      <td>{i18n.time(c.createdAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
        </section>
      ) : null}
    </>
  );
}

/** One card: its terms, its balance and its journal table. */
export function GiftCardDetail({ id, params }: { id: string; params: URLSearchParams; principal: Principal }): ReactNode {
  const i18n = useI18n();
  const merchant = params.get('merchant') ?? '';
  const detail = useLoad(() => api.giftCard(merchant, id), [merchant, id]);
  const card = detail.data?.card;
  return (
    <>
      <h1>{i18n.t('gcCardTitle', { id })}</h1>
      <p>
        <a href={card ? `#/giftcards${query({ merchant, profile: card.profileId })}` : '#/giftcards'}>{i18n.t('gcBack')}</a>
      </p>
      <ErrorNote error={detail.error} />
      {detail.loading && detail.data === null ? <p>{i18n.t('loading')}</p> : null}
      {card ? (
        <>
          <dl className="summary">
            <dt>{i18n.t('gcBalance')}</dt>
            <dd data-testid="gc-balance">{i18n.money(card.balanceMinor, card.currency)}</dd>
            <dt>{i18n.t('gcMerchant')}</dt>
            <dd>{card.merchantName}</dd>
            <dt>{i18n.t('gcProfile')}</dt>
            <dd>{card.profileId}</dd>
            <dt>{i18n.t('gcRelation')}</dt>
            <dd>{card.relationName}</dd>
            <dt>{i18n.t('gcCaption')}</dt>
            <dd>{card.caption === '' ? i18n.t('none') : card.caption}</dd>
            <dt>{i18n.t('gcValidity')}</dt>
            <dd>
              {i18n.time(card.emittedAt)} – {card.expiresAt === null ? i18n.t('gcNever') : i18n.time(card.expiresAt)}
            </dd>
            <dt>{i18n.t('gcRestricted')}</dt>
            <dd>{i18n.t(card.restrictedToOwner ? 'yes' : 'no')}</dd>
          </dl>
          <section aria-labelledby="gc-journal-title">
            <h2 id="gc-journal-title">{i18n.t('gcJournal')}</h2>
            {detail.data?.journal.length === 0 ? <p>{i18n.t('gcJournalEmpty')}</p> : null}
            {detail.data && detail.data.journal.length > 0 ? (
              <div className="table-wrap" tabIndex={0}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col" className="num">
                        #
                      </th>
                      <th scope="col">{i18n.t('colKind')}</th>
                      <th scope="col" className="num">
                        {i18n.t('colAmount')}
                      </th>
                      <th scope="col" className="num">
                        {i18n.t('gcBalanceAfter')}
                      </th>
                      <th scope="col">{i18n.t('gcTransaction')}</th>
                      <th scope="col">{i18n.t('colOrder')}</th>
                      <th scope="col">{i18n.t('gcTime')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {detail.data.journal.map((e) => (
                      <tr key={e.entryId}>
                        <td className="num">{e.seq}</td>
                        <td>{i18n.t(KIND_KEYS[e.kind])}</td>
                        <td className="num">{i18n.money(e.amountMinor, card.currency)}</td>
                        <td className="num">{i18n.money(e.balanceAfterMinor, card.currency)}</td>
                        <td>{e.transactionId ?? e.entryId}</td>
                        <td>{e.orderId ?? i18n.t('none')}</td>
                        <td>{i18n.time(e.at)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : null}
          </section>
        </>
      ) : null}
    </>
  );
}
