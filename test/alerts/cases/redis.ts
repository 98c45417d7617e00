import type { CaseFile } from '../types.ts';
import { inOtherNamespace, OTHER_NAMESPACE } from './series.ts';

const REDIS = 'job="redis"';
const lag = `redis_connected_slave_lag_seconds{${REDIS}, instance="redis-0:6379", slave_ip="10.0.0.2", slave_port="6379", slave_state="online"}`;
const link = `redis_master_link_up{${REDIS}, instance="redis-1:6379"}`;
const info = (instance: string, role: string) =>
  `redis_instance_info{${REDIS}, instance="${instance}", role="${role}", redis_version="7.0.15"}`;
const up = (instance: string) => `redis_up{${REDIS}, instance="${instance}"}`;
const status = (sentinel: string, address: string) =>
  `redis_sentinel_master_status{job="redis-sentinel", instance="${sentinel}", master_name="phoenix", master_address="${address}", master_status="ok"}`;

export function redisCases(): CaseFile {
  return {
    name: 'redis',
    mode: 'normal',
    interval: '1m',
    cases: [
      // RedisReplicationLagHigh: > 10s for 2m.
      {
        name: 'replica 12s behind for 3m',
        alert: 'RedisReplicationLagHigh',
        series: { [lag]: '12x5' },
        at: '3m',
        fires: [
          {
            labels: { job: 'redis', instance: 'redis-0:6379', slave_ip: '10.0.0.2', slave_port: '6379' },
            description:
              'Replica 10.0.0.2:6379 of Redis primary redis-0:6379 last acknowledged the replication stream 12s ago (threshold 10s).',
          },
        ],
      },
      {
        name: 'replica exactly 10s behind',
        alert: 'RedisReplicationLagHigh',
        series: { [lag]: '10x5' },
        at: '3m',
        fires: [],
      },
      {
        name: 'replica 12s behind for less than 2m',
        alert: 'RedisReplicationLagHigh',
        series: { [lag]: '0 0 0 12 12' },
        at: '4m',
        fires: [],
      },
      {
        name: 'no replica connected (no series)',
        alert: 'RedisReplicationLagHigh',
        series: { [up('redis-0:6379')]: '1x5' },
        at: '3m',
        fires: [],
      },
      // RedisReplicaLinkDown: for 2m.
      {
        name: 'link down from minute 2',
        alert: 'RedisReplicaLinkDown',
        series: { [link]: '1 1 0x5' },
        at: '5m',
        fires: [
          {
            labels: { job: 'redis', instance: 'redis-1:6379' },
            description:
              'Redis replica redis-1:6379 reports its link to the primary down (redis_master_link_up = 0); it serves no fresh data and cannot safely be promoted.',
          },
        ],
      },
      {
        name: 'link down for less than 2m',
        alert: 'RedisReplicaLinkDown',
        series: { [link]: '1 1 0x5' },
        at: '3m',
        fires: [],
      },
      { name: 'link up', alert: 'RedisReplicaLinkDown', series: { [link]: '1x7' }, at: '5m', fires: [] },
      // RedisNoPrimary: for 1m.
      {
        name: 'the primary dies and no replica is promoted',
        alert: 'RedisNoPrimary',
        series: {
          [info('redis-0:6379', 'master')]: '1 1 stale',
          [up('redis-0:6379')]: '1 1 0x5',
          [info('redis-1:6379', 'slave')]: '1x7',
          [up('redis-1:6379')]: '1x7',
        },
        at: '4m',
        fires: [
          {
            labels: {},
            description:
              '0 reachable Redis server(s) of job redis report role master: the orchestrators answer uncached and refuse sessions and async tasks until Sentinel promotes a replica.',
          },
        ],
      },
      {
        name: 'no Redis series at all (every exporter gone)',
        alert: 'RedisNoPrimary',
        series: { 'up{job="master-orchestrator", instance="orch-1:8080"}': '1x7' },
        at: '4m',
        fires: [
          {
            labels: { job: 'redis', cluster: null },
            description:
              '0 reachable Redis server(s) of job redis report role master: the orchestrators answer uncached and refuse sessions and async tasks until Sentinel promotes a replica.',
          },
        ],
      },
      {
        name: 'the primary dies and Sentinel promotes a replica within a minute',
        alert: 'RedisNoPrimary',
        series: {
          [info('redis-0:6379', 'master')]: '1 1 stale',
          [up('redis-0:6379')]: '1 1 0x5',
          [info('redis-1:6379', 'slave')]: '1 1 1 stale',
          [info('redis-1:6379', 'master')]: '_ _ _ 1x4',
          [up('redis-1:6379')]: '1x7',
        },
        at: '5m',
        fires: [],
      },
      {
        name: 'no primary for less than 1m',
        alert: 'RedisNoPrimary',
        series: { [info('redis-0:6379', 'master')]: '1 1 stale', [up('redis-0:6379')]: '1 1 0x5' },
        at: '2m',
        fires: [],
      },
      {
        name: 'a primary here, none in another namespace',
        alert: 'RedisNoPrimary',
        series: {
          [info('redis-0:6379', 'master')]: '1x7',
          [up('redis-0:6379')]: '1x7',
          ...inOtherNamespace({ [info('redis-0:6379', 'slave')]: '1x7', [up('redis-0:6379')]: '1x7' }),
        },
        at: '4m',
        fires: [
          {
            labels: { namespace: OTHER_NAMESPACE },
            description:
              '0 reachable Redis server(s) of job redis report role master: the orchestrators answer uncached and refuse sessions and async tasks until Sentinel promotes a replica.',
          },
        ],
      },
      {
        name: 'primary up',
        alert: 'RedisNoPrimary',
        series: { [info('redis-0:6379', 'master')]: '1x7', [up('redis-0:6379')]: '1x7' },
        at: '4m',
        fires: [],
      },
      // RedisSentinelFailover: two primary addresses within 15m.
      {
        name: 'primary address changes at minute 3',
        alert: 'RedisSentinelFailover',
        series: {
          [status('sentinel-0:26379', '10.0.0.1:6379')]: '1 1 1 stale',
          [status('sentinel-1:26379', '10.0.0.1:6379')]: '1 1 1 stale',
          [status('sentinel-0:26379', '10.0.0.2:6379')]: '_ _ _ 1x25',
          [status('sentinel-1:26379', '10.0.0.2:6379')]: '_ _ _ 1x25',
        },
        at: '5m',
        fires: [
          {
            labels: { master_name: 'phoenix' },
            description:
              'The Sentinels reported 2 different primary addresses for phoenix within the last 15m: a failover happened.',
          },
        ],
      },
      {
        name: 'the failover is older than 15m',
        alert: 'RedisSentinelFailover',
        series: {
          [status('sentinel-0:26379', '10.0.0.1:6379')]: '1 1 1 stale',
          [status('sentinel-0:26379', '10.0.0.2:6379')]: '_ _ _ 1x25',
        },
        at: '20m',
        fires: [],
      },
      {
        name: 'three Sentinels agree on one primary',
        alert: 'RedisSentinelFailover',
        series: {
          [status('sentinel-0:26379', '10.0.0.1:6379')]: '1x25',
          [status('sentinel-1:26379', '10.0.0.1:6379')]: '1x25',
          [status('sentinel-2:26379', '10.0.0.1:6379')]: '1x25',
        },
        at: '20m',
        fires: [],
      },
    ],
  };
}
