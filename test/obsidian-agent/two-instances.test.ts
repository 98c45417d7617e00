import request from 'supertest';
import { buildVault, startObsidianAgent, type Vault } from './vault-fixture.ts';

/** Two pool instances on one vault (a shared volume): the version check must hold across them. */
let vault: Vault;
let first: Awaited<ReturnType<typeof startObsidianAgent>>;
let second: Awaited<ReturnType<typeof startObsidianAgent>>;

beforeAll(async () => {
  vault = buildVault();
  first = await startObsidianAgent(vault.vault, { INSTANCE_ID: 'obsidian-1' });
  second = await startObsidianAgent(vault.vault, { INSTANCE_ID: 'obsidian-2' });
});
afterAll(async () => {
  await first?.stop();
  await second?.stop();
  vault?.cleanup();
});

const call = (url: string, action: string, input: unknown) =>
  request(url).post(`/v1/actions/${action}`).send({ input });

test('concurrent writes at one version through two instances: exactly one wins, none is lost silently', async () => {
  for (let round = 0; round < 5; round += 1) {
    const path = `Shared-${round}.md`;
    expect((await call(first.url, 'write', { path, body: 'start\n', expected_version: null })).status).toBe(
      200,
    );
    const { version } = (await call(second.url, 'read', { path })).body.output as { version: string };
    const bodies = Array.from({ length: 8 }, (_, i) => `writer ${i}\n${'z'.repeat(500 * i)}\n`);
    const results = await Promise.all(
      bodies.map((body, i) =>
        call(i % 2 ? first.url : second.url, 'write', { path, body, expected_version: version }),
      ),
    );
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(7);
    expect(vault.read(path)).toBe(bodies[results.indexOf(winners[0]!)]);
  }
});

test('appends through two instances all land', async () => {
  await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      call(i % 2 ? first.url : second.url, 'append', {
        path: 'Shared-log.md',
        text: `line ${i}`,
        create_if_missing: true,
      }),
    ),
  );
  const lines = vault.read('Shared-log.md').trim().split('\n').sort();
  expect(lines).toEqual(Array.from({ length: 12 }, (_, i) => `line ${i}`).sort());
});
