/**
 * Every Redis key and channel phoenix-orch uses, in one place. `prefix` is REDIS_KEY_PREFIX.
 * Keys of one pool or task share a hash tag-free layout: this runs on a primary/replica set, not Redis Cluster.
 */
export function redisKeys(prefix: string) {
  return {
    cache: (hash: string) => `${prefix}cache:${hash}`,
    /** Single-flight lock for one cache key, held by the instance computing it. */
    flightLock: (hash: string) => `${prefix}flight:${hash}`,
    /** Short-lived record of a single-flight leader's failure, read by the waiters. */
    flightError: (hash: string) => `${prefix}flight-error:${hash}`,
    flightChannel: `${prefix}flight`,
    session: (id: string) => `${prefix}session:${id}`,
    task: (id: string) => `${prefix}task:${id}`,
    taskStream: (pool: string) => `${prefix}tasks:${pool}`,
    taskGroup: 'orchestrators',
    breaker: (pool: string) => `${prefix}breaker:${pool}`,
    breakerChannel: `${prefix}breaker`,
    /** Sorted set of a pool's instances, scored by their last heartbeat (ms since epoch). */
    agentInstances: (pool: string) => `${prefix}agents:${pool}`,
    /** One instance's last reported health (JSON), expiring when heartbeats stop. */
    agentHealth: (pool: string, instance: string) => `${prefix}agent:${pool}:${instance}`,
    /** Hash of a pool's published versions: source id -> version (docs/decisions.md, pushed versions). */
    versions: (pool: string) => `${prefix}versions:${pool}`,
    /** Hash with the `epoch` and `seq` of a pool's published versions. */
    versionsMeta: (pool: string) => `${prefix}versions-meta:${pool}`,
    /** Where one publisher builds a whole new map before swapping it in (expires if it dies midway). */
    versionsStaging: (pool: string, instance: string) => `${prefix}versions-staging:${pool}:${instance}`,
    /** Change notices and liveness ticks of every pool's publishers. */
    versionsChannel: `${prefix}versions`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
