/**
 * The gateway-api component, rendered as a user adds it to the production overlay (build
 * production-gateway): a Gateway that terminates TLS with the load balancer's certificate, an
 * HTTPRoute to the orchestrators' Service, the NetworkPolicy that admits the implementation's proxies,
 * and the optional Envoy Gateway policy for correlation-id affinity. The objects are validated against
 * the Gateway API schemas by validate.test.ts (@kubernetes-models/gateway-api).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { schemaProblems } from './schemas.ts';
import {
  BUILDS,
  ROOT,
  build,
  find,
  ofKind,
  overlaySettings,
  selects,
  workloads,
  type K8sObject,
} from './render.ts';

const COMPONENT = path.join(ROOT, 'kustomize/components/gateway-api');
const objects = build('production-gateway');
const settings = overlaySettings(BUILDS['production-gateway'].overlay);
const gateway = find(objects, 'Gateway', 'phoenix-orch');
const route = find(objects, 'HTTPRoute', 'phoenix-orch');

test('the Gateway: the configured class, HTTPS on the configured host with the load balancer certificate', () => {
  expect(gateway.spec.gatewayClassName).toBe(settings.GATEWAY_CLASS);
  const [listener] = gateway.spec.listeners;
  expect(listener).toMatchObject({ name: 'https', protocol: 'HTTPS', port: 443, hostname: settings.HOST });
  expect(listener.tls).toEqual({
    mode: 'Terminate',
    certificateRefs: [{ kind: 'Secret', name: 'phoenix-lb-tls' }],
  });
  // cert-manager writes that Secret in production.
  expect(find(objects, 'Certificate', 'phoenix-lb-tls').spec.secretName).toBe('phoenix-lb-tls');
});

test('the HTTPRoute attaches to that listener and sends everything to the orchestrators', () => {
  expect(route.spec.parentRefs).toEqual([{ name: gateway.metadata.name, sectionName: 'https' }]);
  expect(route.spec.hostnames).toEqual([settings.HOST]);
  const [rule] = route.spec.rules;
  expect(rule.matches).toEqual([{ path: { type: 'PathPrefix', value: '/' } }]);
  const [backend] = rule.backendRefs;
  const svc = find(objects, 'Service', backend.name);
  expect(svc.spec.clusterIP).toBeUndefined(); // a Service with a cluster IP, as gateways expect
  expect(svc.spec.ports.map((p: { port: number }) => p.port)).toContain(backend.port);
  const selected = workloads(objects).filter((w) => selects({ matchLabels: svc.spec.selector }, w.labels));
  expect(selected.map((w) => w.name)).toEqual(['master-orchestrator']);
});

test("the implementation's proxies may reach the orchestrators: a policy for their namespace", () => {
  const np = find(objects, 'NetworkPolicy', 'gateway-to-orchestrator');
  expect(np.spec.ingress).toEqual([
    {
      from: [
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': settings.GATEWAY_NAMESPACE } } },
      ],
      ports: [{ protocol: 'TCP', port: 8080 }],
    },
  ]);
  expect(
    selects(np.spec.podSelector, workloads(objects).find((w) => w.name === 'master-orchestrator')!.labels),
  ).toBe(true);
});

test('the Gateway API schemas catch a broken Gateway or HTTPRoute', async () => {
  const broken: K8sObject = {
    ...gateway,
    spec: {
      ...gateway.spec,
      listeners: [{ ...gateway.spec.listeners[0], protocol: undefined, port: 'https' }],
    },
  };
  expect((await schemaProblems(broken)).join()).toMatch(/port|protocol/);
  const noParent: K8sObject = { ...route, spec: { ...route.spec, parentRefs: [{ sectionName: 'https' }] } };
  expect((await schemaProblems(noParent)).join()).toMatch(/name/);
  expect(ofKind(objects, 'Gateway', 'HTTPRoute')).toHaveLength(2);
});

test('the optional Envoy Gateway policy hashes on X-Correlation-ID for this HTTPRoute (not applied by default)', () => {
  const policy = parse(
    readFileSync(path.join(COMPONENT, 'envoy-gateway-affinity.yaml'), 'utf8'),
  ) as K8sObject;
  expect(policy.apiVersion).toBe('gateway.envoyproxy.io/v1alpha1');
  expect(policy.kind).toBe('BackendTrafficPolicy');
  expect(policy.spec.targetRefs).toEqual([
    { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: route.metadata.name },
  ]);
  expect(policy.spec.loadBalancer).toEqual({
    type: 'ConsistentHash',
    consistentHash: { type: 'Header', header: { name: 'X-Correlation-ID' } },
  });
  // Its CRD exists only where Envoy Gateway runs: the component lists it commented out.
  const k = parse(readFileSync(path.join(COMPONENT, 'kustomization.yaml'), 'utf8')) as {
    resources: string[];
  };
  expect(k.resources).toEqual(['gateway.yaml']);
  expect(readFileSync(path.join(COMPONENT, 'kustomization.yaml'), 'utf8')).toMatch(
    /^\s*# - envoy-gateway-affinity\.yaml$/m,
  );
  expect(ofKind(objects, 'BackendTrafficPolicy')).toEqual([]);
});
