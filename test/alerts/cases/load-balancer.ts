import type { CaseFile } from '../types.ts';

const servers = (proxy: string) =>
  `haproxy_backend_active_servers{job="haproxy", instance="haproxy:8404", proxy="${proxy}"}`;

export function loadBalancerCases(): CaseFile {
  return {
    name: 'load-balancer',
    mode: 'normal',
    interval: '1m',
    cases: [
      {
        name: 'no server left from minute 2',
        alert: 'LoadBalancerAllBackendsDown',
        series: { [servers('orchestrators')]: '3 3 0x5' },
        at: '4m',
        fires: [
          {
            labels: { job: 'haproxy', instance: 'haproxy:8404', proxy: 'orchestrators' },
            description:
              'HAProxy haproxy:8404 has 0 active servers in backend orchestrators: every client request is answered 503.',
          },
        ],
      },
      {
        name: 'one server left',
        alert: 'LoadBalancerAllBackendsDown',
        series: { [servers('orchestrators')]: '3 3 1x5' },
        at: '4m',
        fires: [],
      },
      {
        name: 'no server for less than 1m',
        alert: 'LoadBalancerAllBackendsDown',
        series: { [servers('orchestrators')]: '3 3 0x5' },
        at: '2m',
        fires: [],
      },
      {
        name: 'another backend without servers',
        alert: 'LoadBalancerAllBackendsDown',
        series: { [servers('orchestrators')]: '3x7', [servers('stats')]: '0x7' },
        at: '4m',
        fires: [],
      },
      {
        name: 'HAProxy not scraped (no series)',
        alert: 'LoadBalancerAllBackendsDown',
        series: { 'up{job="haproxy", instance="haproxy:8404"}': '0x7' },
        at: '4m',
        fires: [],
      },
    ],
  };
}
