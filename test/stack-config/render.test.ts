/**
 * The shared configuration templates and the local stack's generated configuration, checked without
 * starting the stack: placeholders, staleness of the Kubernetes copies, the real programs' own checks.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { layout, loadOptions } from '../../stack/layout.ts';
import { confFile, prepare, prometheusConfig } from '../../stack/local-configs.ts';
import { fill, KUBERNETES_CONFIG_DIR, kubernetesConfigs } from '../../stack/render.ts';
import { PORT_BASES, portBase } from '../../stack/own-stack.ts';
import { processSpecs } from '../../stack/topology.ts';

const l = layout(
  loadOptions({
    PHOENIX_PORT_BASE: String(portBase('stack-config')),
    PHOENIX_STACK_DIR: mkdtempSync(path.join(os.tmpdir(), 'phoenix-conf-')),
  }),
);
prepare(l, false);
const primaryPort = l.ports.redis[0]!;

/** Every port of a layout, the counted kinds at their largest (9 each). */
function portsOf(base: number): number[] {
  const nine = { PHOENIX_ORCHESTRATORS: '9', PHOENIX_GIT_AGENTS: '9', PHOENIX_LLM_ROUTERS: '9' };
  const ports = layout(
    loadOptions({ PHOENIX_PORT_BASE: String(base), ...nine, PHOENIX_OBSIDIAN_AGENTS: '9' }),
  ).ports;
  const flat = (v: unknown): number[] =>
    typeof v === 'number' ? [v] : Object.values(v as Record<string, unknown>).flatMap(flat);
  return flat(ports);
}

test('stacks of their own never share a port with each other or with the default stack', () => {
  const bases = [loadOptions({}).PHOENIX_PORT_BASE, ...Object.values(PORT_BASES)].sort((a, b) => a - b);
  const span = Math.max(...portsOf(10000)) + 1 - 10000;
  bases.slice(1).forEach((b, i) => expect(b - bases[i]!).toBeGreaterThanOrEqual(span));
});

test('fill refuses a placeholder without a value and a value without a placeholder', () => {
  expect(fill('a {{X}} b', { X: 1 })).toBe('a 1 b');
  expect(() => fill('a {{X}} {{Y}}', { X: 1 })).toThrow('{{Y}}');
  expect(() => fill('a {{X}}', { X: 1, Z: 2 })).toThrow('Z');
});

test('the Kubernetes copies in kustomize/generated/config are up to date', () => {
  for (const [name, text] of Object.entries(kubernetesConfigs())) {
    expect({ name, text: readFileSync(path.join(KUBERNETES_CONFIG_DIR, name), 'utf8') }).toEqual({
      name,
      text,
    });
  }
});

test('HAProxy accepts both generated configurations', () => {
  for (const file of [confFile(l, 'haproxy.cfg'), confFile(l, 'services-proxy.cfg')]) {
    expect(() => execFileSync('haproxy', ['-c', '-q', '-f', file], { stdio: 'pipe' })).not.toThrow();
  }
  const lb = readFileSync(confFile(l, 'haproxy.cfg'), 'utf8');
  expect(lb).toMatch(/stick on req\.hdr\(x-correlation-id\)/);
  expect(lb).toMatch(/maxconn 1000/);
  expect(lb).toMatch(/ssl-min-ver TLSv1\.2/);
  expect(lb).toMatch(/alpn h2,http\/1\.1/);
  expect(lb.match(/^\s+server orchestrator-\d /gm)).toHaveLength(3);
});

test('Redis snapshots every 15 minutes; Sentinels watch with quorum 2', () => {
  const primary = readFileSync(confFile(l, 'redis-1.conf'), 'utf8');
  expect(primary).toMatch(/^save 900 1$/m);
  expect(primary).not.toMatch(/^replicaof/m);
  expect(readFileSync(confFile(l, 'redis-2.conf'), 'utf8')).toMatch(
    new RegExp(`^replicaof 127\\.0\\.0\\.1 ${primaryPort}$`, 'm'),
  );
  expect(readFileSync(confFile(l, 'sentinel-1.conf'), 'utf8')).toMatch(
    new RegExp(`^sentinel monitor phoenix 127\\.0\\.0\\.1 ${primaryPort} 2$`, 'm'),
  );
});

test("Prometheus: the seed's 6.2 job keeps only orchestrator_* series, and promtool accepts the config", () => {
  const config = prometheusConfig(l, false);
  const job = config.scrape_configs.find((j) => j.job_name === 'master-orchestrator')!;
  expect(job.metric_relabel_configs).toEqual([
    { source_labels: ['__name__'], regex: 'orchestrator_.*', action: 'keep' },
  ]);
  expect(config.scrape_configs.map((j) => j.job_name)).toEqual(
    expect.arrayContaining([
      'git-agent',
      'llm-router',
      'obsidian-agent',
      'redis',
      'redis-sentinel',
      'haproxy',
      'pushgateway',
    ]),
  );
  expect(parse(readFileSync(confFile(l, 'prometheus.yml'), 'utf8'))).toEqual(config);
  expect(() =>
    execFileSync('promtool', ['check', 'config', confFile(l, 'prometheus.yml')], { stdio: 'pipe' }),
  ).not.toThrow();
});

test('the services reach Redis only through the Sentinels, on loopback, with the shared settings', () => {
  const services = processSpecs(l).filter((s) => s.args[0]?.includes('/services/'));
  expect(services.length).toBe(3 + 6);
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  for (const s of services) {
    expect(s.env?.['GIT_COMMIT']).toBe(head); // their *_build_info names the checkout's commit
    expect(s.env?.['REDIS_SENTINELS']).toBe(l.ports.sentinel.map((p) => `127.0.0.1:${p}`).join(','));
    expect(s.env?.['REDIS_URL']).toBeUndefined();
    expect(s.env?.['HOST']).toBe('127.0.0.1');
    expect(s.env?.['MAX_CONNECTIONS']).toBe('1000'); // from kustomize/base/config/phoenix.env
  }
});
