import { outputs } from '../../alerts/render.ts';
import { PROMTOOL, run, testFiles } from './helpers.ts';

// The real promtool (Debian's prometheus package) checks and unit-tests the committed files.

const ruleFiles = [outputs.rules, outputs.drillRules, outputs.configMapRules];

test.each(ruleFiles)('promtool check rules %s', async (file) => {
  const result = await run(PROMTOOL, ['check', 'rules', file]);
  expect(`${result.stdout}${result.stderr}`).toContain('SUCCESS');
  expect(result.code).toBe(0);
});

test.each([...testFiles().keys()])(
  'promtool test rules %s',
  async (file) => {
    const result = await run(PROMTOOL, ['test', 'rules', file]);
    // On failure promtool names each failing case with what it expected and what it got.
    if (result.code !== 0) throw new Error(`${file} failed:\n${result.stdout}${result.stderr}`);
    expect(result.stdout).toContain('SUCCESS');
  },
  300_000,
);
