import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { NOTE_BOUNDS } from '../../services/obsidian-agent/notes.ts';
import { spawnService, type ServiceProcess } from '../support/process.ts';
import { hostileNotes, NOTE_LIMIT } from './hostile-notes.ts';
import { buildVault, type Vault } from './vault-fixture.ts';

/** One note of at most 512 KiB is parsed in well under this much CPU time, whatever it holds. */
const PARSE_BOUND_MS = 400;

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Parses every hostile note in a child process with a bounded heap and a bounded time, so that a
 * parser that regressed to quadratic time or unbounded memory fails this test, not the machine.
 */
function parseInChild(): Promise<{ results: Array<Record<string, unknown>>; error?: string }> {
  const script = `
    import { parseNote } from ${JSON.stringify(path.join(ROOT, 'services/obsidian-agent/notes.ts'))};
    import { hostileNotes } from ${JSON.stringify(path.join(ROOT, 'test/obsidian-agent/hostile-notes.ts'))};
    // Warm, as a running agent is: the first notes also compile the parsers.
    const warm = Array.from({ length: 200 }, (_, i) => \`k\${i}: [a, {b: c}, &x\${i} "d"]\`).join('\\n');
    for (let i = 0; i < 3; i += 1) parseNote('warm.md', \`---\\n\${warm}\\n---\\n# H\\n[[L]] [m](n.md) #t\\n\`);
    for (const [label, text] of Object.entries(hostileNotes())) {
      // CPU time, not wall time: what the parse costs, whatever else the machine is doing.
      const started = process.cpuUsage();
      const note = parseNote('hostile.md', text);
      const used = process.cpuUsage(started);
      const ms = (used.user + used.system) / 1000;
      console.log(JSON.stringify({ label, ms, links: note.links.length, tags: note.tags.length,
        headings: note.headings.length, frontmatter_error: note.frontmatter_error ?? null }));
    }`;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--max-old-space-size=256', '--input-type=module', '-e', script],
      { cwd: ROOT, timeout: 20000, killSignal: 'SIGKILL', maxBuffer: 1048576 },
      (err, stdout, stderr) => {
        const results = stdout
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        resolve(err ? { results, error: `${err.message} ${stderr.slice(0, 2000)}` } : { results });
      },
    );
  });
}

test(`every hostile note at the ${NOTE_LIMIT}-byte limit parses in under ${PARSE_BOUND_MS} ms, in bounded memory`, async () => {
  const { results, error } = await parseInChild();
  const labels = Object.keys(hostileNotes(64));
  // A regression shows which notes finished and how long each took.
  expect({ error, done: results.map((r) => r.label) }).toEqual({ error: undefined, done: labels });
  for (const r of results) {
    expect({ label: r.label, slow: (r.ms as number) >= PARSE_BOUND_MS }).toEqual({
      label: r.label,
      slow: false,
    });
    // The work kept per note is bounded too: no list grows with the note.
    expect(r.links as number).toBeLessThanOrEqual(NOTE_BOUNDS.maxLinks);
    expect(r.tags as number).toBeLessThanOrEqual(NOTE_BOUNDS.maxTags);
    expect(r.headings as number).toBeLessThanOrEqual(NOTE_BOUNDS.maxHeadings);
  }
  const fm = Object.fromEntries(results.map((r) => [r.label, r.frontmatter_error]));
  expect(fm['frontmatter of the whole note']).toMatch(/too large/);
  expect(fm['frontmatter nested deeply']).toMatch(/nested/);
  expect(fm['frontmatter of nested block sequences']).toMatch(/nested/);
}, 40000);

describe('an agent over a vault of hostile notes', () => {
  let vault: Vault;
  let agent: ServiceProcess;
  let startMs: number;
  const notes = hostileNotes();
  const names = Object.keys(notes).map((label, i) => `Hostile/${i} ${label}.md`);

  beforeAll(async () => {
    vault = buildVault();
    mkdirSync(path.join(vault.vault, 'Hostile'));
    for (const [i, text] of Object.values(notes).entries())
      writeFileSync(path.join(vault.vault, names[i]!), text);
    const started = Date.now();
    // Each start parses every note again: a slow parse would be a restart loop under a startup probe.
    agent = await spawnService(
      'services/obsidian-agent/main.ts',
      { OBSIDIAN_VAULT_PATH: vault.vault, SHUTDOWN_DRAIN_DELAY_MS: '0' },
      'agent listening',
      { nodeArgs: ['--max-old-space-size=256'], readyTimeoutMs: 20000 },
    ).catch((err: unknown) => {
      throw new Error(`the agent did not start over the hostile vault: ${String(err).slice(0, 500)}`);
    });
    startMs = Date.now() - started;
  }, 30000);
  afterAll(async () => {
    agent?.kill('SIGKILL');
    await agent?.exited;
    vault?.cleanup();
  });

  test('starts within a few seconds and stays responsive while it reads them', async () => {
    expect(startMs).toBeLessThan(10000);
    // Keep asking for liveness while every hostile note is read: each answer comes back promptly.
    let reading = true;
    const gaps: number[] = [];
    const probe = (async () => {
      while (reading) {
        const t = Date.now();
        const live = await request(agent.url).get('/health/live');
        expect(live.status).toBe(200);
        gaps.push(Date.now() - t);
        await sleep(5);
      }
    })();
    for (const name of names) {
      const t = Date.now();
      const res = await request(agent.url)
        .post('/v1/actions/read')
        .send({ input: { path: name } });
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
      expect(Date.now() - t).toBeLessThan(2000);
    }
    reading = false;
    await probe;
    expect(gaps.length).toBeGreaterThan(0);
    expect(Math.max(...gaps)).toBeLessThan(1000);

    const search = await request(agent.url)
      .post('/v1/actions/search')
      .send({ input: { query: 'alpha quantum' } });
    expect(search.status).toBe(200);
    expect(search.body.output.results[0].path).toBe('Projects/Alpha.md');
    const health = await request(agent.url).get('/health');
    expect(health.status).toBe(200);
  });
});
