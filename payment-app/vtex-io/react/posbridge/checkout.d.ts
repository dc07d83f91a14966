/**
 * Types of checkout.js, the bundle `npm run vtex-io:build -w @posbridge/payment-app` writes next
 * to this file from payment-app/vtex-io/checkout-bundle.tsx (a test keeps both in step).
 */
/** Where the answer goes (default: the checkout's jQuery events on window). */
export interface CheckoutEvents {
  removeLoading(): void;
  respond(approved: boolean): void;
}
/** Options of {@link mountCheckoutApp}. */
export interface MountCheckoutOptions {
  readonly appPayload: string;
  readonly locale?: string | undefined;
  readonly checkout?: CheckoutEvents | undefined;
}
/** Renders the clerk flow into `element`; returns the unmount function. */
export declare function mountCheckoutApp(element: Element, options: MountCheckoutOptions): () => void;
