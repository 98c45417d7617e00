/**
 * Redis: the role of each node, connected replicas, replication lag against the alert threshold, memory,
 * commands, keyspace hit ratio, the age of the last RDB save, and failovers as the Sentinels see them
 * (redis_exporter on the data nodes and on the Sentinels).
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  JOBS,
  alerts,
  THRESHOLDS,
  UP_DOWN,
  above,
  alertPanels,
  below,
  finish,
  labelVariable,
  newDashboard,
  panelIds,
  q,
  rate,
  row,
  scope,
  section,
  stateTimelinePanel,
  statPanel,
  tablePanel,
  timeseriesPanel,
  valueText,
  type Ids,
  type Section,
} from './common.ts';

const ids = alertPanels.redis;
const redis = scope(JOBS.redis);
const node = `${redis}, instance=~"$instance"`;
const sentinel = scope(JOBS.redisSentinel);

/** RDB snapshots every 15 minutes (the seed's 2.3): a save older than two periods missed one. */
const RDB_PERIOD_SECONDS = 15 * 60;

export function redisDashboard(): Dashboard {
  const id = panelIds();
  const board = newDashboard(
    'redis',
    'Redis primary, replicas and Sentinels: roles, replication, memory, commands, keyspace hit ratio, persistence, failovers.',
  ).withVariable(labelVariable('instance', 'Redis node', `redis_up{${redis}}`));
  return finish('redis', board, [topology(id), replication(id), loadAndMemory(id), sentinels(id)]);
}

// ---------------------------------------------------------------------------------------------------
// Topology

function topology(id: Ids): Section {
  return section(row(id(), 'Topology'), primaryUp(), roles(id), connectedReplicas(id));
}

function primaryUp() {
  return statPanel({
    id: ids.primaryUp,
    title: 'Primary up',
    description:
      'Reachable nodes reporting role master (exactly 1 is right; 0 means no primary, 2 a split brain), and each node\u2019s redis_up.',
    unit: 'none',
    width: 8,
    height: 5,
    queries: [
      q(
        `count(redis_instance_info{${redis}, role="master"} and on (instance) redis_up{${redis}} == 1) or vector(0)`,
        'primaries',
      ),
      q(`redis_up{${node}}`, '{{instance}}'),
    ],
    thresholds: below(1),
  });
}

function roles(id: Ids) {
  return stateTimelinePanel({
    id: id(),
    title: 'Role of each node',
    unit: 'none',
    width: 8,
    height: 5,
    queries: [
      q(
        `max by (instance) (redis_instance_info{${node}, role="master"})\n  or max by (instance) (redis_instance_info{${node}}) * 0`,
        '{{instance}}',
      ),
    ],
    mappings: valueText({ 0: ['replica', 'blue'], 1: ['primary', 'green'] }),
  });
}

function connectedReplicas(id: Ids) {
  return statPanel({
    id: id(),
    title: 'Connected replicas (on the primary)',
    unit: 'none',
    width: 8,
    height: 5,
    queries: [
      q(
        `max(redis_connected_slaves{${redis}} and on (instance) redis_instance_info{${redis}, role="master"})`,
        'replicas',
      ),
    ],
    thresholds: [
      { value: null, color: 'red' },
      { value: 1, color: 'orange' },
      { value: 2, color: 'green' },
    ],
  });
}

// ---------------------------------------------------------------------------------------------------
// Replication

function replication(id: Ids): Section {
  return section(row(id(), 'Replication'), replicationLag(), replicaLink(id));
}

function replicationLag() {
  return timeseriesPanel({
    id: ids.replicationLag,
    title: 'Replication lag',
    description:
      'Seconds since each replica last acknowledged (seen by the primary) and since each replica last heard from its primary; the line is the alert threshold. Right axis: each replica\u2019s link to the primary.',
    unit: 's',
    min: 0,
    queries: [
      q(
        `max by (instance, slave_ip, slave_port) (redis_connected_slave_lag_seconds{${node}})`,
        'replica {{slave_ip}}:{{slave_port}} (ack lag on {{instance}})',
      ),
      q(`redis_master_last_io_seconds_ago{${node}}`, '{{instance}} last I/O with primary'),
      q(`max by (instance) (redis_master_link_up{${node}})`, '{{instance}} link up (1) / down (0)', 'bool'),
    ],
    thresholds: above(THRESHOLDS.replicationLagSeconds),
  });
}

