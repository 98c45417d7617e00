import { Registry } from 'prom-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisKeys } from '../../platform/redis-keys.ts';
import { createLogger } from '../../services/kit/logger.ts';
import { createBaseMetrics } from '../../services/kit/metrics.ts';
import { closeRedis, createRedis, waitReady, type Redis } from '../../services/kit/redis.ts';
import { VersionPublisher } from '../../services/kit/version-publisher.ts';
import { planVersion, sourceId, type VersionPart } from '../../services/kit/versions.ts';
import { loadOrchestratorConfig } from '../../services/orchestrator/config.ts';
import { createOrchestratorMetrics } from '../../services/orchestrator/metrics.ts';
import { PushedVersions } from '../../services/orchestrator/pushed-versions.ts';
import { startRedis, type RedisServer } from '../../harness/redis-server.ts';

/**
 * The pushed-versions protocol between a real publisher and a real follower over a real Redis: a lost
 * notice, a publisher that restarts, one that goes silent, hostile notices, and a map too large.
 */
const keys = redisKeys('po:');
const log = createLogger({ service: 'test', instance: 'test', level: 'silent' });
const RULE: VersionPart[] = [{ source: 'ref', args: [{ input: 'repo' }, { input: 'ref', default: 'HEAD' }] }];
const MAIN = planVersion(RULE, { repo: 'r', ref: 'main' })!;
const ID = sourceId('ref', ['r', 'main']);

let server: RedisServer;
const connections: Redis[] = [];
const stops: Array<() => void> = [];

beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  await Promise.all(connections.splice(0).map(closeRedis));
});
afterAll(async () => {
  await server.close();
});

const config = (env: Record<string, string> = {}) =>
  loadOrchestratorConfig({
    API_KEYS: 'test-api-key-0123456789abcdef',
    REDIS_URL: server.url,
    VERSIONS_MAX_SILENCE_MS: '400',
    ...env,
  });
const connect = async (role: 'command' | 'subscriber', cfg = config()) => {
  const redis = createRedis(cfg, role, log, 'test');
  connections.push(redis);
  await waitReady(redis, 3000);
  return redis;
};

async function follower(env: Record<string, string> = {}) {
  const cfg = config(env);
  const metrics = createOrchestratorMetrics(createBaseMetrics('orchestrator_', cfg));
  const versions = new PushedVersions({
    redis: await connect('command', cfg),
    subscriber: await connect('subscriber', cfg),
    keys,
    config: cfg,
    metrics,
    log,
  });
  await versions.start();
  stops.push(() => versions.stop());
  const loads = async () => (await metrics.pushedVersionsLoads.get()).values.reduce((n, v) => n + v.value, 0);
  return { versions, loads };
}

async function publisher(instance = 'agent-1') {
  const p = new VersionPublisher({
    redis: await connect('command'),
    keys,
    pool: 'git',
    instance,
    tickMs: 100,
    maxEntries: 1000,
    log,
    registry: new Registry(),
  });
  p.start();
  stops.push(() => p.stop());
  return p;
}

/** Polls `fn` until it returns `want` or `ms` pass; returns the last value. */
async function until<T>(fn: () => T, want: T, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = fn();
  while (value !== want && Date.now() < deadline) {
    await sleep(20);
    value = fn();
  }
  return value;
}

test('changes are followed; a notice lost on the way is noticed at the next tick and the map loaded again', async () => {
  await (await connect('command')).flushall();
  const pub = await publisher();
  const { versions, loads } = await follower();
  pub.replace(new Map([[ID, 'sha1']]));
  expect(await until(() => versions.current('git', MAIN), 'sha1')).toBe('sha1');
  pub.replace(new Map([[ID, 'sha2']]));
  expect(await until(() => versions.current('git', MAIN), 'sha2')).toBe('sha2');

  // A change that reaches Redis but whose notice is lost (as when a subscriber is cut off).
  const before = await loads();
  const direct = await connect('command');
  await direct
    .multi()
    .hset(keys.versions('git'), ID, 'sha3')
    .hincrby(keys.versionsMeta('git'), 'seq', 1)
    .exec();
  expect(await until(() => versions.current('git', MAIN), 'sha3')).toBe('sha3');
  expect(await loads()).toBeGreaterThan(before);
});

test('a publisher that restarts replaces the map under a new epoch, and followers load it', async () => {
  await (await connect('command')).flushall();
  const first = await publisher('agent-1');
  const { versions } = await follower();
  first.replace(new Map([[ID, 'sha1']]));
  expect(await until(() => versions.current('git', MAIN), 'sha1')).toBe('sha1');
  const epoch = await (await connect('command')).hget(keys.versionsMeta('git'), 'epoch');
  first.stop();
  const second = await publisher('agent-1');
  second.replace(new Map([[ID, 'sha9']]));
  expect(await until(() => versions.current('git', MAIN), 'sha9')).toBe('sha9');
  expect(await (await connect('command')).hget(keys.versionsMeta('git'), 'epoch')).not.toBe(epoch);
});

test('a silent publisher: its versions stop being used after VERSIONS_MAX_SILENCE_MS, but stay known for stale answers', async () => {
  await (await connect('command')).flushall();
  const pub = await publisher();
  const { versions } = await follower();
  pub.replace(new Map([[ID, 'sha1']]));
  expect(await until(() => versions.current('git', MAIN), 'sha1')).toBe('sha1');
  pub.stop();
  const stopped = Date.now();
  expect(await until(() => versions.current('git', MAIN), undefined)).toBeUndefined();
  expect(Date.now() - stopped).toBeLessThan(400 + 300);
  expect(versions.lastKnown('git', MAIN)).toBe('sha1');
});

test('hostile notices change nothing they should not; a map past VERSIONS_MAX_BYTES is not used', async () => {
  await (await connect('command')).flushall();
  const pub = await publisher();
  const { versions } = await follower();
  pub.replace(new Map([[ID, 'sha1']]));
  expect(await until(() => versions.current('git', MAIN), 'sha1')).toBe('sha1');
  const direct = await connect('command');
  for (const junk of [
    'not json',
    '{"pool":"git","kind":"change","epoch":"zz","seq":1,"set":{},"del":[]}',
    JSON.stringify({
      pool: 'git',
      kind: 'change',
      epoch: 'abcdef0123',
      seq: 2,
      set: { [ID]: 'has space' },
      del: [],
    }),
    JSON.stringify({ pool: '__proto__', kind: 'tick', epoch: 'abcdef0123', seq: 1 }),
    JSON.stringify({ pool: 'git', kind: 'tick', epoch: 'abcdef0123', seq: 1e300 }),
  ]) {
    await direct.publish(keys.versionsChannel, junk);
  }
  await sleep(300);
  expect(await until(() => versions.current('git', MAIN), 'sha1')).toBe('sha1');

  const small = await follower({ VERSIONS_MAX_BYTES: '2048' });
  pub.replace(new Map(Array.from({ length: 50 }, (_, i) => [sourceId('ref', ['r', `b${i}`]), `sha${i}`])));
  await sleep(500);
  expect(small.versions.current('git', planVersion(RULE, { repo: 'r', ref: 'b1' })!)).toBeUndefined();
  expect(
    await until(() => versions.current('git', planVersion(RULE, { repo: 'r', ref: 'b1' })!), 'sha1'),
  ).toBe('sha1');
});
