/**
 * A short, readable demonstration against the running local stack, entirely through the TLS load
 * balancer: a cache MISS then HIT, sticky routing on the correlation id, a session continued on a
 * different orchestrator, and where the metrics and alerts are. Run by scripts/up.sh after `stack up`.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { layout, loadOptions } from './layout.ts';
import { lbClient, type LbResponse } from './lb-client.ts';
import { stackStatus } from './status.ts';

const l = layout(loadOptions());
const status = await stackStatus(l);
if (!status.up) {
  console.error('demo: the stack is not up; run `npm run stack -- up` (or `npm run stack -- status`)');
  process.exit(1);
}
const client = lbClient({ ...status, api_key: status.api_key ?? '' });
const h = (r: LbResponse, name: string) => String(r.headers[name.toLowerCase()] ?? '-');
const say = (s = '') => console.log(s);

say(`== ${status.processes.length} processes healthy; everything below goes through ${status.lb} (TLS)`);

say('\n== A task that misses, then hits the cache (the git agent: the last commits of this repository)');
const task = { agent: 'git', action: 'log', input: { repo: 'phoenix-orch', limit: 3 } };
const miss = await client.request('POST', '/v1/tasks', { body: task });
const commits = (miss.json() as { output?: { commits?: Array<{ sha: string; subject: string }> } }).output
  ?.commits;
for (const c of commits ?? []) say(`   ${c.sha.slice(0, 10)} ${c.subject}`);
say(`   X-Cache: ${h(miss, 'X-Cache')}  (served by ${h(miss, 'X-Served-By')})`);
const hit = await client.request('POST', '/v1/tasks', { body: task });
say(
  `   again:   X-Cache: ${h(hit, 'X-Cache')}  (served by ${h(hit, 'X-Served-By')}: any instance shares the cache)`,
);

say('\n== Sticky routing on X-Correlation-ID');
const id = `demo-${randomUUID().slice(0, 8)}`;
const sticky: string[] = [];
for (let i = 0; i < 4; i += 1) {
  sticky.push(
    h(await client.request('GET', '/health', { headers: { 'x-correlation-id': id } }), 'X-Served-By'),
  );
}
say(`   4 requests with X-Correlation-ID ${id}: ${sticky.join(', ')}`);
const spread: string[] = [];
for (let i = 0; i < 6; i += 1) spread.push(h(await client.request('GET', '/health'), 'X-Served-By'));
say(`   6 requests without one (the load balancer assigns one each, round robin): ${spread.join(', ')}`);

say('\n== A session started on one orchestrator and continued on another (state lives in Redis)');
const first = `demo-${randomUUID().slice(0, 8)}`;
const created = await client.request('POST', '/v1/sessions', {
  body: { data: { user: 'demo' } },
  headers: { 'x-correlation-id': first },
});
const session = created.json() as { id: string; version: number };
const startedOn = h(created, 'X-Served-By');
say(`   created ${session.id} (version ${session.version}) on ${startedOn}`);
let turn: LbResponse | undefined;
for (let i = 0; i < 10; i += 1) {
  // A new correlation id is a new client as far as stickiness goes: find one routed elsewhere.
  const r = await client.request('POST', '/v1/tasks', {
    body: {
      agent: 'obsidian',
      action: 'search',
      input: { query: 'failover' },
      session_id: session.id,
      session_version: session.version,
    },
    headers: { 'x-correlation-id': `demo-${randomUUID().slice(0, 8)}` },
  });
  if (h(r, 'X-Served-By') !== startedOn || r.status !== 200) {
    turn = r;
    break;
  }
  // Same instance: undo nothing, the turn is recorded; continue from the new version.
  session.version = (r.json() as { session: { version: number } }).session.version;
}
if (turn) {
  const body = turn.json() as { session?: { version: number }; output?: { hits?: unknown[] } };
  say(
    `   a search task in that session ran on ${h(turn, 'X-Served-By')}: session now at version ${body.session?.version}`,
  );
}
const read = await client.request('GET', `/v1/sessions/${session.id}`);
const s = read.json() as { version: number; turns: Array<{ agent: string; action: string }> };
say(
  `   read back on ${h(read, 'X-Served-By')}: version ${s.version}, turns: ${s.turns.map((t) => `${t.agent}.${t.action}`).join(', ')}`,
);

say('\n== The LLM router (in front of two provider simulators): a deterministic chat is cached too');
const chat = {
  agent: 'llm',
  action: 'chat',
  input: {
    model: 'sim-small',
    temperature: 0,
    messages: [{ role: 'user', content: 'Summarise the on-call runbook' }],
  },
};
const c1 = await client.request('POST', '/v1/tasks', { body: chat });
const c2 = await client.request('POST', '/v1/tasks', { body: chat });
const answer = (c1.json() as { output?: { choices?: Array<{ message: { content: string } }> } }).output
  ?.choices?.[0];
say(
  `   "${answer?.message.content.slice(0, 70) ?? c1.body.slice(0, 70)}..."  X-Cache: ${h(c1, 'X-Cache')} then ${h(c2, 'X-Cache')}`,
);

say('\n== Bad input gets a problem document (RFC 9457), never a 500');
const bad = await client.request('POST', '/v1/tasks', {
  body: { agent: 'git', action: 'read', input: { repo: 'phoenix-orch', path: '../../etc/passwd' } },
});
const problem = bad.json() as { status: number; title: string };
say(`   ${bad.status} ${problem.title} (${h(bad, 'Content-Type')})`);

say('\n== What Prometheus sees (scraped every 5 s)');
await sleep(6000);
const q = async (expr: string) => {
  const res = await fetch(`${status.prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { data: { result: Array<{ value: [number, string] }> } };
  return body.data.result;
};
const up = await q('count(up == 1)');
const total = await q('count(up)');
say(`   targets up: ${up[0]?.value[1] ?? 0} of ${total[0]?.value[1] ?? 0}`);
const hits = await q(
  'sum(orchestrator_cache_lookups_total{result="hit"}) / clamp_min(sum(orchestrator_cache_lookups_total{result=~"hit|miss"}), 1)',
);
say(`   cache hit ratio since start: ${(Number(hits[0]?.value[1] ?? 0) * 100).toFixed(0)}%`);
const firing = await q('count(ALERTS{alertstate="firing"})');
say(`   alerts firing: ${firing[0]?.value[1] ?? 0}`);

client.close();
say(`
phoenix-orch is running (state, logs and certificates in ${status.state_dir}):
  load balancer   ${status.lb}   (CA certificate: ${status.lb_ca_cert}; HAProxy stats: ${status.lb_stats})
  API key         ${status.api_key}
  Prometheus      ${status.prometheus}   (alerts: ${status.prometheus}/alerts)
  Alertmanager    ${status.alertmanager}   (every notification recorded at ${status.alert_receiver})
  Pushgateway     ${status.pushgateway}
  try             curl --cacert ${status.lb_ca_cert} -H "Authorization: Bearer ${status.api_key}" ${status.lb}/v1/sessions -d '{}' -H 'Content-Type: application/json'
  more            npm run stack -- status | logs NAME | kill NAME | restart NAME | failover | down`);
