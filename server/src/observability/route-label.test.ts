/**
 * Issue 10 item 14: the request histogram is labelled by route template; every path that is not
 * a route of the server is labelled `other`, so unknown paths never create new series.
 */
import { describe, expect, it } from 'vitest';
import { ROUTE_TEMPLATES, routeTemplateOf } from './route-label.ts';

describe('metric route labels', () => {
  it('maps paths to their templates and everything else to other', () => {
    expect(routeTemplateOf('/payments')).toBe('/payments');
    expect(routeTemplateOf('/payments/P%201/cancellations')).toBe('/payments/:paymentId/cancellations');
    expect(routeTemplateOf('/payments/P1/inbound/status')).toBe('/payments/:paymentId/inbound/:action');
    expect(routeTemplateOf('/pos/v1/status/abc.def')).toBe('/pos/v1/status/:token');
    expect(routeTemplateOf('/pos/app/assets/app-1.js')).toBe('/pos/app/*');
    expect(routeTemplateOf('/authorization/token')).toBe('/authorization/token');
    for (const path of ['/payments/P1/foo', '/payments/P1', '/paymentsX', '/pos/v1/other/x', '/authorization/zzz', '/metricsfoo', '/', '/x/y']) {
      expect(routeTemplateOf(path)).toBe('other');
    }
    expect(ROUTE_TEMPLATES).toContain('other');
  });
});
