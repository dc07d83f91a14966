/**
 * Metro configuration of the Payment App's React Native bundle (`npm run rn:bundle`,
 * scripts/rn-bundle.ts): React Native's defaults (@react-native/metro-config) plus what this
 * npm-workspaces repository needs — the hoisted node_modules and the protocol workspace watched
 * (not the whole repository), this package's build outputs blocked, and the `@posbridge/source` export condition so `@posbridge/protocol`
 * resolves to its TypeScript sources like everywhere else in the repository.
 * @see ../docs/payment-app-install.md "React Native host"
 */
const path = require('node:path');
const { getDefaultConfig, mergeConfig } = require('@react-native/metro-config');

const root = path.resolve(__dirname, '..');

module.exports = mergeConfig(getDefaultConfig(__dirname), {
  projectRoot: __dirname,
  // Only what the bundle reads: the hoisted node_modules and the workspace package it imports (the
  // rest of the repository, where other builds and tests write and delete files, is not crawled).
  watchFolders: [path.join(root, 'node_modules'), path.join(root, 'protocol')],
  resolver: {
    // Build outputs of this package (written and removed by other builds and tests).
    blockList: [/[/\\]payment-app[/\\](?:dist[^/\\]*|node_modules[/\\]\.vite)[/\\].*/],
    nodeModulesPaths: [path.join(__dirname, 'node_modules'), path.join(root, 'node_modules')],
    unstable_enablePackageExports: true,
    unstable_conditionNames: ['@posbridge/source', 'react-native'],
    // zod's ESM build uses `export * as core from …`, which React Native's Babel preset does not
    // transform: Metro takes zod's CommonJS build (same API) by resolving it as a require().
    resolveRequest: (context, moduleName, platform) =>
      context.resolveRequest(moduleName === 'zod' || moduleName.startsWith('zod/') ? { ...context, isESMImport: false } : context, moduleName, platform),
  },
});
