import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from '../../harness/redis-server.ts';

const client = (port: number) =>
  new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => null });

async function poll(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The seed's Redis (1 primary, 2 replicas) with one Sentinel (quorum 1) on loopback, for tests of the
 * Sentinel connection path and of failover. The local stack runs three Sentinels; one is enough here.
 */
export async function startSentinelSet(masterName = 'phoenix') {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'phoenix-sentinel-'));
  const primaryPort = await freePort();
  const replicaPorts = [await freePort(), await freePort()];
  const sentinelPort = await freePort();
  const children: ChildProcess[] = [];
  const run = (args: string[]) => {
    const child = spawn(args[0]!, args.slice(1), { stdio: 'ignore' });
    child.once('error', () => undefined);
    children.push(child);
    return child;
  };
  const redisArgs = (port: number) => [
    'redis-server',
    ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', `dump-${port}.rdb`],
    ...['--save', '', '--appendonly', 'no'],
    // Start a replica's first sync at once (the default waits 5 s to batch replicas).
    ...['--repl-diskless-sync-delay', '0'],
  ];
  const info = async (port: number) => {
    const c = client(port);
    try {
      return await c.info('replication');
    } finally {
      c.disconnect();
    }
  };

  const primary = run(redisArgs(primaryPort));
  await poll('the primary', async () => (await info(primaryPort)).includes('role:master'));
  for (const port of replicaPorts) run([...redisArgs(port), '--replicaof', '127.0.0.1', String(primaryPort)]);
  for (const port of replicaPorts) {
    await poll(`replica ${port}`, async () => (await info(port)).includes('master_link_status:up'));
  }
  // "Link up" can precede a replica's first acknowledgement by a second: wait until both hold a write.
  const p = client(primaryPort);
  await p.set('sentinel-set:ready', '1');
  await p.wait(replicaPorts.length, 5000);
  p.disconnect();

  const conf = path.join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${primaryPort} 1`,
      `sentinel down-after-milliseconds ${masterName} 1000`,
      `sentinel failover-timeout ${masterName} 5000`,
      `sentinel parallel-syncs ${masterName} 2`,
      '',
    ].join('\n'),
  );
  run(['redis-sentinel', conf]);
  const sentinelCall = async (...args: string[]) => {
    const c = client(sentinelPort);
    try {
      return await c.call('SENTINEL', ...args);
    } finally {
      c.disconnect();
    }
  };
  // Sentinel must have discovered the replicas before it can fail over to one.
  await poll('sentinel to see both replicas', async () => {
    const replicas = (await sentinelCall('replicas', masterName)) as unknown[];
    return replicas.length === replicaPorts.length;
  });

  return {
    sentinels: `127.0.0.1:${sentinelPort}`,
    masterName,
    primaryPort,
    replicaPorts,
    async primaryAddress(): Promise<number> {
      const [, port] = (await sentinelCall('get-master-addr-by-name', masterName)) as [string, string];
      return Number(port);
    },
    /** Kills the primary process, as a crash would. */
    killPrimary: () => primary.kill('SIGKILL'),
    async close() {
      for (const c of children) c.kill('SIGKILL');
      await sleep(100);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
