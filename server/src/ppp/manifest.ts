/**
 * `GET /manifest`: the two Venda Direta methods, split on capture. No authentication.
 * @see docs/protocol/vtex-ppp.md §4.1, §5.1
 */
import { POS_PAYMENT_METHODS, type Manifest } from '@posbridge/protocol/ppp';

const manifest: Manifest = {
  paymentMethods: [
    { name: POS_PAYMENT_METHODS.credit, allowsSplit: 'onCapture' },
    { name: POS_PAYMENT_METHODS.debit, allowsSplit: 'onCapture' },
  ],
  customFields: [],
  autoSettleDelay: { minimum: '0', maximum: '720' },
};

/** The connector's manifest. `autoSettleDelay` bounds are strings of whole hours. */
export const MANIFEST: Readonly<Manifest> = Object.freeze(manifest);
