/**
 * In-page web host contract: `mountPaymentApp(element, { appName, payload, locale, onClose })`
 * renders a Payment App (through react-native-web) into a DOM element and returns an unmount
 * function. The host calls it after `onClose` fired (or to abandon the screen).
 */
import { createRoot } from 'react-dom/client';
import { PaymentApp, type PaymentAppProps } from '../src/index.ts';
import { webCameraScannerFor } from './camera-scanner.ts';
import { localMemory } from './local-memory.ts';

/** Renders the Payment App named `props.appName` into `element` (with the browser camera as scanner unless `props.scanner`); returns the unmount function. */
export function mountPaymentApp(element: Element, props: PaymentAppProps): () => void {
  const root = createRoot(element);
  root.render(<PaymentApp memory={localMemory()} scanner={webCameraScannerFor(props.locale)} {...props} />);
  return () => root.unmount();
}
