/**
 * Load balancer: HAProxy 2.6's built-in Prometheus exporter (`haproxy_frontend_*`, `haproxy_backend_*`,
 * `haproxy_server_*` with labels `proxy` and `server`; `haproxy_process_*` for the process). Frontend
 * `https` terminates TLS; backend `orchestrators` holds one server per orchestrator, `maxconn` 1000 each.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  JOBS,
  THRESHOLDS,
  above,
  alertPanels,
  below,
  finish,
  newDashboard,
  panelIds,
  q,
  rate,
  row,
  scope,
  section,
  stateTimelinePanel,
  statPanel,
  timeseriesPanel,
  valueText,
  type Ids,
  type Section,
} from './common.ts';

const ids = alertPanels.loadBalancer;

/** The frontend clients connect to and the backend of the orchestrators (stack/templates/haproxy.cfg). */
export const FRONTEND = 'https';
export const BACKEND = 'orchestrators';

const job = scope(JOBS.haproxy);
const fe = `${job}, proxy="${FRONTEND}"`;
const be = `${job}, proxy="${BACKEND}"`;

/** haproxy_server_status is one-hot over state (DOWN, UP, MAINT, DRAIN, NOLB): folded into one value. */
const serverState = [
  `max by (server) (haproxy_server_status{${be}, state="UP"}`,
  `  + ignoring (state) 2 * haproxy_server_status{${be}, state="DRAIN"}`,
  `  + ignoring (state) 3 * haproxy_server_status{${be}, state="MAINT"}`,
  `  + ignoring (state) 4 * haproxy_server_status{${be}, state="NOLB"})`,
].join('\n');

export function loadBalancerDashboard(): Dashboard {
  const id = panelIds();
  const board = newDashboard(
    'loadBalancer',
    'HAProxy in front of the orchestrators: backend and server states, sessions against maxconn, retries and redispatches, response codes, TLS.',
  );
  return finish('loadBalancer', board, [backend(id), frontend(id), tlsAndProcess(id)]);
}

// ---------------------------------------------------------------------------------------------------
// Backend

function backend(id: Ids): Section {
  return section(
    row(id(), 'Backend'),
    backendServersUp(),
    serverStates(id),
    sessionsPerServer(id),
    queuedRequests(id),
    retriesAndRedispatches(id),
    serverErrors(id),
    responseTimes(id),
  );
}

function backendServersUp() {
  return timeseriesPanel({
    id: ids.backendServersUp,
    title: 'Backend servers up',
    description: `Servers of backend ${BACKEND} taking traffic, and every server by state.`,
    unit: 'short',
    min: 0,
    decimals: 0,
    queries: [
      q(`max(haproxy_backend_active_servers{${be}})`, 'active servers'),
      q(`sum by (state) (haproxy_server_status{${be}})`, '{{state}}'),
      q(`max(haproxy_backend_status{${be}, state="UP"})`, 'backend UP'),
    ],
    thresholds: below(1),
    thresholdLines: false,
  });
}

function serverStates(id: Ids) {
  return stateTimelinePanel({
    id: id(),
    title: 'Server states',
    unit: 'none',
    height: 8,
    queries: [q(serverState, '{{server}}')],
    mappings: valueText({
      0: ['DOWN', 'red'],
      1: ['UP', 'green'],
      2: ['DRAIN', 'blue'],
      3: ['MAINT', 'purple'],
      4: ['NOLB', 'orange'],
    }),
  });
}

function sessionsPerServer(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Sessions per server against maxconn',
    description: `Current sessions on each orchestrator; maxconn is ${THRESHOLDS.serverMaxconn} per server (lines at 80% and 100%).`,
    unit: 'short',
    min: 0,
    queries: [
      q(`haproxy_server_current_sessions{${be}}`, '{{server}}'),
      q(`max(haproxy_server_limit_sessions{${be}})`, 'maxconn'),
    ],
    thresholds: above(THRESHOLDS.resourceOfLimit * THRESHOLDS.serverMaxconn, THRESHOLDS.serverMaxconn),
  });
}

function queuedRequests(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Queued requests',
    description:
      'Requests waiting for a connection slot (all servers at maxconn), and the average queue time.',
    unit: 'short',
    min: 0,
    queries: [
      q(`haproxy_backend_current_queue{${be}}`, 'backend queue'),
      q(`sum by (server) (haproxy_server_current_queue{${be}})`, '{{server}} queue'),
    ],
  });
}

function retriesAndRedispatches(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Retries and redispatches',
    description: 'Connection retries, and requests sent again to another server after theirs failed.',
    unit: 'ops',
    queries: [
      q(rate(`haproxy_backend_retry_warnings_total{${be}}`), 'retries'),
      q(rate(`haproxy_backend_redispatch_warnings_total{${be}}`), 'redispatches'),
      q(`sum by (server) (${rate(`haproxy_server_retry_warnings_total{${be}}`)})`, '{{server}} retries'),
    ],
  });
}

