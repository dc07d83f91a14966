/**
 * The React Native entry a host app's bundle starts from (`npm run rn:bundle` builds it for
 * Android and iOS with Metro): registers both Payment Apps under their VTEX names with the host's
 * scanner and storage left out — a real host registers its own (README "React Native host",
 * docs/payment-app-install.md) — so `AppRegistry.runApplication(appName, …)` can open them.
 */
import { AppRegistry } from 'react-native';
import { registerPaymentApps } from '../src/index.ts';

registerPaymentApps(AppRegistry);
