/**
 * Registration in a React Native host: `registerPaymentApps(AppRegistry, options)` registers both
 * screens under their VTEX app names, so the host runs them with
 * `AppRegistry.runApplication(appName, { rootTag, initialProps: { payload, locale, onClose } })`
 * or mounts them as components. @see ../README.md "Host contract"
 */
import type { ComponentType } from 'react';
import { TERMINAL_CONNECTOR_APP, WAIT_FOR_CONFIRMATION_APP, type TerminalConnectorProps } from './host/contract.ts';
import type { DeviceMemory } from './host/device-memory.ts';
import type { TerminalScanner } from './host/scanner.ts';
import { TerminalConnectorScreen } from './screens/TerminalConnectorScreen.tsx';
import { WaitForConfirmationScreen } from './screens/WaitForConfirmationScreen.tsx';

/**
 * The part of React Native's `AppRegistry` used here (react-native-web's has it too). Its
 * component type is React Native's own `ComponentProvider` (`() => ComponentType<any>`): with a
 * narrower one React Native's `AppRegistry` would not be accepted (react-native/index.ts checks it).
 */
export interface AppRegistryLike {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- React Native's ComponentProvider type
  registerComponent(appKey: string, getComponentFunc: () => ComponentType<any>): string;
}

/** Host-wide options merged into every screen's props. */
export interface RegisterOptions {
  readonly scanner?: TerminalScanner | undefined;
  /** The device's storage (e.g. over AsyncStorage): remembers its store and the terminal last used. */
  readonly memory?: DeviceMemory | undefined;
}

/** Registers both Payment Apps under `vtex.terminal-connector-app` and `vtex.challenge-wait-for-confirmation`. */
export function registerPaymentApps(registry: AppRegistryLike, options: RegisterOptions = {}): void {
  const Connector = (props: TerminalConnectorProps) => <TerminalConnectorScreen scanner={options.scanner} memory={options.memory} {...props} />;
  registry.registerComponent(TERMINAL_CONNECTOR_APP, () => Connector);
  registry.registerComponent(WAIT_FOR_CONFIRMATION_APP, () => WaitForConfirmationScreen);
}
