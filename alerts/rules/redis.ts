import { num, type AlertingRule, type Context } from '../lib.ts';

/** Redis primary, replicas and Sentinels, as the redis_exporter instances see them. */
export function redisAlerts(ctx: Context): AlertingRule[] {
  const c = ctx.config;
  const redis = ctx.job(c.jobs.redis);
  const sentinel = ctx.job(c.jobs.redisSentinel);
  const failoverWindow = ctx.range(c.redisFailover.window);
  const lag = num(c.redisReplicationLag.thresholdSeconds);
  return [
    ctx.alert({
      name: 'RedisReplicationLagHigh',
      // Seen from the primary: seconds since each replica last acknowledged (replicas ack every second).
      expr: `
        max ${ctx.by('job', 'instance', 'slave_ip', 'slave_port')} (
          redis_connected_slave_lag_seconds{${redis}}
        ) > ${lag}`,
      for: c.redisReplicationLag.for,
      severity: c.redisReplicationLag.severity,
      component: 'redis',
      summary: `A Redis replica is more than ${lag} seconds behind the primary.`,
      description: `Replica {{ $labels.slave_ip }}:{{ $labels.slave_port }} of Redis primary {{ $labels.instance }} last acknowledged the replication stream {{ $value }}s ago (threshold ${lag}s).`,
      panel: { dashboard: 'redis', panel: 'replicationLag' },
    }),
    ctx.alert({
      name: 'RedisReplicaLinkDown',
      expr: `max ${ctx.by('job', 'instance')} (redis_master_link_up{${redis}}) == 0`,
      for: c.redisReplicaLink.for,
      severity: c.redisReplicaLink.severity,
      component: 'redis',
      summary: 'A Redis replica has lost its replication link to the primary.',
      description: `Redis replica {{ $labels.instance }} reports its link to the primary down (redis_master_link_up = {{ $value }}); it serves no fresh data and cannot safely be promoted.`,
      panel: { dashboard: 'redis', panel: 'replicationLag' },
    }),
    ctx.alert({
      name: 'RedisNoPrimary',
      // Per installation: the primaries that answer, or 0 where exporters answer but none is a
      // primary, or 0 where no exporter of the namespace is scraped at all (absent).
      expr: `
        (
          count ${ctx.by()} (
            redis_instance_info{${redis}, role="master"}
            and ${ctx.on('instance')}
            (redis_up{${redis}} == 1)
          )
          or
          0 * count ${ctx.by()} (redis_up{${redis}})
          or
          ${ctx.absent('redis_up', c.jobs.redis)} * 0
        ) < 1`,
      for: c.redisPrimary.for,
      severity: c.redisPrimary.severity,
      component: 'redis',
      summary: 'No reachable Redis server is a primary.',
      description: `{{ $value }} reachable Redis server(s) of job ${c.jobs.redis} report role master: the orchestrators answer uncached and refuse sessions and async tasks until Sentinel promotes a replica.`,
      panel: { dashboard: 'redis', panel: 'primaryUp' },
    }),
    ctx.alert({
      name: 'RedisSentinelFailover',
      // A failover changes the master_address label: two addresses seen within the window.
      expr: `
        count ${ctx.by('master_name')} (
          count ${ctx.by('master_name', 'master_address')} (
            last_over_time(redis_sentinel_master_status{${sentinel}}[${failoverWindow}])
          )
        ) > 1`,
      severity: c.redisFailover.severity,
      component: 'redis',
      summary: 'Redis Sentinel promoted a new primary.',
      description: `The Sentinels reported {{ $value }} different primary addresses for {{ $labels.master_name }} within the last ${failoverWindow}: a failover happened.`,
      panel: { dashboard: 'redis', panel: 'failovers' },
    }),
  ];
}