function serverErrors(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Connection and response errors, health check failures',
    unit: 'ops',
    queries: [
      q(
        `sum by (server) (${rate(`haproxy_server_connection_errors_total{${be}}`)})`,
        '{{server}} connection errors',
      ),
      q(
        `sum by (server) (${rate(`haproxy_server_response_errors_total{${be}}`)})`,
        '{{server}} response errors',
      ),
      q(
        `sum by (server) (${rate(`haproxy_server_check_failures_total{${be}}`)})`,
        '{{server}} check failures',
      ),
    ],
  });
}

function responseTimes(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Average response time per server',
    description: 'HAProxy\u2019s average over the last 1024 requests of each server.',
    unit: 's',
    width: 24,
    queries: [
      q(`haproxy_server_response_time_average_seconds{${be}}`, '{{server}} response'),
      q(`haproxy_backend_total_time_average_seconds{${be}}`, 'backend total'),
    ],
  });
}

// ---------------------------------------------------------------------------------------------------
// Frontend

function frontend(id: Ids): Section {
  return section(
    row(id(), `Frontend ${FRONTEND}`),
    responsesByCode(id),
    serverErrorShare(id),
    requestsAndSessions(id),
    requestErrors(id),
  );
}

function responsesByCode(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Responses by code class',
    unit: 'reqps',
    stack: 'normal',
    queries: [q(`sum by (code) (${rate(`haproxy_frontend_http_responses_total{${fe}}`)})`, '{{code}}')],
  });
}

function serverErrorShare(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: '5xx share of responses',
    description:
      'At the frontend (includes 503s HAProxy answers itself when no server is up) and from the backend.',
    unit: 'percentunit',
    min: 0,
    queries: [
      q(
        `sum(${rate(`haproxy_frontend_http_responses_total{${fe}, code="5xx"}`)})\n  / sum(${rate(`haproxy_frontend_http_responses_total{${fe}}`)})`,
        'frontend',
      ),
      q(
        `sum(${rate(`haproxy_backend_http_responses_total{${be}, code="5xx"}`)})\n  / sum(${rate(`haproxy_backend_http_responses_total{${be}}`)})`,
        'backend',
      ),
    ],
    thresholds: above(THRESHOLDS.errorRatio),
  });
}

function requestsAndSessions(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Requests and sessions',
    unit: 'short',
    queries: [
      q(rate(`haproxy_frontend_http_requests_total{${fe}}`), 'requests/s'),
      q(`haproxy_frontend_current_sessions{${fe}}`, 'current sessions'),
      q(`haproxy_frontend_limit_sessions{${fe}}`, 'session limit'),
    ],
  });
}

function requestErrors(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'Request errors and denials',
    unit: 'ops',
    queries: [
      q(rate(`haproxy_frontend_request_errors_total{${fe}}`), 'request errors'),
      q(rate(`haproxy_frontend_requests_denied_total{${fe}}`), 'requests denied'),
      q(rate(`haproxy_frontend_denied_connections_total{${fe}}`), 'connections denied'),
    ],
  });
}

// ---------------------------------------------------------------------------------------------------
// TLS and process

function tlsAndProcess(id: Ids): Section {
  return section(row(id(), 'TLS and process'), tlsHandshakes(id), tlsReuse(id), connectionsOpen(id));
}

function tlsHandshakes(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'TLS handshakes',
    description:
      'New TLS sessions per second, of which full handshakes (key computations); the rest resumed a session.',
    unit: 'ops',
    width: 8,
    queries: [
      q(rate(`haproxy_process_ssl_connections_total{${job}}`), 'TLS sessions'),
      q(`haproxy_process_current_frontend_ssl_key_rate{${job}}`, 'full handshakes (key computations)'),
    ],
  });
}

function tlsReuse(id: Ids) {
  return timeseriesPanel({
    id: id(),
    title: 'TLS session reuse',
    unit: 'percent',
    width: 8,
    min: 0,
    max: 100,
    queries: [q(`haproxy_process_frontend_ssl_reuse{${job}}`, 'reused')],
  });
}

function connectionsOpen(id: Ids) {
  return statPanel({
    id: id(),
    title: 'Connections and TLS connections open',
    unit: 'short',
    width: 8,
    height: 8,
    queries: [
      q(`sum(haproxy_process_current_connections{${job}})`, 'connections'),
      q(`sum(haproxy_process_current_ssl_connections{${job}})`, 'TLS connections'),
    ],
  });
}
