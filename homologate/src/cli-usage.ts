/**
 * The command line of `posbridge-homologate`: its options (the `node:util` parseArgs table) and
 * the `--help` text, apart from `cli.ts` (which runs when imported) so a test can check them.
 */

/** Every option of `posbridge-homologate`, in the shape `parseArgs` takes. */
export const CLI_OPTIONS = {
  url: { type: 'string' },
  'app-key': { type: 'string' },
  'app-token': { type: 'string' },
  'callback-host': { type: 'string' },
  'callback-public-host': { type: 'string' },
  serial: { type: 'string' },
  'payment-method': { type: 'string' },
  'merchant-name': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'pos-timeout-ms': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The `--help` text. */
export const USAGE = `Usage: posbridge-homologate --url <connector base URL> --app-key <key> --app-token <token> [options]

Runs VTEX's Payment Provider Test Suite known cases against a PPP connector, plus the Venda
Direta (POS) flows, and prints a Test Report. Every Test Suite request carries
X-VTEX-API-Is-TestSuite: true; every answer must come in under 5 s and match VTEX's PPP OpenAPI
(the copy in this package's spec/ folder). Exit status 0 only when every case passes.

Cases:
  Manifest        GET /manifest answers 200 with paymentMethods
  Authorize       4444333322221111 approved; settle -> settleId; refund -> refundId
  Denied          4444333322221112 denied
  Cancel          4444333322221111 approved; cancel -> cancellationId
  AsyncApproved   4222222222222224 undefined, then an approved callback within 15 s
  AsyncDenied     4222222222222225 undefined, then a denied callback within 15 s
  POS Create      (without --serial) Venda Direta Credito undefined with paymentAppData
                  vtex.terminal-connector-app {submitUrl}; then cancelled
  Venda Direta Credito / Venda Direta Debito
                  (with --serial) the whole sale on that terminal: submitUrl {serialNumber},
                  approved callback, then cancelled (a void). A real terminal charges the
                  card presented (31.90 and 10.50 BRL) and voids it.
The POS flows are what a store does, so they are sent without X-VTEX-API-Is-TestSuite.

Options:
  --url <url>                 the connector's base URL (its /manifest and /payments live under it)
  --app-key <key>             X-VTEX-API-AppKey of a merchant of the connector
  --app-token <token>         X-VTEX-API-AppToken (redacted in the report)
  --callback-host <host:port> where the callback listener binds (default 127.0.0.1:0, any free
                              port); the connector must be able to reach it
  --callback-public-host <host:port>
                              host:port in the callbackUrls when the connector reaches the
                              listener at another address (a tunnel, NAT); default --callback-host
  --serial <serial>           run the POS sales on this terminal
  --payment-method <name>     payment method of the Test Suite cases (default: the manifest's first)
  --merchant-name <name>      merchantName of every Create Payment: the VTEX account name the
                              connector knows this merchant by (default homologation)
  --timeout-ms <n>            give up on one answer after n ms (default 10000; the budget stays 5 s)
  --pos-timeout-ms <n>        how long a POS sale waits for its terminal (default 120000)
  --json                      print the report as JSON instead of text
  -h, --help                  show this help

Exit status: 0 every case passed, 1 a case failed, 2 bad command line.
`;
