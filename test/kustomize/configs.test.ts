/**
 * The HAProxy, Redis and Sentinel configuration as rendered into the production overlay, checked by
 * the real programs: `haproxy -c`, and redis-server and redis-sentinel started on it (ports and paths
 * pointed at a temporary folder). The pod init script (configure.sh) and the backup script run for
 * real against them, from the rendered ConfigMap, the way the pods run them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '../../harness/redis-server.ts';
import { configFile, containerEnv } from './pod-env.ts';
import { ROOT, build, workloads, type Workload } from './render.ts';

const run = promisify(execFile);
const prod = build('production');
const workload = (name: string): Workload => workloads(prod).find((w) => w.name === name)!;
const PASSWORD = 'test-password.1_x';

let dir: string;
const children: ChildProcess[] = [];
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'phoenix-kustomize-configs-'));
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await sleep(100);
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a program that must exist; a missing one fails the test with a message saying what to install. */
async function program(file: string, args: string[], env: Record<string, string> = {}) {
  try {
    return await run(file, args, { env: { PATH: process.env.PATH, ...env }, timeout: 60000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error(
        `${file} is not installed (Debian: apt-get install haproxy redis-server redis-sentinel)`,
        { cause: err },
      );
    throw new Error(`${file} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, {
      cause: err,
    });
  }
}

describe('HAProxy', () => {
  const cfg = configFile(prod, 'haproxy-config', 'haproxy.cfg');
  const w = workload('haproxy');
  const c = w.pod.containers[0];

  test('the paths and ports of the rendered file are where the Deployment puts them', () => {
    expect(c.command).toEqual(['haproxy', '-W', '-db', '-f', '/usr/local/etc/haproxy/haproxy.cfg']);
    expect(c.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'config', mountPath: '/usr/local/etc/haproxy' },
        { name: 'tls', mountPath: '/etc/haproxy/tls' },
        { name: 'runtime', mountPath: '/var/run/haproxy' },
      ]),
    );
    expect(cfg).toMatch(/^\s*bind :8443 ssl crt \/etc\/haproxy\/tls\/tls\.crt /m);
    expect(cfg).toMatch(/^\s*stats socket \/var\/run\/haproxy\/admin\.sock /m);
    expect(cfg).toMatch(/^\s*bind :8404$/m);
    expect(c.ports).toEqual([
      { name: 'https', containerPort: 8443 },
      { name: 'stats', containerPort: 8404 },
    ]);
  });

  test('haproxy -c accepts the rendered configuration', async () => {
    const tls = path.join(dir, 'tls');
    const runtime = path.join(dir, 'haproxy-run');
    mkdirSync(tls);
    mkdirSync(runtime);
    // The TLS Secret as the Deployment mounts it: the key beside the certificate as <cert>.key.
    copyFileSync(path.join(ROOT, 'kustomize/overlays/dev/tls/dev-only.crt'), path.join(tls, 'tls.crt'));
    copyFileSync(path.join(ROOT, 'kustomize/overlays/dev/tls/dev-only.key'), path.join(tls, 'tls.crt.key'));
    const file = path.join(dir, 'haproxy.cfg');
    writeFileSync(
      file,
      cfg.replaceAll('/etc/haproxy/tls/', `${tls}/`).replaceAll('/var/run/haproxy/', `${runtime}/`),
    );
    const { stdout, stderr } = await program('haproxy', ['-c', '-f', file]);
    expect(`${stdout}${stderr}`).toMatch(/Configuration file is valid/);
  });
});

describe('Redis and Sentinel', () => {
  const w = workload('redis');
  const scripts = ['sentinels.sh', 'configure.sh', 'prestop.sh', 'backup.sh'];
  let ports: { redis0: number; redis1: number; sentinel0: number };

  beforeAll(async () => {
    ports = { redis0: await freePort(), redis1: await freePort(), sentinel0: await freePort() };
    const t = path.join(dir, 'templates');
    mkdirSync(t);
    for (const f of ['redis.conf', 'sentinel.conf'])
      writeFileSync(path.join(t, f), configFile(prod, 'redis-config', f));
    // The scripts as the pods mount them: every key of the rendered ConfigMap, side by side.
    for (const f of scripts) writeFileSync(path.join(dir, f), configFile(prod, 'redis-scripts', f));
  });

  /** One command on a fresh connection (a server that is still starting refuses the first ones). */
  async function cmd(port: number, password: string | undefined, ...args: string[]): Promise<unknown> {
    const c = new Redis({
      port,
      host: '127.0.0.1',
      password,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
      enableReadyCheck: false,
    });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return await c.call(args[0]!, ...args.slice(1));
    } finally {
      c.disconnect();
    }
  }
  async function poll<T>(what: string, check: () => Promise<T | undefined | false>): Promise<T> {
    for (let i = 0; i < 150; i += 1) {
      const v = await check().catch(() => undefined);
      if (v) return v;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  /** Runs the init step for one pod as the StatefulSet does, with the Sentinels at `sentinelPort`. */
  async function configurePod(pod: string, redisPort: number, sentinelPort: number) {
    const runDir = path.join(dir, `${pod}-run`);
    const { stdout } = await program('sh', [path.join(dir, 'configure.sh')], {
      POD_NAME: pod,
      POD_NAMESPACE: 'phoenix-orch',
      REDIS_PASSWORD: PASSWORD,
      MASTER_NAME: 'phoenix',
      TEMPLATE_DIR: path.join(dir, 'templates'),
      RUN_DIR: runDir,
      ANNOUNCE_HOST: '127.0.0.1',
      SENTINEL_DISCOVERY_HOST: 'localhost',
      SENTINEL_PORT: String(sentinelPort),
      REDIS_PORT: String(redisPort),
      WAIT_FOR_FAILOVER_S: '0',
    });
    return { runDir, stdout };
  }

  /** The pod's file with its ports and data folder moved to the temporary folder (only those lines). */
  function localise(file: string, port: number, data: string): string {
    mkdirSync(data, { recursive: true });
    const text = readFileSync(file, 'utf8')
      .replace(/^bind 0\.0\.0\.0$/m, 'bind 127.0.0.1')
      .replace(/^port \d+$/m, `port ${port}`)
      .replace(/^dir \/data$/m, `dir ${data}`)
      .replace(/^replica-announce-port \d+$/m, `replica-announce-port ${port}`)
      .replace(/^sentinel announce-port \d+$/m, `sentinel announce-port ${port}`);
    writeFileSync(file, text);
    return text;
  }

  function start(bin: string, file: string): ChildProcess {
    const child = spawn(bin, [file], { stdio: 'ignore' });
    child.once('error', () => undefined);
    children.push(child);
    return child;
  }

  test('the StatefulSet runs the init step on the rendered files and the servers on its output', () => {
    const init = w.pod.initContainers![0];
    expect(init.command).toEqual(['sh', '/scripts/configure.sh']);
    expect(init.volumeMounts).toEqual([
      { name: 'templates', mountPath: '/etc/redis-template' },
      { name: 'scripts', mountPath: '/scripts' },
      { name: 'run', mountPath: '/etc/redis-run' },
    ]);
    const byName = Object.fromEntries(w.pod.containers.map((c) => [c.name, c]));
    expect([byName.redis.command, byName.redis.args]).toEqual([
      ['redis-server'],
      ['/etc/redis-run/redis.conf'],
    ]);
    expect([byName.sentinel.command, byName.sentinel.args]).toEqual([
      ['redis-sentinel'],
      ['/etc/redis-run/sentinel.conf'],
    ]);
    expect(w.pod.volumes).toContainEqual({ name: 'run', emptyDir: { sizeLimit: '1Mi' } });
  });

  test('pod 0 with no Sentinel to ask starts as the primary; redis-server runs its configuration', async () => {
    const { runDir, stdout } = await configurePod('redis-0', ports.redis0, ports.sentinel0);
    expect(stdout).toMatch(/pod 0 starts as the primary/);
    const conf = localise(path.join(runDir, 'redis.conf'), ports.redis0, path.join(dir, 'data-0'));
    expect(conf).not.toMatch(/^replicaof /m);
    expect(conf).not.toMatch(/@[A-Z_]+@/);
    expect(conf).toMatch(/^replica-announce-ip 127\.0\.0\.1$/m);
    start('redis-server', path.join(runDir, 'redis.conf'));
    const r = (...args: string[]) => cmd(ports.redis0, PASSWORD, ...args);
    await poll('redis-0', async () => (await r('PING')) === 'PONG');
    expect(await r('CONFIG', 'GET', 'save')).toEqual(['save', '900 1']);
    expect(await r('CONFIG', 'GET', 'maxmemory')).toEqual(['maxmemory', String(4 * 1024 ** 3)]);
    expect(await r('INFO', 'replication')).toMatch(/role:master/);
    // The password is required.
    const anonymous = await program('redis-cli', ['-p', String(ports.redis0), 'PING']);
    expect(anonymous.stdout).toMatch(/NOAUTH/);
  });

  test('its Sentinel runs on the rendered configuration and monitors that primary', async () => {
    const runDir = path.join(dir, 'redis-0-run');
    const conf = localise(
      path.join(runDir, 'sentinel.conf'),
      ports.sentinel0,
      path.join(dir, 'sentinel-data-0'),
    );
    expect(conf).toMatch(new RegExp(`^sentinel monitor phoenix 127\\.0\\.0\\.1 ${ports.redis0} 2$`, 'm'));
    start('redis-sentinel', path.join(runDir, 'sentinel.conf'));
    const master = await poll('the Sentinel', async () => {
      const m = (await cmd(ports.sentinel0, undefined, 'SENTINEL', 'master', 'phoenix')) as string[];
      return m[m.indexOf('flags') + 1] === 'master' ? m : undefined;
    });
    expect(master[master.indexOf('port') + 1]).toBe(String(ports.redis0));
    // Sentinel rewrites its file at run time: it must be able to.
    await poll('the rewritten file', async () =>
      /sentinel myid /.test(readFileSync(path.join(runDir, 'sentinel.conf'), 'utf8')),
    );
  });

  test('pod 1 asks the Sentinels, replicates the primary they name, and holds its writes', async () => {
    const { runDir, stdout } = await configurePod('redis-1', ports.redis1, ports.sentinel0);
    expect(stdout).toMatch(/the Sentinels name 127\.0\.0\.1:\d+ the primary/);
    const conf = localise(path.join(runDir, 'redis.conf'), ports.redis1, path.join(dir, 'data-1'));
    expect(conf).toMatch(new RegExp(`^replicaof 127\\.0\\.0\\.1 ${ports.redis0}$`, 'm'));
    expect(readFileSync(path.join(runDir, 'sentinel.conf'), 'utf8')).toMatch(
      new RegExp(`^sentinel monitor phoenix 127\\.0\\.0\\.1 ${ports.redis0} 2$`, 'm'),
    );
    start('redis-server', path.join(runDir, 'redis.conf'));
    const replica = (...args: string[]) => cmd(ports.redis1, PASSWORD, ...args);
    await poll('replication', async () =>
      /master_link_status:up/.test(String(await replica('INFO', 'replication'))),
    );
    await cmd(ports.redis0, PASSWORD, 'SET', 'kustomize-test', 'replicated');
    await poll(
      'the write on the replica',
      async () => (await replica('GET', 'kustomize-test')) === 'replicated',
    );
  });

  test('the backup job copies a snapshot of the primary and keeps the newest BACKUP_KEEP', async () => {
    const backups = path.join(dir, 'backup');
    mkdirSync(backups);
    for (const old of [
      'dump-20200101T000000Z.rdb',
      'dump-20200102T000000Z.rdb',
      'dump-20200103T000000Z.rdb',
    ]) {
      writeFileSync(path.join(backups, old), 'old');
    }
    const { stdout } = await program('sh', [path.join(dir, 'backup.sh')], {
      REDISCLI_AUTH: PASSWORD,
      MASTER_NAME: 'phoenix',
      SENTINEL_DISCOVERY_HOST: 'localhost',
      SENTINEL_PORT: String(ports.sentinel0),
      BACKUP_DIR: backups,
      BACKUP_KEEP: '2',
    });
    expect(stdout).toMatch(/from 127\.0\.0\.1:\d+/);
    const files = readdirSync(backups).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toBe('dump-20200103T000000Z.rdb');
    expect(readFileSync(path.join(backups, files[1]!)).subarray(0, 5).toString()).toBe('REDIS');
  });

  test('a restarted primary waits for the Sentinels to fail it over before it starts as the primary', async () => {
    const started = Date.now();
    const { stdout } = await program('sh', [path.join(dir, 'configure.sh')], {
      POD_NAME: 'redis-0',
      POD_NAMESPACE: 'phoenix-orch',
      REDIS_PASSWORD: PASSWORD,
      TEMPLATE_DIR: path.join(dir, 'templates'),
      RUN_DIR: path.join(dir, 'redis-0-restarted'),
      ANNOUNCE_HOST: '127.0.0.1',
      SENTINEL_DISCOVERY_HOST: 'localhost',
      SENTINEL_PORT: String(ports.sentinel0),
      REDIS_PORT: String(ports.redis0),
      WAIT_FOR_FAILOVER_S: '2',
    });
    expect(stdout).toMatch(/still name this pod the primary; waiting/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
  });

  test('the init step refuses a password the configuration files could not hold', async () => {
    await expect(
      program('sh', [path.join(dir, 'configure.sh')], {
        POD_NAME: 'redis-2',
        POD_NAMESPACE: 'phoenix-orch',
        REDIS_PASSWORD: 'has space',
        TEMPLATE_DIR: path.join(dir, 'templates'),
        RUN_DIR: path.join(dir, 'redis-2-run'),
      }),
    ).rejects.toThrow(/REDIS_PASSWORD may only contain/);
  });

  /** Runs the Redis container's preStop hook for one pod, as the kubelet does, with its timing. */
  async function preStop(
    pod: string,
    redisPort: number,
    sentinelPort: number,
    timeoutS: number,
    extra: Record<string, string> = {},
  ) {
    const started = Date.now();
    const { stdout } = await program('sh', [path.join(dir, 'prestop.sh')], {
      ...extra,
      POD_NAME: pod,
      POD_NAMESPACE: 'phoenix-orch',
      MASTER_NAME: 'phoenix',
      REDISCLI_AUTH: PASSWORD,
      ANNOUNCE_HOST: '127.0.0.1',
      SENTINEL_DISCOVERY_HOST: 'localhost',
      SENTINEL_PORT: String(sentinelPort),
      REDIS_PORT: String(redisPort),
      PRESTOP_TIMEOUT_S: String(timeoutS),
    });
    return { stdout, seconds: (Date.now() - started) / 1000 };
  }

  test('the Redis container hands over before it stops, bounded well inside the grace period', () => {
    const redis = w.pod.containers.find((c) => c.name === 'redis');
    expect(redis.lifecycle.preStop).toEqual({ exec: { command: ['sh', '/scripts/prestop.sh'] } });
    expect(redis.volumeMounts).toContainEqual({ name: 'scripts', mountPath: '/scripts' });
    const env = containerEnv(prod, w, 'redis');
    expect(env.POD_NAME).toMatch(/^redis-/);
    expect(env.MASTER_NAME).toBe('phoenix');
    // Its worst case: the deadline, then one more round of calls (three Sentinels, the new primary's
    // role, REPLICAOF) of CALL_TIMEOUT_S (2 s) each. Redis then needs time to save on SIGTERM.
    const worst = Number(env.PRESTOP_TIMEOUT_S) + 5 * 2 + 1;
    expect(worst).toBeLessThanOrEqual(w.pod.terminationGracePeriodSeconds - 20);
  });

  test('preStop on a replica returns at once: nothing to hand over', async () => {
    const { stdout, seconds } = await preStop('redis-1', ports.redis1, ports.sentinel0, 20);
    expect(stdout).toMatch(
      /this pod is not the primary \(the Sentinels name 127\.0\.0\.1:\d+\); nothing to hand over/,
    );
    expect(seconds).toBeLessThan(3);
  });

  test('preStop on the primary: the Sentinels fail it over, it follows the new primary, no write is lost', async () => {
    // A Sentinel learns of a replica from the primary's INFO (every 10 s); only then can it fail over.
    await poll('the Sentinel to know the replica', async () => {
      const replicas = (await cmd(
        ports.sentinel0,
        undefined,
        'SENTINEL',
        'replicas',
        'phoenix',
      )) as unknown[];
      return replicas.length === 1;
    });
    await cmd(ports.redis0, PASSWORD, 'SET', 'before-the-hand-over', 'kept');
    expect(await cmd(ports.redis0, PASSWORD, 'WAIT', '1', '5000')).toBe(1);

    const { stdout, seconds } = await preStop('redis-0', ports.redis0, ports.sentinel0, 20);
    expect(stdout).toMatch(
      new RegExp(`handed the primary over to 127\\.0\\.0\\.1:${ports.redis1} in \\d+ s`),
    );
    expect(seconds).toBeLessThan(20);
    expect(await cmd(ports.sentinel0, undefined, 'SENTINEL', 'get-master-addr-by-name', 'phoenix')).toEqual([
      '127.0.0.1',
      String(ports.redis1),
    ]);
    expect(await cmd(ports.redis1, PASSWORD, 'INFO', 'replication')).toMatch(/role:master/);
    expect(await cmd(ports.redis1, PASSWORD, 'GET', 'before-the-hand-over')).toBe('kept');
    // The old primary follows the new one at once: a write that still reaches it is refused, not lost.
    expect(await cmd(ports.redis0, PASSWORD, 'INFO', 'replication')).toMatch(
      new RegExp(`role:slave[\\s\\S]*master_port:${ports.redis1}`),
    );
    await expect(cmd(ports.redis0, PASSWORD, 'SET', 'after-the-hand-over', 'x')).rejects.toThrow(/READONLY/);
  });

  test('preStop in a single Redis (dev): no other Sentinel to ask, so it returns at once', async () => {
    // Its own Sentinel is the only one: the one at this pod's address, which it never asks.
    const { stdout, seconds } = await preStop('redis-0', ports.redis1, ports.sentinel0, 20, {
      POD_IP: '127.0.0.1',
    });
    expect(stdout).toMatch(/no Sentinel in another pod/);
    expect(seconds).toBeLessThan(3);
  });

  test('preStop gives up after PRESTOP_TIMEOUT_S when no Sentinel answers, and lets the pod stop', async () => {
    const nobody = await freePort();
    const { stdout, seconds } = await preStop('redis-1', ports.redis1, nobody, 2);
    expect(stdout).toMatch(/no Sentinel at localhost:\d+ answers/);
    expect(stdout).toMatch(/no other primary within 2 s/);
    // The deadline counts whole seconds (date +%s), so it can end up to a second early.
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThan(2 + 5);
  });
});
