/** The part of jQuery 4 (no bundled types) the checkout test page uses. */
declare module 'jquery' {
  interface JQueryLite {
    on(event: string, handler: (event: unknown, ...args: unknown[]) => void): JQueryLite;
    trigger(event: string, args?: unknown[]): JQueryLite;
  }
  const $: (target: unknown) => JQueryLite;
  export default $;
}

/** The assembled VTEX IO app's component (vite alias to the folder `buildVtexIoApp` wrote). */
declare module '@posbridge-vtex-io/react/index.tsx' {
  import type { FunctionComponent } from 'react';
  const PosbridgePaymentApp: FunctionComponent<{ appPayload: string }>;
  export default PosbridgePaymentApp;
}
