/**
 * Route templates: the `route` label of `posbridge_http_request_duration_seconds`. A fixed list,
 * so the label's cardinality is bounded by construction: a path that is not one of the server's
 * routes (unknown, or a route's path with extra segments) is `other`, and per-payment ids and
 * Payment App tokens never become label values.
 *
 * @see docs/ppp.md "Observability"
 */

/** Every value the `route` label can take. */
export const ROUTE_TEMPLATES = [
  '/payments',
  '/payments/:paymentId/cancellations',
  '/payments/:paymentId/settlements',
  '/payments/:paymentId/refunds',
  '/payments/:paymentId/inbound/:action',
  '/authorization/token',
  '/authorization/redirect',
  '/authorization/credentials',
  '/pos/v1/submit/:token',
  '/pos/v1/status/:token',
  '/pos/v1/terminals/:token',
  '/pos/v1/cancel/:token',
  '/pos/app/*',
  '/giftcard-provider/*',
  '/admin/v1/*',
  '/console/*',
  '/manifest',
  '/healthz',
  '/readyz',
  '/metrics',
  '/agent/v1/pair',
  'other',
] as const;

/** A value of the `route` label. */
export type RouteTemplate = (typeof ROUTE_TEMPLATES)[number];

const STATIC = new Set<string>(['/payments', '/authorization/token', '/authorization/redirect', '/authorization/credentials', '/manifest', '/healthz', '/readyz', '/metrics', '/agent/v1/pair']);

const PATTERNS: readonly (readonly [RegExp, RouteTemplate])[] = [
  [/^\/payments\/[^/]+\/cancellations\/?$/, '/payments/:paymentId/cancellations'],
  [/^\/payments\/[^/]+\/settlements\/?$/, '/payments/:paymentId/settlements'],
  [/^\/payments\/[^/]+\/refunds\/?$/, '/payments/:paymentId/refunds'],
  [/^\/payments\/[^/]+\/inbound\/[^/]+\/?$/, '/payments/:paymentId/inbound/:action'],
  [/^\/pos\/v1\/submit\/[^/]+\/?$/, '/pos/v1/submit/:token'],
  [/^\/pos\/v1\/status\/[^/]+\/?$/, '/pos/v1/status/:token'],
  [/^\/pos\/v1\/terminals\/[^/]+\/?$/, '/pos/v1/terminals/:token'],
  [/^\/pos\/v1\/cancel\/[^/]+\/?$/, '/pos/v1/cancel/:token'],
  [/^\/pos\/app(\/.*)?$/, '/pos/app/*'],
  // One label for every gift card provider path: merchant names and card ids never become values.
  [/^\/giftcard-provider\/[^/]+(\/.*)?$/, '/giftcard-provider/*'],
  // The admin API and the console (docs/admin-api.md): one value each, ids never in the label.
  [/^\/admin\/v1(\/.*)?$/, '/admin/v1/*'],
  [/^\/console(\/.*)?$/, '/console/*'],
];

/**
 * The route template of a request path (as sent, without the query string; not decoded).
 * @returns one of {@link ROUTE_TEMPLATES}; `other` for any path that is not a route.
 */
export function routeTemplateOf(path: string): RouteTemplate {
  const trimmed = path.length > 1 && path.endsWith('/') && !path.startsWith('/pos/app') ? path.slice(0, -1) : path;
  if (STATIC.has(trimmed)) return trimmed as RouteTemplate;
  for (const [re, template] of PATTERNS) if (re.test(path)) return template;
  return 'other';
}
