/**
 * What the benchmarks' fake agents answer: the frames a real agent sends after a zero-time
 * approved sale (protocol/src/agent: `payment.result`), for a `payment.start` frame.
 */

/**
 * The `payment.result` of an approval for the `payment.start` frame `start` (its `paymentId`
 * and `amount` echoed), with `terminalRef` as the terminal's reference of the sale.
 */
export function approvalFor(start: Record<string, unknown>, terminalRef: string): Record<string, unknown> {
  return {
    type: 'payment.result',
    paymentId: start['paymentId'],
    outcome: 'approved',
    amount: start['amount'],
    terminalRef,
    authorizationId: '123456',
    nsu: '000000001',
    tid: 'T1',
    responseCode: '00',
    card: { brand: 'Mastercard', firstDigits: '545454', lastDigits: '5454' },
  };
}
