// Lint rules that keep DESIGN.md section 3 true: import direction and the one reader of process.env.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const PROCESS_ENV = {
  selector: "MemberExpression[object.name='process'][property.name='env']",
  message: 'Only src/config/ reads process.env (DESIGN.md section 3); take values from AppConfig.',
};

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', 'src/generated/**', 'schema/generated/**', '.data/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/config/**'],
    rules: { 'no-restricted-syntax': ['error', PROCESS_ENV] },
  },
  {
    files: ['src/platform/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '/modules/', message: 'platform never imports modules (DESIGN.md section 3).' }] },
      ],
    },
  },
  {
    files: ['src/errors/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\.\\./', message: 'errors/ is a leaf: it imports nothing else of the app.' }] },
      ],
    },
  },
  {
    files: ['src/modules/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(?!\\.\\.)[^/]+/(?!index\\.js$).+',
              message: 'Import another module only through its index.ts (DESIGN.md section 3).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['scripts/**', 'test/**', 'load/**', '*.config.*'],
    rules: { 'no-console': 'off' },
  },
);
