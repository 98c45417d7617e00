import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Import boundaries (README, "Layout"): an import that crosses one is a lint error. Patterns match the
 * import string, so `../../test/support/x.ts` is caught by `**\/test/**`.
 */
const forbid = (folders, message) => ({
  'no-restricted-imports': [
    'error',
    { patterns: folders.map((folder) => ({ group: [`**/${folder}`, `**/${folder}/**`], message })) },
  ],
});

export default tseslint.config(
  { ignores: ['node_modules/**', '.stack/**', 'coverage/**', 'dist/**', '**/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['platform/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../**'],
              message: 'platform/ is the bottom layer: it imports nothing of the project.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['services/**'],
    rules: forbid(
      ['stack', 'load', 'bench', 'test', 'harness', 'dashboards', 'alerts'],
      'services import only platform/ and each other (the kit); never the tooling around them.',
    ),
  },
  {
    files: ['bench/**'],
    rules: forbid(['test'], 'bench never imports test/: shared processes live in harness/.'),
  },
  {
    files: ['alerts/**'],
    rules: forbid(
      ['dashboards'],
      'alerts never import dashboards: both derive from platform/ and alerts/config.ts.',
    ),
  },
);
