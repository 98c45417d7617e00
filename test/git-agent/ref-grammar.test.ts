import { ref } from '../../services/git-agent/inputs.ts';

const accepted = [
  'HEAD',
  'main',
  'feature/login-form',
  'refs/heads/main',
  'refs/tags/v1.2.3',
  'origin/main',
  'release-2024.10',
  'user@host-branch',
  'a',
  'deadbeef',
  '0123456789abcdef0123456789abcdef01234567',
  `${'a'.repeat(64)}`,
  'HEAD~',
  'HEAD~3',
  'main^',
  'main^2',
  'HEAD~2^2~1',
  'v1.0^0',
  `main${'~1'.repeat(20)}`,
  'fix_1+2=3,ok',
];

/** Each refused ref with the words its message must contain. */
const refused: Array<[string, RegExp]> = [
  ['HEAD^{/.{32767}{32767}}', /\^\{/],
  ['HEAD^{/fix}', /\^\{/],
  ['HEAD^{tree}', /\^\{/],
  ['v1.0^{}', /\^\{/],
  ['HEAD@{1}', /reflog/],
  ['main@{2.days.ago}', /reflog/],
  ['@{-1}', /reflog/],
  ['main@{upstream}', /reflog/],
  ['@', /branch, tag/],
  [':/fix the bug', /path/],
  ['HEAD:README.md', /path/],
  [':0:README.md', /path/],
  ['main..feature', /range/],
  ['main...feature', /range/],
  ['HEAD^!', /branch, tag/],
  ['HEAD^@', /branch, tag/],
  ['HEAD^-1', /branch, tag/],
  ['HEAD~100000', /at most/],
  ['HEAD^123456', /at most/],
  [`main${'~1'.repeat(21)}`, /at most/],
  ['-n', /"-"/],
  ['--all', /"-"/],
  ['.hidden', /branch, tag/],
  ['refs/heads/.hidden', /branch, tag/],
  ['feature.lock', /branch, tag/],
  ['feature/a.lock/b', /branch, tag/],
  ['trailing.', /branch, tag/],
  ['trailing/', /branch, tag/],
  ['/leading', /branch, tag/],
  ['double//slash', /branch, tag/],
  ['with space', /branch, tag/],
  ['star*', /branch, tag/],
  ['question?', /branch, tag/],
  ['bracket[', /branch, tag/],
  ['back\\slash', /branch, tag/],
  ['tab\there', /branch, tag/],
  ['nul\u0000', /branch, tag/],
  ['x'.repeat(257), /256/],
  ['', /branch, tag|1/],
];

test.each(accepted)('accepts %s', (value) => {
  expect(ref.safeParse(value)).toEqual({ success: true, data: value });
});

test.each(refused)('refuses %s', (value, message) => {
  const result = ref.safeParse(value);
  expect(result.success).toBe(false);
  expect(result.error!.issues.map((i) => i.message).join('; ')).toMatch(message);
});
