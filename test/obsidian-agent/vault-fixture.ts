import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createObsidianAgent } from '../../services/obsidian-agent/agent.ts';
import { loadObsidianConfig } from '../../services/obsidian-agent/config.ts';

export const CANARY = 'CANARY-7f3a-do-not-leak';

export const NOTES: Record<string, string> = {
  'Welcome.md': [
    '---',
    'title: Welcome to the vault',
    'tags: [intro, meta]',
    'created: 2026-01-05',
    '---',
    '# Welcome',
    '',
    'Start with [[Projects/Alpha|the alpha project]] and read [[Beta#Goals]].',
    'Filed under #inline-tag and #meta.',
    '',
  ].join('\n'),
  'Projects/Alpha.md': [
    '---',
    'tags:',
    '  - project',
    '  - project/alpha',
    'aliases: [First Project]',
    'status: active',
    '---',
    '# Quantum gardening',
    '',
    'Alpha is about quantum gardening: quantum seeds, quantum soil.',
    'See [[Beta]] and [[Welcome]]; the diagram is ![[diagram.png]].',
    '',
    '## Plan',
    'Plant in spring. #todo',
    '',
  ].join('\n'),
  'Projects/Beta.md': [
    '---',
    'tags: project',
    '---',
    '# Beta',
    '',
    '## Goals',
    'Beta mentions quantum once, and links back to [[Alpha#Plan|the plan]].',
    'Also a [markdown link](Alpha.md) to the same note.',
    '',
    '```',
    'code with [[NotALink]] and #notatag',
    '```',
    'Inline `#alsonot` code.',
    '',
  ].join('\n'),
  'Projects/Archive/Old.md': '# Old\n\nAn archived idea about compost. #archive\n',
  'Daily/2026-11-27.md': '# 2026-11-27\n\n- met [[Bob]] #meeting\n',
  'People/Bob.md': 'Bob works on [[Alpha]] and [[Projects/Alpha|Alpha again]].\n',
};

/**
 * A real vault folder in a temporary directory, next to an `outside` folder holding a canary file
 * that no request may read or change. The vault holds links that point outside it on purpose.
 */
export function buildVault() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'phoenix-vault-'));
  const vault = path.join(root, 'vault');
  const outside = path.join(root, 'outside');
  mkdirSync(outside, { recursive: true });
  const canary = path.join(outside, 'canary.md');
  writeFileSync(canary, `# Secret\n${CANARY}\n`);
  writeFileSync(path.join(outside, 'canary.txt'), `${CANARY}\n`);
  for (const [rel, text] of Object.entries(NOTES)) {
    mkdirSync(path.dirname(path.join(vault, rel)), { recursive: true });
    writeFileSync(path.join(vault, rel), text);
  }
  mkdirSync(path.join(vault, 'attachments'));
  writeFileSync(path.join(vault, 'attachments/diagram.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(path.join(vault, 'notes.txt'), 'plaintext walrus');
  writeFileSync(path.join(vault, 'note.md.exe'), 'executable walrus');
  mkdirSync(path.join(vault, '.obsidian'));
  writeFileSync(path.join(vault, '.obsidian/config'), '{"theme":"dark"}');
  symlinkSync(canary, path.join(vault, 'escape.md'));
  symlinkSync(outside, path.join(vault, 'linkdir'));
  symlinkSync(path.join(vault, 'Projects/Alpha.md'), path.join(vault, 'alpha-link.md'));

  const outsideState = () =>
    readdirSync(outside)
      .sort()
      .map((name) => {
        const p = path.join(outside, name);
        return `${name}:${statSync(p).mtimeMs}:${readFileSync(p, 'utf8')}`;
      })
      .join('|');
  const initialOutside = outsideState();
  return {
    root,
    vault,
    outside,
    canary,
    /** Files of the outside folder, their times and contents: must never change. */
    outsideState,
    initialOutside,
    /** Every file below `dir`, vault-relative, hidden ones included (to find stray temp files). */
    files(dir = vault): string[] {
      return readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => path.relative(vault, path.join(d.parentPath, d.name)))
        .sort();
    },
    read: (rel: string) => readFileSync(path.join(vault, rel), 'utf8'),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export type Vault = ReturnType<typeof buildVault>;

/** The Obsidian agent in process over `vault`, on a free loopback port. */
export async function startObsidianAgent(vault: string, env: Record<string, string> = {}) {
  const config = loadObsidianConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    OBSIDIAN_VAULT_PATH: vault,
    ...env,
  });
  const agent = await createObsidianAgent(config);
  const { port } = await agent.start(0, '127.0.0.1');
  return Object.assign(agent, { url: `http://127.0.0.1:${port}` });
}
