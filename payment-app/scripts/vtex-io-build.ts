/**
 * `npm run vtex-io:build -w @posbridge/payment-app -- --vendor ACCOUNT [--name NAME] [--version X.Y.Z] [--out DIR]`:
 * writes the VTEX IO Payment App, ready for `vtex link`, into payment-app/dist-vtex-io/ (or
 * DIR). Flags override POSBRIDGE_VTEX_IO_VENDOR / _NAME / _VERSION. @see ../vtex-io/build.ts, docs/payment-app-install.md
 */
import { parseArgs } from 'node:util';
import { buildVtexIoApp } from '../vtex-io/build.ts';

const HELP = `Usage: npm run vtex-io:build -w @posbridge/payment-app -- --vendor ACCOUNT [options]

Writes the posbridge VTEX IO Payment App (manifest.json, pages/pages.json, react/) into a folder
ready for VTEX's toolbelt: cd into it, then \`vtex link\` or \`vtex publish\` (docs/payment-app-install.md).

Options (each overrides its environment variable):
  --vendor ACCOUNT   POSBRIDGE_VTEX_IO_VENDOR: the VTEX account publishing the app (required)
  --name NAME        POSBRIDGE_VTEX_IO_NAME: kebab-case app name (default posbridge-payment-app)
  --version X.Y.Z    POSBRIDGE_VTEX_IO_VERSION: semver (default payment-app/package.json's)
  --out DIR          output folder, emptied first (default payment-app/dist-vtex-io)
  -h, --help         show this help

Then: posbridge-server merchant set <merchantName> --payment-app <vendor>.<name>`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      vendor: { type: 'string' },
      name: { type: 'string' },
      version: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}\n`);
  process.exit(2);
}
if (values.help === true) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const vendor = values.vendor ?? process.env['POSBRIDGE_VTEX_IO_VENDOR'];
if (vendor === undefined || vendor === '') {
  process.stderr.write(`--vendor (or POSBRIDGE_VTEX_IO_VENDOR) is required: the VTEX account that publishes the app\n\n${HELP}\n`);
  process.exit(2);
}
try {
  const built = await buildVtexIoApp({
    vendor,
    name: values.name ?? process.env['POSBRIDGE_VTEX_IO_NAME'],
    version: values.version ?? process.env['POSBRIDGE_VTEX_IO_VERSION'],
    outDir: values.out,
  });
  process.stdout.write(
    `VTEX IO app ${built.appId}@${String(built.manifest['version'])} written to ${built.outDir} (bundle ${Math.round(built.bundleBytes / 1024)} KiB)\n` +
      `next: cd ${built.outDir} && vtex link   (then: posbridge-server merchant set <merchantName> --payment-app ${built.appId})\n`,
  );
} catch (err) {
  process.stderr.write(`vtex-io:build: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
