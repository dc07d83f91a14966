/**
 * The bundle inside the VTEX IO app (built by ../scripts/vtex-io-build.ts into
 * `react/posbridge/checkout.js`): our screens with their own React, react-dom and
 * react-native-web, mounted into an element the checkout's component renders. Self-contained,
 * so it works whatever React version the VTEX IO react builder gives the wrapper
 * (./react/index.tsx). @see ./README.md, ../src/screens/CheckoutFlow.tsx
 */
import { createRoot } from 'react-dom/client';
import { CheckoutFlow } from '../src/screens/CheckoutFlow.tsx';
import { checkoutEventsOn, type CheckoutEvents, type JQueryLike } from '../src/host/checkout.ts';
import { webCameraScannerFor } from '../web/camera-scanner.ts';
import { localMemory } from '../web/local-memory.ts';

/** Options of {@link mountCheckoutApp}. */
export interface MountCheckoutOptions {
  /** The checkout's `appPayload` prop (the connector's `paymentAppData.payload`). */
  readonly appPayload: string;
  /** BCP 47 locale; default: the page's `<html lang>`, else the browser's language. */
  readonly locale?: string | undefined;
  /** Where the answer goes; default: `transactionValidation.vtex` / `removePaymentLoading.vtex` on `window` through the page's jQuery. */
  readonly checkout?: CheckoutEvents | undefined;
}

/** Renders the clerk flow into `element`; returns the unmount function (the wrapper calls it when the checkout removes it). */
export function mountCheckoutApp(element: Element, options: MountCheckoutOptions): () => void {
  const locale = options.locale ?? (document.documentElement.lang || navigator.language);
  const checkout = options.checkout ?? checkoutEventsOn(window as unknown as { $?: JQueryLike });
  const root = createRoot(element);
  root.render(<CheckoutFlow appPayload={options.appPayload} locale={locale} checkout={checkout} memory={localMemory()} scanner={webCameraScannerFor(locale)} />);
  return () => root.unmount();
}
