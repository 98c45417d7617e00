import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnService } from '../support/process.ts';
import { post } from './helpers.ts';

const run = (entry: string, env: Record<string, string>) =>
  new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [entry], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stderr }));
  });

test('the router refuses a bad provider list with exit 78, naming the problems but not the key', async () => {
  const providers = [
    { name: 'a', type: 'openai', base_url: 'http://127.0.0.1:1/v1', api_key_env: 'KEY_A', models: ['m'] },
  ];
  const [missingKey, bad, notJson] = await Promise.all([
    run('services/llm-router/main.ts', { LLM_PROVIDERS: JSON.stringify(providers) }),
    run('services/llm-router/main.ts', {
      LLM_PROVIDERS: JSON.stringify([{ ...providers[0], type: 'grpc', weight: -1 }]),
      KEY_A: 'sk-secret-never-printed',
    }),
    run('services/llm-router/main.ts', { LLM_PROVIDERS: '[{' }),
  ]);
  expect(missingKey.code).toBe(78);
  expect(missingKey.stderr).toContain('KEY_A: unset');

  expect(bad.code).toBe(78);
  expect(bad.stderr).toContain('LLM_PROVIDERS[0.type]');
  expect(bad.stderr).toContain('LLM_PROVIDERS[0.weight]');
  expect(bad.stderr).not.toContain('sk-secret-never-printed');

  expect(notJson.code).toBe(78);
  expect(notJson.stderr).toContain('LLM_PROVIDERS: not valid JSON');
});

test('the simulator process: env behaviour, runtime change through /admin/behaviour, SIGTERM', async () => {
  const sim = await spawnService(
    'load/llm-simulator/main.ts',
    { SIM_MODELS: 'm1', SIM_ERROR_RATE: '1', SIM_ERROR_STATUS: '503' },
    'llm simulator listening',
  );
  const completion = { model: 'm1', messages: [{ role: 'user', content: 'one two three' }] };
  expect((await post(sim.url, '/v1/chat/completions', completion)).status).toBe(503);
  expect((await post(sim.url, '/v1/chat/completions', { ...completion, model: 'm2' })).status).toBe(404);

  expect((await post(sim.url, '/admin/behaviour', { error_rate: 0 })).status).toBe(200);
  const ok = await post(sim.url, '/v1/chat/completions', completion);
  expect(ok.status).toBe(200);
  expect(ok.body.choices[0].message.content).toBe('echo: one two three');
  expect(ok.body.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });

  expect((await post(sim.url, '/admin/behaviour', { rate_limit_rate: 1, retry_after: '7' })).status).toBe(
    200,
  );
  const limited = await post(sim.url, '/v1/chat/completions', completion);
  expect(limited.status).toBe(429);
  expect(limited.headers.get('retry-after')).toBe('7');

  expect(
    (await post(sim.url, '/admin/behaviour', { rate_limit_rate: 0, hang_rate: 1, max_hang_ms: 300 })).status,
  ).toBe(200);
  await expect(post(sim.url, '/v1/chat/completions', completion)).rejects.toThrow(); // cut at max_hang_ms
  const recorded = (await (await fetch(`${sim.url}/admin/requests`)).json()) as {
    requests: Array<{ status: unknown }>;
  };
  expect(recorded.requests.at(-1)!.status).toBe('hang');

  // A request hanging for up to a minute does not hold SIGTERM back.
  await post(sim.url, '/admin/behaviour', { max_hang_ms: 60000 });
  const hanging = post(sim.url, '/v1/chat/completions', completion).catch(() => 'cut');
  await sleep(100);
  sim.kill('SIGTERM');
  expect(await sim.exited).toBe(0);
  expect(await hanging).toBe('cut');
});
