// ESLint for the widget's modules, their unit tests and the admin's scripts (`make lint`).
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['static/cmp/cmp.js', 'static/cmp/consent-mode.js', 'static/cmp/regime.js', 'node_modules/', 'staticfiles/', '.venv/', 'test-artifacts/'] },
  js.configs.recommended,
  {
    files: ['static/cmp/src/**/*.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      // The server puts the site's config in place of __CMP_CONFIG__ and __CMP_CONSENT_MODE__
      // (consent/widget/views.py).
      globals: { ...globals.browser, __CMP_CONFIG__: 'readonly', __CMP_CONSENT_MODE__: 'readonly' },
    },
  },
  {
    // Classic scripts the admin's pages load.
    files: ['static/consent/**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'script', globals: globals.browser },
  },
  {
    files: ['tests/js/**/*.js', 'eslint.config.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.node },
  },
];
