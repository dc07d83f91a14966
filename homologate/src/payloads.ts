/**
 * Request bodies the way VTEX's gateway sends them (homologate/spec/ppp-openapi.yml: Create
 * Payment request, `CancelPaymentRequest`, `SettlePayment`, `RefundPayment`; docs/protocol/vtex-ppp.md §4, §5).
 * Card numbers are VTEX's published Test Suite numbers, never real cards.
 */
import { randomBytes } from 'node:crypto';

/** VTEX's Test Suite card numbers and the scenario each selects (PPP docs, "Test Suite"). */
export const SUITE_CARDS = Object.freeze({
  approved: '4444333322221111',
  denied: '4444333322221112',
  asyncApproved: '4222222222222224',
  asyncDenied: '4222222222222225',
});

/** A 32-character upper-case hex id, like the gateway's paymentId/transactionId/requestId. */
export function vtexId(): string {
  return randomBytes(16).toString('hex').toUpperCase();
}

/** What varies between Create Payment bodies. */
export interface CreatePaymentInput {
  paymentId: string;
  paymentMethod: string;
  /** PPP decimal amount, e.g. 31.9. */
  value: number;
  currency: string;
  callbackUrl: string;
  /** The VTEX account name (`merchantName`) the connector knows the merchant by. */
  merchantName: string;
  /** A suite card number; absent for a POS payment (the terminal reads the card). */
  cardNumber?: string;
}

/** A Create Payment body with every field the OpenAPI requires. */
export function createPaymentBody(input: CreatePaymentInput): Record<string, unknown> {
  const order = String(1_000_000 + (randomBytes(3).readUIntBE(0, 3) % 9_000_000));
  const card =
    input.cardNumber === undefined
      ? { holder: null, number: null, csc: null, expiration: { month: null, year: null }, document: null, token: null }
      : { holder: 'John Doe', number: input.cardNumber, csc: '123', expiration: { month: '12', year: '2030' }, document: '01234567890', token: null };
  return {
    reference: order,
    orderId: `${order}-01`,
    shopperInteraction: input.cardNumber === undefined ? 'instore' : 'ecommerce',
    verificationOnly: false,
    transactionId: vtexId(),
    paymentId: input.paymentId,
    paymentMethod: input.paymentMethod,
    paymentMethodCustomCode: null,
    merchantName: input.merchantName,
    card,
    value: input.value,
    referenceValue: input.value,
    currency: input.currency,
    installments: 1,
    installmentsInterestRate: 0,
    installmentsValue: input.value,
    deviceFingerprint: '12ade389087fe',
    ipAddress: '127.0.0.1',
    miniCart: {
      buyer: { id: 'buyer-1', firstName: 'John', lastName: 'Doe', document: '01234567890', documentType: 'cpf', email: 'john.doe@example.com', phone: '+5521999999999' },
      items: [{ id: '1', name: 'Homologation item', price: input.value, quantity: 1, discount: 0 }],
      shippingValue: 0,
      taxValue: 0,
    },
    url: `https://homologation.example.com/admin/orders/${order}`,
    callbackUrl: input.callbackUrl,
    returnUrl: `https://homologation.example.com/checkout/order/${order}`,
    merchantSettings: [],
    connectorMetadata: [],
  };
}

/** What a follow-up needs of the approved payment. */
export interface ApprovedPayment {
  paymentId: string;
  transactionId: string;
  authorizationId: string | null;
  tid: string | null;
  nsu: string | null;
}

/** The ids of an approved Create Payment answer, for the follow-ups. */
export function approvedPayment(create: Record<string, unknown>, answer: Record<string, unknown>): ApprovedPayment {
  const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return {
    paymentId: String(create['paymentId']),
    transactionId: String(create['transactionId']),
    authorizationId: text(answer['authorizationId']),
    tid: text(answer['tid']),
    nsu: text(answer['nsu']),
  };
}

/** `POST /payments/{paymentId}/cancellations` body. */
export function cancelBody(p: ApprovedPayment): Record<string, unknown> {
  return { paymentId: p.paymentId, requestId: vtexId(), authorizationId: p.authorizationId, tid: p.tid, transactionId: p.transactionId, nsu: p.nsu };
}

/** `POST /payments/{paymentId}/settlements` body. */
export function settleBody(p: ApprovedPayment, value: number): Record<string, unknown> {
  return { transactionId: p.transactionId, requestId: vtexId(), paymentId: p.paymentId, value, authorizationId: p.authorizationId, tid: p.tid, nsu: p.nsu };
}

/** `POST /payments/{paymentId}/refunds` body. */
export function refundBody(p: ApprovedPayment, settleId: string, value: number): Record<string, unknown> {
  return { requestId: vtexId(), settleId, paymentId: p.paymentId, tid: p.tid, value, transactionId: p.transactionId, authorizationId: p.authorizationId, nsu: p.nsu };
}
