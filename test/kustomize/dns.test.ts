/**
 * Name resolution under the NetworkPolicies: every pod reaches the cluster DNS in kube-system and
 * NodeLocal DNSCache on its link-local address (169.254.20.10), where kubelet points pods on clusters
 * that run it. HAProxy finds its orchestrators by DNS, so without the second it would lose them.
 */
import { BUILD_NAMES, build, ofKind, selects, workloads, type K8sObject } from './render.ts';

interface Destination {
  ip?: string;
  namespaceLabels?: Record<string, string>;
  podLabels?: Record<string, string>;
  port: number;
  protocol: 'TCP' | 'UDP';
}

const ipv4 = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
function inCidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/') as [string, string];
  if (net.includes(':') || ip.includes(':')) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(net) / size);
}

/** Whether the NetworkPolicies let a pod with these labels open this connection (egress side). */
function egressAllowed(objects: K8sObject[], pod: Record<string, string>, to: Destination): boolean {
  const policies = ofKind(objects, 'NetworkPolicy').filter(
    (p) => (p.spec.policyTypes ?? []).includes('Egress') && selects(p.spec.podSelector, pod),
  );
  if (policies.length === 0) return true;
  return policies.some((p) =>
    (p.spec.egress ?? []).some(
      (rule: { to?: Array<Record<string, never>>; ports?: Array<{ port?: number; protocol?: string }> }) => {
        const portOk =
          !rule.ports?.length ||
          rule.ports.some(
            (x) => (x.protocol ?? 'TCP') === to.protocol && (x.port === undefined || x.port === to.port),
          );
        const peerOk =
          !rule.to?.length ||
          rule.to.some((peer: Record<string, { cidr?: string; except?: string[] } | undefined>) => {
            const block = peer.ipBlock;
            if (block)
              return (
                !!to.ip && inCidr(to.ip, block.cidr!) && !(block.except ?? []).some((e) => inCidr(to.ip!, e))
              );
            if (!to.namespaceLabels || !peer.namespaceSelector) return false; // this namespace's pods: not DNS
            return (
              selects(peer.namespaceSelector as never, to.namespaceLabels) &&
              (!peer.podSelector || selects(peer.podSelector as never, to.podLabels ?? {}))
            );
          });
        return portOk && peerOk;
      },
    ),
  );
}

const KUBE_DNS = {
  namespaceLabels: { 'kubernetes.io/metadata.name': 'kube-system' },
  podLabels: { 'k8s-app': 'kube-dns' },
};
const NODE_LOCAL_DNS = { ip: '169.254.20.10' };

describe.each(BUILD_NAMES)('build %s', (name) => {
  test('every pod resolves names through the cluster DNS and through NodeLocal DNSCache, UDP and TCP', () => {
    const objects = build(name);
    const problems: string[] = [];
    for (const w of workloads(objects)) {
      for (const protocol of ['UDP', 'TCP'] as const) {
        for (const [what, dest] of Object.entries({
          'kube-dns': KUBE_DNS,
          'node-local-dns': NODE_LOCAL_DNS,
        })) {
          if (!egressAllowed(objects, w.labels, { ...dest, port: 53, protocol }))
            problems.push(`${w.kind}/${w.name}: ${what} ${protocol}/53`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

test('the check tells allowed from denied (the NodeLocal DNSCache rule is what lets HAProxy resolve)', () => {
  const prod = build('production');
  const haproxy = workloads(prod).find((w) => w.name === 'haproxy')!.labels;
  expect(egressAllowed(prod, haproxy, { ip: '169.254.20.10', port: 53, protocol: 'UDP' })).toBe(true);
  expect(egressAllowed(prod, haproxy, { ip: '169.254.20.11', port: 53, protocol: 'UDP' })).toBe(false);
  expect(egressAllowed(prod, haproxy, { ip: '169.254.20.10', port: 80, protocol: 'TCP' })).toBe(false);
  expect(egressAllowed(prod, haproxy, { ip: '8.8.8.8', port: 53, protocol: 'UDP' })).toBe(false);
  const withoutNodeLocal = prod.map((o) =>
    o.kind === 'NetworkPolicy' && o.metadata.name === 'allow-dns'
      ? { ...o, spec: { ...o.spec, egress: [{ ...o.spec.egress[0], to: [o.spec.egress[0].to[0]] }] } }
      : o,
  );
  expect(egressAllowed(withoutNodeLocal, haproxy, { ip: '169.254.20.10', port: 53, protocol: 'UDP' })).toBe(
    false,
  );
  expect(egressAllowed(withoutNodeLocal, haproxy, { ...KUBE_DNS, port: 53, protocol: 'UDP' })).toBe(true);
});