function replicaLink(id: Ids) {
  return stateTimelinePanel({
    id: id(),
    title: 'Replica link to the primary',
    unit: 'none',
    height: 8,
    queries: [q(`max by (instance) (redis_master_link_up{${node}})`, '{{instance}}')],
    mappings: UP_DOWN,
    thresholds: below(1),
  });
}

// ---------------------------------------------------------------------------------------------------
// Load and memory

function loadAndMemory(id: Ids): Section {
  return section(
    row(id(), 'Load and memory'),
    memoryUsed(id),
    commandsProcessed(id),
    keyspaceHitRatio(id),
    connectedClients(id),
    lastSaveAge(id),
    expiredAndEvicted(id),
  );
}

function memoryUsed(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Memory used',
    unit: 'bytes',
    width: 8,
    min: 0,
    queries: [
      q(`redis_memory_used_bytes{${node}}`, '{{instance}}'),
      q(`max(redis_memory_max_bytes{${node}} > 0)`, 'maxmemory'),
    ],
  });
}

function commandsProcessed(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Commands processed',
    unit: 'ops',
    width: 8,
    queries: [q(rate(`redis_commands_processed_total{${node}}`), '{{instance}}')],
  });
}

function keyspaceHitRatio(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Keyspace hit ratio',
    description: 'keyspace hits / (hits + misses) per node: every lookup, not only the task cache.',
    unit: 'percentunit',
    width: 8,
    min: 0,
    max: 1,
    queries: [
      q(
        `${rate(`redis_keyspace_hits_total{${node}}`)}\n  / (${rate(`redis_keyspace_hits_total{${node}}`)} + ${rate(`redis_keyspace_misses_total{${node}}`)})`,
        '{{instance}}',
      ),
    ],
    thresholds: below(THRESHOLDS.cacheHitRatio),
  });
}

function connectedClients(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Connected clients',
    unit: 'short',
    width: 8,
    min: 0,
    queries: [q(`redis_connected_clients{${node}}`, '{{instance}}')],
  });
}

function lastSaveAge(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Last RDB save age',
    description: 'Seconds since the last successful RDB snapshot; snapshots are taken every 15 minutes.',
    unit: 's',
    width: 8,
    min: 0,
    queries: [q(`time() - redis_rdb_last_save_timestamp_seconds{${node}}`, '{{instance}}')],
    thresholds: above(RDB_PERIOD_SECONDS, 2 * RDB_PERIOD_SECONDS),
  });
}

function expiredAndEvicted(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Expired and evicted keys',
    unit: 'ops',
    width: 8,
    queries: [
      q(rate(`redis_expired_keys_total{${node}}`), '{{instance}} expired'),
      q(rate(`redis_evicted_keys_total{${node}}`), '{{instance}} evicted'),
    ],
  });
}

// ---------------------------------------------------------------------------------------------------
// Sentinel and failovers

function sentinels(id: Ids): Section {
  return section(row(id(), 'Sentinel and failovers'), failovers(), sentinelsOk(id), primaryPerSentinel(id));
}

function failovers() {
  return timeseriesPanel({
    id: ids.failovers,
    title: 'Failovers (primary address changes seen by the Sentinels)',
    description: `Distinct primary addresses the Sentinels reported in the last ${alerts.redisFailover.window}, minus one: each extra address is a failover.`,
    unit: 'short',
    width: 8,
    min: 0,
    decimals: 0,
    queries: [
      q(
        `count by (master_name) (count by (master_name, master_address) (last_over_time(redis_sentinel_master_status{${sentinel}}[${alerts.redisFailover.window}]))) - 1`,
        '{{master_name}}',
      ),
    ],
    thresholds: above(1),
  });
}

function sentinelsOk(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Sentinels and replicas known OK',
    unit: 'short',
    width: 8,
    min: 0,
    decimals: 0,
    queries: [
      q(
        `min by (master_name) (redis_sentinel_master_ok_sentinels{${sentinel}})`,
        '{{master_name}} sentinels ok',
      ),
      q(`min by (master_name) (redis_sentinel_master_ok_slaves{${sentinel}})`, '{{master_name}} replicas ok'),
      q(`max by (instance) (redis_sentinel_tilt{${sentinel}})`, '{{instance}} tilt'),
    ],
  });
}

function primaryPerSentinel(id: Ids) {
  return tablePanel({
    id: id(),
    title: 'Primary per Sentinel',
    unit: 'none',
    width: 8,
    queries: [
      q(
        `max by (instance, master_name, master_address, master_status) (redis_sentinel_master_status{${sentinel}})`,
      ),
    ],
    hide: ['Value'],
  });
}
