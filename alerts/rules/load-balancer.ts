import type { AlertingRule, Context } from '../lib.ts';

/** HAProxy 2.6's built-in exporter: servers UP in the orchestrators backend. */
export function loadBalancerAlerts(ctx: Context): AlertingRule[] {
  const c = ctx.config;
  return [
    ctx.alert({
      name: 'LoadBalancerAllBackendsDown',
      expr: `haproxy_backend_active_servers{${ctx.job(c.jobs.haproxy)}, proxy="${c.haproxyBackend}"} == 0`,
      for: c.loadBalancer.for,
      severity: c.loadBalancer.severity,
      component: 'load-balancer',
      summary: 'The load balancer has no orchestrator to send requests to.',
      description: `HAProxy {{ $labels.instance }} has {{ $value }} active servers in backend {{ $labels.proxy }}: every client request is answered 503.`,
      panel: { dashboard: 'loadBalancer', panel: 'backendServersUp' },
    }),
  ];
}
