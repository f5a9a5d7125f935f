import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.aws-sam/', 'dist/', '**/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      'no-console': 'off',
    },
  },
  // The boundaries between the parts: functions import only the layer; the layer never imports
  // the runtime (or a function, or the page); the page imports only the layer's dependency-free
  // wire rules; the local runtime imports none of the chat's code.
  {
    files: ['functions/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*', '**/local/**', '**/layers/**', '**/web/**'],
              message: 'A function imports only its own files and the layer (chat-core).',
            },
          ],
        },
      ],
    },
  },
  // The layer's folders (src/<concern>/) may import each other; nothing may leave src/.
  {
    files: ['layers/chat-core/src/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*', 'chat-core', 'chat-core/*'],
              message: 'The layer imports only its own files and its packages, never the runtime, a function or the page.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['layers/chat-core/src/*/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../../*', 'chat-core', 'chat-core/*'],
              message: 'The layer imports only its own files and its packages, never the runtime, a function or the page.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['web/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./|chat-core(?!/wire$))',
              message: 'The page imports only chat-core/wire (dependency-free) and its own files.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['local/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['chat-core', 'chat-core/*', '**/layers/**', '**/functions/**', '**/web/**'],
              message: "The local runtime runs any SAM app: it imports none of the chat's code.",
            },
          ],
        },
      ],
    },
  },
  {
    // Apps written the way public SAM WebSocket apps are (local/fixtures/README.md): plain Node.js
    // scripts that use its globals, CommonJS where their files are .js without "type": "module".
    files: ['local/fixtures/**/*.{js,mjs,cjs}'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        require: 'readonly',
        module: 'writable',
        exports: 'writable',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
  {
    // The tools (the page's too) use the runtime as anyone would, through its entry, and no test code.
    files: ['scripts/**/*.ts', 'web/*.ts', 'web/tools/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/local/src/**', '!**/local/src/index', 'sam-websocket-local/*', '**/test/**'],
              message:
                'The tools import the local runtime only through its entry (sam-websocket-local, local/src/index), and no test code.',
            },
          ],
        },
      ],
    },
  },
  {
    // The benchmark is a package of its own (bench/, chat-bench): it uses the runtime through its
    // package entry, loads the layer only as built (floors/poster-worker.ts) and takes no more than
    // types from the layer's entry; nothing of the functions, the page, the scripts or the tests.
    files: ['bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/local/**',
                '**/layers/**',
                '**/functions/**',
                '**/web/**',
                '**/scripts/**',
                '**/test/**',
                'sam-websocket-local/*',
                'chat-core/*',
              ],
              message:
                "The benchmark imports the local runtime only through its package entry ('sam-websocket-local'), the layer only as built, and no test code.",
            },
          ],
        },
      ],
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'chat-core',
              allowTypeImports: true,
              message: "The benchmark runs the layer as built (floors/poster-worker.ts loads it); from 'chat-core' it imports types only.",
            },
          ],
        },
      ],
    },
  },
);
