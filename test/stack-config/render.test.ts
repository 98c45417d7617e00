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
import { processSpecs } from '../../stack/topology.ts';

const l = layout(
  loadOptions({
    PHOENIX_PORT_BASE: '31000',
    PHOENIX_STACK_DIR: mkdtempSync(path.join(os.tmpdir(), 'phoenix-conf-')),
  }),
);
prepare(l, false);

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
  expect(readFileSync(confFile(l, 'redis-2.conf'), 'utf8')).toMatch(/^replicaof 127\.0\.0\.1 31000$/m);
  expect(readFileSync(confFile(l, 'sentinel-1.conf'), 'utf8')).toMatch(
    /^sentinel monitor phoenix 127\.0\.0\.1 31000 2$/m,
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
  for (const s of services) {
    expect(s.env?.['REDIS_SENTINELS']).toBe('127.0.0.1:31005,127.0.0.1:31006,127.0.0.1:31007');
    expect(s.env?.['REDIS_URL']).toBeUndefined();
    expect(s.env?.['HOST']).toBe('127.0.0.1');
    expect(s.env?.['MAX_CONNECTIONS']).toBe('1000'); // from kustomize/base/config/phoenix.env
  }
});
