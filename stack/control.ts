/**
 * Talking to the stack's control planes: the Sentinels (who is primary, fail over) and HAProxy's
 * runtime API (drain, undrain, server states).
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { HOST, type Layout } from './layout.ts';
import { lbMasterSocket, lbSocket } from './local-configs.ts';
import { shared } from './render.ts';

async function withClient<T>(port: number, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 2000,
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

/** The primary's port as the Sentinels see it (the first Sentinel that answers). */
export async function sentinelPrimary(l: Layout): Promise<number | undefined> {
  for (const port of l.ports.sentinel) {
    try {
      const addr = (await withClient(port, (c) =>
        c.call('SENTINEL', 'get-master-addr-by-name', shared.masterName),
      )) as [string, string] | null;
      if (addr) return Number(addr[1]);
    } catch {
      /* try the next Sentinel */
    }
  }
  return undefined;
}

export async function redisRole(port: number): Promise<string | undefined> {
  try {
    const info = await withClient(port, (c) => c.info('replication'));
    return /role:(\w+)/.exec(info)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Waits until every Sentinel sees the primary, both replicas and the other Sentinels: only then can a
 * quorum agree on a failover.
 */
export async function waitSentinelTopology(l: Layout, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const want = { replicas: l.ports.redis.length - 1, sentinels: l.ports.sentinel.length - 1 };
  let last = '';
  while (Date.now() < deadline) {
    const views = await Promise.all(
      l.ports.sentinel.map(async (port) => {
        try {
          const flat = (await withClient(port, (c) =>
            c.call('SENTINEL', 'master', shared.masterName),
          )) as string[];
          const m = new Map<string, string>();
          for (let i = 0; i + 1 < flat.length; i += 2) m.set(flat[i]!, flat[i + 1]!);
          return { replicas: Number(m.get('num-slaves')), sentinels: Number(m.get('num-other-sentinels')) };
        } catch (err) {
          return { replicas: -1, sentinels: -1, err: String(err) };
        }
      }),
    );
    last = JSON.stringify(views);
    if (views.every((v) => v.replicas >= want.replicas && v.sentinels >= want.sentinels)) return;
    await sleep(250);
  }
  throw new Error(`the Sentinels did not see the whole Redis set within ${timeoutMs / 1000} s: ${last}`);
}

/** Asks a Sentinel to fail the primary over and waits until another node is primary. */
export async function failover(l: Layout, timeoutMs = 30000): Promise<{ from?: number; to: number }> {
  const from = await sentinelPrimary(l);
  let asked = false;
  for (const port of l.ports.sentinel) {
    try {
      await withClient(port, (c) => c.call('SENTINEL', 'FAILOVER', shared.masterName));
      asked = true;
      break;
    } catch (err) {
      if (/INPROG/.test(String(err))) {
        asked = true;
        break;
      }
    }
  }
  if (!asked) throw new Error('no Sentinel accepted the failover request');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const now = await sentinelPrimary(l);
    if (now !== undefined && now !== from && (await redisRole(now)) === 'master') {
      // Sentinel demotes a reachable old primary only after it has reported the wrong role for about
      // 8 s; until then the new primary has one replica fewer. A planned switchover need not wait.
      if (from !== undefined && (await redisRole(from)) === 'master') {
        await withClient(from, (c) => c.call('REPLICAOF', HOST, String(now))).catch(() => undefined);
      }
      return { from, to: now };
    }
    await sleep(100);
  }
  throw new Error(`no new primary within ${timeoutMs / 1000} s`);
}

/** One command on HAProxy's runtime API (the load balancer's admin socket, or its master's). */
export function haproxyCommand(l: Layout, command: string, socketPath = lbSocket(l)): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let out = '';
    socket.setTimeout(3000, () => socket.destroy(new Error('runtime API timed out')));
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (c) => (out += c.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(out.trim()));
  });
}

