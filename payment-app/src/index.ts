/**
 * posbridge Payment Apps for VTEX inStore, on React Native primitives.
 * @see ../README.md for the host contract and how to register the screens.
 */
export * from './host/contract.ts';
export * from './host/scanner.ts';
export * from './host/device-memory.ts';
export { TerminalConnectorScreen } from './screens/TerminalConnectorScreen.tsx';
export { WaitForConfirmationScreen } from './screens/WaitForConfirmationScreen.tsx';
export { PaymentApp, type PaymentAppProps } from './screens/PaymentApp.tsx';
export { registerPaymentApps, type AppRegistryLike, type RegisterOptions } from './register.tsx';
export { createPosClient, type FetchLike, type FetchResponseLike, type PosClient, type ApiResult, type ApiFailure } from './api/client.ts';
export { pickLanguage, type Language } from './i18n/index.ts';
export { CheckoutFlow, type CheckoutFlowProps } from './screens/CheckoutFlow.tsx';
export * from './host/checkout.ts';
