import request from 'supertest';
import { startSentinelSet } from '../support/sentinel.ts';
import { startTestAgent, type TestAgent } from '../../harness/test-agent.ts';
import { auth, startOrchestrator, task } from '../support/orchestrator.ts';

let set: Awaited<ReturnType<typeof startSentinelSet>>;
let agent: TestAgent;
let orch: Awaited<ReturnType<typeof startOrchestrator>>;

beforeAll(async () => {
  set = await startSentinelSet();
  agent = await startTestAgent();
  orch = await startOrchestrator({
    REDIS_SENTINELS: set.sentinels,
    REDIS_MASTER_NAME: set.masterName,
    AGENT_GIT_URL: agent.url,
    INSTANCE_ID: 'via-sentinel',
  });
}, 30000);
afterAll(async () => {
  await orch.stop();
  await agent.stop();
  await set.close();
});

test('through Sentinel: the orchestrator follows a failover to the promoted replica without a restart', async () => {
  const health = await request(orch.url).get('/health');
  expect(health.body.checks.redis).toMatchObject({ ok: true, detail: { mode: 'sentinel' } });

  const { body: session } = await request(orch.url)
    .post('/v1/sessions')
    .set(auth)
    .send({ data: { before: true } });
  expect(session.version).toBe(1);

  set.killPrimary();
  const killedAt = Date.now();
  let writable = false;
  let lastWrite = '';
  let bypassedDuringFailover = 0;
  while (!writable && Date.now() - killedAt < 20000) {
    const answer = await task(orch.url, { agent: 'git', action: 'echo', input: { t: Date.now() } });
    expect(answer.status).toBe(200); // tasks never fail because Redis is failing over
    if (answer.headers['x-cache'] === 'BYPASS') bypassedDuringFailover += 1;
    const write = await request(orch.url)
      .patch(`/v1/sessions/${session.id}`)
      .set(auth)
      .send({ data: { after: true } });
    writable = write.status === 200;
    lastWrite = `${write.status} ${write.body.detail ?? ''}`;
    if (!writable) await new Promise((r) => setTimeout(r, 100));
  }
  const unavailableMs = Date.now() - killedAt;
  expect({ writable, lastWrite }).toEqual({ writable: true, lastWrite: '200 ' });
  expect(set.replicaPorts).toContain(await set.primaryAddress());

  const read = await request(orch.url).get(`/v1/sessions/${session.id}`).set(auth);
  expect(read.body.data).toEqual({ before: true, after: true }); // the acknowledged write survived
  console.log(
    `writes unavailable for ${unavailableMs} ms; ${bypassedDuringFailover} tasks answered uncached meanwhile`,
  );
}, 40000);