export interface ServerState {
  name: string;
  /** HAProxy's operational state: 0 stopped, 1 starting, 2 running (UP), 3 soft-stopping. */
  operational: number;
  /** Admin state bits: 0 ready; 8 = drain set by the runtime API. */
  admin: number;
  weight: number;
}

/** The orchestrators backend's servers as HAProxy sees them now. */
export async function backendServers(l: Layout): Promise<ServerState[]> {
  const out = await haproxyCommand(l, 'show servers state orchestrators');
  // Columns: be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight ...
  return out
    .split('\n')
    .filter((line) => /^\d+ orchestrators /.test(line))
    .map((line) => {
      const f = line.split(' ');
      return { name: f[3]!, operational: Number(f[5]), admin: Number(f[6]), weight: Number(f[7]) };
    });
}

/** Entries in the load balancer's stick table, as its current worker holds them. */
export async function stickTableEntries(l: Layout): Promise<number> {
  const out = await haproxyCommand(l, 'show table orchestrators');
  const used = /used:(\d+)/.exec(out);
  if (!used) throw new Error(`unexpected answer to "show table": ${out.slice(0, 200)}`);
  return Number(used[1]);
}

interface MasterView {
  workers: number[];
  failedReloads: number;
}

/** The master's view: its current workers (old ones still finishing are listed apart) and failed reloads. */
async function masterView(l: Layout): Promise<MasterView> {
  const out = await haproxyCommand(l, 'show proc', lbMasterSocket(l));
  const failed = /master\s+\d+\s+\[failed:\s*(\d+)\]/.exec(out);
  if (!failed) throw new Error(`unexpected answer to "show proc": ${out.slice(0, 200)}`);
  const section = out.split('# workers')[1]?.split('#')[0] ?? '';
  const workers = [...section.matchAll(/^(\d+)\s+worker/gm)].map((m) => Number(m[1]));
  return { workers, failedReloads: Number(failed[1]) };
}

export interface ReloadResult {
  /** When the master was signalled (epoch milliseconds). */
  signalledAt: number;
  oldWorkers: number[];
  newWorker: number;
  entriesBefore: number;
  entriesAfter: number;
  /** Milliseconds from the signal until the new worker serves with the old worker's table. */
  tookMs: number;
}

/**
 * Reloads the load balancer (SIGUSR2 to the master) and waits until a new worker serves and has
 * been taught the stick table by the old one through the local peer. A reload HAProxy refused (a
 * bad configuration) is an error; the old worker then keeps serving.
 */
export async function reloadLoadBalancer(
  l: Layout,
  masterPid: number,
  timeoutMs = 10000,
): Promise<ReloadResult> {
  const before = await masterView(l);
  const entriesBefore = await stickTableEntries(l);
  const started = Date.now();
  process.kill(masterPid, 'SIGUSR2');
  let newWorker: number | undefined;
  let entriesAfter = 0;
  while (Date.now() - started < timeoutMs) {
    await sleep(100);
    const now = await masterView(l).catch(() => undefined);
    if (!now) continue; // the master re-executes itself on reload and briefly has no socket
    if (now.failedReloads > before.failedReloads) {
      throw new Error('HAProxy refused the reload (see its log); the previous worker keeps serving');
    }
    newWorker = now.workers.find((w) => !before.workers.includes(w));
    if (newWorker === undefined) continue;
    // Entries only expire after 30 minutes, so the new worker has the whole table once it holds as many.
    entriesAfter = await stickTableEntries(l).catch(() => 0);
    if (entriesAfter >= entriesBefore) {
      return {
        signalledAt: started,
        oldWorkers: before.workers,
        newWorker,
        entriesBefore,
        entriesAfter,
        tookMs: Date.now() - started,
      };
    }
  }
  throw new Error(
    newWorker === undefined
      ? `no new load-balancer worker within ${timeoutMs / 1000} s`
      : `the new worker ${newWorker} holds ${entriesAfter} of ${entriesBefore} stick-table entries after ${timeoutMs / 1000} s`,
  );
}
